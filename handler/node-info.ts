// What this node is and offers, for `virtnode node` and the NodeInfo API: the
// accelerator the probe proved, the host CPU, QEMU's version, machine types and CPU
// models under that accelerator, capacity and what the VMIs here hold of it — and the
// node labels KubeVirt's node-labeller would put on a Node with these facts, under
// their names (cpu-model.node.kubevirt.io/..., machine-type.node.kubevirt.io/...).

import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import type { AcceleratorReport } from '../proto/accelerator.js';
import type { QemuCapabilities } from '../proto/node-capabilities.js';

export interface HostCpu {
  /** /proc/cpuinfo's "model name". */
  modelName: string;
  /** "AMD", "Intel" or the raw vendor_id. */
  vendor: string;
  flags: string[];
}

export interface NodeInfoDocument {
  accelerator: {
    /** What a new VMI gets: "kvm", "tcg", or "none" with the reason. */
    chosen: 'kvm' | 'tcg' | 'none';
    reason: string;
    softwareEmulation: boolean;
    kvm: AcceleratorReport['kvm'];
    tcg: AcceleratorReport['tcg'];
  };
  host: HostCpu & { kernel: string };
  qemu?: {
    version: string;
    package: string;
    defaultMachineType?: string;
    machineTypes: string[];
    /** CPU models this node runs under the chosen accelerator. */
    cpuModels: string[];
    hostModel: QemuCapabilities['hostModel'];
  };
  /** Why QEMU's part is missing, when it is. */
  qemuProblem?: string;
  capacity: { cpu: string; memory: string };
  /** What the VMIs on this node hold (requests, overhead included in memory). */
  allocated: { cpu: string; memory: string };
  allocatable: { cpu: string; memory: string };
  vmis: { total: number; running: number };
  labels: Record<string, string>;
}

export interface NodeInfoInput {
  report: AcceleratorReport | undefined;
  /** Why there is no report yet (the probe still runs, or failed). */
  reportProblem?: string;
  allowEmulation: boolean;
  vmis: { total: number; running: number; cpuMillis: number; memoryBytes: number };
  /** /proc/cpuinfo's text (tests give their own). */
  cpuinfo?: string;
  capacity?: { cpus: number; memoryBytes: number };
}

/** KubeVirt's node labels (kubevirt.io/api core/v1 types.go, node-labeller). */
export const NODE_LABELS = {
  schedulable: 'kubevirt.io/schedulable',
  cpuModel: 'cpu-model.node.kubevirt.io/',
  cpuFeature: 'cpu-feature.node.kubevirt.io/',
  hostModelCpu: 'host-model-cpu.node.kubevirt.io/',
  hostModelRequiredFeatures: 'host-model-required-features.node.kubevirt.io/',
  cpuVendor: 'cpu-vendor.node.kubevirt.io/',
  machineType: 'machine-type.node.kubevirt.io/',
} as const;

