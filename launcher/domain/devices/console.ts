// devices.autoattachSerialConsole: ttyS0 on a unix socket QEMU listens on; the
// launcher's console relay connects to it. Off only when the spec says false.

import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import { runDirLayout, type LaunchContext } from '../../../proto/launch.js';
import { checkSocketPath, jsonOpt, serverSocketChardev } from '../qemu-opts.js';


export function serialSocketFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext): string | undefined {
  if (vmi.spec.domain.devices.autoattachSerialConsole === false) return undefined;
  return checkSocketPath('serial console socket', runDirLayout(ctx.runDir).serialSocket);
}

export function serialArgv(socket: string): string[] {
  return [...serverSocketChardev('charserial0', socket), '-device', jsonOpt({ driver: 'isa-serial', id: 'serial0', chardev: 'charserial0' })];
}
