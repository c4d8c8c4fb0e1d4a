// How many of each thing one VMI may have. Each list is bounded, so that no spec
// makes the handler write hundreds of images or the launcher an argv past the
// kernel's limit (5000 disks once wrote ~900 MB of overlays before QEMU's spawn
// failed with E2BIG), and the devices must fit q35's root bus, where QEMU would
// otherwise fail to place one only after the sandbox exists.

import { ROOT_BUS_FREE_SLOTS, rootBusDevices } from './devices.js';
import { fail, list, obj, type Ctx, type Obj } from './validate-context.js';
import { isObject } from './shape.js';

/**
 * 256 disks and volumes: KubeVirt's admission limit before v1.0 (arrayLenMax) and
 * what one virtio-scsi target's LUNs take with room to spare. Interfaces and
 * networks: a NIC takes a root bus slot, so 30 is already more than fits.
 */
export const MAX_LIST_LENGTHS: readonly [path: string, max: number][] = [
  ['domain.devices.disks', 256],
  ['volumes', 256],
  ['domain.devices.interfaces', ROOT_BUS_FREE_SLOTS],
  ['networks', ROOT_BUS_FREE_SLOTS],
];

function at(spec: Obj, path: string): unknown[] {
  const keys = path.split('.');
  const last = keys.pop()!;
  let o: Obj | undefined = spec;
  for (const k of keys) o = obj(o, k);
  return list(o, last);
}

export function validateLimits(spec: Obj, p: string, ctx: Ctx): void {
  let tooLong = false;
  for (const [path, max] of MAX_LIST_LENGTHS) {
    const n = at(spec, path).length;
    if (n > max) {
      fail(ctx, `${p}.${path}`, `has ${n} items; at most ${max}`);
      tooLong = true;
    }
  }
  if (tooLong) return;
  const devices = obj(obj(spec, 'domain'), 'devices');
  const inventory = rootBusDevices({
    domain: {
      devices: {
        disks: list(devices, 'disks').filter(isObject),
        interfaces: list(devices, 'interfaces'),
        rng: devices?.rng,
        autoattachMemBalloon: devices?.autoattachMemBalloon === false ? false : undefined,
        autoattachPodInterface: devices?.autoattachPodInterface === false ? false : undefined,
        disableHotplug: devices?.disableHotplug === true ? true : undefined,
      },
    },
    networks: list(spec, 'networks'),
  });
  const slots = inventory.reduce((sum, [, n]) => sum + n, 0);
  if (slots > ROOT_BUS_FREE_SLOTS) {
    const parts = inventory.map(([kind, n]) => `${kind}: ${n}`).join(', ');
    const hint = inventory.some(([kind]) => kind === 'virtio disks') ? ': put disks on bus scsi or sata instead of virtio' : '';
    fail(ctx, `${p}.domain.devices`, `needs ${slots} PCI slots (${parts}); a q35 machine's root bus has ${ROOT_BUS_FREE_SLOTS}${hint}`);
  }
}
