// Which accelerator a new VMI gets on this node. The probe (launcher/accel) runs a
// tiny guest under each accelerator once, at the handler's start, in a child process
// of the launcher's build; the policy here turns its report into a choice per VMI.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { VirtnodeError } from '../proto/errors.js';
import type { AcceleratorChoice, AcceleratorReport } from '../proto/accelerator.js';
import { computeFacts } from '../proto/node-capabilities.js';

/**
 * KubeVirt's rule with a probe instead of a stat(): KVM whenever it runs guests,
 * whatever `useEmulation` says; TCG only when KVM does not and emulation is allowed.
 */
export function chooseAccelerator(report: AcceleratorReport, allowEmulation: boolean): AcceleratorChoice {
  const withFacts = (c: AcceleratorChoice): AcceleratorChoice => {
    const caps = report.capabilities?.[c.accelerator];
    return caps ? { ...c, compute: computeFacts(caps) } : c;
  };
  if (report.kvm.usable) return withFacts({ accelerator: 'kvm', softwareEmulation: false });
  if (!allowEmulation) {
    throw new VirtnodeError('VN_UNSUPPORTED',
      `KVM is not usable on this node (${report.kvm.reason}) and software emulation is not allowed (enable useEmulation)`);
  }
  if (!report.tcg.usable) {
    throw new VirtnodeError('VN_UNSUPPORTED',
      `KVM is not usable on this node (${report.kvm.reason}) and software emulation does not work either (${report.tcg.reason})`);
  }
  return withFacts({ accelerator: 'tcg', softwareEmulation: true });
}

/**
 * Runs the probe once with the launcher's own command (its accel/cli.js sits beside
 * its main.js), so the verdict is the one QEMU as the launcher starts it would give.
 */
export async function probeNode(launcherCommand: string[], log: Logger): Promise<AcceleratorReport> {
  const started = Date.now();
  const cli = join(launcherCommand.at(-1)!, '..', 'accel', 'cli.js');
  const { stdout } = await promisify(execFile)(launcherCommand[0]!, [cli], { timeout: 60_000 });
  const report = JSON.parse(stdout) as AcceleratorReport;
  const caps = Object.fromEntries(Object.entries(report.capabilities ?? {}).map(([a, c]) => [a, { qemu: c.version, machines: c.machines.length, cpuModels: c.cpuModels.filter((m) => m.usable).length, hostModel: c.hostModel.closestNamedModel, ms: c.durationMs }]));
  log.info({ kvm: report.kvm, tcg: report.tcg, capabilities: caps, capabilitiesProblem: report.capabilitiesProblem, ms: Date.now() - started }, 'accelerator probe done');
  return report;
}
