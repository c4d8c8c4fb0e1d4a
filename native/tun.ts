// Tap devices for VM NICs. The tap is created in the network namespace of the calling
// thread (use withNetns for a pod's), and lives as long as an fd to it is open unless
// made persistent. The fd is what QEMU gets (spawn stdio or QMP getfd).
import { openSync, existsSync } from 'node:fs';
import { libcFunction, check, lastErrno } from './libc.js';
import { NativeError, errnoError } from './errors.js';
import { closeFd } from './pidfd.js';

const TUN_DEVICE = '/dev/net/tun';
const TUNSETIFF = 0x400454ca;
const TUNSETPERSIST = 0x400454cb;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_MULTI_QUEUE = 0x0100;
const IFF_VNET_HDR = 0x4000;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40; // char ifr_name[16]; union { short ifr_flags; ... } padded to 24

export interface TapOptions {
  /** One fd per queue: call openTap once per queue with the same name. */
  multiQueue?: boolean;
  /** virtio-net header on each frame (QEMU's vnet_hdr=on, needed for offloads). */
  vnetHdr?: boolean;
}

/** Opens (creating if needed) tap `name` and returns its queue fd (close-on-exec, blocking). */
export function openTap(name: string, options: TapOptions = {}): number {
  const call = `TUNSETIFF(${JSON.stringify(name)})`;
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length === 0 || nameBytes.length >= IFNAMSIZ || /[\s/:\0]/.test(name)) {
    throw new NativeError(call, `interface name must be 1-${IFNAMSIZ - 1} bytes without whitespace, '/', ':'`);
  }
  let fd: number;
  try {
    fd = openSync(TUN_DEVICE, 'r+');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const why = existsSync(TUN_DEVICE) ? code : `${code}: ${TUN_DEVICE} is missing (load the tun module, or mount it into the container)`;
    throw new NativeError(call, `cannot open ${TUN_DEVICE}: ${why}`, undefined, { cause: e });
  }
  try {
    const ifr = Buffer.alloc(IFREQ_SIZE);
    nameBytes.copy(ifr);
    let flags = IFF_TAP | IFF_NO_PI;
    if (options.multiQueue) flags |= IFF_MULTI_QUEUE;
    if (options.vnetHdr) flags |= IFF_VNET_HDR;
    ifr.writeInt16LE(flags, IFNAMSIZ);
    const ioctl = libcFunction(call, 'int ioctl(int fd, unsigned long request, void *arg)');
    if (ioctl(fd, TUNSETIFF, ifr) < 0) {
      const errno = lastErrno(call);
      throw errnoError(call, errno, errno === 22 ? 'an existing device with this name is not a tap, or its multi-queue setting differs' : undefined);
    }
    return fd;
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

/** Keeps the tap after its last fd closes (persist) or lets it go with the last fd. */
export function setTapPersist(tapFd: number, persist: boolean): void {
  const call = `TUNSETPERSIST(fd ${tapFd}, ${persist})`;
  const ioctl = libcFunction(call, 'int ioctl(int fd, unsigned long request, unsigned long arg)');
  check(call, ioctl(tapFd, TUNSETPERSIST, persist ? 1 : 0));
}
