// Instance types and preferences on real QEMU: a VM sized by the common u1.small
// instance type and shaped by the fedora preference boots with the instance
// type's CPU and memory (QEMU's argv and the guest agree); editing the instance
// type leaves the running VMI as it is, and the restart takes the new one. What
// virtnode cannot do yet is refused at Apply by the field that asks for it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEMO_IMAGE, TestHandler, sleep, useTestHandler } from './harness.js';
import { qemuPid } from '../../proto/vmi/annotations.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

function vm(name: string, opts: { instancetype?: string; preference?: string; bios?: boolean } = {}): string {
  return `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: ${name}
spec:
  runStrategy: Always
${opts.instancetype ? `  instancetype:\n    kind: VirtualMachineClusterInstancetype\n    name: ${opts.instancetype}\n` : ''}${opts.preference ? `  preference:\n    name: ${opts.preference}\n` : ''}  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
${opts.bios === false ? '' : '        firmware:\n          bootloader:\n            bios: {}\n'}        devices:
          disks:
          - name: containerdisk
      volumes:
      - name: containerdisk
        containerDisk:
          image: ${DEMO_IMAGE}
`;
}

function qemuArgv(vmi: VirtualMachineInstance): string[] {
  const pid = qemuPid(vmi);
  assert.ok(pid, 'the VMI names its QEMU');
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

const after = (argv: string[], flag: string): string => argv[argv.indexOf(flag) + 1] ?? '';

async function guestCpusAndMemKiB(name: string): Promise<{ cpus: number; memKiB: number }> {
  const con = h.console(name);
  await con.login();
  const out = await con.run('grep -c ^processor /proc/cpuinfo; grep MemTotal /proc/meminfo');
  // Logged out again, so the next look finds the getty's prompt.
  const at = con.output.length;
  con.send('exit\r');
  await con.expect(/login: $/m, 30_000, at);
  con.close();
  const cpus = Number(/^\s*(\d+)\s*$/m.exec(out)?.[1]);
  const memKiB = Number(/MemTotal:\s+(\d+) kB/.exec(out)?.[1]);
  return { cpus, memKiB };
}

test('the common instance types and preferences are there out of the box', async () => {
  const its = await h.cli(['get', 'instancetypes']);
  assert.equal(its.code, 0, its.stderr);
  assert.match(its.stdout, /VirtualMachineClusterInstancetype\s+u1\.small\s+1\s+2Gi\s+kubevirt\.io/);
  for (const n of ['u1.nano', 'o1.nano', 'cx1.medium', 'm1.large']) assert.match(its.stdout, new RegExp(`\\s${n.replace('.', '\\.')}\\s`), n);
  const prefs = await h.cli(['get', 'preferences']);
  assert.equal(prefs.code, 0, prefs.stderr);
  for (const n of ['fedora', 'centos.stream9', 'ubuntu', 'windows.11']) assert.match(prefs.stdout, new RegExp(`\\s${n.replace('.', '\\.')}\\s`), n);
  const one = await h.cli(['get', 'vmcf', 'u1.small', '-o', 'json']);
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual(JSON.parse(one.stdout).spec, { cpu: { guest: 1 }, memory: { guest: '2Gi' } });
});

test('what virtnode cannot do yet is refused at Apply by the instance type\'s or preference\'s field, and nothing is made', async () => {
  const cx = await h.cli(['apply', '-f', '-'], vm('it-cx', { instancetype: 'cx1.medium' }));
  assert.equal(cx.code, 1);
  assert.match(cx.stderr, /spec\.instancetype: VirtualMachineClusterInstancetype cx1\.medium sets spec\.cpu\.dedicatedCPUPlacement \(as spec\.template\.spec\.domain\.cpu\.dedicatedCpuPlacement\): not supported yet/);
  assert.match(cx.stderr, /sets spec\.memory\.hugepages/);
  // The preference's requirements: u1.nano's 512Mi is less than fedora's 2Gi.
  const small = await h.cli(['apply', '-f', '-'], vm('it-nano', { instancetype: 'u1.nano', preference: 'fedora' }));
  assert.equal(small.code, 1);
  assert.match(small.stderr, /spec\.instancetype: failure checking preference requirements: insufficient Memory resources of 512Mi provided by instance type, preference requires 2Gi/);
  for (const n of ['it-cx', 'it-nano']) assert.equal(await h.getVM(n), undefined);
});

test('a VM may come before its instance type: it waits, saying why, and starts once the instance type is applied', async () => {
  const r = await h.cli(['apply', '-f', '-'], vm('it-later', { instancetype: 'later.small' }));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Warning: spec\.instancetype\.name: VirtualMachineClusterInstancetype "later\.small" not found: the VirtualMachine cannot start until it exists/);
  const waiting = await h.waitVM('it-later', (v) => v?.status?.conditions.some((c) => c.type === 'Failure' && c.reason === 'FailedCreate') === true, 'a FailedCreate condition', 30_000);
  assert.match(waiting!.status!.conditions.find((c) => c.type === 'Failure')!.message ?? '', /VirtualMachineClusterInstancetype "later\.small" not found/);
  assert.equal(await h.getVMI('it-later'), undefined, 'no VMI');
  assert.match((await h.cli(['events'])).stdout, /Warning\s+FailedCreate\s+virtualmachine\/it-later/);
  const it = await h.cli(['apply', '-f', '-'], 'apiVersion: instancetype.kubevirt.io/v1beta1\nkind: VirtualMachineClusterInstancetype\nmetadata:\n  name: later.small\nspec:\n  cpu:\n    guest: 1\n  memory:\n    guest: 256Mi\n');
  assert.equal(it.code, 0, it.stderr);
  const v = await h.waitVMI('it-later', (x) => x !== undefined, 'a VMI once the instance type exists', 60_000);
  assert.equal(v!.spec.domain.memory?.guest, '256Mi');
  // The VM's status follows its VMI's creation: the condition goes in the same or a later write.
  await h.waitVM('it-later', (x) => x?.status?.conditions.some((c) => c.type === 'Failure') === false, 'the Failure condition gone', 30_000);
  assert.equal((await h.cli(['delete', 'vm', 'it-later', '--wait'])).code, 0);
  await h.nothingLeft(v!.metadata.uid!);
});

