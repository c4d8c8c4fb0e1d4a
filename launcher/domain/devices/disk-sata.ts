// SATA: q35's built-in ICH9 AHCI controller (00:1f.2, QEMU buses ide.0 to ide.5)
// and, past its six ports, more ich9-ahci controllers (sata1, sata2, ...). libvirt
// puts target sdN on controller N/6, port N%6, where N counts every "sd" disk
// (sata, scsi and usb share the letters). Hard disks are ide-hd, CD-ROMs ide-cd.

import { SATA_PORTS } from '../../../proto/vmi/devices.js';
import { VirtnodeError } from '../../../proto/errors.js';
import { checkId, jsonOpt } from '../qemu-opts.js';
import type { DiskAddress, DomainDisk } from '../types.js';
import { diskDeviceObject } from './disk-device.js';

/** The AHCI port of the sd-index-th "sd" disk. */
export function sataAddress(sdIndex: number): DiskAddress {
  return { bus: 'sata', controller: Math.floor(sdIndex / SATA_PORTS), port: sdIndex % SATA_PORTS };
}

/** QEMU's bus name of a port: q35's own controller calls its buses ide.N. */
function portBus(controller: number, port: number): string {
  return controller === 0 ? `ide.${port}` : `${sataControllerId(controller)}.${port}`;
}

export function sataControllerId(controller: number): string {
  return `sata${controller}`;
}

/** The controllers to add for these disks (controller 0 is the machine's own). */
export function sataControllers(disks: DomainDisk[]): string[] {
  const highest = Math.max(0, ...disks.map((d) => (d.address.bus === 'sata' ? d.address.controller : 0)));
  return Array.from({ length: highest }, (_, i) => sataControllerId(i + 1));
}

export function sataControllerArgv(ids: string[]): string[] {
  return ids.flatMap((id) => ['-device', jsonOpt({ driver: 'ich9-ahci', id: checkId('controller id', id) })]);
}

export function sataDiskDevice(d: DomainDisk): Record<string, unknown> {
  if (d.address.bus !== 'sata' || d.device === 'lun') throw new VirtnodeError('VN_INTERNAL', `disk ${d.name}: a sata ${d.device} on ${d.address.bus}`);
  return diskDeviceObject(d, d.device === 'cdrom' ? 'ide-cd' : 'ide-hd', { bus: portBus(d.address.controller, d.address.port) });
}
