// PersistentVolumeClaims in standalone mode: the object's admission (proto/storage/pvc.ts),
// Apply's all-or-nothing with claims in it, provisioning into the storage dir on real
// files (handler/storage/claims.ts), pvc-protection, growth, a handler restart, and
// the VMI side: waiting for a missing claim, the claim's disk handed over as a held
// file, and one writer at a time. The Node service and a real VMI controller on a
// real store, with the fake node's sandboxes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, realpathSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Store } from '../../handler/store/store.js';
import { VmiController } from '../../handler/controller/vmi.js';
import type { VmController } from '../../handler/controller/vm.js';
import type { ImageService } from '../../handler/images/index.js';
import { resolveNodeNetwork, type PodNetworking } from '../../handler/network/index.js';
import { nodeService } from '../../handler/api/node-server.js';
import { Claims } from '../../handler/storage/claims.js';
import type { NodeInfo } from '../../proto/generated/virtnode/handler/v1/NodeInfo.js';
import type { ApplyResponse } from '../../proto/generated/virtnode/handler/v1/ApplyResponse.js';
import type { OperationResponse } from '../../proto/generated/virtnode/handler/v1/OperationResponse.js';
import type { StatusLike } from '../../handler/api/grpc-call.js';
import { PROTOCOL_VERSIONS, protocolMetadata } from '../../proto/rpc.js';
import { InvalidSpecError } from '../../proto/errors.js';
import { defaultPvc, validatePvc, type PersistentVolumeClaim } from '../../proto/storage/pvc.js';
import { judgeManifest } from '../../proto/vmi/admit.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { FakeNode } from './helpers/fake-node.js';
import { until } from './helpers/until.js';

const pvc = (name: string, storage = '64Mi', extra = ''): string => `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${name}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: ${storage}
${extra}`;

const vmi = (name: string, claim: string): string => `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: ${name}
spec:
  domain:
    devices:
      disks:
      - name: data
        disk: {bus: virtio}
    resources:
      requests:
        memory: 64M
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: ${claim}
`;

function refused(o: unknown): { path: string; message: string }[] {
  try {
    validatePvc(o);
  } catch (e) {
    assert.ok(e instanceof InvalidSpecError);
    return e.fields;
  }
  assert.fail('accepted');
}

const base = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };

test('PVC admission: the API server essentials, each naming its field', () => {
  assert.deepEqual(validatePvc(base).warnings, []);
  assert.deepEqual(refused({ ...base, spec: { ...base.spec, accessModes: [] } }).map((f) => f.path), ['spec.accessModes']);
  assert.deepEqual(refused({ ...base, spec: { ...base.spec, accessModes: ['ReadWriteSometimes'] } }).map((f) => f.path), ['spec.accessModes[0]']);
  assert.deepEqual(refused({ ...base, spec: { ...base.spec, resources: {} } }).map((f) => f.path), ['spec.resources[storage]']);
  assert.deepEqual(refused({ ...base, spec: { ...base.spec, resources: { requests: { storage: 'lots' } } } }).map((f) => f.path), ['spec.resources.requests[storage]']);
  assert.deepEqual(refused({ ...base, spec: { ...base.spec, volumeMode: 'Raw' } }).map((f) => f.path), ['spec.volumeMode']);
  const block = refused({ ...base, spec: { ...base.spec, volumeMode: 'Block' } });
  assert.equal(block[0]!.path, 'spec.volumeMode');
  assert.match(block[0]!.message, /not supported yet.*Filesystem/);
  assert.deepEqual(refused({ ...base, metadata: { name: 'Bad_Name' } }).map((f) => f.path), ['metadata.name']);
  assert.match(validatePvc({ ...base, spec: { ...base.spec, storageClassName: 'fast-ssd' } }).warnings[0]!, /storageClassName "fast-ssd" is not this node's/);
});

test('PVC manifest: read beside VMIs, defaulted (Filesystem, pvc-protection), status dropped', () => {
  const j = judgeManifest(`${pvc('c')}status: {phase: Bound}\n---\n${vmi('a', 'c')}`, { podNetworking: true });
  assert.equal(j.objects.length, 2);
  const c = j.objects[0]!.object as PersistentVolumeClaim;
  assert.equal(c.spec.volumeMode, 'Filesystem');
  assert.deepEqual(c.metadata.finalizers, ['kubernetes.io/pvc-protection']);
  assert.equal(c.status, undefined);
  assert.deepEqual(j.objects[1]!.errors, []);
  const bad = judgeManifest(vmi('a', 'Not A Name'), { podNetworking: true });
  assert.equal(bad.objects[0]!.errors[0]!.path, 'spec.volumes[0].persistentVolumeClaim.claimName');
});

interface Node {
  store: Store;
  claims: Claims;
  vmis: VmiController;
  apply(m: string): Promise<ApplyResponse>;
  del(kind: string, name: string): Promise<OperationResponse>;
  close(): Promise<void>;
}

async function startNode(dir: string, fake: FakeNode): Promise<Node> {
  const store = await Store.open(join(dir, 'store'));
  const log = pino({ level: 'silent' });
  const claims = new Claims(join(dir, 'storage'), store, log);
  const vmis = new VmiController({ store, log, nodeName: 'node-1', images: fake.images, network: fake.network, sandboxes: fake.sandboxes, chooseAccelerator: fake.chooseAccelerator, claims, backoff: { baseMs: 20, maxMs: 200 } });
  await claims.start();
  await vmis.start();
  const service = nodeService({ store, vms: {} as VmController, vmis, claims, images: {} as ImageService, network: { node: resolveNodeNetwork() } as PodNetworking, progress: new EventEmitter(), nodeInfo: () => ({}) as NodeInfo });
  const call = <T>(method: string, request: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      const c = { request, metadata: protocolMetadata(PROTOCOL_VERSIONS[0]!) };
      (service[method] as (c: unknown, cb: (e: StatusLike | null, r?: T) => void) => void)(c, (e, r) => (e ? reject(e) : resolve(r!)));
    });
  return {
    store,
    claims,
    vmis,
    apply: (manifest) => call('Apply', { manifest, dryRun: false }),
    del: (kind, name) => call('Delete', { ref: { kind, namespace: 'default', name }, gracePeriodSeconds: 0 }),
    close: async () => {
      await vmis.stop();
      await vmis.idle();
      await store.close();
    },
  };
}

