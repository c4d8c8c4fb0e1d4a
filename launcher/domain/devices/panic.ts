// Guest panics and the other lifecycle actions. A pvpanic-pci device lets the guest
// kernel (its pvpanic_pci driver) tell QEMU it panicked, which QEMU reports as the
// GUEST_PANICKED event.
//
// On a panic QEMU pauses (-action panic=pause) rather than exits, which is where we
// part from KubeVirt's libvirt default (on_crash=destroy): the launcher still
// destroys the domain and the VMI fails, but the decision is the launcher's. With a
// pause, the panic is a state, not only a message: `query-status` says
// "guest-panicked" until someone acts, so a launcher that missed the event (QMP
// reconnecting) still learns it, and QEMU's exit status never has to tell a panic
// from a poweroff. Guest poweroff and reboot keep QEMU's defaults (exit, reset): the
// process exit is the launcher's signal for those, the SHUTDOWN event its reason.

import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import { jsonOpt } from '../qemu-opts.js';
import type { DomainLifecycle, DomainPanic } from '../types.js';

export function panicFromVMI(_vmi: VirtualMachineInstance): DomainPanic {
  return { model: 'pvpanic-pci' };
}

export function lifecycleFromVMI(_vmi: VirtualMachineInstance): DomainLifecycle {
  return { panic: 'pause', shutdown: 'poweroff', reboot: 'reset' };
}

export function panicArgv(p: DomainPanic): string[] {
  return ['-device', jsonOpt({ driver: p.model, id: 'panic0' })];
}

export function lifecycleArgv(l: DomainLifecycle): string[] {
  return ['-action', `reboot=${l.reboot},shutdown=${l.shutdown},panic=${l.panic}`];
}
