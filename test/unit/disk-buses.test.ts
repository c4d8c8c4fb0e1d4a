// The argv of every disk bus and disk option: what each VMI disk becomes on QEMU's
// command line (-blockdev chain, controller, -device), pinned. test/e2e/disk-
// buses.test.ts boots the same kinds of disks and looks at them from the guest.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidSpecError } from '../../proto/errors.js';
import type { Disk, VirtualMachineInstance, Volume } from '../../proto/vmi/types.js';
import type { LaunchContext } from '../../proto/launch.js';
import { buildArgv } from '../../launcher/domain/argv.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import type { HostVolumes } from '../../launcher/domain/host-volumes.js';
import { context, gettingStarted } from './domain-fixtures.js';

const RUN = '/run/vn/x';
const ROOT = { containerdisk: { path: `${RUN}/disks/containerdisk.qcow2`, format: 'qcow2' as const } };

/** The getting-started VM with `disks` after its containerDisk, each an emptyDisk unless `volumes` says otherwise. */
function withDisks(disks: Disk[], volumes: Volume[] = []): VirtualMachineInstance {
  const v = gettingStarted();
  v.spec.domain.devices.disks!.push(...disks);
  for (const d of disks) v.spec.volumes!.push(volumes.find((x) => x.name === d.name) ?? { name: d.name, emptyDisk: { capacity: '64Mi' } });
  return v;
}

function ctxFor(v: VirtualMachineInstance, extra: Partial<LaunchContext> = {}): LaunchContext {
  const volumes: LaunchContext['volumes'] = { ...ROOT };
  for (const vol of v.spec.volumes ?? []) {
    if (vol.emptyDisk) volumes[vol.name] = { path: `${RUN}/disks/${vol.name}.qcow2`, format: 'qcow2' };
    if (vol.cloudInitNoCloud) volumes[vol.name] = { path: `${RUN}/disks/${vol.name}.iso`, format: 'raw' };
  }
  return context(RUN, volumes, extra);
}

/** The argv from the first -blockdev or disk controller to the last disk device, as [option, value] pairs. */
function diskPart(v: VirtualMachineInstance, host: HostVolumes = {}, extra: Partial<LaunchContext> = {}): [string, unknown][] {
  const argv = buildArgv(vmiToDomain(v, ctxFor(v, extra), {}, host));
  const pairs: [string, unknown][] = [];
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i]!;
    if (opt !== '-blockdev' && opt !== '-device' && opt !== '-object') continue;
    const value = JSON.parse(argv[i + 1]!) as Record<string, unknown>;
    if (opt === '-object' && value['qom-type'] !== 'iothread') continue;
    if (opt === '-device' && !/^(virtio-blk-pci|ide-|scsi-|usb-storage|virtio-scsi-pci|qemu-xhci|ich9-ahci)/.test(String(value.driver))) continue;
    pairs.push([opt, value]);
  }
  return pairs;
}

function devices(pairs: [string, unknown][]): Record<string, unknown>[] {
  return pairs.filter(([o]) => o === '-device').map(([, v]) => v as Record<string, unknown>);
}

const cache = { direct: false, 'no-flush': false };
const STOP = { werror: 'stop', rerror: 'stop' };
const ROOT_DEVICE = { driver: 'virtio-blk-pci', id: 'ua-containerdisk', drive: 'disk0', 'write-cache': 'off', bootindex: 1, ...STOP };

function chain(node: string, path: string, format: string, readOnly = false): [string, unknown][] {
  return [
    ['-blockdev', { driver: 'file', 'node-name': `${node}-file`, filename: path, 'read-only': readOnly, cache }],
    ['-blockdev', { driver: format, 'node-name': node, file: `${node}-file`, 'read-only': readOnly, cache }],
  ];
}

