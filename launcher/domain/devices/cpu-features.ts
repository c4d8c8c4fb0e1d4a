// The -cpu flags a VMI asks for beyond its model, as libvirt writes them for
// KubeVirt's domain: cpu.features by policy, features.kvm.hidden (kvm=off),
// features.pvspinlock (kvm-pv-unhalt), each Hyper-V enlightenment (its hv-* flag),
// hypervPassthrough, and the kvmclock and Hyper-V clock timers. Whether this node can
// provide them was judged before launch (proto/vmi/validate-node.ts): under TCG QEMU
// would take most of them and silently do nothing.

import type { FeatureHyperv, FeatureState, VirtualMachineInstance } from '../../../proto/vmi/types.js';
import { qemuFeatureName } from '../../../proto/vmi/validate-features.js';

/** One -cpu property, "name=value": on/off, or a number or word for the few that take one. */
export const CPU_FLAG = /^[a-z0-9][a-z0-9._-]*=(?:on|off|0x[0-9a-f]+|[A-Za-z0-9_.-]{1,12})$/;

/** KubeVirt's name → QEMU's property, for the enlightenments that are plain switches. */
const HV_SWITCHES: readonly (readonly [keyof FeatureHyperv, string])[] = [
  ['relaxed', 'hv-relaxed'],
  ['vapic', 'hv-vapic'],
  ['vpindex', 'hv-vpindex'],
  ['runtime', 'hv-runtime'],
  ['synic', 'hv-synic'],
  ['reset', 'hv-reset'],
  ['frequencies', 'hv-frequencies'],
  ['reenlightenment', 'hv-reenlightenment'],
  ['ipi', 'hv-ipi'],
  ['evmcs', 'hv-evmcs'],
];

const onOff = (s: FeatureState | { enabled?: boolean } | undefined): 'on' | 'off' => (s?.enabled === false ? 'off' : 'on');

/** The flags in the order libvirt would give them: features first, then hypervisor, then timers. */
export function cpuFlagsFromVMI(vmi: VirtualMachineInstance): string[] {
  const d = vmi.spec.domain;
  const flags: string[] = [];
  for (const f of d.cpu?.features ?? []) {
    // require, force and optional turn the feature on (admission checked require; QEMU
    // without "enforce" drops what the accelerator lacks, which is optional's meaning);
    // disable and forbid turn it off (admission checked forbid).
    const policy = f.policy || 'require';
    flags.push(`${qemuFeatureName(f.name)}=${policy === 'disable' || policy === 'forbid' ? 'off' : 'on'}`);
  }
  const features = d.features;
  if (features?.kvm) flags.push(`kvm=${features.kvm.hidden ? 'off' : 'on'}`);
  if (features?.pvspinlock) flags.push(`kvm-pv-unhalt=${onOff(features.pvspinlock)}`);
  const hv = features?.hyperv;
  if (hv) {
    for (const [k, prop] of HV_SWITCHES) if (hv[k]) flags.push(`${prop}=${onOff(hv[k] as FeatureState)}`);
    if (hv.spinlocks) {
      // hv-spinlocks is the retry count itself; 0xffffffff means "never notify" (off).
      flags.push(hv.spinlocks.enabled === false ? 'hv-spinlocks=0xffffffff' : `hv-spinlocks=0x${(hv.spinlocks.spinlocks ?? 4096).toString(16)}`);
    }
    if (hv.synictimer) {
      flags.push(`hv-stimer=${onOff(hv.synictimer)}`);
      if (hv.synictimer.direct) flags.push(`hv-stimer-direct=${onOff(hv.synictimer.direct)}`);
    }
    if (hv.tlbflush) {
      flags.push(`hv-tlbflush=${onOff(hv.tlbflush)}`);
      if (hv.tlbflush.direct) flags.push(`hv-tlbflush-direct=${onOff(hv.tlbflush.direct)}`);
      if (hv.tlbflush.extended) flags.push(`hv-tlbflush-ext=${onOff(hv.tlbflush.extended)}`);
    }
    if (hv.vendorid && hv.vendorid.enabled !== false && hv.vendorid.vendorid) flags.push(`hv-vendor-id=${hv.vendorid.vendorid}`);
  } else if (features?.hypervPassthrough?.enabled) {
    flags.push('hv-passthrough=on');
  }
  const timer = d.clock?.timer;
  if (timer?.kvm) flags.push(`kvmclock=${timer.kvm.present === false ? 'off' : 'on'}`);
  if (timer?.hyperv) flags.push(`hv-time=${timer.hyperv.present === false ? 'off' : 'on'}`);
  return flags;
}
