// Disks: each VMI disk on a virtio-blk device over a chain of named -blockdev nodes
// (libvirt's layout): "<node>-file" (the file), "<node>" (its format), and for a
// containerDisk overlay the read-only backing pair "<node>-base-file"/"<node>-base".
// Paths and serials are JSON values, never pieces of a comma-joined option. A
// hostDisk's file is an fd the launcher opened (host-files.ts): `-add-fd` and
// /dev/fdset/N stand for its path.

import { InvalidSpecError, VirtnodeError } from '../../../proto/errors.js';
import { DISK_CACHE_MODES, SUPPORTED_DISK_BUSES } from '../../../proto/vmi/devices.js';
import { isDNS1123Label } from '../../../proto/vmi/k8s-names.js';
import type { Disk, VirtualMachineInstance } from '../../../proto/vmi/types.js';
import type { LaunchContext } from '../../../proto/launch.js';
import { MAX_NODE_NAME, checkId, jsonOpt } from '../qemu-opts.js';
import type { DiskCache, DiskImage, DomainDisk } from '../types.js';

/**
 * Every VMI disk as a DomainDisk, in spec order. Boot order: the disks' bootOrder
 * when any disk or interface has one, else the first disk, as libvirt's default
 * <boot dev='hd'/> that KubeVirt relies on.
 */
export function disksFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext, hostFds: Readonly<Record<string, number>> = {}): DomainDisk[] {
  const disks = vmi.spec.domain.devices.disks ?? [];
  const volumes = new Map((vmi.spec.volumes ?? []).map((v) => [v.name, v]));
  const anyBootOrder = disks.some((d) => d.bootOrder !== undefined) || (vmi.spec.domain.devices.interfaces ?? []).some((i) => i.bootOrder !== undefined);
  return disks.map((disk, i) => {
    const path = `spec.domain.devices.disks[${i}]`;
    if (isDNS1123Label(disk.name).length) throw new InvalidSpecError([{ path: `${path}.name`, message: `${JSON.stringify(disk.name)} is not a DNS label` }]);
    if (disk.cdrom || disk.lun) throw new VirtnodeError('VN_UNSUPPORTED', `${path}: ${disk.cdrom ? 'cdrom' : 'lun'} disks are not supported yet; use disk`);
    const bus = disk.disk?.bus ?? 'virtio';
    if (!SUPPORTED_DISK_BUSES.includes(bus)) throw new VirtnodeError('VN_UNSUPPORTED', `${path}.disk.bus: ${JSON.stringify(bus)} is not supported yet; use virtio`);
    if (!volumes.has(disk.name)) throw new InvalidSpecError([{ path: `${path}.name`, message: `no volume named ${JSON.stringify(disk.name)}` }]);
    const prepared = ctx.volumes[disk.name];
    if (!prepared) throw new VirtnodeError('VN_INTERNAL', `${path}: the handler prepared no image for volume ${JSON.stringify(disk.name)}`);
    const cache = diskCache(disk, prepared.directIo === true, path);
    if (disk.io === 'native' && cache !== 'none') {
      throw new InvalidSpecError([{ path: `${path}.io`, message: 'native I/O needs cache "none" (O_DIRECT)' }]);
    }
    const bootIndex = anyBootOrder ? disk.bootOrder : i === 0 ? 1 : undefined;
    const hostFd = hostFds[disk.name];
    if (prepared.hostFile && hostFd === undefined) throw new VirtnodeError('VN_INTERNAL', `${path}: the hostDisk of volume ${JSON.stringify(disk.name)} was not opened`);
    return {
      name: disk.name,
      deviceId: `ua-${disk.name}`,
      nodeName: `disk${i}`,
      image: { path: prepared.path, format: prepared.format, ...(prepared.hostFile ? { fdset: { fd: hostFd!, set: i + 1 } } : {}) },
      ...(prepared.backing ? { backing: { path: prepared.backing.path, format: prepared.backing.format } } : {}),
      bus: 'virtio',
      target: diskTarget('vd', i),
      readonly: disk.disk?.readonly ?? false,
      cache,
      ...(disk.io !== undefined ? { io: disk.io } : {}),
      ...(disk.serial !== undefined ? { serial: disk.serial } : {}),
      ...(bootIndex !== undefined ? { bootIndex } : {}),
      ...(volumes.get(disk.name)?.hostDisk?.shared ? { shareRw: true } : {}),
    };
  });
}

