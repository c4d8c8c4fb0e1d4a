// The accelerator probe against real QEMU on this machine. KVM's verdict is not
// hardcoded: it is checked against what a real Linux kernel does under KVM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROM_SIZE } from '../../launcher/accel/guest.js';
import { DEFAULT_QEMU, probeAccelerators, runProbeGuest } from '../../launcher/accel/probe.js';

const CLI = fileURLToPath(new URL('../../launcher/accel/cli.js', import.meta.url));
const PROBE_MODULE = new URL('../../launcher/accel/probe.js', import.meta.url).href;

/** A -bios image whose reset vector runs `code` (at most 16 bytes). */
function resetRom(code: number[]): Buffer {
  const rom = Buffer.alloc(ROM_SIZE);
  Buffer.from(code).copy(rom, ROM_SIZE - 16);
  return rom;
}
// mov al,'R' ; out 0xe9,al ; cli ; hlt ; jmp $-1 (back to hlt)
const HANG = [0xb0, 0x52, 0xe6, 0xe9, 0xfa, 0xf4, 0xeb, 0xfd];
// mov al,2 ; out 0xf4,al: the guest's "cmpxchg16b gave a wrong result" exit
const FAIL_ATOMIC = [0xb0, 0x02, 0xe6, 0xf4, 0xfa, 0xf4];
// o32 lidt [cs:0xffe0] (six zero bytes: an empty IDT) ; int3 -> #GP -> #DF -> triple fault
const TRIPLE_FAULT = [0x2e, 0x66, 0x0f, 0x01, 0x1e, 0xe0, 0xff, 0xcc];

