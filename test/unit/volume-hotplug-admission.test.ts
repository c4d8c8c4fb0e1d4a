// Admission of addvolume/removevolume (proto/vmi/validate-hotplug.ts and the node's
// hostDisk judge, handler/api/admission.ts checkHotplugHostDisk): every refusal names
// the request's field, and nothing is returned to store for a refused request.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IllegalTransitionError, InvalidSpecError, type FieldError } from '../../proto/errors.js';
import { applyDefaults, type VirtualMachineInstance } from '../../proto/vmi/index.js';
import { admitAddVolume, admitRemoveVolume } from '../../proto/vmi/validate-hotplug.js';
import { HostDisks } from '../../handler/hostdisk/host-disks.js';
import { checkHotplugHostDisk } from '../../handler/api/admission.js';
import { vmi as vmiFixture } from './vmi-fixtures.js';

function running(): VirtualMachineInstance {
  const v = applyDefaults(vmiFixture() as VirtualMachineInstance) as VirtualMachineInstance;
  v.metadata.uid = 'uid-running';
  v.status = { phase: 'Running', conditions: [] };
  return v;
}

const OPTIONS = (extra: Record<string, unknown> = {}) => ({ name: 'hot', disk: { name: 'hot', disk: { bus: 'scsi' }, serial: 'hot' }, volumeSource: { hostDisk: { path: '/srv/vn/hot.img', type: 'Disk' } }, ...extra });

function refused(fn: () => unknown): FieldError[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InvalidSpecError, `not an InvalidSpecError: ${String(e)}`);
    return e.fields;
  }
  assert.fail('accepted');
}

test('addvolume: a hostDisk on scsi is admitted; the disk and volume take the request name', () => {
  const v = running();
  const before = JSON.stringify(v);
  const r = admitAddVolume(v, { ...OPTIONS(), disk: { name: 'other', disk: { bus: 'scsi' } } });
  assert.deepEqual(r.disk, { name: 'hot', disk: { bus: 'scsi' } });
  assert.deepEqual(r.volume, { name: 'hot', hostDisk: { path: '/srv/vn/hot.img', type: 'Disk' } });
  assert.equal(JSON.stringify(v), before, 'the stored VMI is not changed by admission');
  // No disk at all: a scsi disk, virtctl's default.
  assert.deepEqual(admitAddVolume(v, { name: 'hot', volumeSource: OPTIONS().volumeSource }).disk, { name: 'hot', disk: { bus: 'scsi' } });
});

test('addvolume: bad names, duplicates and sources are refused by field', () => {
  const v = running();
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ name: 'Hot_1' }))).map((f) => f.path), ['name']);
  assert.match(refused(() => admitAddVolume(v, OPTIONS({ name: 'Hot_1' })))[0]!.message, /Invalid value: "Hot_1": a lowercase RFC 1123 label/);
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ name: '' }))), [{ path: 'name', message: 'Required value' }]);
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ name: 'containerdisk' }))), [
    { path: 'name', message: 'Duplicate value: "containerdisk": VMI default/testvmi already has a disk of that name' },
  ]);
  const withNic = running();
  withNic.spec.domain.devices.interfaces = [{ name: 'hot', masquerade: {} }];
  assert.deepEqual(refused(() => admitAddVolume(withNic, OPTIONS())), [
    { path: 'name', message: 'Duplicate value: "hot": VMI default/testvmi has an interface of that name, and their guest devices would share the id ua-hot' },
  ]);
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ volumeSource: { persistentVolumeClaim: { claimName: 'x' } } }))), [
    { path: 'volumeSource.persistentVolumeClaim', message: 'not supported: standalone virtnode has no PersistentVolumeClaims; hot-plug a hostDisk' },
  ]);
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ volumeSource: undefined }))), [{ path: 'volumeSource', message: 'Required value' }]);
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ volumeSource: { hostDisk: { path: '/a/../b', type: 'Disk' } } }))), [
    { path: 'volumeSource.hostDisk.path', message: "must not contain '..': a hostDisk stays beneath its host disk root" },
  ]);
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ volumeSource: { hostDisk: { path: '/srv/x.img', type: 'DiskOrCreate' } } }))), [
    { path: 'volumeSource.hostDisk.capacity', message: 'Required value' },
  ]);
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ disk: { disk: { bus: 'scsi' }, serial: 'a b' } }))), [
    { path: 'disk.serial', message: 'must be made up of the following characters [A-Za-z0-9_.+-], if specified' },
  ]);
});

