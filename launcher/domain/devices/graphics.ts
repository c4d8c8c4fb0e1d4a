// devices.autoattachGraphicsDevice: a VGA device and a VNC display, as KubeVirt's
// converter adds for a BIOS guest on amd64 (video model "vga", 16 MiB of video
// memory, one head). Unset means attached, as in KubeVirt; false means none at all:
// no video device, no VNC.
//
// QEMU's VNC server starts with `-vnc none`: a display with no listening socket of
// its own. The launcher hands it each client's connection over QMP (launcher/vnc.ts),
// so there is no TCP port and no socket in QEMU's directory anyone must dial.

import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import { runDirLayout, type LaunchContext } from '../../../proto/launch.js';
import { jsonOpt } from '../qemu-opts.js';
import type { DomainGraphics } from '../types.js';

/** KubeVirt's graphicsDeviceDefaultVRAM (16384 KiB). */
const VGA_MEMORY_MIB = 16;

export function graphicsFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext): DomainGraphics | undefined {
  if (vmi.spec.domain.devices.autoattachGraphicsDevice === false) return undefined;
  return { vgaMemoryMiB: VGA_MEMORY_MIB, screendump: runDirLayout(ctx.runDir).screendump };
}

/** Nothing without graphics: -nodefaults already leaves QEMU's default VGA out. */
export function graphicsArgv(g: DomainGraphics | undefined): string[] {
  if (!g) return [];
  return ['-device', jsonOpt({ driver: 'VGA', id: 'video0', vgamem_mb: g.vgaMemoryMiB }), '-vnc', 'none'];
}
