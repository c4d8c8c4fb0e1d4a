// Apply on a node whose store cannot write (a full disk): the caller hears of the
// failure, and the VMI it asked for does not stay behind to run until a restart
// forgets it (its sandbox then swept as a stranger's). The Node service and a real
// VMI controller on a real store on a full tmpfs, with the fake node's sandboxes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { pino } from 'pino';
import { Store, type Change } from '../../handler/store/store.js';
import { VmiController } from '../../handler/controller/vmi.js';
import type { VmController } from '../../handler/controller/vm.js';
import type { ImageService } from '../../handler/images/index.js';
import { resolveNodeNetwork, type PodNetworking } from '../../handler/network/index.js';
import { nodeService } from '../../handler/api/node-server.js';
import type { NodeInfo } from '../../proto/generated/virtnode/handler/v1/NodeInfo.js';
import type { ApplyResponse } from '../../proto/generated/virtnode/handler/v1/ApplyResponse.js';
import type { StatusLike } from '../../handler/api/grpc-call.js';
import { PROTOCOL_VERSIONS, protocolMetadata } from '../../proto/rpc.js';
import { FakeNode } from './helpers/fake-node.js';
import { until } from './helpers/until.js';
import { fillDisk, tinyDisk } from './helpers/tiny-disk.js';

const VMI = `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: no-room
spec:
  domain:
    devices:
      disks:
      - name: containerdisk
        disk:
          bus: virtio
    resources:
      requests:
        memory: 64M
  volumes:
  - name: containerdisk
    containerDisk:
      image: quay.io/kubevirt/cirros-container-disk-demo
`;



test('an Apply the store cannot write fails, and its VMI neither stays nor leaves a sandbox', async (t) => {
  const disk = tinyDisk(t, '256k', 'vn-apply-full-');
  if (!disk) return t.skip('cannot mount a tmpfs here (needs root)');
  const node = await FakeNode.create();
  const store = await Store.open(join(disk, 'store'));
  const uids = new Set<string>();
  store.on('change', (c: Change) => {
    const uid = (c.object as { metadata?: { uid?: string } } | undefined)?.metadata?.uid;
    if (c.kind === 'VirtualMachineInstance' && uid) uids.add(uid);
  });
  const vmis = new VmiController({
    store,
    log: pino({ level: 'silent' }),
    nodeName: 'node-1',
    images: node.images,
    network: node.network,
    sandboxes: node.sandboxes,
    chooseAccelerator: node.chooseAccelerator,
    backoff: { baseMs: 20, maxMs: 200 },
  });
  await vmis.start();
  t.after(async () => {
    await vmis.stop();
    await vmis.idle();
    await store.close().catch(() => undefined); // its last writes met the full disk too
    await node.close();
  });
  const service = nodeService({
    store,
    vms: {} as VmController, // only a VMI is applied
    vmis,
    images: {} as ImageService,
    network: { node: resolveNodeNetwork() } as PodNetworking,
    progress: new EventEmitter(),
    nodeInfo: () => ({}) as NodeInfo,
  });
  const apply = (manifest: string): Promise<ApplyResponse> =>
    new Promise((resolve, reject) => {
      const call = { request: { manifest, dryRun: false }, metadata: protocolMetadata(PROTOCOL_VERSIONS[0]!) };
      (service.Apply as (c: unknown, cb: (e: StatusLike | null, r?: ApplyResponse) => void) => void)(call, (e, r) => (e ? reject(e) : resolve(r!)));
    });

  fillDisk(join(disk, 'fill'));
  await assert.rejects(apply(VMI), (e: StatusLike) => {
    assert.match(e.details ?? e.message ?? '', /ENOSPC/);
    return true;
  });
  await until('the VMI gone from the store', () => store.get('VirtualMachineInstance', 'default', 'no-room') === undefined, 5000);
  for (const uid of uids) await until(`nothing left of ${uid} (${node.leftovers(uid).join(', ')})`, () => node.leftovers(uid).length === 0, 5000);
});