test('addvolume: buses that do not hot-plug, a cdrom, and a lun over a file are refused by field', () => {
  const v = running();
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ disk: { disk: { bus: 'sata' } } }))), [{ path: 'disk.disk.bus', message: 'bus sata is not hot-pluggable: use scsi' }]);
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ disk: { disk: { bus: 'usb' } } }))), [{ path: 'disk.disk.bus', message: 'bus usb is not hot-pluggable: use scsi' }]);
  assert.match(refused(() => admitAddVolume(v, OPTIONS({ disk: { disk: { bus: 'virtio' } } })))[0]!.message, /^not supported yet: virtnode hot-plugs disks on bus scsi/);
  assert.deepEqual(refused(() => admitAddVolume(v, OPTIONS({ disk: { cdrom: { bus: 'scsi' } } }))), [{ path: 'disk.cdrom', message: 'a cdrom cannot be hot-plugged: use a disk' }]);
  const lun = refused(() => admitAddVolume(v, OPTIONS({ disk: { lun: { bus: 'scsi' } } })));
  assert.deepEqual(lun.map((f) => f.path), ['disk.lun']);
  assert.equal(lun[0]!.message, 'disk.lun can only be mapped to a DataVolume or PersistentVolumeClaim volume. A lun needs a block volume; volumeSource is a hostDisk, which is a file');
});

test('addvolume and removevolume: only on a Running VMI that is not being deleted', () => {
  for (const phase of ['Pending', 'Scheduling', 'Scheduled', 'Succeeded', 'Failed'] as const) {
    const v = running();
    v.status!.phase = phase;
    assert.throws(() => admitAddVolume(v, OPTIONS()), (e: unknown) => e instanceof IllegalTransitionError && e.message === `invalid state transition "${phase}" to "add volume": VMI default/testvmi is not running`);
    assert.throws(() => admitRemoveVolume(v, 'hot'), IllegalTransitionError);
  }
  const v = running();
  v.metadata.deletionTimestamp = new Date().toISOString();
  assert.throws(() => admitAddVolume(v, OPTIONS()), /"Terminating" to "add volume"/);
});

test('removevolume: the volume must exist and have been hot-plugged', () => {
  const v = running();
  assert.deepEqual(refused(() => admitRemoveVolume(v, 'nope')), [{ path: 'name', message: 'Unable to remove volume [nope] because it does not exist' }]);
  assert.deepEqual(refused(() => admitRemoveVolume(v, 'containerdisk')), [{ path: 'name', message: 'Unable to remove volume [containerdisk] because it is not hotpluggable' }]);
  v.spec.volumes!.push({ name: 'hot', hostDisk: { path: '/srv/vn/hot.img', type: 'Disk' } });
  v.status!.volumeStatus = [{ name: 'hot', target: 'sda', phase: 'Ready', hotplugVolume: {} }];
  assert.equal(admitRemoveVolume(v, 'hot'), 'hot');
  // Removed already, still detaching: a second remove is an illegal transition, not a no-op.
  v.spec.volumes!.pop();
  v.status!.volumeStatus[0]!.phase = 'Detaching';
  assert.throws(() => admitRemoveVolume(v, 'hot'), /"Detaching" to "remove volume": volume hot is being removed already/);
  // ... nor can its name be added again before it is gone.
  assert.throws(() => admitAddVolume(v, OPTIONS()), /"Detaching" to "add volume": volume hot is still being detached from VMI default\/testvmi/);
});

