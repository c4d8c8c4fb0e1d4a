import { getSystemErrorMap } from 'node:util';
import { VirtnodeError } from '../proto/errors.js';

/**
 * A failed native call. `call` names the libc function or syscall, `errno` is the
 * kernel's number (absent when the call could not be made at all: no koffi, no symbol).
 */
export class NativeError extends VirtnodeError {
  readonly call: string;
  readonly errno: number | undefined;
  readonly errnoName: string | undefined;
  constructor(call: string, detail: string, errno?: number, options?: { cause?: unknown }) {
    super('VN_NATIVE', `${call}: ${detail}`, options);
    this.call = call;
    this.errno = errno;
    this.errnoName = errno === undefined ? undefined : errnoName(errno);
  }
}

/** 'EPERM' for 1; 'errno 4242' for numbers this platform has no name for. */
export function errnoName(errno: number): string {
  return getSystemErrorMap().get(-errno)?.[0] ?? `errno ${errno}`;
}

function errnoText(errno: number): string {
  const entry = getSystemErrorMap().get(-errno);
  return entry ? `${entry[1]} (${entry[0]})` : `errno ${errno}`;
}

/** The error for a call that returned -1: names the call and errno, e.g. "pidfd_open(4242): no such process (ESRCH)". */
export function errnoError(call: string, errno: number, hint?: string): NativeError {
  const name = errnoName(errno);
  const what = name === 'ENOSYS' ? `not supported by this kernel (${name})` : errnoText(errno);
  return new NativeError(call, hint ? `${what}; ${hint}` : what, errno);
}