/** libvirt's device names: a prefix per bus, then a, b, ..., z, aa, ab, ... by index on that bus. */
export function diskTarget(prefix: string, index: number): string {
  let name = '';
  for (let i = index; i >= 0; i = Math.floor(i / 26) - 1) name = String.fromCharCode(97 + (i % 26)) + name;
  return prefix + name;
}

/** KubeVirt's default: "none" (O_DIRECT) where the filesystem takes it, else "writethrough". */
function diskCache(disk: Disk, directIo: boolean, path: string): DiskCache {
  if (disk.cache === undefined) return directIo ? 'none' : 'writethrough';
  if (!(DISK_CACHE_MODES as readonly string[]).includes(disk.cache)) {
    throw new InvalidSpecError([{ path: `${path}.cache`, message: `has invalid value ${disk.cache}, must be one of: [${DISK_CACHE_MODES.join(' ')}]` }]);
  }
  return disk.cache;
}

/**
 * libvirt's mapping of a cache mode: host page cache bypassed (cache.direct) for
 * "none"; the guest-visible write cache off for "writethrough", so every write is
 * flushed before it completes.
 */
function cacheFlags(cache: DiskCache): { direct: boolean; writeCache: 'on' | 'off' } {
  return { direct: cache === 'none', writeCache: cache === 'writethrough' ? 'off' : 'on' };
}

function layer(nodeName: string, image: DiskImage, readOnly: boolean, direct: boolean, io: DomainDisk['io'], backing: string | undefined): string[] {
  const cache = { direct, 'no-flush': false };
  const file = {
    driver: 'file',
    'node-name': checkId('node name', `${nodeName}-file`, MAX_NODE_NAME),
    filename: image.fdset ? `/dev/fdset/${image.fdset.set}` : image.path,
    'read-only': readOnly,
    ...(io ? { aio: io } : {}),
    cache,
  };
  const format = {
    driver: image.format,
    'node-name': checkId('node name', nodeName, MAX_NODE_NAME),
    file: file['node-name'],
    'read-only': readOnly,
    cache,
    // The backing node opened explicitly; without it QEMU opens what the qcow2 header names.
    ...(backing !== undefined ? { backing } : {}),
  };
  const fdset = image.fdset ? ['-add-fd', `fd=${image.fdset.fd},set=${image.fdset.set}`] : [];
  return [...fdset, '-blockdev', jsonOpt(file), '-blockdev', jsonOpt(format)];
}

/** The -blockdev chain and the -device of one disk. */
export function diskArgv(d: DomainDisk): string[] {
  if (d.image.format !== 'raw' && d.image.format !== 'qcow2') throw new VirtnodeError('VN_INTERNAL', `disk ${d.name}: format ${JSON.stringify(d.image.format)}`);
  if (d.backing && d.image.format !== 'qcow2') throw new VirtnodeError('VN_INTERNAL', `disk ${d.name}: only a qcow2 image has a backing file`);
  const { direct, writeCache } = cacheFlags(d.cache);
  const argv: string[] = [];
  let backing: string | undefined;
  if (d.backing) {
    backing = `${d.nodeName}-base`;
    // The base keeps whatever backing its own header names (a deeper image chain).
    argv.push(...layer(backing, d.backing, true, direct, d.io, undefined));
  }
  argv.push(...layer(d.nodeName, d.image, d.readonly, direct, d.io, d.image.format === 'qcow2' ? backing : undefined));
  const device = {
    driver: 'virtio-blk-pci',
    id: checkId('device id', d.deviceId),
    drive: d.nodeName,
    'write-cache': writeCache,
    ...(d.shareRw ? { 'share-rw': true } : {}),
    ...(d.serial !== undefined ? { serial: d.serial } : {}),
    ...(d.bootIndex !== undefined ? { bootindex: d.bootIndex } : {}),
  };
  return [...argv, '-device', jsonOpt(device)];
}