test('addvolume on this node: the path must be beneath a host disk root, exist, and be no other VMI\'s', (t) => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'vn-hotplug-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  mkdirSync(root);
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(root, 'hot.img'), Buffer.alloc(1 << 20));
  writeFileSync(join(dir, 'outside', 'secret'), 'x');
  symlinkSync(join(dir, 'outside', 'secret'), join(root, 'link.img'));
  const h = new HostDisks([root]);
  const v = running();
  const req = (path: string, type = 'Disk') => admitAddVolume(v, OPTIONS({ volumeSource: { hostDisk: { path, type, ...(type === 'DiskOrCreate' ? { capacity: '1Mi' } : {}) } } }));

  checkHotplugHostDisk(v, req(join(root, 'hot.img')), h);
  assert.deepEqual(refused(() => checkHotplugHostDisk(v, req(join(dir, 'outside', 'secret')), h)), [
    { path: 'volumeSource.hostDisk.path', message: `${join(dir, 'outside', 'secret')} is not under a host disk root of this node (--host-disk-root)` },
  ]);
  assert.deepEqual(refused(() => checkHotplugHostDisk(v, req(join(root, 'link.img')), h)), [
    { path: 'volumeSource.hostDisk.path', message: `${join(root, 'link.img')} leads out of the host disk root ${root} (a symbolic link on its way points outside it)` },
  ]);
  assert.match(refused(() => checkHotplugHostDisk(v, req(join(root, 'missing.img')), h))[0]!.message, /does not exist \(type Disk needs an existing file; DiskOrCreate makes one\)/);
  assert.deepEqual(refused(() => checkHotplugHostDisk(v, req(join(root, 'hot.img')), new HostDisks([]))), [
    { path: 'volumeSource.hostDisk', message: 'HostDisk feature gate is not enabled: this node has no host disk root (--host-disk-root)' },
  ]);

  // Another VMI holds the file writable: refused, naming it.
  const other = running();
  other.metadata = { ...other.metadata, name: 'other', uid: 'uid-other' };
  other.spec.domain.devices.disks!.push({ name: 'data', disk: { bus: 'scsi' } });
  other.spec.volumes!.push({ name: 'data', hostDisk: { path: join(root, 'hot.img'), type: 'Disk' } });
  h.prepare(other);
  assert.deepEqual(refused(() => checkHotplugHostDisk(v, req(join(root, 'hot.img')), h)), [
    { path: 'volumeSource.hostDisk.path', message: `${join(root, 'hot.img')} is in use by VirtualMachineInstance default/other; two VMIs share a hostDisk only when both set shared: true` },
  ]);

  // prepareVolume holds the one file; releaseFile lets it go again without touching the VMI's others.
  h.release('uid-other');
  const withHot = running();
  withHot.spec.domain.devices.disks!.push({ name: 'hot', disk: { bus: 'scsi' } });
  withHot.spec.volumes!.push({ name: 'hot', hostDisk: { path: join(root, 'hot.img'), type: 'Disk' } });
  const prepared = h.prepareVolume(withHot, 'hot');
  assert.equal(prepared.path, join(root, 'hot.img'));
  assert.equal(h.holders({ dev: BigInt(prepared.hostFile!.dev), ino: BigInt(prepared.hostFile!.ino) }).length, 1);
  assert.deepEqual(refused(() => checkHotplugHostDisk(other, admitAddVolume(other, OPTIONS({ name: 'data2', volumeSource: { hostDisk: { path: join(root, 'hot.img'), type: 'Disk' } } })), h)).map((f) => f.path), ['volumeSource.hostDisk.path']);
  h.releaseFile('uid-running', prepared.hostFile!);
  assert.equal(h.holders({ dev: BigInt(prepared.hostFile!.dev), ino: BigInt(prepared.hostFile!.ino) }).length, 0);
});
