// What this node's QEMU offers under one accelerator: the part of node info that only
// QEMU can tell (the launcher's accel/cli.js asks it once at the handler's start, with
// the accelerator probe), and what KubeVirt's node-labeller reads from libvirt's
// domain capabilities: version, machine types, named CPU models, the host model.

/** One machine type of `query-machines`. */
export interface MachineType {
  name: string;
  /** e.g. "q35" for "pc-q35-7.2". */
  alias?: string;
  isDefault: boolean;
  deprecated: boolean;
  cpuMax: number;
}

/** One named CPU model of `query-cpu-definitions`. */
export interface CpuModel {
  name: string;
  /** Runs on this node under the accelerator: QEMU lists no unavailable feature. */
  usable: boolean;
  /** What this node lacks for it (empty when usable). */
  unavailableFeatures: string[];
  deprecated: boolean;
  /** e.g. "EPYC" for "EPYC-v1": the versioned name the alias stands for. */
  aliasOf?: string;
}

/** What the accelerator's own CPU model ("host" under KVM, "max" under TCG) expands to. */
export interface HostCpuModel {
  /** The CPU model QEMU expands ("host" or "max"). */
  model: string;
  /**
   * The usable named model closest to it: the one with the most of the host model's
   * features (libvirt names host-model the same way); undefined when none is usable.
   */
  closestNamedModel?: string;
  /** Features of the host model the closest named model lacks (host-model's required features). */
  requiredFeatures: string[];
  /** Every feature the host model has on. */
  features: string[];
}

export interface QemuCapabilities {
  accelerator: 'kvm' | 'tcg';
  /** e.g. "7.2.22". */
  version: string;
  /** e.g. "Debian 1:7.2+dfsg-7+deb12u18+b3". */
  package: string;
  machines: MachineType[];
  cpuModels: CpuModel[];
  /** Every CPU feature name QEMU knows (on or off in the host model's expansion). */
  cpuFeatures: string[];
  hostModel: HostCpuModel;
  /** How long asking QEMU took, its start included. */
  durationMs: number;
}

/**
 * What admission needs of a node to judge a VMI's CPU and timers: the accelerator a
 * VMI gets here, the named models that run (and what the others lack), the features
 * QEMU knows and those the accelerator provides.
 */
export interface NodeComputeFacts {
  accelerator: 'kvm' | 'tcg';
  /** Named model → the features this node lacks for it (empty: it runs). */
  cpuModels: Record<string, string[]>;
  knownFeatures: string[];
  providedFeatures: string[];
}

export function computeFacts(c: QemuCapabilities): NodeComputeFacts {
  return {
    accelerator: c.accelerator,
    cpuModels: Object.fromEntries(c.cpuModels.map((m) => [m.name, m.unavailableFeatures])),
    knownFeatures: c.cpuFeatures,
    providedFeatures: c.hostModel.features,
  };
}
