// What only this node can judge of a VMI's CPU and timers: whether its QEMU runs the
// named CPU model under the accelerator a VMI gets here, knows and provides each
// CPU feature the policies ask for, and whether what needs KVM (Hyper-V
// enlightenments, paravirtual spinlocks, KVM's clock and PIT policies) would get it.
// QEMU under TCG accepts most of these and silently does nothing; here they are
// refused with the reason. Run at Apply once the node's probe has answered, and
// again when a VMI is prepared (before anything is made for it).

import type { NodeComputeFacts } from '../node-capabilities.js';
import type { FieldError } from '../errors.js';
import type { VirtualMachineInstanceSpec } from './types.js';
import { qemuFeatureName } from './validate-features.js';

const NEEDS_KVM = 'needs KVM: this node runs VMs under software emulation (TCG), which cannot provide it';

export interface NodeJudgement {
  errors: FieldError[];
  warnings: string[];
}

/** The problems of `spec` (at path `p`) on a node with `facts`. */
export function judgeOnNode(spec: VirtualMachineInstanceSpec, p: string, facts: NodeComputeFacts): NodeJudgement {
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  const domain = spec.domain;
  const tcg = facts.accelerator === 'tcg';
  const cpu = domain?.cpu;
  const model = cpu?.model;
  if (model === 'host-passthrough' && tcg) {
    warnings.push(`${p}.domain.cpu.model: host-passthrough under software emulation (TCG) gives the guest TCG's own CPU model, not the host's`);
  } else if (model && model !== 'host-model' && model !== 'host-passthrough') {
    const lacks = facts.cpuModels[model];
    if (lacks === undefined) errors.push({ path: `${p}.domain.cpu.model`, message: `this node's QEMU has no CPU model ${JSON.stringify(model)}` });
    else if (lacks.length) errors.push({ path: `${p}.domain.cpu.model`, message: `CPU model ${model} cannot run on this node under ${facts.accelerator.toUpperCase()}: it lacks ${lacks.join(', ')}` });
  }
  const known = new Set(facts.knownFeatures);
  const provided = new Set(facts.providedFeatures);
  (cpu?.features ?? []).forEach((f, i) => {
    const fp = `${p}.domain.cpu.features[${i}]`;
    const name = qemuFeatureName(f.name);
    const policy = f.policy || 'require';
    if (!known.has(name)) errors.push({ path: `${fp}.name`, message: `this node's QEMU knows no CPU feature ${JSON.stringify(f.name)}` });
    else if (policy === 'require' && !provided.has(name)) errors.push({ path: `${fp}.name`, message: `CPU feature ${f.name} is required but this node's CPU under ${facts.accelerator.toUpperCase()} does not provide it (policy optional takes it only where it exists)` });
    else if (policy === 'forbid' && provided.has(name)) errors.push({ path: `${fp}.name`, message: `CPU feature ${f.name} is forbidden but this node's CPU under ${facts.accelerator.toUpperCase()} provides it (policy disable turns it off instead)` });
  });
  if (!tcg) return { errors, warnings };

  const features = domain?.features;
  if (features?.hyperv) {
    for (const [k, v] of Object.entries(features.hyperv)) {
      if (v && (v as { enabled?: boolean }).enabled !== false) errors.push({ path: `${p}.domain.features.hyperv.${k}`, message: `Hyper-V enlightenments ${NEEDS_KVM}` });
    }
  }
  if (features?.hypervPassthrough?.enabled) errors.push({ path: `${p}.domain.features.hypervPassthrough`, message: `Hyper-V passthrough ${NEEDS_KVM}` });
  if (features?.pvspinlock && features.pvspinlock.enabled !== false) errors.push({ path: `${p}.domain.features.pvspinlock`, message: `paravirtual spinlocks (kvm-pv-unhalt) ${NEEDS_KVM}` });
  const timer = domain?.clock?.timer;
  if (timer?.pit?.tickPolicy) errors.push({ path: `${p}.domain.clock.timer.pit.tickPolicy`, message: `a PIT lost tick policy ${NEEDS_KVM} (KVM's in-kernel PIT)` });
  if (timer?.kvm && timer.kvm.present !== false) errors.push({ path: `${p}.domain.clock.timer.kvm`, message: `the KVM clock (kvmclock) ${NEEDS_KVM}` });
  if (timer?.hyperv && timer.hyperv.present !== false) errors.push({ path: `${p}.domain.clock.timer.hyperv`, message: `the Hyper-V clock (hv-time) ${NEEDS_KVM}` });
  return { errors, warnings };
}
