// cloud-init as KubeVirt manifests carry it: a cloudInitNoCloud or
// cloudInitConfigDrive volume, made into an ISO by the handler, read by the test
// guest (which does what CirrOS's cloud-init does, printing "cloud-init: ..." per
// step). And KubeVirt's "cloud-init instance-id should be stable": a VM restarted is
// the same instance to cloud-init, so first-boot steps do not run again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestHandler, cirrosVM, cirrosVMI, useTestHandler } from './harness.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

/** A cloud-init volume's YAML lines for cirrosVMI's `disks`, user data as a literal block. */
function cloudInit(kind: 'cloudInitNoCloud' | 'cloudInitConfigDrive', userData: string): string {
  return `${kind}:\n  userData: |\n${userData.split('\n').map((l) => `    ${l}`).join('\n')}`;
}

test('cloudInitNoCloud: a #! script runs at first boot and prints its line; the ISO goes with the VMI', async () => {
  const vmi = cirrosVMI('ci-script', { disks: [{ name: 'cloudinitdisk', source: cloudInit('cloudInitNoCloud', '#!/bin/sh\necho "CLOUD-INIT-SCRIPT ran as $(id -u) on $(hostname)"') }] });
  assert.equal((await h.cli(['apply', '-f', '-'], vmi)).code, 0);
  const v = await h.waitPhase('ci-script', 'Running', 120_000);
  const con = h.console('ci-script');
  await con.expect(/cloud-init: datasource NoCloud on \/dev\/vdb/, 120_000);
  await con.expect(/cloud-init: instance-id [0-9a-f-]{36} \(first boot\)/);
  await con.expect(/CLOUD-INIT-SCRIPT ran as 0 on ci-script/);
  await con.expect(/cloud-init: user-data script ran \(exit 0\)/);
  con.close();
  // The volume shows as the disk the spec names.
  assert.deepEqual(v.status?.volumeStatus?.map((s) => [s.name, s.target]), [['containerdisk', 'vda'], ['cloudinitdisk', 'vdb']]);
  assert.equal((await h.cli(['delete', 'vmi', 'ci-script', '--wait'])).code, 0);
  await h.nothingLeft(v.metadata.uid!);
});

test('cloudInitNoCloud #cloud-config: the password it sets logs the default user in', async () => {
  const vmi = cirrosVMI('ci-password', { disks: [{ name: 'cloudinitdisk', source: cloudInit('cloudInitNoCloud', '#cloud-config\npassword: s3cret-Pw\nchpasswd: { expire: False }\nruncmd:\n  - echo RUNCMD-DONE > /dev/console') }] });
  assert.equal((await h.cli(['apply', '-f', '-'], vmi)).code, 0);
  const v = await h.waitPhase('ci-password', 'Running', 120_000);
  const con = h.console('ci-password');
  await con.expect(/cloud-init: password set for cirros/, 120_000);
  await con.login('cirros', 's3cret-Pw');
  assert.equal((await con.run('id -un')).trim(), 'cirros');
  con.close();
  assert.equal((await h.cli(['delete', 'vmi', 'ci-password', '--wait'])).code, 0);
  await h.nothingLeft(v.metadata.uid!);
});

test('cloudInitConfigDrive: the password works, and the instance id stays the same across a VM restart', async () => {
  const vm = cirrosVM('ci-drive').replace(
    '          - name: containerdisk\n            disk:\n              bus: virtio\n',
    '          - name: containerdisk\n            disk:\n              bus: virtio\n          - name: configdrive\n            disk:\n              bus: virtio\n',
  ) + `      - name: configdrive\n        cloudInitConfigDrive:\n          userData: |\n            #cloud-config\n            password: drive-Pw1\n            chpasswd: { expire: False }\n`;
  assert.equal((await h.cli(['apply', '-f', '-'], vm)).code, 0, 'apply');
  const first = await h.waitPhase('ci-drive', 'Running', 120_000);
  const instanceId = async (): Promise<string> => {
    const con = h.console('ci-drive');
    await con.expect(/cloud-init: datasource ConfigDrive on \/dev\/vdb/, 120_000);
    await con.login('cirros', 'drive-Pw1');
    const id = (await con.run('cat /var/lib/cloud/data/instance-id')).trim();
    con.close();
    return id;
  };
  const before = await instanceId();
  // The firmware UUID, which stays with the VM: not the VMI uid, which changes on every start.
  assert.equal(before, first.spec.domain.firmware?.uuid);
  assert.notEqual(before, first.metadata.uid);

  assert.equal((await h.cli(['restart', 'ci-drive', '--grace-period', '0'])).code, 0);
  const second = await h.waitVMI('ci-drive', (x) => x?.status?.phase === 'Running' && x.metadata.uid !== first.metadata.uid, 'running again', 120_000);
  assert.equal(await instanceId(), before, "KubeVirt's test: the instance-ids match after a restart");
  assert.equal((await h.cli(['delete', 'vm', 'ci-drive', '--wait'])).code, 0);
  await h.nothingLeft(second!.metadata.uid!);
});
