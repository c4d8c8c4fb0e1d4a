// Specs the handler must refuse (nothing made) and specs beyond the basic disk:
// kernelBoot from a container image, a guest panic, a guest that ignores the
// power button, and runStrategy semantics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KERNEL_IMAGE, TestHandler, cgroupRootDirs, cirrosVM, cirrosVMI, pgrepAll, sleep, useTestHandler } from './harness.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

function sandboxCount(): number {
  const d = join(h.stateDir, 'vmis');
  return existsSync(d) ? readdirSync(d).length : 0;
}

test('a bad spec is refused with every field path, and nothing is made', async () => {
  const bad = cirrosVM('bad-vm').replace('memory: 64M', 'memory: 64X').replace('bus: virtio', 'bus: floppy') + `      hostDisk: {}\n`;
  const r = await h.cli(['apply', '-f', '-'], bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /spec\.template\.spec\.domain\.resources\.requests\.memory: "64X" is not a quantity/);
  assert.match(r.stderr, /spec\.template\.spec\.domain\.devices\.disks\[0\]\.disk\.bus/);
  assert.equal(await h.getVM('bad-vm'), undefined);
  // Two documents, the second bad: the first is not stored either.
  const two = `${cirrosVM('good-one')}---\n${cirrosVM('Bad_Name')}`;
  const r2 = await h.cli(['apply', '-f', '-'], two);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /metadata\.name/);
  assert.equal(await h.getVM('good-one'), undefined);
  // Unsupported and unknown fields are named, never ignored.
  const r3 = await h.cli(['apply', '-f', '-'], cirrosVM('x').replace('      domain:\n', '      domain:\n        launchSecurity:\n          sev: {}\n        bogus: 1\n'));
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /spec\.template\.spec\.domain\.launchSecurity: not supported yet/);
  assert.match(r3.stderr, /spec\.template\.spec\.domain\.bogus: unknown field/);
  await sleep(500);
  assert.equal(sandboxCount(), 0, 'no sandbox directory');
  for (const d of cgroupRootDirs(h.cgroupRoot)) assert.deepEqual(readdirSync(d).filter((n) => /^[0-9a-f-]{36}$/.test(n)), [], `no VM cgroup in ${d}`);
  assert.deepEqual(pgrepAll(join(h.runDir, 'vmis')), [], 'no launcher or QEMU');
});

