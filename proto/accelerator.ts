// The accelerator contract: what the node's probe reports (the launcher's
// accel/cli.js prints it as JSON; the handler reads it) and what the handler chose
// for a VMI. The policy that chooses lives in handler/accelerator.ts.

import type { NodeComputeFacts, QemuCapabilities } from './node-capabilities.js';

export type Accelerator = 'kvm' | 'tcg';

/** Whether one accelerator ran the probe guest to the end, and in words why (not). */
export interface AcceleratorVerdict {
  usable: boolean;
  /** e.g. "/dev/kvm missing", "probe guest hung after 2000 ms under KVM at lock cmpxchg16b ...", "ok in 35 ms ...". */
  reason: string;
  durationMs: number;
}

/** What this node's QEMU can use; the handler computes it once at start and caches it. */
export interface AcceleratorReport {
  kvm: AcceleratorVerdict;
  tcg: AcceleratorVerdict;
  /** What QEMU offers under each accelerator that ran the probe guest (node info). */
  capabilities?: Partial<Record<Accelerator, QemuCapabilities>>;
  /** Why a usable accelerator's capabilities are missing. */
  capabilitiesProblem?: string;
}

export interface AcceleratorChoice {
  accelerator: Accelerator;
  /** True when the VMI runs under TCG: its status gets KubeVirt's SoftwareEmulation condition. */
  softwareEmulation: boolean;
  /** What QEMU offers under it (CPU models, features), when the probe could ask. */
  compute?: NodeComputeFacts;
}