function setup(t: { after(fn: () => Promise<void> | void): void }): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'vn-pvc-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const getPvc = (n: Node, name: string): PersistentVolumeClaim | undefined => n.store.get<PersistentVolumeClaim>('PersistentVolumeClaim', 'default', name);
const getVmi = (n: Node, name: string): VirtualMachineInstance | undefined => n.store.get<VirtualMachineInstance>('VirtualMachineInstance', 'default', name);

test('PVC provisioning: a sparse disk.img of the request, Bound; a bad document leaves none of the file applied; too big is refused with the numbers', async (t) => {
  const dir = setup(t);
  const fake = await FakeNode.create();
  const n = await startNode(dir, fake);
  t.after(async () => {
    await n.close();
    await fake.close();
  });
  // All-or-nothing: the second document is bad, so the first is not stored either.
  await assert.rejects(n.apply(`${pvc('one')}---\n${pvc('two', '1Gi', '  volumeMode: Sideways\n')}`), (e: StatusLike) => /\[1\] PersistentVolumeClaim two: spec.volumeMode/.test(e.details ?? ''));
  assert.equal(getPvc(n, 'one'), undefined);

  const r = await n.apply(pvc('data', '100Mi'));
  assert.deepEqual(r.results, ['persistentvolumeclaim/data created']);
  await until('Bound', () => getPvc(n, 'data')?.status?.phase === 'Bound', 5000);
  const c = getPvc(n, 'data')!;
  assert.equal(c.status!.capacity!.storage, String(100 * 2 ** 20));
  assert.deepEqual(c.status!.accessModes, ['ReadWriteOnce']);
  const img = join(dir, 'storage', 'default', `pvc-${c.metadata.uid}`, 'disk.img');
  const st = statSync(img);
  assert.equal(st.size, 100 * 2 ** 20);
  assert.ok(st.blocks * 512 < 1 << 20, `sparse (${st.blocks} blocks)`);

  await assert.rejects(n.apply(pvc('huge', '100Pi')), (e: StatusLike) => {
    assert.match(e.details ?? '', /spec.resources.requests.storage: 100Pi \(\d+ bytes\) does not fit: the storage dir .* has \d+ bytes \(.*\) free/);
    return true;
  });
  // Shrinking is refused; growing grows the file (no VMI uses it).
  await assert.rejects(n.apply(pvc('data', '50Mi')), (e: StatusLike) => /spec.resources.requests.storage: Forbidden: field can not be less than previous value/.test(e.details ?? ''));
  await assert.rejects(n.apply(pvc('data', '100Mi', '  volumeMode: Filesystem\n  storageClassName: other\n')), (e: StatusLike) => /spec: Forbidden: spec is immutable/.test(e.details ?? ''));
  await n.apply(pvc('data', '200Mi'));
  await until('grown', () => getPvc(n, 'data')?.status?.capacity?.storage === String(200 * 2 ** 20), 5000);
  assert.equal(statSync(img).size, 200 * 2 ** 20);

  // A handler restart: the claim is as it was, its data file too.
  await n.close();
  const again = await startNode(dir, fake);
  t.after(() => again.close());
  assert.equal(getPvc(again, 'data')?.status?.phase, 'Bound');
  assert.equal(statSync(img).size, 200 * 2 ** 20);
  const del = await again.del('pvc', 'data');
  assert.equal(del.message, 'persistentvolumeclaim "data" deleted');
  assert.equal(getPvc(again, 'data'), undefined);
  assert.equal(existsSync(img), false);
});