test('every bus: virtio-blk, ide-hd on the AHCI, scsi-hd on virtio-scsi, usb-storage on xhci, ide-cd; sd letters shared', () => {
  const v = withDisks(
    [
      { name: 'sata', disk: { bus: 'sata' } },
      { name: 'scsi', disk: { bus: 'scsi' } },
      { name: 'usb', disk: { bus: 'usb' } },
      { name: 'cloudinit', cdrom: { bus: 'sata' } },
    ],
    [{ name: 'cloudinit', cloudInitNoCloud: { userData: '#!/bin/sh\necho hi' } }],
  );
  const d = vmiToDomain(v, ctxFor(v));
  assert.deepEqual(d.disks.map((k) => [k.name, k.target, k.address]), [
    ['containerdisk', 'vda', { bus: 'virtio' }],
    ['sata', 'sda', { bus: 'sata', controller: 0, port: 0 }],
    ['scsi', 'sdb', { bus: 'scsi', lun: 1 }],
    ['usb', 'sdc', { bus: 'usb', port: 1 }],
    ['cloudinit', 'sdd', { bus: 'sata', controller: 0, port: 3 }],
  ]);
  assert.deepEqual(diskPart(v), [
    ['-device', { driver: 'virtio-scsi-pci', id: 'scsi0' }],
    ['-device', { driver: 'qemu-xhci', id: 'usb', p2: 15, p3: 15 }],
    ...chain('disk0', `${RUN}/disks/containerdisk.qcow2`, 'qcow2'),
    ['-device', ROOT_DEVICE],
    ...chain('disk1', `${RUN}/disks/sata.qcow2`, 'qcow2'),
    ['-device', { driver: 'ide-hd', id: 'ua-sata', bus: 'ide.0', drive: 'disk1', 'write-cache': 'off', ...STOP }],
    ...chain('disk2', `${RUN}/disks/scsi.qcow2`, 'qcow2'),
    ['-device', { driver: 'scsi-hd', id: 'ua-scsi', bus: 'scsi0.0', channel: 0, 'scsi-id': 0, lun: 1, drive: 'disk2', 'write-cache': 'off', ...STOP }],
    ...chain('disk3', `${RUN}/disks/usb.qcow2`, 'qcow2'),
    ['-device', { driver: 'usb-storage', id: 'ua-usb', bus: 'usb.0', port: '1', removable: false, drive: 'disk3', 'write-cache': 'off', ...STOP }],
    // A cdrom is read-only unless it says otherwise (KubeVirt's default).
    ...chain('disk4', `${RUN}/disks/cloudinit.iso`, 'raw', true),
    ['-device', { driver: 'ide-cd', id: 'ua-cloudinit', bus: 'ide.3', drive: 'disk4', 'write-cache': 'off', ...STOP }],
  ]);
});

test('a scsi cdrom is scsi-cd; a writable cdrom if asked', () => {
  const v = withDisks([{ name: 'cd', cdrom: { bus: 'scsi', tray: 'closed', readonly: false } }]);
  const d = vmiToDomain(v, ctxFor(v));
  assert.equal(d.disks[1]!.readonly, false);
  assert.deepEqual(devices(diskPart(v)).at(-1), { driver: 'scsi-cd', id: 'ua-cd', bus: 'scsi0.0', channel: 0, 'scsi-id': 0, lun: 0, drive: 'disk1', 'write-cache': 'off', ...STOP });
});

test('sata: sdN goes to AHCI controller N/6, port N%6; past q35\'s own six ports an ich9-ahci is added', () => {
  const disks: Disk[] = Array.from({ length: 7 }, (_, i) => ({ name: `s${i}`, disk: { bus: 'sata' } }));
  const v = withDisks(disks);
  const pairs = diskPart(v);
  assert.deepEqual(pairs[0], ['-device', { driver: 'ich9-ahci', id: 'sata1' }]);
  assert.deepEqual(devices(pairs).filter((x) => x.driver === 'ide-hd').map((x) => x.bus), ['ide.0', 'ide.1', 'ide.2', 'ide.3', 'ide.4', 'ide.5', 'sata1.0']);
  assert.deepEqual(vmiToDomain(v, ctxFor(v)).disks.map((k) => k.target), ['vda', 'sda', 'sdb', 'sdc', 'sdd', 'sde', 'sdf', 'sdg']);
});

test('pciAddress: the disk is pinned to its slot of pcie.0, and comes before every device QEMU places', () => {
  const v = withDisks([{ name: 'pinned', disk: { bus: 'virtio', pciAddress: '0000:00:0a.0' } }, { name: 'scsi', disk: { bus: 'scsi' } }]);
  const pairs = diskPart(v);
  assert.deepEqual(pairs.slice(0, 3), [
    ...chain('disk1', `${RUN}/disks/pinned.qcow2`, 'qcow2'),
    ['-device', { driver: 'virtio-blk-pci', id: 'ua-pinned', bus: 'pcie.0', addr: '0xa', drive: 'disk1', 'write-cache': 'off', ...STOP }],
  ]);
  assert.deepEqual(pairs[3], ['-device', { driver: 'virtio-scsi-pci', id: 'scsi0' }]);
  assert.equal(vmiToDomain(v, ctxFor(v)).disks[1]!.target, 'vdb');
});

