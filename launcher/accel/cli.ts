// `node dist/launcher/accel/cli.js [--qemu PATH] [--timeout-ms N] [--tcg-timeout-ms N] [--kvm-device PATH]`
// prints this node's AcceleratorReport as one line of JSON. The handler runs it once
// at start as a child process (a probe QEMU is a child of this process, not of the
// handler) and caches the result.
import { parseArgs } from 'node:util';
import { probeAccelerators, type ProbeOptions } from './probe.js';

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
  process.stdout.write(JSON.stringify(await probeAccelerators(opts)) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`virtnode accel probe: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
