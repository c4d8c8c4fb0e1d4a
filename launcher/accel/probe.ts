// Accelerator probing: `/dev/kvm` that opens is not proof that KVM works, so each
// accelerator must run a small guest (guest.ts) to its end before a VMI is put on it.
// A guest that does not finish in time is a hung guest: its QEMU is SIGKILLed and
// reaped before the verdict is returned, and its temp directory removed.
import { spawn } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GUEST_FAILURES, PASS_VALUE, WORK_LIMIT_NS, exitStatusOf, probeRom, readProgress } from './guest.js';
import type { Accelerator, AcceleratorReport, AcceleratorVerdict } from '../../proto/accelerator.js';
import { pdeathsigArgv } from '../../native/index.js';

export type { Accelerator, AcceleratorReport, AcceleratorVerdict } from '../../proto/accelerator.js';

export const DEFAULT_QEMU = 'qemu-system-x86_64';
/** Healthy KVM finishes the probe in well under 100 ms, QEMU's start included. */
export const DEFAULT_KVM_TIMEOUT_MS = 2000;
/** TCG is the fallback and may share a busy node; it only has to finish, not be quick. */
export const DEFAULT_TCG_TIMEOUT_MS = 10_000;

export interface ProbeOptions {
  qemuBinary?: string;
  /** Deadline of the KVM probe guest. */
  timeoutMs?: number;
  tcgTimeoutMs?: number;
  /**
   * The device checked before QEMU runs (missing, no permission, no driver). QEMU 7.2
   * has no option to open another path, so this only moves the pre-check (tests use it).
   */
  kvmDevice?: string;
}

export async function probeAccelerators(opts: ProbeOptions = {}): Promise<AcceleratorReport> {
  const qemuBinary = opts.qemuBinary ?? DEFAULT_QEMU;
  const [kvm, tcg] = await Promise.all([
    probeKvm(qemuBinary, opts.timeoutMs ?? DEFAULT_KVM_TIMEOUT_MS, opts.kvmDevice ?? '/dev/kvm'),
    runProbeGuest({ qemuBinary, accelerator: 'tcg', timeoutMs: opts.tcgTimeoutMs ?? DEFAULT_TCG_TIMEOUT_MS }).then(verdictOf),
  ]);
  return { kvm, tcg };
}

async function probeKvm(qemuBinary: string, timeoutMs: number, device: string): Promise<AcceleratorVerdict> {
  const start = performance.now();
  const problem = await deviceProblem(device);
  if (problem) return { usable: false, reason: problem, durationMs: Math.round(performance.now() - start) };
  return verdictOf(await runProbeGuest({ qemuBinary, accelerator: 'kvm', timeoutMs }));
}