test('options: serial, bootOrder, cache, io, shareable, error policies, block sizes, tag', () => {
  const v = withDisks([
    { name: 'a', disk: { bus: 'sata' }, serial: 'SN-1', bootOrder: 2, cache: 'none', io: 'native', errorPolicy: 'enospace', tag: 'data' },
    { name: 'b', disk: { bus: 'scsi' }, shareable: true, errorPolicy: 'report', blockSize: { custom: { logical: 512, physical: 4096, discardGranularity: 4096 } } },
    { name: 'c', disk: { bus: 'usb', readonly: true }, cache: 'writeback', errorPolicy: 'ignore', blockSize: { matchVolume: {} } },
  ]);
  v.spec.domain.devices.disks![0]!.bootOrder = 1;
  const pairs = diskPart(v);
  const blockdevs = pairs.filter(([o]) => o === '-blockdev').map(([, x]) => x as Record<string, unknown>);
  // io native and cache none: O_DIRECT and Linux AIO on the file node; shareable: cache none too.
  assert.deepEqual(blockdevs.slice(2, 4).map((x) => [x['node-name'], x.aio, x.cache]), [['disk1-file', 'native', { direct: true, 'no-flush': false }], ['disk1', undefined, { direct: true, 'no-flush': false }]]);
  assert.deepEqual(blockdevs[4]!.cache, { direct: true, 'no-flush': false });
  assert.deepEqual(blockdevs.slice(6).map((x) => x['read-only']), [true, true]);
  const [, a, b, c] = devices(pairs).filter((x) => x.id !== undefined && String(x.id).startsWith('ua-'));
  // The tag has no QEMU effect: KubeVirt gives the guest tags of interfaces and host devices only.
  assert.deepEqual(a, { driver: 'ide-hd', id: 'ua-a', bus: 'ide.0', drive: 'disk1', 'write-cache': 'on', serial: 'SN-1', bootindex: 2, werror: 'enospc' });
  assert.deepEqual(b, {
    driver: 'scsi-hd', id: 'ua-b', bus: 'scsi0.0', channel: 0, 'scsi-id': 0, lun: 1, drive: 'disk2', 'write-cache': 'on',
    werror: 'report', rerror: 'report', 'share-rw': true, logical_block_size: 512, physical_block_size: 4096, discard_granularity: 4096,
  });
  // matchVolume over an image file keeps QEMU's 512-byte sectors (disk.ts says why).
  assert.deepEqual(c, { driver: 'usb-storage', id: 'ua-c', bus: 'usb.0', port: '1', removable: false, drive: 'disk3', 'write-cache': 'on', werror: 'ignore', rerror: 'ignore' });
});

test('boot order: without any bootOrder the first hard disk boots, never a cdrom before it', () => {
  const v = gettingStarted();
  v.spec.domain.devices.disks = [{ name: 'cd', cdrom: { bus: 'sata' } }, { name: 'containerdisk', disk: { bus: 'scsi' } }];
  v.spec.volumes!.push({ name: 'cd', emptyDisk: { capacity: '1Mi' } });
  assert.deepEqual(vmiToDomain(v, ctxFor(v)).disks.map((k) => [k.name, k.bootIndex]), [['cd', undefined], ['containerdisk', 1]]);
});

test('lun: scsi-block over the host block device (host_device); over a file it is refused naming the field', () => {
  const v = withDisks([{ name: 'lun', lun: { bus: 'scsi' } }]);
  const ctx = ctxFor(v);
  ctx.volumes.lun = { path: '/dev/sdz', format: 'raw' };
  const host: HostVolumes = { lun: { blockDevice: true, blockSizes: { logical: 512, physical: 4096, discardGranularity: 0 } } };
  const argv = buildArgv(vmiToDomain(v, ctx, {}, host));
  const json = argv.filter((a) => a.includes('/dev/sdz') || a.includes('scsi-block')).map((a) => JSON.parse(a));
  assert.deepEqual(json, [
    { driver: 'host_device', 'node-name': 'disk1-file', filename: '/dev/sdz', 'read-only': false, cache },
    { driver: 'scsi-block', id: 'ua-lun', bus: 'scsi0.0', channel: 0, 'scsi-id': 0, lun: 0, drive: 'disk1', ...STOP },
  ]);
  assert.throws(() => vmiToDomain(v, ctx), (e: unknown) => {
    assert.ok(e instanceof InvalidSpecError);
    assert.match(e.message, /spec\.domain\.devices\.disks\[1\]\.lun: a lun needs a block volume: \/dev\/sdz \(volume "lun"\) is not a block device/);
    return true;
  });
});

test('matchVolume over a host block device takes its sector sizes', () => {
  const v = withDisks([{ name: 'blk', disk: { bus: 'virtio' }, blockSize: { matchVolume: { enabled: true } } }]);
  const host: HostVolumes = { blk: { blockDevice: true, blockSizes: { logical: 512, physical: 4096, discardGranularity: 4096 } } };
  const dev = devices(diskPart(v, host)).at(-1)!;
  assert.deepEqual([dev.logical_block_size, dev.physical_block_size, dev.discard_granularity], [512, 4096, 4096]);
  const file = diskPart(v, host).find(([o, x]) => o === '-blockdev' && (x as Record<string, unknown>)['node-name'] === 'disk1-file')!;
  assert.equal((file[1] as Record<string, unknown>).driver, 'host_device');
});

