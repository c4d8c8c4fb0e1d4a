// What every bus's disk device takes alike: the block node it reads, the
// guest-visible write cache, serial, boot index, error policy (werror/rerror),
// sharing and block sizes, as libvirt sets them on ide-hd, scsi-hd, usb-storage
// and virtio-blk alike. Each bus module adds where its device sits.

import { checkId } from '../qemu-opts.js';
import type { DiskErrorPolicy, DomainDisk } from '../types.js';

/**
 * libvirt's mapping of an error policy: werror takes it, rerror the same, except
 * "enospace" (QEMU's "enospc"), which has no read counterpart and leaves rerror at
 * QEMU's default (report).
 */
export function errorPolicyProps(p: DiskErrorPolicy): { werror: string; rerror?: string } {
  return p === 'enospace' ? { werror: 'enospc' } : { werror: p, rerror: p };
}

/** The guest-visible write cache of a cache mode: off for writethrough, so every write is flushed first. */
export function writeCache(d: DomainDisk): 'on' | 'off' {
  return d.cache === 'writethrough' ? 'off' : 'on';
}

/**
 * The device's id and drive, then (in this order) the placement the bus module
 * gives, write cache, serial, boot index, error policy, share-rw and block sizes.
 * A SCSI passthrough (scsi-block) has no cache, serial or block size of its own.
 */
export function diskDeviceObject(d: DomainDisk, driver: string, placement: Record<string, unknown>): Record<string, unknown> {
  const passthrough = driver === 'scsi-block';
  return {
    driver,
    id: checkId('device id', d.deviceId),
    ...placement,
    drive: d.nodeName,
    ...(passthrough ? {} : { 'write-cache': writeCache(d) }),
    ...(d.serial !== undefined && !passthrough ? { serial: d.serial } : {}),
    ...(d.bootIndex !== undefined ? { bootindex: d.bootIndex } : {}),
    ...errorPolicyProps(d.errorPolicy),
    ...(d.shareable ? { 'share-rw': true } : {}),
    ...(d.blockIO && !passthrough
      ? {
          logical_block_size: d.blockIO.logical,
          physical_block_size: d.blockIO.physical,
          ...(d.blockIO.discardGranularity ? { discard_granularity: d.blockIO.discardGranularity } : {}),
        }
      : {}),
  };
}
