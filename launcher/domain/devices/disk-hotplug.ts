// Disks hot-plugged into a running domain (virt-launcher's hotplug volumes): the
// DomainDisk of a VMI disk added while the guest runs, and the QMP steps that do at
// run time what -add-fd, -blockdev and -device do at start. A hot-plugged disk is a
// LUN of the virtio-scsi controller every domain carries unless disableHotplug
// (disk.ts diskControllers), because q35's root bus takes no hot-plugged device.
//
// Plugging is undone step by step when a later step fails, in reverse order, so a
// refused device_add leaves no block node and no fd set behind in QEMU. Unplugging
// waits for QEMU's DEVICE_DELETED before the block nodes go: blockdev-del of a node a
// device still uses fails ("node is in use").

import { InvalidSpecError, VirtnodeError, errorMessage } from '../../../proto/errors.js';
import type { PreparedVolume } from '../../../proto/launch.js';
import { DEFAULT_DISK_ERROR_POLICY, HOTPLUG_DISK_BUSES } from '../../../proto/vmi/devices.js';
import { isDNS1123Label } from '../../../proto/vmi/k8s-names.js';
import type { Disk, Volume } from '../../../proto/vmi/types.js';
import type { AddfdInfo, ExecuteOptions, QmpEventOf } from '../../qmp/index.js';
import type { DomainDisk } from '../types.js';
import { blockdevObjects, blockIOOf, diskCache, diskDeviceFor, diskTarget, type BlockdevObject } from './disk.js';
import { SCSI_CONTROLLER } from './disk-scsi.js';

/** virtio-scsi's largest LUN (QEMU's VIRTIO_SCSI_MAX_LUN). */
const MAX_SCSI_LUN = 16383;

/**
 * The first "sd" name and LUN no disk of the domain has: libvirt gives a new disk
 * the lowest free target, and a LUN per letter keeps the two from colliding.
 */
export function hotplugPlacement(disks: readonly DomainDisk[]): { target: string; lun: number } {
  const targets = new Set(disks.map((d) => d.target));
  const luns = new Set(disks.flatMap((d) => (d.address.bus === 'scsi' ? [d.address.lun] : [])));
  for (let i = 0; i <= MAX_SCSI_LUN; i++) {
    const target = diskTarget('sd', i);
    if (!targets.has(target) && !luns.has(i)) return { target, lun: i };
  }
  throw new VirtnodeError('VN_UNSUPPORTED', `no free LUN left on ${SCSI_CONTROLLER}`);
}

/**
 * The DomainDisk of a disk hot-plugged with its hostDisk volume. `disks`: the
 * domain's disks now; `nodeName`: a block node name no other disk has. Its image has
 * no fd set yet: the caller sets it once QEMU holds the file (add-fd).
 */
export function hotplugDisk(disk: Disk, volume: Volume, prepared: PreparedVolume, disks: readonly DomainDisk[], nodeName: string): DomainDisk {
  const field = (f: string): string => `disk${f}`;
  if (isDNS1123Label(disk.name).length) throw new InvalidSpecError([{ path: field('.name'), message: `${JSON.stringify(disk.name)} is not a DNS label` }]);
  if (volume.name !== disk.name) throw new VirtnodeError('VN_INTERNAL', `hot-plug: disk ${disk.name} with volume ${volume.name}`);
  if (disks.some((d) => d.name === disk.name)) throw new InvalidSpecError([{ path: field('.name'), message: `the domain has a disk named ${JSON.stringify(disk.name)} already` }]);
  if (disk.cdrom || disk.lun) throw new InvalidSpecError([{ path: field(disk.cdrom ? '.cdrom' : '.lun'), message: 'not supported yet: virtnode hot-plugs hard disks (disk), not cdroms or luns' }]);
  const bus = disk.disk?.bus ?? 'scsi';
  if (!(HOTPLUG_DISK_BUSES as readonly string[]).includes(bus)) throw new InvalidSpecError([{ path: field('.disk.bus'), message: `bus ${JSON.stringify(bus)} is not hot-pluggable here: use ${HOTPLUG_DISK_BUSES.join(' or ')}` }]);
  if (!volume.hostDisk || !prepared.hostFile) throw new VirtnodeError('VN_INTERNAL', `hot-plug of ${disk.name}: only a prepared hostDisk can be hot-plugged`);
  const cache = diskCache(disk, prepared.directIo === true, 'disk');
  if (disk.io === 'native' && cache !== 'none') throw new InvalidSpecError([{ path: field('.io'), message: 'native I/O needs cache "none" (O_DIRECT)' }]);
  const { target, lun } = hotplugPlacement(disks);
  const blockIO = blockIOOf(disk, undefined);
  return {
    name: disk.name,
    deviceId: `ua-${disk.name}`,
    nodeName,
    device: 'disk',
    image: { path: prepared.path, format: prepared.format },
    address: { bus: 'scsi', lun },
    target,
    readonly: disk.disk?.readonly ?? false,
    cache,
    ...(disk.io !== undefined ? { io: disk.io } : {}),
    errorPolicy: disk.errorPolicy ?? DEFAULT_DISK_ERROR_POLICY,
    shareable: disk.shareable === true || volume.hostDisk.shared === true,
    ...(disk.serial !== undefined ? { serial: disk.serial } : {}),
    ...(blockIO ? { blockIO } : {}),
  };
}

