// The user's path from the README: apply KubeVirt's getting-started VM, watch it
// reach Running, log in on its serial console, then the lifecycle verbs one by
// one, each checked against what really happens to the guest.

import { launcherPid, qemuPid, vmiAccelerator } from '../../proto/vmi/annotations.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TestHandler, sleep, useTestHandler } from './harness.js';
import { detectCgroups } from '../../handler/sandbox/cgroup.js';
import { memoryLimitBytes } from '../../handler/sandbox/overhead.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

test('examples/vm-cirros.yaml: Running, banner and shell on the console, every lifecycle verb', async () => {
  // --wait follows the VM over the Watch stream until its VMI runs (as the demo does).
  const apply = await h.cli(['apply', '-f', join(ROOT, 'examples', 'vm-cirros.yaml'), '--wait', '--timeout', '120']);
  assert.equal(apply.code, 0, apply.stderr);
  assert.match(apply.stdout, /virtualmachine\.kubevirt\.io\/vm-cirros created\nvm-cirros is running/);
  assert.match(apply.stderr, /Warning: .*apiVersion/, 'the missing apiVersion line is defaulted with a warning');

  const vmi = await h.waitPhase('vm-cirros', 'Running', 120_000);
  assert.equal(vmiAccelerator(vmi), 'tcg');
  assert.ok(vmi.status?.conditions.some((c) => c.type === 'SoftwareEmulation' && c.status === 'True'), 'SoftwareEmulation condition');
  assert.ok(launcherPid(vmi) && qemuPid(vmi), 'launcher and QEMU pids in status');
  // The VM's own cgroup holds the launcher and QEMU, limited to guest memory + overhead.
  const layout = detectCgroups({ root: h.cgroupRoot });
  for (const hier of layout.hierarchies.filter((x) => x.controllers.length > 0)) {
    const procs = readFileSync(join(hier.vmRootDir, vmi.metadata.uid!, 'cgroup.procs'), 'utf8').split('\n').map(Number);
    assert.ok(procs.includes(launcherPid(vmi)!) && procs.includes(qemuPid(vmi)!), `launcher and QEMU in ${hier.vmRootDir}`);
  }
  const mem = layout.hierarchies.find((x) => x.controllers.includes('memory'))!;
  const limitFile = join(mem.vmRootDir, vmi.metadata.uid!, layout.version === 2 ? 'memory.max' : 'memory.limit_in_bytes');
  assert.equal(Number(readFileSync(limitFile, 'utf8')), memoryLimitBytes({ guestBytes: 64_000_000, vcpus: 1, accelerator: 'tcg', graphics: true }));

  const table = await h.cli(['get', 'vmis']);
  assert.match(table.stdout, /^NAME\s+AGE\s+PHASE\s+IP\s+NODENAME\s+READY/m);
  assert.match(table.stdout, /^vm-cirros\s+\S+\s+Running\s/m);
  const vms = await h.cli(['get', 'vms']);
  assert.match(vms.stdout, /^vm-cirros\s+\S+\s+Running\s+True/m);
  // The VM's status as KubeVirt's controller keeps it: the strategy in force and the
  // generation its running VMI was made from.
  const vmNow = await h.waitVM('vm-cirros', (x) => x?.status?.observedGeneration !== undefined, 'observed');
  assert.equal(vmNow?.status?.runStrategy, 'Always');
  assert.equal(vmNow?.status?.desiredGeneration, vmNow?.metadata.generation);
  assert.equal(vmNow?.status?.observedGeneration, vmNow?.metadata.generation);
  assert.equal(vmi.metadata.annotations?.['kubevirt.io/vm-generation'], String(vmNow?.metadata.generation));

  const con = h.console('vm-cirros');
  await con.expect(/virtnode test guest/, 90_000);
  await con.login();
  assert.equal((await con.run('echo $((6*7))')).trim(), '42');
  // A counter in the guest, to see pause stop it and unpause resume it.
  await con.run('(i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 1; done) >/dev/null 2>&1 &');

  // pause / unpause: the condition follows and the guest stands still.
  await sleep(1500);
  const c0 = Number((await con.run('cat /tmp/count')).trim());
  assert.equal((await h.cli(['pause', 'vm-cirros'])).code, 0);
  await h.waitVMI('vm-cirros', (v) => v?.status?.conditions.some((c) => c.type === 'Paused' && c.status === 'True' && c.reason === 'PausedByUser') ?? false, 'paused');
  const paused = await h.cli(['pause', 'vm-cirros']);
  assert.equal(paused.code, 1);
  assert.match(paused.stderr, /already paused/);
  assert.match((await h.cli(['get', 'vms'])).stdout, /^vm-cirros\s+\S+\s+Paused/m);
  await sleep(4000);
  assert.equal((await h.cli(['unpause', 'vm-cirros'])).code, 0);
  await h.waitVMI('vm-cirros', (v) => !v?.status?.conditions.some((c) => c.type === 'Paused'), 'unpaused');
  const c1 = Number((await con.run('cat /tmp/count')).trim());
  assert.ok(c1 - c0 <= 3, `the guest did not run while paused for 4 s (counter ${c0} → ${c1})`);
  await sleep(2000);
  const c2 = Number((await con.run('cat /tmp/count')).trim());
  assert.ok(c2 > c1, `guest counter runs again after unpause (${c1} → ${c2})`);

  // soft-reboot: the ACPI power button; the guest's poweroff is turned into a reset; same VMI.
  const uid = vmi.metadata.uid!;
  let from = con.output.length;
  assert.equal((await h.cli(['soft-reboot', 'vm-cirros'])).code, 0);
  await con.expect(/virtnode test guest/, 90_000, from);
  assert.equal((await h.getVMI('vm-cirros'))?.metadata.uid, uid, 'soft reboot keeps the VMI');

  // reset: a hard reset; the guest boots again.
  from = con.output.length;
  assert.equal((await h.cli(['reset', 'vm-cirros'])).code, 0);
  await con.expect(/virtnode test guest/, 90_000, from);
  assert.equal((await h.getVMI('vm-cirros'))?.metadata.uid, uid);
  con.close();

  // restart: a new VMI replaces the old one.
  assert.equal((await h.cli(['restart', 'vm-cirros', '--grace-period', '0'])).code, 0);
  const restarted = await h.waitVMI('vm-cirros', (v) => v?.status?.phase === 'Running' && v.metadata.uid !== uid, 'running with a new uid', 120_000);
  await h.nothingLeft(uid);

  // stop: ACPI power button; the guest's init powers off; the VM is Stopped.
  const stop = await h.cli(['stop', 'vm-cirros']);
  assert.equal(stop.code, 0, stop.stderr);
  await h.waitVMI('vm-cirros', (v) => v === undefined, 'gone after stop', 90_000);
  const vm = await h.waitVM('vm-cirros', (v) => v?.status?.printableStatus === 'Stopped', 'Stopped');
  assert.equal(vm?.spec.runStrategy, 'Halted', 'stop of an Always VM sets Halted, as virtctl does');
  await h.nothingLeft(restarted!.metadata.uid!);
  const events = await h.cli(['events']);
  assert.match(events.stdout, /ShuttingDown/);
  assert.match(events.stdout, /Stopped\s+virtualmachineinstance\/vm-cirros\s+The guest powered off|Stopped.*vm-cirros/);

  // start: Halted → Always, a new VMI.
  assert.equal((await h.cli(['start', 'vm-cirros'])).code, 0);
  const started = await h.waitPhase('vm-cirros', 'Running', 120_000);
  assert.equal((await h.getVM('vm-cirros'))?.spec.runStrategy, 'Always');

  // delete: everything goes.
  const del = await h.cli(['delete', 'vm', 'vm-cirros', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  assert.equal(await h.getVM('vm-cirros'), undefined);
  assert.equal(await h.getVMI('vm-cirros'), undefined);
  await h.nothingLeft(started.metadata.uid!);
  assert.match(readFileSync(h.logFile, 'utf8'), /"uid":"[0-9a-f-]{36}"/, 'handler log lines carry the VMI uid');
});
