// Spare PCIe root ports for devices added while the guest runs. q35's root bus
// takes no hot-plugged device, so like KubeVirt (which reserves extra
// pcie-root-ports) the domain carries a few empty ports; a NIC hot-plugged later
// (QMP getfd + netdev_add + device_add) goes into one of them.

import { HOTPLUG_PORTS } from '../../../proto/vmi/devices.js';
import { jsonOpt } from '../qemu-opts.js';

export function hotplugPortIds(count = HOTPLUG_PORTS): string[] {
  return Array.from({ length: count }, (_, i) => `hotplug${i}`);
}

export function hotplugArgv(ids: string[]): string[] {
  // Each port needs its own chassis number; 1.. keeps clear of QEMU's default 0.
  return ids.flatMap((id, i) => ['-device', jsonOpt({ driver: 'pcie-root-port', id, chassis: i + 1 })]);
}
