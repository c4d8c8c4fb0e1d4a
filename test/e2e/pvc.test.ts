// PersistentVolumeClaims through the handler on real QEMU: a claim applied and bound
// (a sparse disk.img in the storage dir), a VMI whose disk is the claim, data the
// guest writes there read back by a new VMI on the same claim after the first is
// deleted; the claim grown while the VMI runs and the guest seeing it; a second
// writer refused; a VMI on a missing claim waiting Pending; and
// the claim's delete waiting for its user (pvc-protection), then removing its volume;
// a VM on a claim across a handler restart and a VM restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TestHandler, cirrosVM, cirrosVMI, useTestHandler } from './harness.js';
import type { PersistentVolumeClaim } from '../../proto/storage/pvc.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

const CLAIM = `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: pvc-data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 64Mi
`;

const vmiOn = (name: string, claim: string): string => cirrosVMI(name, { disks: [{ name: 'data', source: `persistentVolumeClaim:\n  claimName: ${claim}` }] });

const MARKER = 'virtnode-pvc-marker-51c9';

async function claim(name: string): Promise<PersistentVolumeClaim | undefined> {
  const r = await h.cli(['get', 'pvc', name, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as PersistentVolumeClaim) : undefined;
}

test('a VMI on a claim: the guest writes it, a new VMI on the same claim reads it back, a second writer is refused, delete waits for the user', async (t) => {
  // A VMI on a claim that does not exist yet waits, Pending, as KubeVirt's does.
  assert.equal((await h.cli(['apply', '-f', '-'], vmiOn('pvc-a', 'pvc-data'))).code, 0);
  const waiting = await h.waitVMI('pvc-a', (v) => v?.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable') ?? false, 'waiting for its claim', 30_000);
  assert.equal(waiting!.status!.phase ?? 'Pending', 'Pending');
  assert.match(JSON.stringify(waiting!.status!.conditions), /PVC default\/pvc-data does not exist, waiting for it to appear/);

  const applied = await h.cli(['apply', '-f', '-'], CLAIM);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /persistentvolumeclaim\/pvc-data created/);
  const first = await h.waitPhase('pvc-a', 'Running', 180_000);
  const c = (await claim('pvc-data'))!;
  assert.equal(c.status?.phase, 'Bound');
  assert.equal(c.status?.capacity?.storage, String(64 << 20));
  const table = (await h.cli(['get', 'pvc'])).stdout;
  assert.match(table, /pvc-data\s+Bound\s+pvc-[0-9a-f-]+\s+64Mi\s+RWO\s+Filesystem/, table);
  const img = join(h.stateDir, 'storage', 'default', `pvc-${c.metadata.uid}`, 'disk.img');
  assert.equal(statSync(img).size, 64 << 20);

  // QEMU gets the claim's file as an fd, never its path.
  const qemuPid = findQemuPid(first.metadata.uid!);
  const cmdline = readFileSync(`/proc/${qemuPid}/cmdline`, 'utf8').split('\0');
  assert.ok(cmdline.includes('-add-fd'), 'QEMU gets the disk as an fd');
  assert.ok(!cmdline.some((a) => a.includes('disk.img')), 'the path is not on QEMU\'s command line');

  let con = h.console('pvc-a');
  await con.login('root');
  assert.equal((await con.run(`printf '${MARKER}\\n' | dd of=/dev/vdb conv=fsync 2>/dev/null; echo rc=$?`)).trim(), 'rc=0');
  con.close();
  assert.equal(readFileSync(img).subarray(0, MARKER.length).toString(), MARKER, 'the guest wrote through to disk.img');

  // A second VMI may not write the claim while the first does.
  assert.equal((await h.cli(['apply', '-f', '-'], vmiOn('pvc-b', 'pvc-data'))).code, 0);
  const b = await h.waitVMI('pvc-b', (v) => v?.status?.phase === 'Failed', 'Failed', 60_000);
  assert.match(JSON.stringify(b!.status), /spec.volumes\[1\].persistentVolumeClaim.claimName: PersistentVolumeClaim pvc-data is in use by VirtualMachineInstance default\/pvc-a/);
  assert.equal((await h.cli(['delete', 'vmi', 'pvc-b', '--wait'])).code, 0);
  await h.nothingLeft(b!.metadata.uid!);

  // Delete and make again: the new VMI reads what the old one wrote.
  assert.equal((await h.cli(['delete', 'vmi', 'pvc-a', '--wait'])).code, 0);
  await h.nothingLeft(first.metadata.uid!);
  assert.equal((await h.cli(['apply', '-f', '-'], vmiOn('pvc-a', 'pvc-data'))).code, 0);
  const second = await h.waitVMI('pvc-a', (v) => v?.status?.phase === 'Running' && v.metadata.uid !== first.metadata.uid, 'running again', 180_000);
  con = h.console('pvc-a');
  await con.login('root');
  assert.equal((await con.run(`dd if=/dev/vdb bs=${MARKER.length} count=1 2>/dev/null; echo`)).trim(), MARKER, 'the new VMI reads what the old one wrote');

  // Expansion while it runs: disk.img grows and the guest sees the new size (block_resize).
  const sectors = async (): Promise<number> => Number((await con.run('cat /sys/block/vdb/size')).trim());
  assert.equal(await sectors(), (64 << 20) / 512);
  assert.equal((await h.cli(['apply', '-f', '-'], CLAIM.replace('storage: 64Mi', 'storage: 128Mi'))).code, 0);
  for (let i = 0; i < 100 && (await claim('pvc-data'))?.status?.capacity?.storage !== String(128 << 20); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await claim('pvc-data'))?.status?.capacity?.storage, String(128 << 20));
  assert.equal(statSync(img).size, 128 << 20);
  assert.equal(await sectors(), (128 << 20) / 512, 'the guest sees the grown disk');
  const shrink = await h.cli(['apply', '-f', '-'], CLAIM);
  assert.equal(shrink.code, 1);
  assert.match(shrink.stderr, /spec.resources.requests.storage: Forbidden: field can not be less than previous value \(128Mi\)/);
  con.close();

  // pvc-protection: the claim a running VMI uses is only marked; it goes with its user.
  const del = await h.cli(['delete', 'pvc', 'pvc-data']);
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /waits for kubernetes.io\/pvc-protection: in use by VirtualMachineInstance pvc-a/);
  assert.ok((await claim('pvc-data'))?.metadata.deletionTimestamp);
  assert.match((await h.cli(['get', 'pvc'])).stdout, /pvc-data\s+Terminating/);
  assert.ok(existsSync(img));
  assert.equal((await h.cli(['delete', 'vmi', 'pvc-a', '--wait'])).code, 0);
  await h.nothingLeft(second!.metadata.uid!);
  for (let i = 0; i < 50 && (await claim('pvc-data')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await claim('pvc-data'), undefined, 'the claim gone with its last user');
  assert.equal(existsSync(img), false, 'its volume removed');
  assert.deepEqual(readdirSync(join(h.stateDir, 'storage', 'default')), []);
  t.diagnostic(`claim disk ${img}: ${MARKER} read back by a second VMI`);
});