test('iothreads: shared and dedicated (KubeVirt ids), only virtio disks get one', () => {
  const v = withDisks([
    { name: 'a', disk: { bus: 'virtio' }, dedicatedIOThread: true },
    { name: 'b', disk: { bus: 'virtio' } },
    { name: 's', disk: { bus: 'sata' } },
  ]);
  v.spec.domain.ioThreadsPolicy = 'shared';
  const d = vmiToDomain(v, ctxFor(v));
  // shared: one thread for every disk not dedicated, one per dedicated disk.
  assert.deepEqual(d.ioThreads, ['iothread1', 'iothread2']);
  assert.deepEqual(d.disks.map((k) => k.ioThread), ['iothread1', 'iothread2', 'iothread1', undefined]);
  const pairs = diskPart(v);
  assert.deepEqual(pairs.slice(0, 2), [['-object', { 'qom-type': 'iothread', id: 'iothread1' }], ['-object', { 'qom-type': 'iothread', id: 'iothread2' }]]);
  assert.equal(devices(pairs).find((x) => x.id === 'ua-a')!.iothread, 'iothread2');
  // dedicatedIOThread without a policy: the same.
  delete v.spec.domain.ioThreadsPolicy;
  assert.deepEqual(vmiToDomain(v, ctxFor(v)).ioThreads, ['iothread1', 'iothread2']);
});

test('iothreads: auto takes two per requested CPU; a supplemental pool is dealt round-robin', () => {
  const v = withDisks([{ name: 'a', disk: { bus: 'virtio' } }, { name: 'b', disk: { bus: 'virtio' } }, { name: 'c', disk: { bus: 'virtio' } }]);
  v.spec.domain.ioThreadsPolicy = 'auto';
  v.spec.domain.resources = { requests: { memory: '64M', cpu: '500m' } };
  let d = vmiToDomain(v, ctxFor(v));
  // 4 disks, 1 CPU (500m rounded up): at most 2 threads, shared in turn.
  assert.deepEqual(d.ioThreads, ['iothread1', 'iothread2']);
  assert.deepEqual(d.disks.map((k) => k.ioThread), ['iothread1', 'iothread2', 'iothread1', 'iothread2']);
  v.spec.domain.ioThreadsPolicy = 'supplementalPool';
  v.spec.domain.ioThreads = { supplementalPoolThreadCount: 3 };
  d = vmiToDomain(v, ctxFor(v));
  assert.deepEqual(d.ioThreads, ['iothread1', 'iothread2', 'iothread3']);
  assert.deepEqual(d.disks.map((k) => k.ioThread), ['iothread1', 'iothread2', 'iothread3', 'iothread1']);
});

test('blockMultiQueue: one virtio-blk queue per vCPU; other buses are untouched', () => {
  const v = withDisks([{ name: 's', disk: { bus: 'scsi' } }]);
  v.spec.domain.devices.blockMultiQueue = true;
  v.spec.domain.cpu = { sockets: 1, cores: 3, threads: 1 };
  const dev = devices(diskPart(v));
  assert.equal(dev.find((x) => x.id === 'ua-containerdisk')!['num-queues'], 3);
  assert.equal(dev.find((x) => x.id === 'ua-s')!['num-queues'], undefined);
});

test("status: every bus's disk maps to its volume by block node, whatever query-block's qdev looks like", async () => {
  const { volumeStatus } = await import('../../launcher/domain/manager.js');
  const v = withDisks([{ name: 'sata', disk: { bus: 'sata' } }, { name: 'usb', disk: { bus: 'usb' } }, { name: 'cd', cdrom: {} }]);
  const d = vmiToDomain(v, ctxFor(v));
  const block = (qdev: string, node: string, size: number) => ({ device: '', qdev, type: 'unknown', removable: false, locked: false, inserted: { 'node-name': node, image: { 'virtual-size': size } } });
  // As QEMU 7.2 answers for virtio-blk, ide-hd, usb-storage and ide-cd.
  const blocks = [
    block('/machine/peripheral/ua-containerdisk/virtio-backend', 'disk0', 1 << 30),
    block('ua-sata', 'disk1', 64 << 20),
    block('/machine/peripheral/ua-usb/ua-usb.0/legacy[0]', 'disk2', 32 << 20),
    block('ua-cd', 'disk3', 1 << 20),
  ] as unknown as Parameters<typeof volumeStatus>[0];
  assert.deepEqual(volumeStatus(blocks, d.disks), [
    { name: 'containerdisk', target: 'vda', sizeBytes: 1 << 30 },
    { name: 'sata', target: 'sda', sizeBytes: 64 << 20 },
    { name: 'usb', target: 'sdb', sizeBytes: 32 << 20 },
    { name: 'cd', target: 'sdc', sizeBytes: 1 << 20 },
  ]);
});
