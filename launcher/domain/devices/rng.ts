// devices.rng: a virtio-rng fed from the host's /dev/urandom, as KubeVirt's.

import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import { jsonOpt } from '../qemu-opts.js';
import type { DomainRng } from '../types.js';

export function rngFromVMI(vmi: VirtualMachineInstance): DomainRng | undefined {
  return vmi.spec.domain.devices.rng ? { source: '/dev/urandom' } : undefined;
}

export function rngArgv(r: DomainRng): string[] {
  return [
    '-object', jsonOpt({ 'qom-type': 'rng-random', id: 'objrng0', filename: r.source }),
    '-device', jsonOpt({ driver: 'virtio-rng-pci', id: 'rng0', rng: 'objrng0' }),
  ];
}