test('a VM on a claim: its data survives a handler restart (the VM undisturbed, the claim still held) and a VM restart', async (t) => {
  const claimYaml = CLAIM.replace('name: pvc-data', 'name: pvc-vm');
  const vm = cirrosVM('pvc-vm', { grace: 0 })
    .replace('              bus: virtio\n', '              bus: virtio\n          - name: data\n            disk:\n              bus: virtio\n')
    .concat('      - name: data\n        persistentVolumeClaim:\n          claimName: pvc-vm\n');
  const r = await h.cli(['apply', '-f', '-'], `${claimYaml}---\n${vm}`);
  assert.equal(r.code, 0, r.stderr);
  const first = await h.waitPhase('pvc-vm', 'Running', 180_000);
  let con = h.console('pvc-vm');
  await con.login('root');
  assert.equal((await con.run(`printf '${MARKER}\\n' | dd of=/dev/vdb conv=fsync 2>/dev/null; echo rc=$?`)).trim(), 'rc=0');
  con.close();
  const c = (await claim('pvc-vm'))!;
  const img = join(h.stateDir, 'storage', 'default', `pvc-${c.metadata.uid}`, 'disk.img');
  assert.equal(readFileSync(img).subarray(0, MARKER.length).toString(), MARKER, 'the guest wrote through to disk.img');
  const qemu = findQemuPid(first.metadata.uid!);

  // A handler restart: the VM runs on, the claim is as it was, and still held.
  await h.stop();
  await h.start();
  assert.equal(findQemuPid(first.metadata.uid!), qemu, 'the same QEMU runs on');
  assert.equal((await claim('pvc-vm'))?.status?.phase, 'Bound');
  assert.equal((await h.cli(['apply', '-f', '-'], vmiOn('pvc-other', 'pvc-vm'))).code, 0);
  const other = await h.waitVMI('pvc-other', (v) => v?.status?.phase === 'Failed', 'Failed', 60_000);
  assert.match(JSON.stringify(other!.status), /PersistentVolumeClaim pvc-vm is in use by VirtualMachineInstance default\/pvc-vm/);
  assert.equal((await h.cli(['delete', 'vmi', 'pvc-other', '--wait'])).code, 0);

  // A VM restart: a new VMI on the same claim reads what the first wrote.
  assert.equal((await h.cli(['restart', 'pvc-vm', '--grace-period', '0'])).code, 0);
  const second = await h.waitVMI('pvc-vm', (v) => v?.status?.phase === 'Running' && v.metadata.uid !== first.metadata.uid, 'running with a new uid', 180_000);
  await h.nothingLeft(first.metadata.uid!);
  con = h.console('pvc-vm');
  await con.login('root');
  assert.equal((await con.run(`dd if=/dev/vdb bs=${MARKER.length} count=1 2>/dev/null; echo`)).trim(), MARKER, 'the restarted VM reads what it wrote');
  con.close();
  assert.equal((await h.cli(['delete', 'vm', 'pvc-vm', '--wait'])).code, 0);
  await h.nothingLeft(second!.metadata.uid!);
  assert.equal((await h.cli(['delete', 'pvc', 'pvc-vm'])).stdout.trim(), 'persistentvolumeclaim "pvc-vm" deleted');
  t.diagnostic('claim data kept across a handler restart and a VM restart');
});

function findQemuPid(uid: string): number {
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('qemu-system-x86_64') && argv.some((a) => a.includes(uid))) return Number(p);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no QEMU of ${uid}`);
}
