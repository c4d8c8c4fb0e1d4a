// The hot-plug of a hostDisk as QMP commands: the DomainDisk of an added disk (its
// LUN and target next to the disks there are), the exact blockdev-add/device_add
// objects, the undo of every earlier step when a later one fails, and the unplug's
// order (device_del, DEVICE_DELETED, the nodes, the fd set). A scripted stand-in
// for the QMP client records the calls; the e2e test (volume-hotplug) runs real QEMU.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidSpecError, VirtnodeError } from '../../proto/errors.js';
import type { PreparedVolume } from '../../proto/launch.js';
import type { Disk, Volume } from '../../proto/vmi/types.js';
import { hotplugCommands, hotplugDisk, hotplugPlacement, plugDisk, unplugDisk, type HotplugQmp } from '../../launcher/domain/devices/disk-hotplug.js';
import type { DomainDisk } from '../../launcher/domain/types.js';

const PREPARED: PreparedVolume = { path: '/srv/disks/data.img', format: 'raw', hostFile: { root: '/srv/disks', path: 'data.img', dev: '2049', ino: '77' } };
const VOLUME: Volume = { name: 'hot', hostDisk: { path: '/srv/disks/data.img', type: 'Disk' } };
const DISK: Disk = { name: 'hot', disk: { bus: 'scsi' }, serial: 'S1' };

function existing(name: string, target: string, address: DomainDisk['address']): DomainDisk {
  return { name, deviceId: `ua-${name}`, nodeName: `disk-${name}`, device: 'disk', image: { path: `/d/${name}`, format: 'raw' }, address, target, readonly: false, cache: 'none', errorPolicy: 'stop', shareable: false };
}

interface Call {
  command: string;
  args: Record<string, unknown>;
}

/** Answers each command in order; `failAt` makes that command fail as QEMU would. */
function fakeQmp(failAt?: string, opts: { deviceDeleted?: boolean } = {}): HotplugQmp & { calls: Call[] } {
  const calls: Call[] = [];
  let onDeleted: (() => void) | undefined;
  return {
    calls,
    async addFd(fd, o) {
      calls.push({ command: 'add-fd', args: { fd, ...o } });
      if (failAt === 'add-fd') throw new Error('add-fd refused');
      return { 'fdset-id': 3, fd: 25 };
    },
    async execute(command, args) {
      calls.push({ command, args });
      if (command === failAt || `${command} ${String(args['node-name'] ?? '')}` === failAt) throw new Error(`${command} refused`);
      if (command === 'device_del' && opts.deviceDeleted !== false) setImmediate(() => onDeleted?.());
      return {};
    },
    waitEvent(name, o) {
      calls.push({ command: `wait ${name}`, args: {} });
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`waiting for ${name} timed out`)), o.timeoutMs);
        onDeleted = () => {
          const ev = { event: 'DEVICE_DELETED' as const, data: { device: 'ua-hot', path: '/machine/peripheral/ua-hot' }, timestamp: { seconds: 0, microseconds: 0 }, time: new Date() };
          if (o.filter && !o.filter(ev)) return;
          clearTimeout(t);
          resolve(ev);
        };
      });
    },
  };
}

const log = { warned: [] as string[], warn(obj: object) { this.warned.push(JSON.stringify(obj)); } };

test('placement: the lowest sd target and LUN no disk has, past sata and scsi disks, not vd ones', () => {
  assert.deepEqual(hotplugPlacement([]), { target: 'sda', lun: 0 });
  assert.deepEqual(hotplugPlacement([existing('root', 'vda', { bus: 'virtio' })]), { target: 'sda', lun: 0 });
  const disks = [existing('a', 'sda', { bus: 'sata', controller: 0, port: 0 }), existing('b', 'sdb', { bus: 'scsi', lun: 1 }), existing('d', 'sdd', { bus: 'scsi', lun: 3 })];
  assert.deepEqual(hotplugPlacement(disks), { target: 'sdc', lun: 2 });
});

test('hotplugDisk: a scsi-hd LUN with its serial, cache by the file system, the next free target', () => {
  const d = hotplugDisk(DISK, VOLUME, { ...PREPARED, directIo: true }, [existing('root', 'vda', { bus: 'virtio' })], 'hotplug1');
  assert.equal(d.target, 'sda');
  assert.deepEqual(d.address, { bus: 'scsi', lun: 0 });
  assert.equal(d.cache, 'none');
  d.image.fdset = { fd: 25, set: 3 };
  const { blockdevs, device } = hotplugCommands(d);
  const cache = { direct: true, 'no-flush': false };
  assert.deepEqual(blockdevs, [
    { driver: 'file', 'node-name': 'hotplug1-file', filename: '/dev/fdset/3', 'read-only': false, cache },
    { driver: 'raw', 'node-name': 'hotplug1', file: 'hotplug1-file', 'read-only': false, cache },
  ]);
  assert.deepEqual(device, { driver: 'scsi-hd', id: 'ua-hot', bus: 'scsi0.0', channel: 0, 'scsi-id': 0, lun: 0, drive: 'hotplug1', 'write-cache': 'on', serial: 'S1', werror: 'stop', rerror: 'stop' });
});

