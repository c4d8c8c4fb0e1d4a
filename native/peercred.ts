// Who is on the other end of a unix socket, as the kernel recorded it at connect():
// a launcher's identity comes from here, never from a field it sends.
import { libcFunction, check } from './libc.js';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** SO_PEERCRED of a connected unix socket: the peer's pid/uid/gid at connect (or socketpair) time. */
export function getPeerCredentials(socketFd: number): PeerCredentials {
  const call = `getsockopt(fd ${socketFd}, SO_PEERCRED)`;
  const getsockopt = libcFunction(call, 'int getsockopt(int sockfd, int level, int optname, void *optval, void *optlen)');
  const cred = Buffer.alloc(12); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  const len = new Uint32Array([cred.length]);
  check(call, getsockopt(socketFd, SOL_SOCKET, SO_PEERCRED, cred, len));
  return { pid: cred.readInt32LE(0), uid: cred.readUInt32LE(4), gid: cred.readUInt32LE(8) };
}
