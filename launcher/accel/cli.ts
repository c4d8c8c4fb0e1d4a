// `node dist/launcher/accel/cli.js [--qemu PATH] [--timeout-ms N] [--tcg-timeout-ms N] [--kvm-device PATH]`
// prints this node's AcceleratorReport as one line of JSON, with QEMU's capabilities
// under each accelerator that ran the probe guest. The handler runs it once at start
// as a child process (a probe QEMU is a child of this process, not of the handler)
// and caches the result.
import { parseArgs } from 'node:util';
import type { Accelerator, AcceleratorReport } from '../../proto/accelerator.js';
import type { QemuCapabilities } from '../../proto/node-capabilities.js';
import { queryCapabilities } from './capabilities.js';
import { DEFAULT_QEMU, probeAccelerators, type ProbeOptions } from './probe.js';

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      qemu: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'tcg-timeout-ms': { type: 'string' },
      'kvm-device': { type: 'string' },
    },
    strict: true,
  });
  const opts: ProbeOptions = {};
  if (values.qemu !== undefined) opts.qemuBinary = values.qemu;
  const timeoutMs = positive('timeout-ms', values['timeout-ms']);
  if (timeoutMs !== undefined) opts.timeoutMs = timeoutMs;
  const tcgTimeoutMs = positive('tcg-timeout-ms', values['tcg-timeout-ms']);
  if (tcgTimeoutMs !== undefined) opts.tcgTimeoutMs = tcgTimeoutMs;
  if (values['kvm-device'] !== undefined) opts.kvmDevice = values['kvm-device'];
  // Asked side by side with the probe (a QEMU without a machine runs no guest, so it
  // cannot hang the way a KVM guest can); kept only for accelerators the probe proved.
  const qemu = opts.qemuBinary ?? DEFAULT_QEMU;
  const asked = (['kvm', 'tcg'] as const).map((a) => queryCapabilities(qemu, a).then((c) => [a, c] as const, (e: unknown) => [a, e instanceof Error ? e.message : String(e)] as const));
  const [report, ...caps] = await Promise.all([probeAccelerators(opts), ...asked]);
  const out: AcceleratorReport = { ...report, capabilities: {} };
  const problems: string[] = [];
  for (const [a, c] of caps as (readonly [Accelerator, QemuCapabilities | string])[]) {
    if (!report[a].usable) continue;
    if (typeof c === 'string') problems.push(c);
    else out.capabilities![a] = c;
  }
  if (problems.length) out.capabilitiesProblem = problems.join('; ');
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`virtnode accel probe: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
