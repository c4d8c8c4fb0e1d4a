// The revisions a VM starts with, on a real store: a start keeps a copy of the
// instance type and preference; an edited instance type is a new revision at the
// next start and never touches the one a running VMI was made from; revisionName
// pins one; revisions go with their VM; cluster-scoped objects survive a reopen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../handler/store/store.js';
import { pruneRevisions, revisionsInUse, templatesForStart } from '../../handler/instancetype/revisions.js';
import { InvalidSpecError } from '../../proto/errors.js';
import type { ControllerRevision, InstancetypeObject } from '../../proto/instancetype/index.js';
import type { VirtualMachine } from '../../proto/vmi/types.js';

function vmOf(instancetype: Record<string, string>): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      runStrategy: 'Halted',
      instancetype,
      preference: { name: 'cirros' },
      template: { spec: { domain: { devices: { disks: [{ name: 'root' }] }, firmware: { bootloader: { bios: {} } } }, volumes: [{ name: 'root', containerDisk: { image: 'r.example/x:1' } }] } },
    },
  };
}

const small: InstancetypeObject = {
  apiVersion: 'instancetype.kubevirt.io/v1beta1',
  kind: 'VirtualMachineClusterInstancetype',
  metadata: { name: 'small' },
  spec: { cpu: { guest: 1 }, memory: { guest: '512Mi' } },
};

test('each start keeps a revision; an edit is seen at the next start only; revisionName pins; revisions go with the VM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-it-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let store = await Store.open(dir);
  await store.create(small).durable;
  const vm = (await store.create(vmOf({ name: 'small' })).durable.then(() => store.get<VirtualMachine>('VirtualMachine', 'default', 'web')))!;

  const first = await templatesForStart(store, vm);
  const itRev = first.instancetypeRef!.controllerRevisionRef!.name;
  const uid = store.get<InstancetypeObject>('VirtualMachineClusterInstancetype', '', 'small')!.metadata.uid;
  assert.equal(itRev, `web-small-v1beta1-${uid}-1`);
  assert.equal(first.preferenceRef?.kind, 'VirtualMachineClusterPreference', 'the common cirros preference');
  assert.deepEqual(first.vm.spec.template.spec.domain.cpu, { sockets: 1, cores: 1, threads: 1 });
  const rev = store.get<ControllerRevision>('ControllerRevision', 'default', itRev)!;
  assert.deepEqual(rev.data.spec, small.spec);
  assert.equal(rev.metadata.ownerReferences?.[0]?.uid, vm.metadata.uid);
  assert.equal(rev.metadata.labels?.['instancetype.kubevirt.io/object-name'], 'small');

  // A second start of the same object reuses the revision.
  assert.equal((await templatesForStart(store, vm)).instancetypeRef!.controllerRevisionRef!.name, itRev);

  // Edited: the stored revision keeps the old spec, the next start takes generation 2.
  await store.mutate<InstancetypeObject>('VirtualMachineClusterInstancetype', '', 'small', (o) => void (o.spec = { cpu: { guest: 2 }, memory: { guest: '1Gi' } })).durable;
  assert.deepEqual(store.get<ControllerRevision>('ControllerRevision', 'default', itRev)!.data.spec, small.spec);
  const second = await templatesForStart(store, vm);
  assert.equal(second.instancetypeRef!.controllerRevisionRef!.name, `web-small-v1beta1-${uid}-2`);
  assert.deepEqual(second.vm.spec.template.spec.domain.cpu, { sockets: 2, cores: 1, threads: 1 });
  assert.deepEqual(second.vm.spec.template.spec.domain.memory, { guest: '1Gi' });

  // revisionName pins the first one, whatever the object says now.
  const pinned = await templatesForStart(store, vmOf({ name: 'small', revisionName: itRev }) as VirtualMachine & { metadata: { uid: string } });
  assert.deepEqual(pinned.vm.spec.template.spec.domain.memory, { guest: '512Mi' });
  await assert.rejects(templatesForStart(store, vmOf({ name: 'small', revisionName: 'nope' })), (e: unknown) => e instanceof InvalidSpecError && /spec\.instancetype\.revisionName: ControllerRevision default\/nope not found/.test(e.message));

  // What the VM's status names is kept; the rest of its revisions go.
  const inUse = { ...vm, status: { printableStatus: 'Stopped', ready: false, created: false, conditions: [], instancetypeRef: second.instancetypeRef, preferenceRef: second.preferenceRef } } as VirtualMachine;
  await pruneRevisions(store, inUse, revisionsInUse(inUse));
  assert.equal(store.get('ControllerRevision', 'default', itRev), undefined);
  assert.ok(store.get('ControllerRevision', 'default', second.instancetypeRef!.controllerRevisionRef!.name));

  // Cluster-scoped objects are filed under no namespace and come back on reopen.
  await store.close();
  assert.ok(existsSync(join(dir, 'objects', 'VirtualMachineClusterInstancetype', '_cluster', 'small.json')));
  store = await Store.open(dir);
  assert.equal(store.get<InstancetypeObject>('VirtualMachineClusterInstancetype', '', 'small')?.metadata.generation, 2);
  await pruneRevisions(store, inUse, new Set());
  assert.deepEqual(store.list('ControllerRevision'), []);
  await store.close();
});

test('a start refuses what is missing or conflicts, and stores nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-it-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await Store.open(dir);
  const vm = vmOf({ name: 'gone' });
  vm.metadata.uid = '11111111-2222-4333-8444-555555555555';
  await assert.rejects(templatesForStart(store, vm), /spec\.instancetype\.name: VirtualMachineClusterInstancetype "gone" not found/);
  const clash = vmOf({ name: 'u1.nano' });
  clash.metadata.uid = vm.metadata.uid;
  clash.spec.template.spec.domain.cpu = { cores: 2 };
  await assert.rejects(templatesForStart(store, clash), /spec\.template\.spec\.domain\.cpu\.cores: VM field\(s\) spec\.template\.spec\.domain\.cpu\.cores conflicts with selected instance type/);
  assert.deepEqual(store.list('ControllerRevision'), []);
  await store.close();
});