/** What QEMU is told, in order: the block nodes (file, then format) and the device on them. */
export function hotplugCommands(d: DomainDisk): { blockdevs: BlockdevObject[]; device: Record<string, unknown> } {
  if (!d.image.fdset) throw new VirtnodeError('VN_INTERNAL', `hot-plug of ${d.name}: its file is in no fd set`);
  const blockdevs = blockdevObjects(d.nodeName, d.image, d.readonly, d.cache === 'none', d.io, undefined, false);
  return { blockdevs, device: diskDeviceFor(d) };
}

/** The part of the QMP client the hot-plug steps use (a fake stands in for it in unit tests). */
export interface HotplugQmp {
  execute(command: string, args: Record<string, unknown>, options?: ExecuteOptions): Promise<unknown>;
  addFd(fd: number, opts: { opaque?: string }, options?: ExecuteOptions): Promise<AddfdInfo>;
  waitEvent(name: 'DEVICE_DELETED', opts: { timeoutMs?: number; filter?: (ev: QmpEventOf<'DEVICE_DELETED'>) => boolean }): Promise<unknown>;
}

export interface StepLog {
  warn(obj: object, msg: string): void;
}

/**
 * Plugs `d` in: its file (`fd`, the launcher's; the caller closes it) into a new fd
 * set, the block nodes on /dev/fdset/N, then the device. A failed step undoes the
 * ones before it and the error is rethrown; `d.image.fdset` is set on success.
 */
export async function plugDisk(qmp: HotplugQmp, d: DomainDisk, fd: number, log: StepLog, timeoutMs: number): Promise<void> {
  const opts = { timeoutMs };
  const undo: { what: string; run: () => Promise<unknown> }[] = [];
  try {
    const set = await qmp.addFd(fd, { opaque: `hostDisk ${d.name}` }, opts);
    undo.push({ what: `remove-fd ${set['fdset-id']}`, run: () => qmp.execute('remove-fd', { 'fdset-id': set['fdset-id'] }, opts) });
    d.image.fdset = { fd: set.fd, set: set['fdset-id'] };
    const { blockdevs, device } = hotplugCommands(d);
    for (const b of blockdevs) {
      await qmp.execute('blockdev-add', b, opts);
      undo.push({ what: `blockdev-del ${b['node-name']}`, run: () => qmp.execute('blockdev-del', { 'node-name': b['node-name'] }, opts) });
    }
    await qmp.execute('device_add', device, opts);
  } catch (e) {
    for (const u of undo.reverse()) {
      await u.run().catch((err: unknown) => log.warn({ disk: d.name, step: u.what, err: errorMessage(err) }, 'undoing a failed hot-plug step failed'));
    }
    delete d.image.fdset;
    throw e;
  }
}

/**
 * Unplugs `d`: device_del, then DEVICE_DELETED awaited (at most `deleteTimeoutMs`),
 * then the block nodes, format first, and the fd set. `devicePresent` false skips
 * the device (a retry after the device went but a later step failed).
 */
export async function unplugDisk(qmp: HotplugQmp, d: DomainDisk, opts: { timeoutMs: number; deleteTimeoutMs: number; devicePresent: boolean; onDeviceDeleted?: () => void }): Promise<void> {
  const exec = { timeoutMs: opts.timeoutMs };
  if (opts.devicePresent) {
    // Listening first: QEMU may send the event before device_del's own answer.
    const deleted = qmp.waitEvent('DEVICE_DELETED', { timeoutMs: opts.deleteTimeoutMs, filter: (ev) => ev.data.device === d.deviceId });
    deleted.catch(() => undefined);
    await qmp.execute('device_del', { id: d.deviceId }, exec);
    try {
      await deleted;
    } catch (e) {
      throw new VirtnodeError('VN_TIMEOUT', `disk ${d.name}: QEMU did not report the device ${d.deviceId} deleted within ${opts.deleteTimeoutMs / 1000}s (${errorMessage(e)})`, { cause: e });
    }
    opts.onDeviceDeleted?.();
  }
  const [file, format] = blockdevObjects(d.nodeName, d.image, d.readonly, d.cache === 'none', d.io, undefined, false);
  await qmp.execute('blockdev-del', { 'node-name': format['node-name'] }, exec);
  await qmp.execute('blockdev-del', { 'node-name': file['node-name'] }, exec);
  if (d.image.fdset) await qmp.execute('remove-fd', { 'fdset-id': d.image.fdset.set }, exec);
}