test('firmware.kernelBoot from a container image boots to a login prompt', async () => {
  const vmi = `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: kboot
spec:
  terminationGracePeriodSeconds: 5
  domain:
    firmware:
      kernelBoot:
        kernelArgs: console=ttyS0 quiet
        container:
          image: ${KERNEL_IMAGE}
          kernelPath: /boot/vmlinuz
          initrdPath: /boot/initrd.img
    devices: {}
    resources:
      requests:
        memory: 160Mi
`;
  const r = await h.cli(['apply', '-f', '-'], vmi);
  assert.equal(r.code, 0, r.stderr);
  const v = await h.waitPhase('kboot', 'Running', 120_000);
  const con = h.console('kboot');
  await con.login();
  assert.match(await con.run('cat /proc/cmdline'), /console=ttyS0 quiet/);
  con.close();
  const del = await h.cli(['delete', 'vmi', 'kboot', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(v.metadata.uid!);
});

test('a guest kernel panic fails the VMI with reason Panicked', async () => {
  assert.equal((await h.cli(['apply', '-f', '-'], cirrosVM('panic', { runStrategy: 'Manual' }))).code, 0);
  assert.equal((await h.cli(['start', 'panic'])).code, 0);
  const v = await h.waitPhase('panic', 'Running', 120_000);
  const con = h.console('panic');
  await con.login('root');
  con.send('echo c > /proc/sysrq-trigger\r');
  const failed = await h.waitPhase('panic', 'Failed', 60_000);
  con.close();
  assert.equal(failed.status?.reason, 'Panicked');
  await h.waitVMI('panic', () => pgrepAll(v.metadata.uid!).length === 0, 'without processes', 15_000);
  await sleep(300);
  await h.nothingLeft(v.metadata.uid!);
  // Manual: a failed VMI is not replaced.
  await sleep(1500);
  assert.equal((await h.getVMI('panic'))?.metadata.uid, v.metadata.uid);
  await h.cli(['delete', 'vm', 'panic', '--wait']);
});

test('a guest that ignores the power button is killed after its grace period', async () => {
  assert.equal((await h.cli(['apply', '-f', '-'], cirrosVM('stubborn', { grace: 3 }))).code, 0);
  const v = await h.waitPhase('stubborn', 'Running', 120_000);
  const con = h.console('stubborn');
  await con.login('root');
  await con.run('killall acpid; sleep 0.2; pidof acpid || echo none');
  con.close();
  const t0 = Date.now();
  assert.equal((await h.cli(['stop', 'stubborn'])).code, 0);
  await h.waitVMI('stubborn', (x) => x === undefined, 'gone', 60_000);
  const took = (Date.now() - t0) / 1000;
  assert.ok(took >= 3, `killed only after the 3 s grace period (${took.toFixed(1)} s)`);
  const ev = await h.cli(['events', 'stubborn']);
  assert.match(ev.stdout, /did not shut down within 3s and was killed/);
  await h.nothingLeft(v.metadata.uid!);
  await h.cli(['delete', 'vm', 'stubborn', '--wait']);
});

test('runStrategy: Always replaces a powered-off guest, RerunOnFailure and Once do not', async () => {
  for (const [name, strategy] of [['rs-always', 'Always'], ['rs-rerun', 'RerunOnFailure'], ['rs-once', 'Once']] as const) {
    assert.equal((await h.cli(['apply', '-f', '-'], cirrosVM(name, { runStrategy: strategy }))).code, 0);
  }
  const first: Record<string, string> = {};
  for (const name of ['rs-always', 'rs-rerun', 'rs-once']) {
    const v = await h.waitPhase(name, 'Running', 180_000);
    first[name] = v.metadata.uid!;
    const con = h.console(name);
    await con.login('root');
    con.send('poweroff\r');
    con.close();
  }
  // Always: a new VMI runs.
  await h.waitVMI('rs-always', (v) => v?.status?.phase === 'Running' && v.metadata.uid !== first['rs-always'], 'replaced and running', 180_000);
  // RerunOnFailure: a guest poweroff is a success: it stays off.
  await h.waitPhase('rs-rerun', 'Succeeded', 60_000);
  // The VM's status follows its VMI's a moment later (the VM controller's own pass).
  await h.waitVM('rs-rerun', (v) => v?.status?.printableStatus === 'Stopped', 'Stopped', 30_000);
  // Once: ran once; its runStrategy is now Halted and the VMI is gone.
  await h.waitVM('rs-once', (v) => v?.spec.runStrategy === 'Halted' && v.status?.printableStatus === 'Stopped', 'Halted', 60_000);
  await h.waitVMI('rs-once', (v) => v === undefined, 'removed', 60_000);
  // RerunOnFailure: start runs it again.
  assert.equal((await h.cli(['start', 'rs-rerun'])).code, 0);
  await h.waitVMI('rs-rerun', (v) => v?.status?.phase === 'Running' && v.metadata.uid !== first['rs-rerun'], 'running again', 180_000);
  for (const n of ['rs-always', 'rs-rerun', 'rs-once']) await h.cli(['delete', 'vm', n, '--grace-period', '0', '--wait']);
  for (const uid of Object.values(first)) await h.nothingLeft(uid);
});

// Admission and the launcher used to disagree on these: Apply took them, then Sync
// failed after the sandbox, pod network and image pull existed. Each must now run.
test('what admission accepts runs: model ne2k_pci, MACs in dash and dot form, interface name Net_1', async () => {
  const cases = [
    { vmi: 'nic-ne2k', nic: { name: 'default', model: 'ne2k_pci' }, mac: undefined },
    { vmi: 'nic-dash', nic: { name: 'default', mac: 'AA-BB-CC-DD-EE-01' }, mac: 'aa:bb:cc:dd:ee:01' },
    { vmi: 'nic-dots', nic: { name: 'default', mac: 'aabb.ccdd.ee02' }, mac: 'aa:bb:cc:dd:ee:02' },
    { vmi: 'nic-name', nic: { name: 'Net_1' }, mac: undefined },
  ];
  for (const c of cases) {
    const r = await h.cli(['apply', '-f', '-'], cirrosVMI(c.vmi, { nic: c.nic }));
    assert.equal(r.code, 0, `${c.vmi}: ${r.stderr}`);
    const v = await h.waitVMI(c.vmi, (x) => x?.status?.phase === 'Running' || x?.status?.phase === 'Failed', 'Running or Failed', 120_000);
    assert.equal(v!.status!.phase, 'Running', `${c.vmi} did not run: ${v!.status!.reason} ${JSON.stringify(v!.status!.conditions)}`);
    const iface = v!.status!.interfaces?.[0];
    assert.equal(iface?.name, c.nic.name);
    if (c.mac) assert.equal(iface?.mac, c.mac, `${c.vmi}: the guest NIC gets the normalised MAC`);
    if (c.vmi === 'nic-dots') {
      // The guest itself sees the MAC the manifest wrote in dot form.
      const con = h.console(c.vmi);
      await con.login();
      assert.match(await con.run('cat /sys/class/net/eth0/address'), new RegExp(c.mac!));
      con.close();
    }
    const del = await h.cli(['delete', 'vmi', c.vmi, '--wait']);
    assert.equal(del.code, 0, del.stderr);
    await h.nothingLeft(v!.metadata.uid!);
  }
});

test('a VMI that fills the q35 root bus runs; one virtio disk more is refused at Apply, nothing made', async () => {
  // 22 virtio disks, the virtio-scsi controller for hot-plugged disks, the pod NIC, balloon,
  // VGA, agent channel, panic device, 2 hotplug ports: 30 slots.
  const disks = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `d${i}`, source: 'emptyDisk:\n  capacity: 1Mi' }));
  const over = await h.cli(['apply', '-f', '-'], cirrosVMI('bus-over', { disks: disks(22) }));
  assert.equal(over.code, 1);
  assert.match(over.stderr, /spec\.domain\.devices: needs 31 PCI slots \(virtio disks: 23, virtio-scsi controller: 1, network interfaces: 1, .*VGA: 1.*\); a q35 machine's root bus has 30/);
  assert.equal(await h.getVMI('bus-over'), undefined);
  assert.equal(sandboxCount(), 0, 'no sandbox directory');

  const r = await h.cli(['apply', '-f', '-'], cirrosVMI('bus-full', { disks: disks(21) }));
  assert.equal(r.code, 0, r.stderr);
  const v = await h.waitVMI('bus-full', (x) => x?.status?.phase === 'Running' || x?.status?.phase === 'Failed', 'Running or Failed', 180_000);
  assert.equal(v!.status!.phase, 'Running', `did not run: ${v!.status!.reason} ${JSON.stringify(v!.status!.conditions)}`);
  const con = h.console('bus-full');
  await con.login();
  // Every disk reached the guest: vda (the root) to vdv.
  assert.equal((await con.run('ls /sys/block | grep -c ^vd')).trim(), '22');
  con.close();
  const del = await h.cli(['delete', 'vmi', 'bus-full', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(v!.metadata.uid!);
});