/** Processes whose command line mentions `needle` (a probe's unique temp dir). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(needle)) pids.push(Number(name));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

test('TCG runs the probe guest through every stage', { timeout: 30_000 }, async () => {
  const run = await runProbeGuest({ qemuBinary: DEFAULT_QEMU, accelerator: 'tcg', timeoutMs: 10_000 });
  assert.equal(run.outcome, 'passed', `${run.detail}\n${run.stderr}`);
  assert.match(run.output, /^RPLTAW[0-9a-f]{8}$/);
  assert.ok(run.workNs! > 0 && run.workNs! < 500e6, `work took ${run.workNs} ns`);
  assert.match(run.detail, /^ok in \d+ ms \(guest work \d+\.\d ms\)$/);
  assert.equal(existsSync(run.dir), false, 'temp dir left behind');
});

test('the timed work: its stopwatch counts guest time, and a slow CPU fails the deadline', { timeout: 30_000 }, async () => {
  // -icount makes every instruction take 2^shift ns of guest time: a CPU of known speed.
  const icount = (shift: number) => ['-icount', `shift=${shift},sleep=off`];
  const at64ns = await runProbeGuest({ qemuBinary: DEFAULT_QEMU, accelerator: 'tcg', timeoutMs: 10_000, extraArgs: icount(6) });
  assert.equal(at64ns.outcome, 'passed', at64ns.detail);
  // 1M iterations of a 5-instruction loop at 64 ns each: 320 ms
  assert.ok(Math.abs(at64ns.workNs! - 320e6) < 1e6, `work took ${at64ns.workNs} ns`);
  const at256ns = await runProbeGuest({ qemuBinary: DEFAULT_QEMU, accelerator: 'tcg', timeoutMs: 10_000, extraArgs: icount(8) });
  assert.equal(at256ns.outcome, 'failed', at256ns.detail);
  assert.equal(at256ns.exitCode, 9);
  assert.match(at256ns.detail, /at timed work .*: guest code runs too slowly: 5M instructions took over 500 ms \(limit 500 ms\)$/);
  assert.ok(at256ns.durationMs < 5000, `${at256ns.durationMs} ms`);
});

test('a probe guest that hangs is killed at its deadline, reaped, and leaves no process or file', { timeout: 30_000 }, async () => {
  const run = await runProbeGuest({ qemuBinary: DEFAULT_QEMU, accelerator: 'tcg', timeoutMs: 700, rom: resetRom(HANG) });
  assert.equal(run.outcome, 'hung', run.detail);
  assert.equal(run.signal, 'SIGKILL');
  assert.ok(run.durationMs >= 700 && run.durationMs < 5000, `${run.durationMs} ms`);
  assert.equal(run.detail,
    'probe guest hung after 700 ms under TCG at switch to 32-bit protected mode (passed: real mode at the reset vector)');
  assert.ok(run.pid !== undefined);
  assert.equal(existsSync(`/proc/${run.pid}`), false, `probe QEMU ${run.pid} still exists (zombie or alive)`);
  assert.deepEqual(processesMentioning(run.dir), []);
  assert.equal(existsSync(run.dir), false, 'temp dir left behind');
});

test('guest-detected failures, triple faults and QEMU errors are told apart from hangs', { timeout: 30_000 }, async () => {
  const failed = await runProbeGuest({ qemuBinary: DEFAULT_QEMU, accelerator: 'tcg', timeoutMs: 10_000, rom: resetRom(FAIL_ATOMIC) });
  assert.equal(failed.outcome, 'failed');
  assert.equal(failed.exitCode, 5);
  assert.match(failed.detail, /^probe guest failed under TCG at .*: lock cmpxchg16b gave a wrong result$/);

  const reset = await runProbeGuest({ qemuBinary: DEFAULT_QEMU, accelerator: 'tcg', timeoutMs: 10_000, rom: resetRom(TRIPLE_FAULT) });
  assert.equal(reset.outcome, 'reset', reset.detail);
  assert.match(reset.detail, /^probe guest reset \(triple fault\) under TCG at real mode at the reset vector$/);

  const missing = await runProbeGuest({ qemuBinary: '/nonexistent/qemu', accelerator: 'tcg', timeoutMs: 10_000 });
  assert.equal(missing.outcome, 'qemu-error');
  // through setpriv the exec failure is setpriv's exit status; without it, spawn's ENOENT
  assert.match(missing.detail, /^(cannot run \/nonexistent\/qemu: .*ENOENT|QEMU exited with status \d+ under TCG: .*No such file)/);

  const report = await probeAccelerators({ kvmDevice: '/nonexistent/kvm' });
  assert.deepEqual(report.kvm.usable, false);
  assert.equal(report.kvm.reason, '/nonexistent/kvm missing');
  assert.equal(report.tcg.usable, true, report.tcg.reason);
});

test('the probe QEMU dies with the process that started it (SIGKILL mid-probe leaves no orphan)', { timeout: 30_000 }, async () => {
  const script = `
    import { runProbeGuest } from ${JSON.stringify(PROBE_MODULE)};
    const rom = Buffer.alloc(${ROM_SIZE}); Buffer.from(${JSON.stringify(HANG)}).copy(rom, ${ROM_SIZE - 16});
    await runProbeGuest({ qemuBinary: ${JSON.stringify(DEFAULT_QEMU)}, accelerator: 'tcg', timeoutMs: 600000, rom });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  let qemu: number[] = [];
  let dir = '';
  try {
    // find the probe QEMU by its temp dir once it is up
    for (let i = 0; i < 100 && qemu.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      for (const pid of processesMentioning('virtnode-accel-')) {
        const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === child.pid) {
          qemu = [pid];
          dir = /-bios\0([^\0]+)\/probe\.rom/.exec(readFileSync(`/proc/${pid}/cmdline`, 'latin1'))?.[1] ?? '';
        }
      }
    }
    assert.equal(qemu.length, 1, 'probe QEMU did not start');
    child.kill('SIGKILL');
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      await new Promise((r) => setTimeout(r, 20));
      alive = existsSync(`/proc/${qemu[0]}`) && !readFileSync(`/proc/${qemu[0]}/stat`, 'latin1').includes(') Z');
    }
    assert.equal(alive, false, `probe QEMU ${qemu[0]} outlived its killed parent`);
  } finally {
    child.kill('SIGKILL');
    for (const pid of qemu) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    if (dir) rmSync(dir, { recursive: true, force: true }); // the killed prober could not clean up
  }
});

test('cli.ts prints the report as one line of JSON and rejects bad options', { timeout: 30_000 }, () => {
  const out = execFileSync(process.execPath, [CLI, '--kvm-device', '/nonexistent/kvm', '--tcg-timeout-ms', '20000'], { encoding: 'utf8' });
  assert.equal(out.trim().split('\n').length, 1);
  const report = JSON.parse(out);
  assert.deepEqual(report.kvm, { usable: false, reason: '/nonexistent/kvm missing', durationMs: report.kvm.durationMs });
  assert.equal(report.tcg.usable, true, report.tcg.reason);
  assert.equal(typeof report.tcg.durationMs, 'number');
  assert.throws(() => execFileSync(process.execPath, [CLI, '--timeout-ms', 'soon'], { encoding: 'utf8', stdio: 'pipe' }),
    (e: { status: number; stderr: string }) => e.status === 1 && /--timeout-ms must be a positive integer/.test(e.stderr));
});

// ---- KVM: the probe's verdict against a real Linux kernel ----

/** Debian's cloud kernel: $VIRTNODE_TEST_KERNEL, or pulled with apt into `dir`. */
function debianKernel(dir: string): string {
  const given = process.env.VIRTNODE_TEST_KERNEL;
  if (given) return given;
  const deps = execFileSync('apt-cache', ['depends', 'linux-image-cloud-amd64'], { encoding: 'utf8' });
  const pkg = /Depends: (linux-image-\S+)/.exec(deps)?.[1];
  assert.ok(pkg, `no kernel package in:\n${deps}`);
  execFileSync('apt-get', ['download', '-q', pkg], { cwd: dir, stdio: 'pipe' });
  const deb = readdirSync(dir).find((f) => f.endsWith('.deb'))!;
  execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x --wildcards './boot/vmlinuz-*'`, 'sh', deb], { cwd: dir });
  const vmlinuz = readdirSync(join(dir, 'boot')).find((f) => f.startsWith('vmlinuz-'))!;
  return join(dir, 'boot', vmlinuz);
}

/**
 * Boots `kernel` with no root disk: a kernel that works gets through memory, interrupt,
 * timer and device setup to "VFS: Unable to mount root fs" and panics; panic=-1 and
 * -no-reboot then end QEMU. Reaching that panic within `timeoutMs` is "Linux runs".
 */
function bootLinux(accel: 'kvm' | 'tcg', kernel: string, timeoutMs: number): Promise<{ reachedRootMount: boolean; ms: number; tail: string }> {
  const start = Date.now();
  const qemu = spawn(DEFAULT_QEMU, [
    '-accel', accel, '-machine', 'q35', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none',
    '-no-reboot', '-serial', 'stdio', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1',
  ], { stdio: ['ignore', 'pipe', 'ignore'] });
  let log = '';
  return new Promise((resolve) => {
    const timer = setTimeout(() => qemu.kill('SIGKILL'), timeoutMs);
    qemu.stdout.setEncoding('latin1').on('data', (s: string) => {
      log = (log + s).slice(-20_000);
      if (log.includes('VFS: Unable to mount root fs')) qemu.kill('SIGKILL');
    });
    qemu.on('close', () => {
      clearTimeout(timer);
      resolve({
        reachedRootMount: log.includes('VFS: Unable to mount root fs'),
        ms: Date.now() - start,
        tail: log.split('\n').slice(-4).join('\n'),
      });
    });
  });
}

test('the KVM verdict agrees with whether a real Linux kernel boots under KVM', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'virtnode-accel-kernel-'));
  try {
    const kernel = debianKernel(dir);
    // Control: under TCG the same kernel and command line do reach the root mount, so
    // a KVM boot that does not is KVM's doing.
    const control = await bootLinux('tcg', kernel, 60_000);
    assert.ok(control.reachedRootMount, `kernel did not reach the root mount under TCG:\n${control.tail}`);

    const report = await probeAccelerators();
    // Healthy KVM boots this kernel to the root mount in well under a second; 8 s is
    // four times what TCG needs here.
    const linux = await bootLinux('kvm', kernel, 8000);
    t.diagnostic(`probe: ${JSON.stringify(report.kvm)}`);
    t.diagnostic(`Linux under KVM: ${linux.reachedRootMount ? 'reached' : 'did not reach'} the root mount in ${linux.ms} ms; last output: ${JSON.stringify(linux.tail.slice(-200))}`);
    t.diagnostic(`Linux under TCG: reached the root mount in ${control.ms} ms`);
    assert.equal(report.kvm.usable, linux.reachedRootMount,
      `probe says KVM ${report.kvm.usable ? 'works' : 'does not work'} (${report.kvm.reason}), ` +
      `but Linux ${linux.reachedRootMount ? 'boots' : 'does not boot'} under KVM:\n${linux.tail}`);
    assert.equal(report.tcg.usable, true, report.tcg.reason);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