test('PVC volume: a VMI waits Pending for a missing claim, starts once it is bound with the claim\'s disk held, a second writer is refused, and delete waits for the user', async (t) => {
  const dir = setup(t);
  const fake = await FakeNode.create();
  const n = await startNode(dir, fake);
  t.after(async () => {
    await n.close();
    await fake.close();
  });
  await n.apply(vmi('a', 'late'));
  await until('PodScheduled=False', () => getVmi(n, 'a')?.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable') === true, 5000);
  const waiting = getVmi(n, 'a')!;
  assert.equal(waiting.status?.phase ?? 'Pending', 'Pending');
  assert.match(waiting.status!.conditions!.find((c) => c.type === 'PodScheduled')!.message!, /PVC default\/late does not exist, waiting for it to appear/);

  await n.apply(pvc('late', '32Mi'));
  const uid = getVmi(n, 'a')!.metadata.uid!;
  await until('the launcher synced', () => fake.launchers.some((l) => l.uid === uid && l.contexts.length > 0), 10_000);
  const claim = getPvc(n, 'late')!;
  const ctx = fake.launchers.find((l) => l.uid === uid)!.contexts[0];
  const vol = ctx?.volumes.data;
  assert.ok(vol?.hostFile, JSON.stringify(ctx?.volumes));
  assert.equal(vol.hostFile.path, `default/pvc-${claim.metadata.uid}/disk.img`);
  assert.equal(vol.format, 'raw');
  assert.equal(getVmi(n, 'a')!.status!.conditions!.some((c) => c.type === 'PodScheduled' && c.status === 'False'), false);

  // A second VMI on the same claim: refused, naming the claim and the holder.
  await n.apply(vmi('b', 'late'));
  await until('b failed', () => getVmi(n, 'b')?.status?.phase === 'Failed', 10_000);
  assert.match(JSON.stringify(getVmi(n, 'b')!.status), /spec.volumes\[0\].persistentVolumeClaim.claimName: PersistentVolumeClaim late is in use by VirtualMachineInstance default\/a/);
  await n.del('vmi', 'b');

  // pvc-protection: the claim stays, marked, while a uses it.
  const del = await n.del('pvc', 'late');
  assert.match(del.message ?? '', /waits for kubernetes.io\/pvc-protection: in use by VirtualMachineInstance a/);
  assert.ok(getPvc(n, 'late')?.metadata.deletionTimestamp);
  const img = join(dir, 'storage', 'default', `pvc-${claim.metadata.uid}`, 'disk.img');
  assert.ok(existsSync(img));
  await n.del('vmi', 'a');
  await until('the claim gone with its user', () => getPvc(n, 'late') === undefined && !existsSync(img), 10_000);
});

test('PVC expansion: a running user is told (block_resize) and capacity follows; one that cannot be told sees it at its next start', async (t) => {
  const dir = setup(t);
  const store = await Store.open(join(dir, 'store'));
  t.after(() => store.close());
  const claims = new Claims(join(dir, 'storage'), store, pino({ level: 'silent' }));
  const told: string[] = [];
  let refuse = false;
  claims.resizer = async (ns, name, volume, bytes) => {
    if (refuse) throw new Error('unknown command resizeVolume');
    told.push(`${ns}/${name}/${volume}=${bytes}`);
  };
  await claims.start();
  const made = store.create(defaultPvc(JSON.parse(JSON.stringify({ ...base, spec: { ...base.spec, resources: { requests: { storage: '16Mi' } } } }))));
  await made.durable;
  await until('Bound', () => store.get<PersistentVolumeClaim>('PersistentVolumeClaim', 'default', 'c')?.status?.phase === 'Bound', 5000);
  const uid = made.object.metadata.uid!;
  const img = join(dir, 'storage', 'default', `pvc-${uid}`, 'disk.img');
  const user = store.create({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'a', namespace: 'default' }, spec: { domain: { devices: { disks: [{ name: 'data', disk: { bus: 'virtio' } }] } }, volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'c' } }] }, status: { phase: 'Running', conditions: [] } } as unknown as VirtualMachineInstance);
  await user.durable;
  const grow = async (storage: string): Promise<void> => {
    await store.mutate<PersistentVolumeClaim>('PersistentVolumeClaim', 'default', 'c', (o) => void (o.spec.resources.requests.storage = storage)).durable;
  };
  const capacity = (): string | undefined => store.get<PersistentVolumeClaim>('PersistentVolumeClaim', 'default', 'c')?.status?.capacity?.storage;

  await grow('32Mi');
  await until('capacity 32Mi', () => capacity() === String(32 << 20), 5000);
  assert.deepEqual(told, [`default/a/data=${32 << 20}`]);
  assert.equal(statSync(img).size, 32 << 20);

  refuse = true;
  await grow('48Mi');
  await until('the file grown', () => statSync(img).size === 48 << 20, 5000);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(capacity(), String(32 << 20), 'capacity stays what the guest sees');
  // The VMI ends: the claim's capacity is what its next user will see.
  await store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'a', (o) => void (o.status!.phase = 'Succeeded')).durable;
  await until('capacity 48Mi', () => capacity() === String(48 << 20), 5000);
});
