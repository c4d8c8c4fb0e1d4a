// Regular files under a trusted directory, opened by a path that is not trusted
// (a hostDisk's path below a host disk root). Every walk is the kernel's own
// openat2 RESOLVE_BENEATH from an fd of the directory: "..", an absolute symlink or
// one that climbs out fails with EXDEV, /proc magic links with ELOOP. The file is
// first named with O_PATH (opening a device or a FIFO for I/O has effects, or
// blocks), judged by fstat (a regular file, and when asked the very inode expected),
// and only then opened for I/O through its own fd, walking no path a second time.
import { closeSync, fstatSync, ftruncateSync, type BigIntStats } from 'node:fs';
import { NativeError } from './errors.js';
import { AT_FDCWD, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_PATH, O_RDONLY, O_RDWR, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, openat2, reopenFd } from './openat2.js';

const BENEATH = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
const EXDEV = 18;
const ELOOP = 40;
const ENOENT = 2;
const ENOTDIR = 20;
const EEXIST = 17;

/** Why a file beneath a directory was refused. */
export type BeneathReason = 'outside' | 'magic-link' | 'missing' | 'not-regular' | 'changed' | 'exists' | 'root' | 'other';

export class BeneathError extends NativeError {
  readonly reason: BeneathReason;
  constructor(call: string, reason: BeneathReason, detail: string, errno?: number, options?: { cause?: unknown }) {
    super(call, detail, errno, options);
    this.reason = reason;
  }
}

/** A file's identity: the same dev and inode is the same file, whatever path reaches it. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

export interface OpenedFile extends FileIdentity {
  fd: number;
  size: bigint;
}

/** The kind of file st_mode names, in ls's words. */
export function fileKind(mode: bigint | number): string {
  switch (Number(mode) & 0o170000) {
    case 0o100000: return 'regular file';
    case 0o040000: return 'directory';
    case 0o020000: return 'character device';
    case 0o060000: return 'block device';
    case 0o010000: return 'FIFO';
    case 0o140000: return 'socket';
    case 0o120000: return 'symbolic link';
    default: return 'file of unknown type';
  }
}

/**
 * An O_PATH fd of the directory `root` (absolute, canonical): no symlink may be on
 * the way, so a root renamed and replaced by a link since it was canonicalised is
 * refused rather than followed.
 */
export function openRoot(root: string): number {
  try {
    return openat2(AT_FDCWD, root, { flags: O_PATH | O_DIRECTORY, resolve: RESOLVE_NO_SYMLINKS });
  } catch (e) {
    throw refusal(`open root ${root}`, e, root, 'root');
  }
}

/** `path` beneath `rootFd` named with O_PATH, and its fstat; nothing opened for I/O. */
export function statBeneath(rootFd: number, path: string): { fd: number; st: BigIntStats } {
  const call = `openat2 beneath(${JSON.stringify(path)})`;
  let fd: number;
  try {
    fd = openat2(rootFd, path, { flags: O_PATH, resolve: BENEATH });
  } catch (e) {
    throw refusal(call, e, path);
  }
  try {
    return { fd, st: fstatSync(fd, { bigint: true }) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The identity of the regular file at `path` beneath `rootFd`; refuses anything else. */
export function regularFileBeneath(rootFd: number, path: string): FileIdentity & { size: bigint } {
  const { fd, st } = statBeneath(rootFd, path);
  closeSync(fd);
  checkRegular(path, st);
  return { dev: st.dev, ino: st.ino, size: st.size };
}

/**
 * Opens the regular file at `path` beneath `rootFd` for reading (and writing, with
 * `write`), with O_DIRECT when `direct`. With `expect`, it must be that very file.
 */
export function openRegularBeneath(rootFd: number, path: string, opts: { write: boolean; direct?: boolean; expect?: FileIdentity }): OpenedFile {
  const { fd: pathFd, st } = statBeneath(rootFd, path);
  try {
    checkRegular(path, st);
    if (opts.expect && (st.dev !== opts.expect.dev || st.ino !== opts.expect.ino)) {
      throw new BeneathError(`open beneath(${JSON.stringify(path)})`, 'changed', `is no longer the file prepared for it (dev ${opts.expect.dev} inode ${opts.expect.ino}, now dev ${st.dev} inode ${st.ino})`);
    }
    const fd = reopenFd(pathFd, (opts.write ? O_RDWR : O_RDONLY) | (opts.direct ? O_DIRECT : 0));
    const again = fstatSync(fd, { bigint: true });
    if (again.dev !== st.dev || again.ino !== st.ino) {
      closeSync(fd);
      throw new BeneathError(`open beneath(${JSON.stringify(path)})`, 'changed', 'changed while it was being opened');
    }
    return { fd, dev: st.dev, ino: st.ino, size: again.size };
  } finally {
    closeSync(pathFd);
  }
}

/**
 * Creates the regular file `path` beneath `rootFd`, `size` bytes long and sparse;
 * refuses ('exists') when anything is there already, a dangling symlink included.
 */
export function createSparseBeneath(rootFd: number, path: string, size: bigint, mode = 0o600): FileIdentity {
  const call = `create beneath(${JSON.stringify(path)})`;
  let fd: number;
  try {
    fd = openat2(rootFd, path, { flags: O_RDWR | O_CREAT | O_EXCL, mode, resolve: BENEATH });
  } catch (e) {
    throw refusal(call, e, path);
  }
  try {
    ftruncateSync(fd, Number(size));
    const st = fstatSync(fd, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

/** Whether the regular file `expect` at `path` takes O_DIRECT (tmpfs does not). */
export function takesDirectIo(rootFd: number, path: string, expect: FileIdentity): boolean {
  let f: OpenedFile;
  try {
    f = openRegularBeneath(rootFd, path, { write: false, direct: true, expect });
  } catch (e) {
    if (e instanceof NativeError && e.errno === 22) return false; // EINVAL: this filesystem has no O_DIRECT
    throw e;
  }
  closeSync(f.fd);
  return true;
}

function checkRegular(path: string, st: BigIntStats): void {
  if (!st.isFile()) throw new BeneathError(`open beneath(${JSON.stringify(path)})`, 'not-regular', `is a ${fileKind(st.mode)}, not a regular file`);
}

function refusal(call: string, e: unknown, path: string, fallback: BeneathReason = 'other'): NativeError {
  if (!(e instanceof NativeError) || e.errno === undefined) return e as NativeError;
  const errno = e.errno;
  const [reason, detail]: [BeneathReason, string] =
    fallback === 'root' ? ['root', errno === ELOOP ? 'has a symbolic link on its way (it is no longer the canonical path it was)' : e.message]
    : errno === EXDEV ? ['outside', 'leaves the directory it must stay beneath ("..", an absolute symbolic link, or one that climbs out)']
    : errno === ELOOP ? ['magic-link', 'goes through a /proc magic link or a symbolic link loop']
    : errno === ENOENT ? ['missing', `does not exist${path.includes('/') ? ' (or a directory on its way does not)' : ''}`]
    : errno === ENOTDIR ? ['missing', 'has a component on its way that is not a directory']
    : errno === EEXIST ? ['exists', 'exists already']
    : [fallback, e.message];
  return new BeneathError(call, reason, detail, errno, { cause: e });
}
