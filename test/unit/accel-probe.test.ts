// How runProbeGuest reads QEMU's side of a run, with a stand-in QEMU (a shell script):
// what it prints and when it ends are the only inputs here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeArgv, runProbeGuest } from '../../launcher/accel/probe.js';

function fakeQemu(t: { after: (fn: () => void) => void }, body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'virtnode-accel-fake-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'qemu');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('probe argv: TCG or KVM, q35, no firmware but the image, debugcon on stdout, isa-debug-exit', () => {
  assert.deepEqual(probeArgv('qemu-system-x86_64', 'kvm', '/tmp/x/probe.rom'), [
    'qemu-system-x86_64', '-accel', 'kvm', '-machine', 'q35', '-m', '16',
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-bios', '/tmp/x/probe.rom', '-debugcon', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ]);
});

test('a KVM internal error is a verdict at once, not a wait for the deadline', { timeout: 20_000 }, async (t) => {
  // QEMU prints this, dumps the vCPU and pauses the guest forever
  const qemu = fakeQemu(t, [
    "printf RPLT",
    "echo 'KVM internal error. Suberror: 1' >&2",
    "echo 'emulation failure' >&2",
    "echo 'Code=b9 04 00 00 00 <f0> 48 0f c7 0c 25' >&2",
    'exec sleep 60',
  ].join('\n'));
  const run = await runProbeGuest({ qemuBinary: qemu, accelerator: 'kvm', timeoutMs: 10_000 });
  assert.equal(run.outcome, 'failed');
  assert.match(run.detail, /^probe guest stopped by KVM internal error, suberror 1 \(emulation failure\) under KVM at lock cmpxchg16b \(passed: .*LAPIC timer interrupt waking hlt\)$/);
  assert.ok(run.durationMs < 2000, `${run.durationMs} ms`);
  assert.equal(existsSync(`/proc/${run.pid}`), false, 'stand-in QEMU still exists');
});

test('a failed KVM entry is told apart too', { timeout: 20_000 }, async (t) => {
  const qemu = fakeQemu(t, "echo 'KVM: entry failed, hardware error 0x80000021' >&2\nexec sleep 60");
  const run = await runProbeGuest({ qemuBinary: qemu, accelerator: 'kvm', timeoutMs: 10_000 });
  assert.equal(run.outcome, 'failed');
  assert.match(run.detail, /^probe guest stopped by KVM entry failed \(hardware error 0x80000021\) under KVM at real mode at the reset vector$/);
});

test('QEMU refusing to start: its error line is the reason, warnings are not', { timeout: 20_000 }, async (t) => {
  const qemu = fakeQemu(t, [
    "echo 'qemu-system-x86_64: warning: host does not support requested feature' >&2",
    "echo 'qemu-system-x86_64: failed to initialize kvm: Permission denied' >&2",
    'exit 1',
  ].join('\n'));
  const run = await runProbeGuest({ qemuBinary: qemu, accelerator: 'kvm', timeoutMs: 10_000 });
  assert.equal(run.outcome, 'qemu-error');
  assert.equal(run.detail, 'QEMU exited with status 1 under KVM: qemu-system-x86_64: failed to initialize kvm: Permission denied');
});

test('exit statuses and deadlines: pass, guest-detected failure, hang, reset, unknown', { timeout: 20_000 }, async (t) => {
  const cases: [string, string, RegExp][] = [
    ['printf RPLTAW0023c346; exit 85', 'passed', /^ok in \d+ ms \(guest work 2\.3 ms\)$/],
    ['printf RPLTAW1dcd6500; exit 9', 'failed', /after its last stage: guest code runs too slowly: 5M instructions took 500 ms \(limit 500 ms\)$/],
    ['printf RPLTA; exit 9', 'failed', /at timed work .*: guest code runs too slowly: 5M instructions took over 500 ms \(limit 500 ms\)$/],
    ['printf RPLTAW0023c346; exec sleep 60', 'hung', /^probe guest hung after 1500 ms under TCG after its last stage \(no isa-debug-exit device\?\)$/],
    ['exec sleep 60', 'hung', /^probe guest hung after 1500 ms under TCG at real mode at the reset vector$/],
    ['printf RPL; exit 3', 'failed', /^probe guest failed under TCG at LAPIC timer interrupt waking hlt \(passed: .*\): unexpected CPU exception$/],
    ['printf RPLT; exit 5', 'failed', /at lock cmpxchg16b .*: lock cmpxchg16b gave a wrong result$/],
    ['printf RPL; exit 7', 'failed', /: the TSC did not advance across a timer interrupt$/],
    ['printf R; exit 0', 'reset', /^probe guest reset \(triple fault\) under TCG at switch to 32-bit protected mode/],
    ['exit 42', 'qemu-error', /^QEMU exited with status 42 under TCG$/],
    ['kill -SEGV $$', 'qemu-error', /^QEMU was killed by SIGSEGV under TCG$/],
  ];
  for (const [body, outcome, detail] of cases) {
    const run = await runProbeGuest({ qemuBinary: fakeQemu(t, body), accelerator: 'tcg', timeoutMs: 1500 });
    assert.equal(run.outcome, outcome, body);
    assert.match(run.detail, detail, body);
  }
});
