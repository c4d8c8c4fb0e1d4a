// devices.autoattachSerialConsole: ttyS0 on a unix socket QEMU listens on; the
// launcher's console relay connects to it. Off only when the spec says false.

import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import type { LaunchContext } from '../context.js';
import { checkSocketPath, jsonOpt, serverSocketChardev } from '../qemu-opts.js';
import { join } from 'node:path';

export const SERIAL_SOCKET = 'serial0.sock';

export function serialSocketFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext): string | undefined {
  if (vmi.spec.domain.devices.autoattachSerialConsole === false) return undefined;
  return checkSocketPath('serial console socket', join(ctx.runDir, SERIAL_SOCKET));
}

export function serialArgv(socket: string): string[] {
  return [...serverSocketChardev('charserial0', socket), '-device', jsonOpt({ driver: 'isa-serial', id: 'serial0', chardev: 'charserial0' })];
}
