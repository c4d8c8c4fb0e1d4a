// hostDisk files, opened by the launcher right before QEMU starts, and handed to
// QEMU as inherited fds (`-add-fd`, then /dev/fdset/N as the blockdev's filename):
// QEMU never walks the user's path. The walk here is openat2 RESOLVE_BENEATH from
// the host disk root, and the file must still be the regular file, dev and inode,
// that the handler vetted and holds for this VMI (handler/hostdisk/host-disks.ts
// says why): a file swapped since, for a symlink or for another file, is refused.

import { closeSync } from 'node:fs';
import { InvalidSpecError } from '../../proto/errors.js';
import type { HostFile, LaunchContext } from '../../proto/launch.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { BeneathError, closeFd, openRegularBeneath, openRoot } from '../../native/index.js';

export interface HostFiles {
  /** Ours, in the order QEMU inherits them; closed by the caller once QEMU has its copies. */
  fds: number[];
  /** Volume name → the fd number QEMU sees it at. */
  numbers: Record<string, number>;
}

/** Opens every prepared hostDisk; QEMU will see them from fd `firstFd` on. */
export function openHostFiles(vmi: VirtualMachineInstance, ctx: LaunchContext, firstFd: number): HostFiles {
  const out: HostFiles = { fds: [], numbers: {} };
  const disks = vmi.spec.domain.devices.disks ?? [];
  try {
    for (const [index, v] of (vmi.spec.volumes ?? []).entries()) {
      const file = ctx.volumes[v.name]?.hostFile;
      if (!file) continue;
      // A claim's disk.img (handler/storage/claims.ts) is handed over the same way.
      const write = disks.find((d) => d.name === v.name)?.disk?.readonly !== true && v.persistentVolumeClaim?.readOnly !== true;
      const path = v.hostDisk?.path ?? `${file.root}/${file.path}`;
      const field = v.persistentVolumeClaim ? `spec.volumes[${index}].persistentVolumeClaim.claimName` : `spec.volumes[${index}].hostDisk.path`;
      const fd = openHostFile(file, write, field, path);
      out.numbers[v.name] = firstFd + out.fds.length;
      out.fds.push(fd);
    }
  } catch (e) {
    for (const fd of out.fds) closeFd(fd);
    throw e;
  }
  return out;
}

/**
 * Opens one vetted hostDisk file beneath its root (at start, or for a hot-plug):
 * the inode the handler vetted, or an InvalidSpecError on `field` saying why not.
 * The fd is the caller's to close.
 */
export function openHostFile(file: HostFile, write: boolean, field: string, path: string, when = 'as QEMU starts'): number {
  let rootFd: number | undefined;
  try {
    rootFd = openRoot(file.root);
    return openRegularBeneath(rootFd, file.path, { write, expect: { dev: BigInt(file.dev), ino: BigInt(file.ino) } }).fd;
  } catch (e) {
    const detail = e instanceof BeneathError ? e.message.slice(e.message.indexOf(': ') + 2) : e instanceof Error ? e.message : String(e);
    const why = e instanceof BeneathError && e.reason === 'outside' ? `leads out of the host disk root ${file.root} (a symbolic link on its way points outside it)` : detail;
    throw new InvalidSpecError([{ path: field, message: `${path} ${why} (checked again ${when})` }]);
  } finally {
    if (rootFd !== undefined) closeSync(rootFd);
  }
}
