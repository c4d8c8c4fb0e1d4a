// The qemu-guest-agent channel: a virtio-serial port named org.qemu.guest_agent.0
// (the name qemu-ga looks for in the guest) on a unix socket QEMU listens on. QEMU
// reports the guest side opening it as VSERPORT_CHANGE{id: "channel0", open: true}.

import { runDirLayout, type LaunchContext } from '../../../proto/launch.js';
import { checkSocketPath, jsonOpt, serverSocketChardev } from '../qemu-opts.js';

export const AGENT_PORT_NAME = 'org.qemu.guest_agent.0';

export function guestAgentFromContext(ctx: LaunchContext): { socket: string } {
  return { socket: checkSocketPath('guest agent socket', runDirLayout(ctx.runDir).agentSocket) };
}

export function guestAgentArgv(a: { socket: string }): string[] {
  return [
    '-device', jsonOpt({ driver: 'virtio-serial-pci', id: 'virtio-serial0' }),
    ...serverSocketChardev('charchannel0', a.socket),
    '-device', jsonOpt({ driver: 'virtserialport', id: 'channel0', bus: 'virtio-serial0.0', nr: 1, chardev: 'charchannel0', name: AGENT_PORT_NAME }),
  ];
}
