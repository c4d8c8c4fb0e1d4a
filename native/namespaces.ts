// Entering and creating namespaces, for pod networks. In Node these act on the calling
// thread only (the JS main thread): libuv's pool threads stay where they were, so
// whatever must happen inside a namespace has to be a synchronous call on this thread
// (open a tap, create a socket) — see withNetns.
import { openSync } from 'node:fs';
import { libcFunction, check } from './libc.js';
import { NativeError } from './errors.js';
import { closeFd } from './pidfd.js';

export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

const NAMES: Array<[number, string]> = [
  [CLONE_NEWTIME, 'CLONE_NEWTIME'], [CLONE_NEWNS, 'CLONE_NEWNS'], [CLONE_NEWCGROUP, 'CLONE_NEWCGROUP'],
  [CLONE_NEWUTS, 'CLONE_NEWUTS'], [CLONE_NEWIPC, 'CLONE_NEWIPC'], [CLONE_NEWUSER, 'CLONE_NEWUSER'],
  [CLONE_NEWPID, 'CLONE_NEWPID'], [CLONE_NEWNET, 'CLONE_NEWNET'],
];

function flagNames(flags: number): string {
  if (flags === 0) return '0';
  const names = NAMES.filter(([f]) => (flags & f) !== 0).map(([, n]) => n);
  const rest = flags & ~NAMES.reduce((a, [f]) => a | f, 0);
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.join('|');
}

/**
 * Moves the calling thread into the namespace `fd` refers to (an fd of
 * /proc/<pid>/ns/<type>, /run/netns/<name>, or a pidfd). `nstype` 0 accepts any type;
 * otherwise the fd must be of that type (EINVAL if not).
 */
export function setns(fd: number, nstype = 0): void {
  const call = `setns(fd ${fd}, ${flagNames(nstype)})`;
  const fn = libcFunction(call, 'int setns(int fd, int nstype)');
  check(call, fn(fd, nstype), nstype & CLONE_NEWNS ? 'a mount namespace cannot be entered by a multi-threaded process such as Node' : undefined);
}

/** Gives the calling thread new namespaces of the given CLONE_NEW* kinds. */
export function unshare(flags: number): void {
  const call = `unshare(${flagNames(flags)})`;
  const fn = libcFunction(call, 'int unshare(int flags)');
  check(call, fn(flags), flags & (CLONE_NEWUSER | CLONE_NEWNS) ? 'user and mount namespaces cannot be unshared by a multi-threaded process such as Node' : undefined);
}

/**
 * Runs `fn` with the calling thread inside the network namespace at `nsPath` and
 * always moves back, even if `fn` throws. `fn` must be synchronous: an await would let
 * other code run inside the namespace. Sockets and taps made inside stay there.
 */
export function withNetns<T>(nsPath: string, fn: () => T): T {
  const call = `withNetns(${nsPath})`;
  if (typeof fn !== 'function') throw new NativeError(call, 'fn must be a function');
  const own = open(call, '/proc/thread-self/ns/net');
  try {
    const target = open(call, nsPath);
    try {
      setns(target, CLONE_NEWNET);
    } finally {
      closeFd(target);
    }
    try {
      const result = fn();
      if (result instanceof Promise) throw new NativeError(call, 'fn returned a Promise: the namespace switch only holds for synchronous code');
      return result;
    } finally {
      // Failing to return would leave the main thread in the pod's network: fatal by design.
      setns(own, CLONE_NEWNET);
    }
  } finally {
    closeFd(own);
  }
}

function open(call: string, path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new NativeError(call, `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, undefined, { cause: e });
  }
}
