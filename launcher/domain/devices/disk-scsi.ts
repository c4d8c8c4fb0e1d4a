// SCSI: one virtio-scsi controller, scsi0, and each disk a LUN of its target 0, the
// LUN being the disk's index among the "sd" disks, as KubeVirt addresses units and
// libvirt turns them into -device properties. Hard disks are scsi-hd, CD-ROMs
// scsi-cd, and a lun scsi-block: SCSI commands passed through to a host block device.

import { VirtnodeError } from '../../../proto/errors.js';
import { checkId, jsonOpt } from '../qemu-opts.js';
import type { DomainDisk } from '../types.js';
import { diskDeviceObject } from './disk-device.js';

export const SCSI_CONTROLLER = 'scsi0';

const DRIVER = { disk: 'scsi-hd', cdrom: 'scsi-cd', lun: 'scsi-block' } as const;

export function scsiControllerArgv(id: string): string[] {
  return ['-device', jsonOpt({ driver: 'virtio-scsi-pci', id: checkId('controller id', id) })];
}

export function scsiDiskDevice(d: DomainDisk): Record<string, unknown> {
  if (d.address.bus !== 'scsi') throw new VirtnodeError('VN_INTERNAL', `disk ${d.name}: a scsi device on ${d.address.bus}`);
  return diskDeviceObject(d, DRIVER[d.device], { bus: `${SCSI_CONTROLLER}.0`, channel: 0, 'scsi-id': 0, lun: d.address.lun });
}
