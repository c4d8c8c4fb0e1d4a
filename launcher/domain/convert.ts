// VMI → Domain: what virt-launcher's converter does, one device kind per module in
// devices/ (Firecracker's vmm_config layout), summed here. The VMI comes in
// defaulted and validated; the LaunchContext says what the handler prepared. Errors
// name the spec field: InvalidSpecError for a spec that cannot mean anything,
// VN_UNSUPPORTED for one KubeVirt runs and virtnode does not yet.

import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { LaunchContext } from '../../proto/launch.js';
import { guestAgentFromContext } from './devices/agent.js';
import { balloonFromVMI } from './devices/balloon.js';
import { bootFromVMI } from './devices/boot.js';
import { serialSocketFromVMI } from './devices/console.js';
import { diskControllers, disksFromVMI } from './devices/disk.js';
import { ioThreadsFromVMI } from './devices/iothreads.js';
import type { HostVolumes } from './host-volumes.js';
import { interfacesFromVMI } from './devices/interface.js';
import { machinePart } from './devices/machine.js';
import { qmpSocketFromContext } from './devices/monitor.js';
import { lifecycleFromVMI, panicFromVMI } from './devices/panic.js';
import { rngFromVMI } from './devices/rng.js';
import { graphicsFromVMI } from './devices/graphics.js';
import { tpmFromVMI } from './devices/tpm.js';
import type { Domain } from './types.js';
import { hotplugPortIds } from './devices/hotplug.js';

/**
 * `tapFds`: interface name → the fd numbers QEMU inherits its opened taps at;
 * `hostVolumes`: what the node has at each volume's path (probeVolumes), files when left out;
 * `hostFds`: volume name → the fd number of its opened hostDisk file.
 */
export function vmiToDomain(vmi: VirtualMachineInstance, ctx: LaunchContext, tapFds: Readonly<Record<string, number[]>> = {}, hostVolumes: HostVolumes = {}, hostFds: Readonly<Record<string, number>> = {}): Domain {
  const rng = rngFromVMI(vmi);
  const io = ioThreadsFromVMI(vmi);
  const disks = disksFromVMI(vmi, ctx, hostVolumes, io.perDisk, hostFds);
  const balloon = balloonFromVMI(vmi);
  const serialSocket = serialSocketFromVMI(vmi, ctx);
  const graphics = graphicsFromVMI(vmi, ctx);
  const tpm = tpmFromVMI(vmi, ctx);
  return {
    ...machinePart(vmi, ctx),
    boot: bootFromVMI(vmi, ctx),
    disks,
    diskControllers: diskControllers(disks, vmi.spec.domain.devices.disableHotplug !== true),
    ioThreads: io.threads,
    interfaces: interfacesFromVMI(vmi, ctx, tapFds),
    ...(rng ? { rng } : {}),
    ...(balloon ? { balloon } : {}),
    qmpSocket: qmpSocketFromContext(ctx),
    ...(serialSocket ? { serialSocket } : {}),
    ...(graphics ? { graphics } : {}),
    guestAgent: guestAgentFromContext(ctx),
    panic: panicFromVMI(vmi),
    ...(tpm ? { tpm } : {}),
    lifecycle: lifecycleFromVMI(vmi),
    hotplugPorts: hotplugPortIds(),
  };
}
