// devices.autoattachMemBalloon: a virtio balloon (on unless the spec turns it off),
// with free page reporting, which KubeVirt enables so freed guest pages go back to
// the host.

import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import { jsonOpt } from '../qemu-opts.js';
import type { DomainBalloon } from '../types.js';

export function balloonFromVMI(vmi: VirtualMachineInstance): DomainBalloon | undefined {
  return vmi.spec.domain.devices.autoattachMemBalloon === false ? undefined : { freePageReporting: true };
}

export function balloonArgv(b: DomainBalloon): string[] {
  return ['-device', jsonOpt({ driver: 'virtio-balloon-pci', id: 'balloon0', 'free-page-reporting': b.freePageReporting })];
}
