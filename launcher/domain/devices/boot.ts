// Firmware and direct kernel boot (KubeVirt's firmware.bootloader and
// firmware.kernelBoot). The kernel, initrd and command line go to -kernel, -initrd
// and -append, which QEMU takes verbatim (no option parsing), so a command line with
// spaces, commas or '=' reaches the guest intact.

import { InvalidSpecError, VirtnodeError } from '../../../proto/errors.js';
import { firmwareArgv, firmwareFromVMI } from './firmware.js';
import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import type { LaunchContext } from '../../../proto/launch.js';
import type { DomainBoot } from '../types.js';

export function bootFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext): DomainBoot {
  const fw = vmi.spec.domain.firmware;
  const firmware = firmwareFromVMI(vmi, ctx);
  const kb = fw?.kernelBoot;
  // KubeVirt boots a kernelBoot without a container from its disks, as if it were not
  // there; admission has refused its kernelArgs (nothing to pass them to).
  if (!kb?.container) return firmware;
  if (!ctx.kernelBoot) throw new VirtnodeError('VN_INTERNAL', 'kernelBoot: the handler prepared no kernel for spec.domain.firmware.kernelBoot');
  if (ctx.kernelBoot.kernel === undefined) {
    throw new InvalidSpecError([{ path: 'spec.domain.firmware.kernelBoot.container.kernelPath', message: 'required: QEMU loads an initrd only with a kernel' }]);
  }
  return {
    ...firmware,
    kernel: {
      path: ctx.kernelBoot.kernel,
      ...(ctx.kernelBoot.initrd !== undefined ? { initrd: ctx.kernelBoot.initrd } : {}),
      ...(kb.kernelArgs !== undefined && kb.kernelArgs !== '' ? { cmdline: kb.kernelArgs } : {}),
    },
  };
}

/** The firmware's devices, -boot, and -kernel/-initrd/-append for direct kernel boot. */
export function bootArgv(b: DomainBoot): string[] {
  // strict: boot only what has a bootindex, never fall through to a NIC ROM or nothing.
  const argv = [...firmwareArgv(b), '-boot', 'strict=on'];
  if (b.kernel) {
    argv.push('-kernel', b.kernel.path);
    if (b.kernel.initrd !== undefined) argv.push('-initrd', b.kernel.initrd);
    if (b.kernel.cmdline !== undefined) argv.push('-append', b.kernel.cmdline);
  }
  return argv;
}
