// USB: one qemu-xhci controller, "usb", with libvirt's 15 USB 2 and 15 USB 3
// ports, and each disk a usb-storage device on its own port (not removable, as
// libvirt makes a USB disk).

import { USB_PORTS } from '../../../proto/vmi/devices.js';
import { VirtnodeError } from '../../../proto/errors.js';
import { checkId, jsonOpt } from '../qemu-opts.js';
import type { DomainDisk } from '../types.js';
import { diskDeviceObject } from './disk-device.js';

export const USB_CONTROLLER = 'usb';

export function usbControllerArgv(id: string): string[] {
  return ['-device', jsonOpt({ driver: 'qemu-xhci', id: checkId('controller id', id), p2: USB_PORTS, p3: USB_PORTS })];
}

export function usbDiskDevice(d: DomainDisk): Record<string, unknown> {
  if (d.address.bus !== 'usb' || d.device !== 'disk') throw new VirtnodeError('VN_INTERNAL', `disk ${d.name}: a usb ${d.device} on ${d.address.bus}`);
  if (d.address.port < 1 || d.address.port > USB_PORTS) throw new VirtnodeError('VN_INTERNAL', `disk ${d.name}: USB port ${d.address.port}`);
  return diskDeviceObject(d, 'usb-storage', { bus: `${USB_CONTROLLER}.0`, port: String(d.address.port), removable: false });
}
