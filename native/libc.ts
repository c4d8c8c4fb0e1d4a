// The one place koffi is loaded. Loading is lazy so a process that never makes a
// native call (the CLI, a launcher before its first hot-plug) pays nothing for it.
import { createRequire } from 'node:module';
import { NativeError, errnoError } from './errors.js';

export type Koffi = typeof import('koffi').default;
type LibraryHandle = import('koffi').LibraryHandle;
// koffi's own function type: plain variadic call signature.
export type NativeFunction = (...args: any[]) => any;

const LIBC = 'libc.so.6';

let koffiModule: Koffi | undefined;
let libc: LibraryHandle | undefined;
let loadFailure: unknown;
const functions = new Map<string, NativeFunction>();

/** koffi itself (for address/errno/decode); throws VN_NATIVE naming `call` if it cannot load. */
export function koffi(call: string): Koffi {
  if (koffiModule) return koffiModule;
  if (loadFailure === undefined) {
    try {
      koffiModule = createRequire(import.meta.url)('koffi') as Koffi;
      return koffiModule;
    } catch (e) {
      loadFailure = e;
    }
  }
  throw new NativeError(call, `koffi is not available (${messageOf(loadFailure)})`, undefined, { cause: loadFailure });
}

function library(call: string): LibraryHandle {
  if (libc) return libc;
  const k = koffi(call);
  try {
    libc = k.load(LIBC);
  } catch (e) {
    throw new NativeError(call, `cannot load ${LIBC} (${messageOf(e)})`, undefined, { cause: e });
  }
  return libc;
}

/**
 * A libc function bound once from its C prototype and cached. `call` is the name used in
 * errors; a symbol this libc lacks becomes a VN_NATIVE error naming it.
 */
export function libcFunction(call: string, prototype: string): NativeFunction {
  let fn = functions.get(prototype);
  if (fn) return fn;
  const lib = library(call);
  try {
    fn = lib.func(prototype) as NativeFunction;
  } catch (e) {
    throw new NativeError(call, `not available in ${LIBC} (${messageOf(e)})`, undefined, { cause: e });
  }
  functions.set(prototype, fn);
  return fn;
}

/** errno of the last native call on this thread; read it before any other native call. */
export function lastErrno(call: string): number {
  return koffi(call).errno();
}

/** Returns `ret` when it is not negative, else throws the errno error for `call`. */
export function check(call: string, ret: number | bigint, hint?: string): number {
  if (ret < 0) throw errnoError(call, lastErrno(call), hint);
  return Number(ret);
}

/**
 * Address of a Buffer's first byte, for pointers stored inside C structs. Only valid
 * while the Buffer is reachable: run the call inside `pinned()` so the garbage
 * collector cannot free memory that C still points to.
 */
export function addressOf(call: string, buf: ArrayBufferView): bigint {
  return koffi(call).address(buf);
}

const pins: unknown[] = [];

/** Runs `fn` with `buffers` held reachable; see addressOf. */
export function pinned<T>(buffers: unknown[], fn: () => T): T {
  pins.push(buffers);
  try {
    return fn();
  } finally {
    pins.pop();
  }
}

/** The raw `long syscall(long, ...)`; variadic arguments are passed as (type, value) pairs. */
export function syscall(call: string, nr: number, ...typedArgs: unknown[]): number {
  const fn = libcFunction(call, 'long syscall(long number, ...)');
  return check(call, fn(nr, ...typedArgs));
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
