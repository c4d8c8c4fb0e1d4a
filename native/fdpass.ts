// File descriptors over unix sockets (SCM_RIGHTS). QEMU's QMP `getfd` takes a tap fd
// this way, so a NIC can be hot-plugged into a running VM without QEMU opening
// anything itself.
//
// struct msghdr and struct cmsghdr are laid out by hand for LP64 Linux (x86_64,
// aarch64): every pointer and size_t is 8 bytes, cmsg data is 8-byte aligned.
import * as net from 'node:net';
import { libcFunction, check, addressOf, pinned } from './libc.js';
import { NativeError } from './errors.js';

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CTRUNC = 0x8;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
/** The kernel's per-message cap on passed fds (SCM_MAX_FD). */
export const MAX_FDS_PER_MESSAGE = 253;

const MSGHDR_SIZE = 56; // name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48
const IOVEC_SIZE = 16; // base 0, len 8
const CMSGHDR_SIZE = 16; // len 0, level 8, type 12, data 16

const cmsgAlign = (n: number): number => (n + 7) & ~7;
/** CMSG_LEN: header plus `n` data bytes, unpadded (what cmsg_len holds). */
export const cmsgLen = (n: number): number => CMSGHDR_SIZE + n;
/** CMSG_SPACE: the buffer room one control message of `n` data bytes takes. */
export const cmsgSpace = (n: number): number => CMSGHDR_SIZE + cmsgAlign(n);

function msghdr(call: string, iov: Buffer, control: Buffer): Buffer {
  const msg = Buffer.alloc(MSGHDR_SIZE);
  msg.writeBigUInt64LE(addressOf(call, iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  if (control.length > 0) {
    msg.writeBigUInt64LE(addressOf(call, control), 32);
    msg.writeBigUInt64LE(BigInt(control.length), 40);
  }
  return msg;
}

function iovec(call: string, data: Buffer): Buffer {
  const iov = Buffer.alloc(IOVEC_SIZE);
  iov.writeBigUInt64LE(addressOf(call, data), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  return iov;
}

/**
 * Sends `data` with `fds` attached as one SCM_RIGHTS message; returns the bytes sent.
 * The fds travel with the first byte, so on a stream socket a short count still
 * delivered them: send the rest with a plain write. `data` must not be empty (a
 * stream socket drops ancillary data without payload). On a socket Node also writes
 * to, call this only while Node's write queue is empty (`socket.writableLength === 0`),
 * or the message overtakes queued bytes. EAGAIN when a non-blocking socket is full.
 */
export function sendFds(socketFd: number, fds: number[], data: Buffer): number {
  const call = `sendmsg(fd ${socketFd}, SCM_RIGHTS ${fds.length})`;
  if (data.length === 0) throw new NativeError(call, 'data must not be empty: the fds ride on the first byte');
  if (fds.length === 0 || fds.length > MAX_FDS_PER_MESSAGE) throw new NativeError(call, `between 1 and ${MAX_FDS_PER_MESSAGE} fds per message, got ${fds.length}`);
  for (const fd of fds) if (!Number.isInteger(fd) || fd < 0) throw new NativeError(call, `not a file descriptor: ${fd}`);

  const payload = Buffer.alloc(data.length);
  data.copy(payload);
  const control = Buffer.alloc(cmsgSpace(4 * fds.length));
  control.writeBigUInt64LE(BigInt(cmsgLen(4 * fds.length)), 0);
  control.writeInt32LE(SOL_SOCKET, 8);
  control.writeInt32LE(SCM_RIGHTS, 12);
  fds.forEach((fd, i) => control.writeInt32LE(fd, CMSGHDR_SIZE + 4 * i));
  const iov = iovec(call, payload);
  const msg = msghdr(call, iov, control);

  const sendmsg = libcFunction(call, 'long sendmsg(int sockfd, void *msg, int flags)');
  return pinned([payload, control, iov, msg], () => check(call, sendmsg(socketFd, msg, MSG_NOSIGNAL)));
}

export interface ReceivedMessage {
  /** The bytes read (possibly fewer than bufSize; empty at end of stream). */
  data: Buffer;
  /** Received fds, close-on-exec; the caller owns and must close them. */
  fds: number[];
}

/**
 * Reads one message and the fds attached to it. If more fds arrived than `maxFds`
 * room allows, the kernel closes the excess: that is an error here (after closing
 * the ones that did arrive), never a silent loss. EAGAIN when a non-blocking socket
 * has nothing to read; on a socket Node reads from, pause it first (a plain read
 * would consume the message and the kernel would close its fds).
 */
export function recvFds(socketFd: number, maxFds: number, bufSize: number): ReceivedMessage {
  const call = `recvmsg(fd ${socketFd})`;
  if (!Number.isInteger(maxFds) || maxFds < 1 || maxFds > MAX_FDS_PER_MESSAGE) throw new NativeError(call, `maxFds must be 1-${MAX_FDS_PER_MESSAGE}, got ${maxFds}`);
  if (!Number.isInteger(bufSize) || bufSize < 1) throw new NativeError(call, `bufSize must be a positive integer, got ${bufSize}`);

  const payload = Buffer.alloc(bufSize);
  const control = Buffer.alloc(cmsgSpace(4 * maxFds));
  const iov = iovec(call, payload);
  const msg = msghdr(call, iov, control);

  const recvmsg = libcFunction(call, 'long recvmsg(int sockfd, void *msg, int flags)');
  const n = pinned([payload, control, iov, msg], () => check(call, recvmsg(socketFd, msg, MSG_CMSG_CLOEXEC)));

  const fds: number[] = [];
  const controlLen = Number(msg.readBigUInt64LE(40));
  for (let off = 0; off + CMSGHDR_SIZE <= controlLen;) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < CMSGHDR_SIZE || off + len > controlLen) break;
    if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let p = off + CMSGHDR_SIZE; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p));
    }
    off += cmsgAlign(len);
  }
  if (msg.readInt32LE(48) & MSG_CTRUNC) {
    for (const fd of fds) closeQuietly(fd);
    throw new NativeError(call, `control data truncated (MSG_CTRUNC): more than ${maxFds} fds were sent and the kernel dropped the rest`);
  }
  return { data: payload.subarray(0, n), fds };
}

/** A connected pair of unix stream sockets (close-on-exec), e.g. to hand one end to a child. */
export function socketPair(): [number, number] {
  const call = 'socketpair(AF_UNIX, SOCK_STREAM)';
  const socketpair = libcFunction(call, 'int socketpair(int domain, int type, int protocol, void *sv)');
  const sv = new Int32Array(2);
  check(call, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  return [sv[0]!, sv[1]!];
}

/**
 * The OS fd under a connected net.Socket or a listening net.Server (libuv keeps it
 * on the handle). Node still owns it: do not close it, and see sendFds/recvFds for
 * sharing it with Node's own reads and writes.
 */
export function socketFd(sock: net.Socket | net.Server): number {
  const handle = (sock as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    const why = handle ? 'its handle has no OS fd (Windows, or a pipe not yet opened)' : 'it has no handle (not connected or listening yet, or already closed)';
    throw new NativeError('socketFd', `cannot get the fd of this ${sock instanceof net.Server ? 'net.Server' : 'net.Socket'}: ${why}`);
  }
  return fd;
}

function closeQuietly(fd: number): void {
  try {
    libcFunction('close', 'int close(int fd)')(fd);
  } catch {
    // best effort on an error path
  }
}