test('hotplugDisk refuses what cannot be hot-plugged, naming the field', () => {
  const refuses = (disk: Disk, path: string, re: RegExp, disks: DomainDisk[] = []) =>
    assert.throws(() => hotplugDisk(disk, { ...VOLUME, name: disk.name }, PREPARED, disks, 'hotplug1'), (e: unknown) => e instanceof InvalidSpecError && e.fields[0]!.path === path && re.test(e.fields[0]!.message));
  refuses({ name: 'hot', disk: { bus: 'virtio' } }, 'disk.disk.bus', /bus "virtio" is not hot-pluggable here: use scsi/);
  refuses({ name: 'hot', disk: { bus: 'sata' } }, 'disk.disk.bus', /bus "sata" is not hot-pluggable/);
  refuses({ name: 'hot', lun: { bus: 'scsi' } }, 'disk.lun', /not cdroms or luns/);
  refuses(DISK, 'disk.name', /has a disk named "hot" already/, [existing('hot', 'sda', { bus: 'scsi', lun: 0 })]);
  refuses({ name: 'Hot_1', disk: { bus: 'scsi' } }, 'disk.name', /not a DNS label/);
  refuses({ name: 'hot', disk: { bus: 'scsi' }, io: 'native', cache: 'writeback' }, 'disk.io', /native I\/O needs cache "none"/);
});

test('plugDisk: add-fd, file node, format node, device — in that order, fd set recorded', async () => {
  const q = fakeQmp();
  const d = hotplugDisk(DISK, VOLUME, PREPARED, [], 'hotplug1');
  await plugDisk(q, d, 41, log, 1000);
  assert.deepEqual(q.calls.map((c) => c.command), ['add-fd', 'blockdev-add', 'blockdev-add', 'device_add']);
  assert.equal(q.calls[0]!.args.fd, 41);
  assert.equal(q.calls[1]!.args.filename, '/dev/fdset/3');
  assert.equal(q.calls[2]!.args.file, 'hotplug1-file');
  assert.equal(q.calls[3]!.args.drive, 'hotplug1');
  assert.deepEqual(d.image.fdset, { fd: 25, set: 3 });
});

test('plugDisk undoes every earlier step, in reverse, when one fails; nothing is left in QEMU', async () => {
  const cases: [failAt: string, undo: string[]][] = [
    ['add-fd', []],
    ['blockdev-add hotplug1-file', ['remove-fd']],
    ['blockdev-add hotplug1', ['blockdev-del hotplug1-file', 'remove-fd']],
    ['device_add', ['blockdev-del hotplug1', 'blockdev-del hotplug1-file', 'remove-fd']],
  ];
  for (const [failAt, undo] of cases) {
    const q = fakeQmp(failAt);
    const d = hotplugDisk(DISK, VOLUME, PREPARED, [], 'hotplug1');
    await assert.rejects(plugDisk(q, d, 41, log, 1000), /refused/);
    const failed = q.calls.findIndex((c) => c.command === failAt.split(' ')[0] && (failAt.split(' ')[1] === undefined || c.args['node-name'] === failAt.split(' ')[1]));
    const after = q.calls.slice(failed + 1).map((c) => (c.command === 'blockdev-del' ? `blockdev-del ${String(c.args['node-name'])}` : c.command));
    assert.deepEqual(after, undo, `failing at ${failAt}`);
    if (undo.includes('remove-fd')) assert.deepEqual(q.calls.at(-1)!.args, { 'fdset-id': 3 });
    assert.equal(d.image.fdset, undefined);
  }
});

test('unplugDisk: listens for DEVICE_DELETED before device_del, then removes format, file, fd set', async () => {
  const q = fakeQmp();
  const d = hotplugDisk(DISK, VOLUME, PREPARED, [], 'hotplug1');
  d.image.fdset = { fd: 25, set: 3 };
  let deleted = false;
  await unplugDisk(q, d, { timeoutMs: 1000, deleteTimeoutMs: 1000, devicePresent: true, onDeviceDeleted: () => (deleted = true) });
  assert.ok(deleted);
  assert.deepEqual(
    q.calls.map((c) => `${c.command}${c.args['node-name'] ? ` ${String(c.args['node-name'])}` : ''}`),
    ['wait DEVICE_DELETED', 'device_del', 'blockdev-del hotplug1', 'blockdev-del hotplug1-file', 'remove-fd'],
  );
  assert.deepEqual(q.calls[1]!.args, { id: 'ua-hot' });
});

test('unplugDisk: no DEVICE_DELETED within the timeout is VN_TIMEOUT, and the block nodes stay (the device may still use them)', async () => {
  const q = fakeQmp(undefined, { deviceDeleted: false });
  const d = hotplugDisk(DISK, VOLUME, PREPARED, [], 'hotplug1');
  d.image.fdset = { fd: 25, set: 3 };
  await assert.rejects(unplugDisk(q, d, { timeoutMs: 1000, deleteTimeoutMs: 50, devicePresent: true }), (e: unknown) => e instanceof VirtnodeError && e.code === 'VN_TIMEOUT' && /did not report the device ua-hot deleted within 0.05s/.test(e.message));
  assert.deepEqual(q.calls.map((c) => c.command), ['wait DEVICE_DELETED', 'device_del']);
  // A retry once the device is gone removes only what is left.
  const again = fakeQmp();
  await unplugDisk(again, d, { timeoutMs: 1000, deleteTimeoutMs: 50, devicePresent: false });
  assert.deepEqual(again.calls.map((c) => c.command), ['blockdev-del', 'blockdev-del', 'remove-fd']);
});
