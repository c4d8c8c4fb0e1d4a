// What goes on a cloud-init volume, as KubeVirt's virt-launcher writes it: meta-data
// whose instance id stays the same for a VM across restarts (KubeVirt's "cloud-init
// instance-id should be stable"), user and network data raw or base64.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cloudInitImage, guestHostname } from '../../handler/cloudinit/data.js';
import type { VirtualMachineInstance, Volume } from '../../proto/vmi/types.js';

const FIRMWARE = '0d2a2043-41c0-59c3-9b17-025022203668';

function vmi(uid: string, volume: Volume, hostname?: string): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'vm-cirros', namespace: 'lab', uid },
    spec: { domain: { firmware: { uuid: FIRMWARE }, devices: {} }, volumes: [volume], ...(hostname ? { hostname } : {}) },
  };
}

const files = (v: VirtualMachineInstance): Record<string, string> =>
  Object.fromEntries(cloudInitImage(v, v.spec.volumes![0]!).files.map((f) => [f.path, f.data.toString()]));

test('NoCloud: meta-data names the firmware UUID, not the VMI uid, so a restarted VM is not a first boot', () => {
  const vol: Volume = { name: 'cloudinitdisk', cloudInitNoCloud: { userData: '#!/bin/sh\necho hi\n', networkData: 'version: 2\n' } };
  const first = vmi('11111111-1111-1111-1111-111111111111', vol);
  const again = vmi('22222222-2222-2222-2222-222222222222', vol);
  assert.equal(cloudInitImage(first, vol).label, 'cidata');
  assert.deepEqual(files(first), {
    'meta-data': `{"instance-id":"${FIRMWARE}","local-hostname":"vm-cirros"}`,
    'user-data': '#!/bin/sh\necho hi\n',
    'network-config': 'version: 2\n',
  });
  assert.deepEqual(files(again), files(first), 'the same files for the next VMI of the VM');
});

test('ConfigDrive: instance_id <name>.<namespace>, the firmware UUID beside it, under openstack/latest', () => {
  const vol: Volume = { name: 'cfg', cloudInitConfigDrive: { userDataBase64: Buffer.from('#cloud-config\npassword: x\n').toString('base64') } };
  const v = vmi('33333333-3333-3333-3333-333333333333', vol, 'myhost');
  assert.equal(cloudInitImage(v, vol).label, 'config-2');
  assert.deepEqual(files(v), {
    'openstack/latest/meta_data.json': `{"instance_id":"vm-cirros.lab","hostname":"myhost","uuid":"${FIRMWARE}"}`,
    'openstack/latest/user_data': '#cloud-config\npassword: x\n',
  });
});

test('network data alone still gets an (empty) user-data file, as KubeVirt writes it', () => {
  const vol: Volume = { name: 'c', cloudInitNoCloud: { networkDataBase64: Buffer.from('version: 1\n').toString('base64') } };
  assert.deepEqual(files(vmi('44444444-4444-4444-4444-444444444444', vol)), {
    'meta-data': `{"instance-id":"${FIRMWARE}","local-hostname":"vm-cirros"}`,
    'user-data': '',
    'network-config': 'version: 1\n',
  });
});

test("the guest's hostname: spec.hostname, else the name up to its first dot, 63 at most", () => {
  const vol: Volume = { name: 'c', cloudInitNoCloud: { userData: 'x' } };
  assert.equal(guestHostname(vmi('u', vol, 'given')), 'given');
  const v = vmi('u', vol);
  v.metadata.name = `web.${'a'.repeat(70)}`;
  assert.equal(guestHostname(v), 'web');
  v.metadata.name = 'b'.repeat(70);
  assert.equal(guestHostname(v), 'b'.repeat(63));
});

test("a bare VMI, which has no firmware UUID, uses its uid: the system UUID its guest sees", () => {
  const vol: Volume = { name: 'c', cloudInitNoCloud: { userData: 'x' } };
  const v = vmi('55555555-5555-5555-5555-555555555555', vol);
  delete v.spec.domain.firmware;
  assert.equal(JSON.parse(files(v)['meta-data']!)['instance-id'], '55555555-5555-5555-5555-555555555555');
});