test('u1.small + fedora boots with the instance type\'s CPU and memory; an edit of the instance type waits for the restart', async () => {
  const r = await h.cli(['apply', '-f', '-'], vm('it-vm', { instancetype: 'u1.small', preference: 'fedora' }));
  assert.equal(r.code, 0, r.stderr);
  const first = await h.waitPhase('it-vm', 'Running', 180_000);

  // The VMI is the expansion: u1.small's size, fedora's devices and features.
  assert.deepEqual(first.spec.domain.cpu, { sockets: 1, cores: 1, threads: 1 });
  assert.equal(first.spec.domain.memory?.guest, '2Gi');
  assert.equal(first.spec.domain.devices.disks?.[0]?.disk?.bus, 'virtio');
  assert.deepEqual(first.spec.domain.devices.rng, {});
  assert.deepEqual(first.spec.domain.features?.smm, {});
  assert.equal(first.metadata.annotations?.['kubevirt.io/cluster-instancetype-name'], 'u1.small');
  assert.equal(first.metadata.annotations?.['kubevirt.io/cluster-preference-name'], 'fedora');
  const argv = qemuArgv(first);
  assert.equal(after(argv, '-smp'), '1,sockets=1,cores=1,threads=1');
  assert.equal(after(argv, '-m'), `size=${2 * 1024 ** 3}b`);
  assert.match(after(argv, '-machine'), /,smm=on$/);
  const g1 = await guestCpusAndMemKiB('it-vm');
  assert.equal(g1.cpus, 1);
  // The kernel keeps some for itself: MemTotal is a little under the 2 GiB QEMU gives.
  assert.ok(g1.memKiB > 1.8 * 1024 * 1024 && g1.memKiB <= 2 * 1024 * 1024, `MemTotal ${g1.memKiB} kB`);

  // The VM keeps the revision it started with.
  const vm1 = await h.getVM('it-vm');
  const rev1 = vm1?.status?.instancetypeRef?.controllerRevisionRef?.name;
  assert.match(rev1 ?? '', /^it-vm-u1\.small-v1beta1-[0-9a-f-]{36}-1$/);
  assert.match((await h.cli(['get', 'controllerrevisions'])).stdout, new RegExp(`${rev1!.replaceAll('.', '\\.')}\\s+VirtualMachineClusterInstancetype/u1\\.small`));

  // Edit u1.small (an applied one takes the common one's place): two vCPUs.
  const edit = await h.cli(['apply', '-f', '-'], 'apiVersion: instancetype.kubevirt.io/v1beta1\nkind: VirtualMachineClusterInstancetype\nmetadata:\n  name: u1.small\nspec:\n  cpu:\n    guest: 2\n  memory:\n    guest: 2Gi\n');
  assert.equal(edit.code, 0, edit.stderr);
  assert.match((await h.cli(['get', 'instancetypes', 'u1.small'])).stdout, /u1\.small\s+2\s+2Gi/);
  await sleep(2000);
  const still = await h.getVMI('it-vm');
  assert.equal(still?.metadata.uid, first.metadata.uid, 'the running VMI is not replaced');
  assert.deepEqual(still?.spec.domain.cpu, { sockets: 1, cores: 1, threads: 1 });
  assert.equal(after(qemuArgv(still!), '-smp'), '1,sockets=1,cores=1,threads=1');
  assert.equal((await guestCpusAndMemKiB('it-vm')).cpus, 1, 'the guest still has one vCPU');

  // The restart takes the edited instance type, as a new revision.
  assert.equal((await h.cli(['restart', 'it-vm', '--grace-period', '0'])).code, 0);
  const second = (await h.waitVMI('it-vm', (x) => x?.status?.phase === 'Running' && x.metadata.uid !== first.metadata.uid, 'running again', 180_000))!;
  assert.deepEqual(second.spec.domain.cpu, { sockets: 2, cores: 1, threads: 1 });
  assert.equal(after(qemuArgv(second), '-smp'), '2,sockets=2,cores=1,threads=1');
  assert.equal((await guestCpusAndMemKiB('it-vm')).cpus, 2, 'the guest has two vCPUs after the restart');
  const vm2 = await h.waitVM('it-vm', (v) => v?.status?.instancetypeRef?.controllerRevisionRef?.name !== rev1, 'a new revision');
  const rev2 = vm2!.status!.instancetypeRef!.controllerRevisionRef!.name;
  const revs = (await h.cli(['get', 'controllerrevisions'])).stdout;
  assert.ok(revs.includes(rev2) && !revs.includes(rev1!), `the old revision is pruned:\n${revs}`);

  // Deleting the VM takes its revisions with it.
  assert.equal((await h.cli(['delete', 'vm', 'it-vm', '--wait'])).code, 0);
  await h.nothingLeft(second.metadata.uid!);
  assert.match((await h.cli(['get', 'controllerrevisions'])).stdout, /No resources found/);
  // The applied u1.small goes; the common one is back.
  assert.equal((await h.cli(['delete', 'vmcf', 'u1.small'])).code, 0);
  assert.match((await h.cli(['get', 'vmcf', 'u1.small'])).stdout, /u1\.small\s+1\s+2Gi\s+kubevirt\.io/);
  const refused = await h.cli(['delete', 'vmcf', 'u1.small']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /comes? with the handler|cannot be deleted/);
});
