import { VirtnodeError } from '../../proto/errors.js';
import type { AcceleratorChoice, AcceleratorReport } from './types.js';

/**
 * KubeVirt's rule with a probe instead of a stat(): KVM whenever it runs guests,
 * whatever `useEmulation` says; TCG only when KVM does not and emulation is allowed.
 */
export function chooseAccelerator(report: AcceleratorReport, allowEmulation: boolean): AcceleratorChoice {
  if (report.kvm.usable) return { accelerator: 'kvm', softwareEmulation: false };
  if (!allowEmulation) {
    throw new VirtnodeError('VN_UNSUPPORTED',
      `KVM is not usable on this node (${report.kvm.reason}) and software emulation is not allowed (enable useEmulation)`);
  }
  if (!report.tcg.usable) {
    throw new VirtnodeError('VN_UNSUPPORTED',
      `KVM is not usable on this node (${report.kvm.reason}) and software emulation does not work either (${report.tcg.reason})`);
  }
  return { accelerator: 'tcg', softwareEmulation: true };
}