export function nodeInfo(input: NodeInfoInput): NodeInfoDocument {
  const host = hostCpu(input.cpuinfo ?? readCpuinfo());
  const capacity = input.capacity ?? { cpus: availableParallelism(), memoryBytes: totalmem() };
  const r = input.report;
  const none = { usable: false, reason: input.reportProblem ?? 'the accelerator probe has not finished', durationMs: 0 };
  const kvm = r?.kvm ?? none;
  const tcg = r?.tcg ?? none;
  let chosen: NodeInfoDocument['accelerator']['chosen'] = 'none';
  let reason: string;
  if (kvm.usable) {
    chosen = 'kvm';
    reason = `KVM ran the probe guest: ${kvm.reason}`;
  } else if (input.allowEmulation && tcg.usable) {
    chosen = 'tcg';
    reason = `KVM is not usable (${kvm.reason}); software emulation is allowed`;
  } else {
    reason = input.allowEmulation ? `neither KVM (${kvm.reason}) nor TCG (${tcg.reason}) runs guests` : `KVM is not usable (${kvm.reason}) and software emulation is not allowed`;
  }
  const caps = chosen === 'none' ? undefined : r?.capabilities?.[chosen];
  const qemuProblem = chosen === 'none' ? reason : caps ? undefined : r?.capabilitiesProblem ?? `QEMU's capabilities under ${chosen} are not known`;
  const cpuMillis = capacity.cpus * 1000;
  const doc: NodeInfoDocument = {
    accelerator: { chosen, reason, softwareEmulation: chosen === 'tcg', kvm, tcg },
    host: { ...host, kernel: release() },
    ...(caps ? { qemu: qemuPart(caps) } : {}),
    ...(qemuProblem ? { qemuProblem } : {}),
    capacity: { cpu: String(capacity.cpus), memory: kibibytes(capacity.memoryBytes) },
    allocated: { cpu: `${input.vmis.cpuMillis}m`, memory: kibibytes(input.vmis.memoryBytes) },
    allocatable: { cpu: `${Math.max(0, cpuMillis - input.vmis.cpuMillis)}m`, memory: kibibytes(Math.max(0, capacity.memoryBytes - input.vmis.memoryBytes)) },
    vmis: { total: input.vmis.total, running: input.vmis.running },
    labels: {},
  };
  doc.labels = nodeLabels(doc, caps);
  return doc;
}

function qemuPart(c: QemuCapabilities): NonNullable<NodeInfoDocument['qemu']> {
  const def = c.machines.find((m) => m.isDefault);
  return {
    version: c.version,
    package: c.package,
    ...(def ? { defaultMachineType: def.name } : {}),
    machineTypes: c.machines.filter((m) => !m.deprecated).map((m) => m.name).sort(),
    cpuModels: c.cpuModels.filter((m) => m.usable && !m.deprecated).map((m) => m.name).sort(),
    hostModel: c.hostModel,
  };
}

/**
 * The labels node-labeller derives from the same facts: schedulable when a VMI
 * can start here, each usable named CPU model, each host-model feature, the host
 * model's closest named model and what it needs beyond it, the vendor, each
 * machine type. (Timer and Hyper-V labels need KVM's capability ioctls: not here.)
 */
export function nodeLabels(doc: NodeInfoDocument, caps: QemuCapabilities | undefined): Record<string, string> {
  const labels: Record<string, string> = { [NODE_LABELS.schedulable]: String(doc.accelerator.chosen !== 'none') };
  if (!caps) return labels;
  for (const m of caps.cpuModels) if (m.usable && !m.deprecated) labels[NODE_LABELS.cpuModel + m.name] = 'true';
  for (const f of caps.hostModel.features) labels[NODE_LABELS.cpuFeature + f] = 'true';
  if (caps.hostModel.closestNamedModel) labels[NODE_LABELS.hostModelCpu + caps.hostModel.closestNamedModel] = 'true';
  for (const f of caps.hostModel.requiredFeatures) labels[NODE_LABELS.hostModelRequiredFeatures + f] = 'true';
  if (doc.host.vendor) labels[NODE_LABELS.cpuVendor + doc.host.vendor] = 'true';
  for (const m of caps.machines) if (!m.deprecated) labels[NODE_LABELS.machineType + m.name] = 'true';
  return labels;
}

const VENDORS: Record<string, string> = { AuthenticAMD: 'AMD', GenuineIntel: 'Intel' };

/** The first processor's model name, vendor and flags. */
export function hostCpu(cpuinfo: string): HostCpu {
  const first = cpuinfo.split(/\n\s*\n/)[0] ?? '';
  const field = (k: string): string => first.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim() ?? '';
  const vendorId = field('vendor_id');
  return { modelName: field('model name'), vendor: VENDORS[vendorId] ?? vendorId, flags: field('flags').split(/\s+/).filter(Boolean).sort() };
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** Bytes as Kubernetes writes a node's memory: whole Ki. */
function kibibytes(bytes: number): string {
  return `${Math.floor(bytes / 1024)}Ki`;
}
