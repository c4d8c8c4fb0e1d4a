// virtio-blk: a PCI device of its own per disk, on q35's root bus (pcie.0), in the
// slot pciAddress names or where QEMU puts it; its iothread and queue count.

import { VirtnodeError } from '../../../proto/errors.js';
import type { DomainDisk } from '../types.js';
import { diskDeviceObject } from './disk-device.js';

export function virtioDiskDevice(d: DomainDisk): Record<string, unknown> {
  if (d.address.bus !== 'virtio' || d.device !== 'disk') throw new VirtnodeError('VN_INTERNAL', `disk ${d.name}: a virtio ${d.device} on ${d.address.bus}`);
  const slot = d.address.pciSlot;
  const obj = diskDeviceObject(d, 'virtio-blk-pci', slot !== undefined ? { bus: 'pcie.0', addr: `0x${slot.toString(16)}` } : {});
  return {
    ...obj,
    ...(d.ioThread !== undefined ? { iothread: d.ioThread } : {}),
    ...(d.queues !== undefined ? { 'num-queues': d.queues } : {}),
  };
}
