// openat2(2), which Node lacks: an open whose path walk the kernel confines
// (RESOLVE_BENEATH: no "..", absolute path or symlink may leave the directory the
// walk starts from), so a file under a directory can be opened by a path that
// someone else can change without that change reaching anything outside it.
import { openSync } from 'node:fs';
import { syscall } from './libc.js';
import { NativeError } from './errors.js';

// x86_64 and the generic syscall table agree on this number (Linux 5.6).
const SYS_openat2 = 437;

/** The dirfd meaning "the current directory": a relative path then walks from there. */
export const AT_FDCWD = -100;

/** resolve flags of struct open_how (include/uapi/linux/openat2.h). */
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

/** open(2) flags of x86_64 that Node's fs.constants lacks (O_PATH) or that this module needs. */
export const O_RDONLY = 0;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_DIRECT = 0o40000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
/** An fd that names a file without opening it for I/O: no device is opened, no FIFO blocks. */
export const O_PATH = 0o10000000;

export interface OpenHow {
  /** open(2) flags; O_CLOEXEC is always added. */
  flags: number;
  /** The new file's mode; only with O_CREAT (the kernel refuses it otherwise). */
  mode?: number;
  /** RESOLVE_* flags. */
  resolve?: number;
}

/**
 * openat2(dirfd, path, how): an fd, close-on-exec. Under RESOLVE_BENEATH a walk
 * that would leave `dirfd` fails with EXDEV; under RESOLVE_NO_MAGICLINKS a
 * /proc/<pid>/fd-style link fails with ELOOP.
 */
export function openat2(dirfd: number, path: string, how: OpenHow): number {
  const call = `openat2(${dirfd === AT_FDCWD ? 'AT_FDCWD' : `fd ${dirfd}`}, ${JSON.stringify(path)})`;
  if (!Number.isInteger(dirfd)) throw new NativeError(call, 'dirfd must be an integer');
  if (path.includes('\0')) throw new NativeError(call, 'path must not contain NUL');
  // struct open_how { __u64 flags; __u64 mode; __u64 resolve; }
  const openHow = Buffer.alloc(24);
  openHow.writeBigUInt64LE(BigInt(how.flags | O_CLOEXEC), 0);
  openHow.writeBigUInt64LE(BigInt(how.mode ?? 0), 8);
  openHow.writeBigUInt64LE(BigInt(how.resolve ?? 0), 16);
  return syscall(call, SYS_openat2, 'int', dirfd, 'const char *', path, 'void *', openHow, 'size_t', openHow.length);
}

/**
 * Opens for I/O the very file an O_PATH fd names, through its /proc/self/fd link:
 * no path is walked again, so nothing renamed or swapped meanwhile can answer.
 */
export function reopenFd(pathFd: number, flags: number): number {
  const link = `/proc/self/fd/${pathFd}`;
  try {
    return openSync(link, flags | O_CLOEXEC | O_NOCTTY);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new NativeError(`open(${link})`, err.code ?? err.message, err.errno === undefined ? undefined : -err.errno, { cause: e });
  }
}
