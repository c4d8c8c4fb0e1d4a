// UDP sockets tied to one network device. Node's dgram can neither bind to a device
// nor set socket options before bind(), and a DHCP server on 0.0.0.0:67 must only
// ever see its own link: so the socket is made here, fully set up before it is bound,
// and handed to dgram with `socket.bind({ fd })`.
import { libcFunction, check, lastErrno } from './libc.js';
import { NativeError, errnoError } from './errors.js';
import { closeFd } from './pidfd.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_BROADCAST = 6;
export const SO_BINDTODEVICE = 25;
const IFNAMSIZ = 16;
const EACCES = 13;

/** setsockopt(2) with an int value (`number`) or raw bytes (`Buffer`). */
export function setSocketOption(fd: number, level: number, name: number, value: number | Buffer): void {
  const call = `setsockopt(fd ${fd}, ${level}, ${name})`;
  let bytes: Buffer;
  if (typeof value === 'number') {
    bytes = Buffer.alloc(4);
    bytes.writeInt32LE(value);
  } else {
    bytes = value;
  }
  const fn = libcFunction(call, 'int setsockopt(int sockfd, int level, int optname, const void *optval, uint32_t optlen)');
  check(call, fn(fd, level, name, bytes, bytes.length));
}

/**
 * SO_BINDTODEVICE: the socket receives only what arrives on `ifname` and sends only
 * out of it (broadcasts included). Needs CAP_NET_RAW before Linux 5.7; since then an
 * unbound socket may be bound by anyone. ENODEV when no such device is in this netns.
 */
export function bindToDevice(fd: number, ifname: string): void {
  const name = Buffer.from(ifname, 'utf8');
  const call = `setsockopt(fd ${fd}, SO_BINDTODEVICE, ${JSON.stringify(ifname)})`;
  if (name.length === 0 || name.length >= IFNAMSIZ || name.includes(0)) throw new NativeError(call, `interface name must be 1-${IFNAMSIZ - 1} bytes`);
  const value = Buffer.alloc(name.length + 1);
  name.copy(value);
  try {
    setSocketOption(fd, SOL_SOCKET, SO_BINDTODEVICE, value);
  } catch (e) {
    if (e instanceof NativeError && e.errnoName === 'ENODEV') throw new NativeError(call, `no network device ${JSON.stringify(ifname)} in this network namespace`, e.errno, { cause: e });
    throw e;
  }
}

export interface Udp4SocketOptions {
  port: number;
  /** Dotted IPv4 address to bind; 0.0.0.0 when absent. */
  address?: string;
  /** Interface the socket is bound to (SO_BINDTODEVICE) before bind(). */
  device?: string;
  reuseAddr?: boolean;
  broadcast?: boolean;
}

/**
 * A bound, non-blocking, close-on-exec UDP/IPv4 socket with its options set before
 * bind(). Hand it to `dgram.createSocket('udp4').bind({ fd })`, which then owns it.
 */
export function openUdp4Socket(options: Udp4SocketOptions): number {
  const address = options.address ?? '0.0.0.0';
  const call = `udp4 socket ${address}:${options.port}${options.device ? `%${options.device}` : ''}`;
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new NativeError(call, 'port must be 0-65535');
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || !/^[0-9.]+$/.test(address)) throw new NativeError(call, 'address must be a dotted IPv4 address');

  const socket = libcFunction(call, 'int socket(int domain, int type, int protocol)');
  const fd = check(call, socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  try {
    if (options.reuseAddr) setSocketOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (options.broadcast) setSocketOption(fd, SOL_SOCKET, SO_BROADCAST, 1);
    if (options.device !== undefined) bindToDevice(fd, options.device);
    const sin = Buffer.alloc(16); // sockaddr_in: family (host order), port, addr (network order), zero[8]
    sin.writeUInt16LE(AF_INET, 0);
    sin.writeUInt16BE(options.port, 2);
    octets.forEach((o, i) => sin.writeUInt8(o, 4 + i));
    const bind = libcFunction(call, 'int bind(int sockfd, const void *addr, uint32_t addrlen)');
    if (bind(fd, sin, sin.length) < 0) {
      const errno = lastErrno(call);
      throw errnoError(`bind(${call})`, errno, errno === EACCES ? 'ports below 1024 need CAP_NET_BIND_SERVICE' : undefined);
    }
    return fd;
  } catch (e) {
    try { closeFd(fd); } catch { /* the first error is the one worth reporting */ }
    throw e;
  }
}
