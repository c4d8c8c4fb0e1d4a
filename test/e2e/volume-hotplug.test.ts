// Volume hotplug on real QEMU, through the handler and the CLI (virtctl's addvolume
// and removevolume): a hostDisk appears in the running guest as a SCSI disk on the
// virtio-scsi controller every VM gets, with the data the host file holds, and
// vanishes again on removal; status.volumeStatus goes Ready with its target; QEMU
// holds the file only as an fd and lets go of it on removal; --persist edits the
// VM's template; a handler restart keeps the hot-plugged volume (status, hold,
// removal). Bad requests are refused by field with nothing stored. After the VM is
// deleted nothing is left, and the user's file is kept.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { TestHandler, cirrosVM, sleep, useTestHandler, type ConsoleSession } from './harness.js';

const base = mkdtempSync('/var/tmp/vn-hotplug-');
const root = join(base, 'root');
const outside = join(base, 'outside');
mkdirSync(join(root, 'vms'), { recursive: true });
mkdirSync(outside);
writeFileSync(join(outside, 'secret.img'), Buffer.alloc(1 << 20));
after(() => rmSync(base, { recursive: true, force: true }));

let h: TestHandler;
useTestHandler((x) => (h = x), { extraArgs: ['--host-disk-root', root] });

const MiB = 1 << 20;
const MARKER = 'virtnode-hotplug-marker-51c2';
const GUEST_MARKER = 'written-by-the-guest-9e07';

/** The hostDisk the test hot-plugs: 32 MiB, the marker at offset 0. */
function makeFile(path: string): void {
  writeFileSync(path, Buffer.alloc(32 * MiB));
  const fd = openSync(path, 'r+');
  writeSync(fd, MARKER, 0);
  closeSync(fd);
}

function qemuPidOf(vmi: VirtualMachineInstance): number {
  const pid = Number(vmi.metadata.annotations?.['virtnode.io/qemu-pid']);
  assert.ok(pid > 0, 'the VMI names its QEMU pid');
  return pid;
}

/** The fds of QEMU that lead to `path`. */
function qemuFdsOn(pid: number, path: string): string[] {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
    } catch {
      return false;
    }
  });
}

/** The guest's block devices, polled until `want` says yes. */
async function guestBlocks(con: ConsoleSession, want: (blocks: string[]) => boolean, what: string): Promise<string[]> {
  let blocks: string[] = [];
  for (let i = 0; i < 40; i++) {
    blocks = (await con.run('ls /sys/block')).trim().split(/\s+/).filter(Boolean);
    if (want(blocks)) return blocks;
    await sleep(500);
  }
  assert.fail(`${what}: the guest's /sys/block is ${blocks.join(' ')}`);
}

