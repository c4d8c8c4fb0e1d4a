// How much memory a VM's cgroup may use beyond its guest RAM, the way KubeVirt
// computes the virt-launcher pod's overhead (pkg/virt-controller/services:
// GetMemoryOverhead) but for virtnode's own processes: one Node launcher instead
// of virt-launcher + virtqemud + virtlogd + a monitor.

// TCG keeps translated code in a buffer the launcher sizes with -accel tcg,tb-size=.
import { TCG_TB_SIZE_MIB } from '../../proto/launch.js';

const Mi = 1024 * 1024;

/** The launcher process (Node, gRPC, QMP client). */
export const LAUNCHER_OVERHEAD = 96 * Mi;
/** QEMU's own code, data and device emulation, before guest RAM. */
export const QEMU_OVERHEAD = 48 * Mi;
export const PER_VCPU_OVERHEAD = 8 * Mi;
/** The VGA's video memory (QEMU's VGA default, KubeVirt's 16 MiB), with autoattachGraphicsDevice. */
export const GRAPHICS_OVERHEAD = 16 * Mi;

export function memoryOverheadBytes(o: { guestBytes: number; vcpus: number; accelerator: 'kvm' | 'tcg'; graphics?: boolean }): number {
  // Guest page tables: one 8-byte entry per 4 KiB page.
  const pageTables = Math.ceil(o.guestBytes / 512);
  const tcg = o.accelerator === 'tcg' ? (TCG_TB_SIZE_MIB + 32) * Mi : 0;
  return LAUNCHER_OVERHEAD + QEMU_OVERHEAD + o.vcpus * PER_VCPU_OVERHEAD + pageTables + tcg + (o.graphics ? GRAPHICS_OVERHEAD : 0);
}

/**
 * The cgroup's hard limit: guest memory (or the spec's memory limit when larger)
 * plus overhead, rounded up to a whole MiB.
 */
export function memoryLimitBytes(o: { guestBytes: number; vcpus: number; accelerator: 'kvm' | 'tcg'; limitBytes?: number; graphics?: boolean }): number {
  const base = Math.max(o.guestBytes, o.limitBytes ?? 0);
  const total = base + memoryOverheadBytes(o);
  return Math.ceil(total / Mi) * Mi;
}