async function deviceProblem(path: string): Promise<string | undefined> {
  try {
    const fh = await open(path, 'r+');
    await fh.close();
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${path} missing`;
    if (code === 'EACCES' || code === 'EPERM') return `${path} not accessible (${code})`;
    if (code === 'ENXIO' || code === 'ENODEV') return `${path} has no KVM driver behind it (${code})`;
    return `${path} cannot be opened: ${(e as Error).message}`;
  }
}

export interface GuestRunOptions {
  qemuBinary: string;
  accelerator: Accelerator;
  timeoutMs: number;
  /** Another -bios image; tests use one that hangs or fails on purpose. */
  rom?: Buffer;
  /** More QEMU options after the probe's own; tests slow TCG down with -icount. */
  extraArgs?: string[];
}

export interface GuestRun {
  accelerator: Accelerator;
  /** passed: every stage ran; failed: the guest caught a fault or KVM stopped it; hung: killed at the deadline; reset: triple fault. */
  outcome: 'passed' | 'failed' | 'hung' | 'reset' | 'qemu-error';
  detail: string;
  /** What the guest printed on isa-debugcon (stage letters, then the work time in hex). */
  output: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The probe QEMU's pid (setpriv execs in place), gone by the time this is returned. */
  pid: number | undefined;
  durationMs: number;
  workNs: number | undefined;
  /** The temp directory that held the image, removed by the time this is returned. */
  dir: string;
}

const NAMES: Record<Accelerator, string> = { kvm: 'KVM', tcg: 'TCG' };
const OUTPUT_CAP = 4096;
const STDERR_CAP = 16_384;

export function probeArgv(qemuBinary: string, accelerator: Accelerator, romPath: string): string[] {
  return [
    qemuBinary, '-accel', accelerator, '-machine', 'q35', '-m', '16',
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-bios', romPath,
    '-debugcon', 'stdio',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ];
}

/** Runs the probe guest once under `accelerator`; never throws. */
export async function runProbeGuest(opts: GuestRunOptions): Promise<GuestRun> {
  const dir = await mkdtemp(join(tmpdir(), 'virtnode-accel-'));
  try {
    const romPath = join(dir, 'probe.rom');
    await writeFile(romPath, opts.rom ?? probeRom());
    return await runQemu(opts, dir, [...probeArgv(opts.qemuBinary, opts.accelerator, romPath), ...(opts.extraArgs ?? [])]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runQemu(opts: GuestRunOptions, dir: string, argv: string[]): Promise<GuestRun> {
  // If this process dies mid-probe, the kernel kills the probe QEMU (setpriv --pdeathsig).
  const full = pdeathsigArgv(argv);
  const start = performance.now();
  return new Promise((resolve) => {
    let output = '';
    let stderr = '';
    let timedOut = false;
    let kvmStopped = false;
    let settled = false;
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs);
    child.stdout.setEncoding('latin1').on('data', (s: string) => { if (output.length < OUTPUT_CAP) output += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < STDERR_CAP) stderr += s;
      if (!kvmStopped && KVM_STOP.test(stderr)) {
        kvmStopped = true;
        // let QEMU finish its vCPU dump (it ends with the Code= line), then stop waiting
        setTimeout(() => child.kill('SIGKILL'), 200).unref();
      }
      if (kvmStopped && /\nCode=.*\n/.test(stderr)) child.kill('SIGKILL');
    });
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const durationMs = Math.round(performance.now() - start);
      const base = { accelerator: opts.accelerator, output, stderr, exitCode, signal, pid: child.pid, durationMs, dir };
      resolve({ ...base, ...classify(opts, { ...base, timedOut, spawnError }) });
    };
    child.on('error', (e) => finish(null, null, e));
    // 'close' comes after the exit was reaped and both pipes drained: no zombie, no lost
    // output. A grandchild holding the pipes must not hold the verdict: 'exit' (reaped)
    // plus a moment for the pipes is enough.
    child.on('close', (code, signal) => finish(code, signal));
    child.on('exit', (code, signal) => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(code, signal);
      }, 200).unref();
    });
  });
}

// QEMU answers a KVM exit it cannot handle by dumping the vCPU and pausing the VM for
// good (RUN_STATE_INTERNAL_ERROR): from outside, a hang. Seen on stderr, it is a verdict
// at once. Suberrors are linux/kvm.h's KVM_INTERNAL_ERROR_*.
const KVM_STOP = /KVM internal error\. Suberror: (\d+)|KVM: entry failed, hardware error (0x[0-9a-f]+)/;
const SUBERRORS: Record<number, string> = {
  1: 'emulation failure', 2: 'simultaneous exceptions', 3: 'event delivery failure', 4: 'unexpected exit reason',
};

function kvmStop(stderr: string): string | undefined {
  const m = KVM_STOP.exec(stderr);
  if (!m) return undefined;
  if (m[2]) return `KVM entry failed (hardware error ${m[2]})`;
  const what = SUBERRORS[Number(m[1])];
  return `KVM internal error, suberror ${m[1]}${what ? ` (${what})` : ''}`;
}

interface RawRun {
  output: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  timedOut: boolean;
  spawnError?: Error | undefined;
}

function classify(opts: GuestRunOptions, run: RawRun): Pick<GuestRun, 'outcome' | 'detail' | 'workNs'> {
  const name = NAMES[opts.accelerator];
  const progress = readProgress(run.output);
  const where = progress.stuckIn
    ? `at ${progress.stuckIn}${progress.passed.length ? ` (passed: ${progress.passed.join(', ')})` : ''}`
    : 'after its last stage';
  const workNs = progress.workNs;
  if (run.spawnError) {
    return { outcome: 'qemu-error', detail: `cannot run ${opts.qemuBinary}: ${run.spawnError.message}`, workNs };
  }
  const stopped = kvmStop(run.stderr);
  if (stopped) {
    return { outcome: 'failed', detail: `probe guest stopped by ${stopped} under ${name} ${where}`, workNs };
  }
  if (run.timedOut) {
    const why = progress.stuckIn ? '' : ' (no isa-debug-exit device?)';
    return { outcome: 'hung', detail: `probe guest hung after ${opts.timeoutMs} ms under ${name} ${where}${why}`, workNs };
  }
  if (run.exitCode === exitStatusOf(PASS_VALUE)) {
    const work = workNs === undefined ? '' : ` (guest work ${(workNs / 1e6).toFixed(1)} ms)`;
    return { outcome: 'passed', detail: `ok in ${run.durationMs} ms${work}`, workNs };
  }
  for (const [value, what] of Object.entries(GUEST_FAILURES)) {
    if (run.exitCode !== exitStatusOf(Number(value))) continue;
    const slow = Number(value) === 4
      ? `: 5M instructions took ${workNs === undefined ? 'over ' : ''}${((workNs ?? WORK_LIMIT_NS) / 1e6).toFixed(0)} ms (limit ${WORK_LIMIT_NS / 1e6} ms)` : '';
    return { outcome: 'failed', detail: `probe guest failed under ${name} ${where}: ${what}${slow}`, workNs };
  }
  if (run.exitCode === 0) {
    // -no-reboot turns a guest reset (a triple fault here) into a clean QEMU exit.
    return { outcome: 'reset', detail: `probe guest reset (triple fault) under ${name} ${where}`, workNs };
  }
  const said = run.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/warning:/i.test(l)).at(-1);
  const how = run.signal ? `was killed by ${run.signal}` : `exited with status ${run.exitCode}`;
  return { outcome: 'qemu-error', detail: `QEMU ${how} under ${name}${said ? `: ${said}` : ''}`, workNs };
}

export function verdictOf(run: GuestRun): AcceleratorVerdict {
  return { usable: run.outcome === 'passed', reason: run.detail, durationMs: run.durationMs };
}