test('addvolume/removevolume: the guest sees the hostDisk appear and vanish; status, persist, a handler restart, nothing left', async (t) => {
  const path = join(root, 'vms', 'hot.img');
  makeFile(path);
  const applied = await h.cli(['apply', '-f', '-'], cirrosVM('hp-vm', { grace: 0 }));
  assert.equal(applied.code, 0, applied.stderr);
  const first = await h.waitPhase('hp-vm', 'Running', 120_000);
  const qemu = qemuPidOf(first);

  const con = h.console('hp-vm');
  await con.login('root');
  // The scsi disk driver; virtio_scsi is loaded at boot for the hotplug controller.
  await con.run('modprobe sd_mod');
  const before = await guestBlocks(con, () => true, 'before');
  assert.ok(!before.some((b) => b.startsWith('sd')), `no scsi disk before the hot-plug: ${before.join(' ')}`);
  t.diagnostic(`guest /sys/block before addvolume: ${before.join(' ')}`);

  // --- add, persisted into the VM's template -------------------------------------
  const add = await h.cli(['addvolume', 'hp-vm', '--volume-name=hot', `--path=${path}`, '--serial=HOTSERIAL1', '--persist']);
  assert.equal(add.code, 0, add.stderr);
  assert.equal(add.stdout.trim(), "volume hot attached to VirtualMachineInstance default/hp-vm as sda; VirtualMachine default/hp-vm keeps it in its template");
  const plugged = (await h.getVMI('hp-vm'))!;
  const hot = plugged.status?.volumeStatus?.find((v) => v.name === 'hot');
  assert.deepEqual(hot, { name: 'hot', target: 'sda', size: 32 * MiB, phase: 'Ready', reason: 'VolumeReady', message: 'Successfully attach hotplugged volume hot to VM', hotplugVolume: {} });
  assert.deepEqual(plugged.spec.domain.devices.disks?.find((d) => d.name === 'hot'), { name: 'hot', disk: { bus: 'scsi' }, serial: 'HOTSERIAL1' });
  assert.deepEqual(plugged.spec.volumes?.find((v) => v.name === 'hot'), { name: 'hot', hostDisk: { path, type: 'Disk' } });
  const vm = (await h.getVM('hp-vm'))!;
  assert.ok(vm.spec.template.spec.volumes?.some((v) => v.name === 'hot'), '--persist: the template has the volume');
  assert.ok(vm.spec.template.spec.domain.devices.disks?.some((d) => d.name === 'hot'), '--persist: the template has the disk');
  t.diagnostic(`volumeStatus after addvolume: ${JSON.stringify(hot)}`);

  // QEMU holds the file as an fd (add-fd); its confined mount namespace has no such path.
  const held = qemuFdsOn(qemu, path);
  assert.ok(held.length >= 1, `QEMU holds ${path} open`);
  assert.ok(!readFileSync(`/proc/${qemu}/cmdline`, 'utf8').includes(path), 'never named to QEMU');

  const afterAdd = await guestBlocks(con, (b) => b.includes('sda'), 'after addvolume');
  t.diagnostic(`guest /sys/block after addvolume: ${afterAdd.join(' ')}`);
  assert.equal((await con.run('cat /sys/block/sda/size')).trim(), String((32 * MiB) / 512), 'the guest sees 32 MiB');
  assert.match((await con.run('readlink -f /sys/block/sda/device')).trim(), /\/virtio\d+\/host\d+\/target\d+:0:0\/\d+:0:0:0$/, 'a LUN on the virtio-scsi controller');
  assert.equal((await con.run(`dd if=/dev/sda bs=${MARKER.length} count=1 2>/dev/null; echo`)).trim(), MARKER, 'the guest reads the host file');
  assert.equal((await con.run(`printf '${GUEST_MARKER}' | dd of=/dev/sda bs=1M seek=1 conv=fsync 2>/dev/null; echo rc=$?`)).trim(), 'rc=0');
  assert.equal(readFileSync(path).subarray(MiB, MiB + GUEST_MARKER.length).toString(), GUEST_MARKER, 'the guest wrote through to the host file');

  // --- refused requests: by field, nothing stored ----------------------------------
  const refusals: [string[], RegExp][] = [
    [['addvolume', 'hp-vm', '--volume-name=Bad_Name', `--path=${path}`], /name: Invalid value: "Bad_Name"/],
    [['addvolume', 'hp-vm', '--volume-name=hot', `--path=${path}`], /name: Duplicate value: "hot": VMI default\/hp-vm already has a disk of that name/],
    [['addvolume', 'hp-vm', '--volume-name=other', `--path=${join(outside, 'secret.img')}`], /volumeSource\.hostDisk\.path: .*secret\.img is not under a host disk root of this node \(--host-disk-root\)/],
    [['addvolume', 'hp-vm', '--volume-name=other', `--path=${path}`, '--bus=sata'], /disk\.disk\.bus: bus sata is not hot-pluggable: use scsi/],
    [['addvolume', 'hp-vm', '--volume-name=other', `--path=${join(root, 'vms', 'missing.img')}`], /volumeSource\.hostDisk\.path: .*missing\.img does not exist/],
    [['removevolume', 'hp-vm', '--volume-name=containerdisk'], /name: Unable to remove volume \[containerdisk\] because it is not hotpluggable/],
  ];
  const specBefore = JSON.stringify((await h.getVMI('hp-vm'))!.spec);
  for (const [args, re] of refusals) {
    const r = await h.cli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  assert.equal(JSON.stringify((await h.getVMI('hp-vm'))!.spec), specBefore, 'refused requests change nothing');
  assert.equal(readdirSync(join(root, 'vms')).join(','), 'hot.img', 'no file made');

  // --- remove, persisted ----------------------------------------------------------
  const rm = await h.cli(['removevolume', 'hp-vm', '--volume-name=hot', '--persist']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(rm.stdout.trim(), "volume hot detached from VirtualMachineInstance default/hp-vm; removed from VirtualMachine default/hp-vm's template");
  const unplugged = (await h.getVMI('hp-vm'))!;
  assert.equal(unplugged.status?.volumeStatus?.find((v) => v.name === 'hot'), undefined, 'no volumeStatus left');
  assert.ok(!unplugged.spec.volumes?.some((v) => v.name === 'hot'));
  assert.ok(!(await h.getVM('hp-vm'))!.spec.template.spec.volumes?.some((v) => v.name === 'hot'), 'the template lost it');
  const afterRemove = await guestBlocks(con, (b) => !b.includes('sda'), 'after removevolume');
  t.diagnostic(`guest /sys/block after removevolume: ${afterRemove.join(' ')}`);
  assert.deepEqual(qemuFdsOn(qemu, path), [], 'QEMU let go of the file (blockdev-del, remove-fd)');

  // --- again, then a handler restart in between -------------------------------------
  const again = await h.cli(['addvolume', 'hp-vm', '--volume-name=hot2', `--path=${path}`]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /as sda$/m, 'the freed target is taken again');
  await guestBlocks(con, (b) => b.includes('sda'), 'after the second addvolume');
  // Log out (getty respawns) so the console of the next handler finds a login prompt.
  con.send('exit\r');
  con.close();
  await h.stop();
  await h.start();
  const recovered = await h.waitVMI('hp-vm', (v) => v?.status?.phase === 'Running', 'Running after the handler restart', 30_000);
  assert.equal(recovered!.status?.volumeStatus?.find((v) => v.name === 'hot2')?.phase, 'Ready', 'the hot-plugged volume survives a handler restart');
  // The restarted handler holds the file for hp-vm again: another VM may not write it.
  const other = await h.cli(['apply', '-f', '-'], cirrosVM('hp-other', { runStrategy: 'Halted' }).replace('              bus: virtio\n', '              bus: virtio\n          - name: data\n            disk:\n              bus: scsi\n').concat(`      - name: data\n        hostDisk: {path: ${path}, type: Disk}\n`));
  assert.equal(other.code, 1, other.stdout);
  assert.match(other.stderr, /is in use by VirtualMachineInstance default\/hp-vm/);
  const rm2 = await h.cli(['removevolume', 'hp-vm', '--volume-name=hot2']);
  assert.equal(rm2.code, 0, rm2.stderr);
  const con2 = h.console('hp-vm');
  await con2.login('root');
  const finalBlocks = await guestBlocks(con2, (b) => !b.includes('sda'), 'after removevolume past a handler restart');
  t.diagnostic(`guest /sys/block after the restart and removevolume: ${finalBlocks.join(' ')}`);
  con2.close();
  assert.deepEqual(qemuFdsOn(qemu, path), []);

  // --- the VM ends: nothing left, the file is the user's --------------------------------
  const del = await h.cli(['delete', 'vm', 'hp-vm', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(first.metadata.uid!);
  assert.equal(statSync(path).size, 32 * MiB, 'the hostDisk file is kept');
  assert.equal(readFileSync(path).subarray(0, MARKER.length).toString(), MARKER);
  assert.equal(readFileSync(path).subarray(MiB, MiB + GUEST_MARKER.length).toString(), GUEST_MARKER, 'with what the guest wrote');
});

test('addvolume needs a running VMI: a stopped VM is refused and nothing is stored', async () => {
  const path = join(root, 'vms', 'stopped.img');
  makeFile(path);
  assert.equal((await h.cli(['apply', '-f', '-'], cirrosVM('hp-stopped', { runStrategy: 'Halted' }))).code, 0);
  const r = await h.cli(['addvolume', 'hp-stopped', '--volume-name=hot', `--path=${path}`, '--persist']);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /VirtualMachine default\/hp-stopped is not running \(it has no VirtualMachineInstance\)/);
  const vm = await h.getVM('hp-stopped');
  assert.ok(!vm!.spec.template.spec.volumes?.some((v) => v.name === 'hot'), 'the template is unchanged');
  assert.equal((await h.cli(['delete', 'vm', 'hp-stopped', '--wait'])).code, 0);
});

test('--persist: the next VMI of the VM starts with the disk, as any disk of its template', async () => {
  const path = join(root, 'vms', 'persisted.img');
  makeFile(path);
  assert.equal((await h.cli(['apply', '-f', '-'], cirrosVM('hp-persist', { grace: 0 }))).code, 0);
  const first = await h.waitPhase('hp-persist', 'Running', 120_000);
  const add = await h.cli(['addvolume', 'hp-persist', '--volume-name=kept', `--path=${path}`, '--persist']);
  assert.equal(add.code, 0, add.stderr);
  assert.equal((await h.cli(['restart', 'hp-persist', '--grace-period', '0'])).code, 0);
  const second = await h.waitVMI('hp-persist', (v) => v?.status?.phase === 'Running' && v.metadata.uid !== first.metadata.uid, 'running with a new uid', 120_000);
  await h.nothingLeft(first.metadata.uid!);
  // A disk of the new VMI's spec from the start: no hotplugVolume, so not removable by removevolume.
  assert.deepEqual(second!.status?.volumeStatus?.find((v) => v.name === 'kept'), { name: 'kept', target: 'sda', size: 32 * MiB });
  const con = h.console('hp-persist');
  await con.login('root');
  await con.run('modprobe sd_mod');
  await guestBlocks(con, (b) => b.includes('sda'), 'the persisted disk at boot');
  assert.equal((await con.run(`dd if=/dev/sda bs=${MARKER.length} count=1 2>/dev/null; echo`)).trim(), MARKER);
  con.close();
  const rm = await h.cli(['removevolume', 'hp-persist', '--volume-name=kept']);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /name: Unable to remove volume \[kept\] because it is not hotpluggable/);
  assert.equal((await h.cli(['delete', 'vm', 'hp-persist', '--wait'])).code, 0);
  await h.nothingLeft(second!.metadata.uid!);
  assert.equal(readFileSync(path).subarray(0, MARKER.length).toString(), MARKER, 'the file is kept');
});
