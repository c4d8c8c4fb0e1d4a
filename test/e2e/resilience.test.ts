// The invariants users rely on (DESIGN.md): a handler crash never disturbs a
// running guest and loses no event; a launcher or QEMU that dies fails its VMI
// with a reason and leaves nothing behind.

import { launcherPid, qemuPid } from '../../proto/vmi/annotations.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestHandler, cirrosVM, collectWatch, pgrepAll, sleep, useTestHandler } from './harness.js';
import type { WatchEvent__Output } from '../../proto/generated/virtnode/handler/v1/WatchEvent.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

test('kill -9 of the handler: guests keep running, state and events survive', async () => {
  for (const n of ['keep-a', 'keep-b']) assert.equal((await h.cli(['apply', '-f', '-'], cirrosVM(n, { runStrategy: 'RerunOnFailure' }))).code, 0);
  const a = await h.waitPhase('keep-a', 'Running', 120_000);
  const b = await h.waitPhase('keep-b', 'Running', 120_000);

  const conA = h.console('keep-a');
  await conA.login();
  // A counter in the guest, one tick a second, printed to the console.
  await conA.run('(i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 1; done) >/dev/null 2>&1 &');
  const conB = h.console('keep-b');
  await conB.login('root');
  conA.close();

  // A watcher that will resume after the restart from where it was.
  const seen: WatchEvent__Output[] = [];
  const stopWatch = collectWatch(h.client, 0, seen);
  await sleep(500);
  const resumeFrom = Math.max(...seen.map((e) => Number(e.seq)));
  stopWatch();

  // B powers itself off while the handler is down: its launcher must keep that
  // event and deliver it after the restart.
  conB.send('(sleep 4; poweroff) >/dev/null 2>&1 &\r');
  await sleep(300);
  conB.close();
  const countBefore = Number((await (async () => {
    const c = h.console('keep-a');
    const v = await c.run('cat /tmp/count');
    c.close();
    return v;
  })()).trim());
  const t0 = Date.now();
  await h.kill9();
  const launcherA = launcherPid(a)!;
  await sleep(12_000);
  assert.ok(pgrepAll(a.metadata.uid!).length > 0, 'the launcher of A still runs while the handler is down');
  process.kill(launcherA, 0);

  await h.start();
  // Same VMs, same uids; A still Running with the same launcher and QEMU.
  const a2 = await h.waitPhase('keep-a', 'Running');
  assert.equal(a2.metadata.uid, a.metadata.uid);
  assert.equal(launcherPid(a2), launcherA);
  assert.equal(qemuPid(a2), qemuPid(a));
  // B's poweroff, buffered by its launcher, arrived: Succeeded, and RerunOnFailure leaves it off.
  const b2 = await h.waitPhase('keep-b', 'Succeeded', 60_000);
  assert.equal(b2.metadata.uid, b.metadata.uid);
  await h.nothingLeft(b.metadata.uid!);

  // The guest never stopped: its counter advanced with wall-clock time.
  const c = h.console('keep-a');
  const countAfter = Number((await c.run('cat /tmp/count')).trim());
  c.close();
  const elapsed = (Date.now() - t0) / 1000;
  assert.ok(countAfter - countBefore >= elapsed - 4, `guest counter ${countBefore} → ${countAfter} over ${elapsed.toFixed(1)} s of wall time`);

  // The watcher resumes from its last sequence number and sees B's end.
  const resumed: WatchEvent__Output[] = [];
  const stop2 = collectWatch(h.client, resumeFrom, resumed);
  await sleep(1000);
  stop2();
  const seqs = resumed.map((e) => Number(e.seq));
  assert.ok(seqs.length > 0 && seqs[0] === resumeFrom + 1, `resume starts right after ${resumeFrom} (got ${seqs[0]})`);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'in order');
  assert.ok(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1), 'no gap in sequence numbers');
  assert.ok(
    resumed.some((e) => e.kind === 'VirtualMachineInstance' && (JSON.parse(e.json) as VirtualMachineInstance).metadata.name === 'keep-b' && (JSON.parse(e.json) as VirtualMachineInstance).status?.phase === 'Succeeded'),
    'the resumed watch carries B reaching Succeeded',
  );
  for (const n of ['keep-a', 'keep-b']) await h.cli(['delete', 'vm', n, '--grace-period', '0', '--wait']);
  await h.nothingLeft(a.metadata.uid!);
});

test('kill -9 of the launcher: VMI Failed with a reason, nothing left behind', async () => {
  assert.equal((await h.cli(['apply', '-f', '-'], cirrosVM('kill-launcher', { runStrategy: 'Manual' }))).code, 0);
  assert.equal((await h.cli(['start', 'kill-launcher'])).code, 0);
  const vmi = await h.waitPhase('kill-launcher', 'Running', 120_000);
  process.kill(launcherPid(vmi)!, 'SIGKILL');
  const failed = await h.waitPhase('kill-launcher', 'Failed', 30_000);
  assert.equal(failed.status?.reason, 'LauncherExited');
  assert.match(failed.status!.conditions.find((c) => c.type === 'Ready')!.message!, /launcher process \d+ .*unexpectedly/);
  // QEMU died with its launcher (parent-death signal), the handler removed the rest.
  await h.waitVMI('kill-launcher', () => pgrepAll(vmi.metadata.uid!).length === 0, 'without processes', 15_000);
  await sleep(500);
  await h.nothingLeft(vmi.metadata.uid!);
  await h.cli(['delete', 'vm', 'kill-launcher', '--wait']);
});

test('kill -9 of QEMU: VMI Failed with the signal as reason, nothing left behind', async () => {
  assert.equal((await h.cli(['apply', '-f', '-'], cirrosVM('kill-qemu', { runStrategy: 'Manual' }))).code, 0);
  assert.equal((await h.cli(['start', 'kill-qemu'])).code, 0);
  const vmi = await h.waitPhase('kill-qemu', 'Running', 120_000);
  process.kill(qemuPid(vmi)!, 'SIGKILL');
  const failed = await h.waitPhase('kill-qemu', 'Failed', 30_000);
  assert.equal(failed.status?.reason, 'Crashed');
  assert.match(failed.status!.conditions.find((c) => c.type === 'Ready')!.message!, /QEMU was killed by signal SIGKILL/);
  await h.waitVMI('kill-qemu', () => pgrepAll(vmi.metadata.uid!).length === 0, 'without processes', 15_000);
  await sleep(500);
  await h.nothingLeft(vmi.metadata.uid!);
  await h.cli(['delete', 'vm', 'kill-qemu', '--wait']);
});
