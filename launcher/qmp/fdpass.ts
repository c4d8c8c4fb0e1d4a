// INTEGRATOR: TEMPORARY SHIM. native/ (written in parallel) exports `sendFds` and
// `socketFd` with these exact signatures; once it is merged, replace this whole file
// with:
//
//   export { sendFds, socketFd } from '../../native/index.js';
//
// Until then this is the smallest SCM_RIGHTS sender that lets Qmp.sendFd (getfd) run
// for real: one sendmsg(2) through koffi, with struct msghdr/cmsghdr laid out by hand
// for LP64 Linux (x86_64, aarch64).

import { createRequire } from 'node:module';
import type * as net from 'node:net';
import { VirtnodeError } from '../../proto/errors.js';

type Koffi = typeof import('koffi').default;
type NativeFunction = (...args: unknown[]) => number | bigint;

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;

let sendmsg: NativeFunction | undefined;
let koffi: Koffi | undefined;
const pins: unknown[] = [];

function bind(): { k: Koffi; sendmsg: NativeFunction } {
  koffi ??= createRequire(import.meta.url)('koffi') as Koffi;
  sendmsg ??= koffi.load('libc.so.6').func('long sendmsg(int sockfd, void *msg, int flags)') as NativeFunction;
  return { k: koffi, sendmsg };
}

/**
 * Sends `data` with `fds` attached (SCM_RIGHTS) on the connected unix socket
 * `socketFd`; returns the bytes sent (the fds ride on the first byte). Call only while
 * Node has nothing queued on that socket, or the message overtakes queued bytes.
 */
export function sendFds(socketFd: number, fds: number[], data: Buffer): number {
  const call = `sendmsg(fd ${socketFd}, SCM_RIGHTS ${fds.length})`;
  if (data.length === 0 || fds.length === 0) throw new VirtnodeError('VN_NATIVE', `${call}: needs data and at least one fd`);
  const { k, sendmsg: fn } = bind();
  const payload = Buffer.alloc(data.length);
  data.copy(payload);
  const dataLen = 4 * fds.length;
  const control = Buffer.alloc(16 + ((dataLen + 7) & ~7)); // CMSG_SPACE
  control.writeBigUInt64LE(BigInt(16 + dataLen), 0); // cmsg_len = CMSG_LEN
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  fds.forEach((fd, i) => control.writeInt32LE(fd, 16 + 4 * i));
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(k.address(payload), 0);
  iov.writeBigUInt64LE(BigInt(payload.length), 8);
  const msg = Buffer.alloc(56); // msg_name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48
  msg.writeBigUInt64LE(k.address(iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(k.address(control), 32);
  msg.writeBigUInt64LE(BigInt(control.length), 40);
  // C holds raw addresses of these buffers: keep them reachable across the call.
  pins.push([payload, control, iov, msg]);
  let n: number;
  try {
    n = Number(fn(socketFd, msg, MSG_NOSIGNAL));
  } finally {
    pins.pop();
  }
  if (n < 0) throw new VirtnodeError('VN_NATIVE', `${call}: errno ${k.errno()}`);
  return n;
}

/** The OS fd under a connected net.Socket (libuv keeps it on the handle); Node still owns it. */
export function socketFd(sock: net.Socket): number {
  const fd = (sock as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new VirtnodeError('VN_NATIVE', 'socketFd: the socket has no OS fd (not connected, or closed)');
  return fd;
}
