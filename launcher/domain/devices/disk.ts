// Disks: each VMI disk (a disk, cdrom or lun target) over a chain of named -blockdev
// nodes (libvirt's layout): "<node>-file" (the file or host block device), "<node>"
// (its format), and for a containerDisk overlay the read-only backing pair
// "<node>-base-file"/"<node>-base". This module resolves what is common to every
// bus (names, target letters, cache, error policy, block sizes, boot order) and
// builds the block nodes; the guest device and its controller come from the bus's
// module: disk-virtio, disk-sata, disk-scsi, disk-usb. Paths and serials are JSON
// values, never pieces of a comma-joined option. A hostDisk's file is an fd the
// launcher opened (host-files.ts): `-add-fd` and /dev/fdset/N stand for its path.
// Admission (proto/vmi/validate-storage.ts) has refused every spec this module
// cannot build, but one thing only the node knows: whether a lun's volume is a
// block device.

import { InvalidSpecError, VirtnodeError } from '../../../proto/errors.js';
import {
  DEFAULT_CDROM_BUS,
  DEFAULT_DISK_BUS,
  DEFAULT_DISK_ERROR_POLICY,
  DEFAULT_LUN_BUS,
  DISK_BUSES,
  DISK_CACHE_MODES,
  DISK_TARGET_PREFIX,
  pciSlot,
  type DiskBusName,
} from '../../../proto/vmi/devices.js';
import { isDNS1123Label } from '../../../proto/vmi/k8s-names.js';
import { vcpuCount } from '../../../proto/vmi/resources.js';
import type { Disk, VirtualMachineInstance } from '../../../proto/vmi/types.js';
import type { LaunchContext } from '../../../proto/launch.js';
import type { HostVolumes } from '../host-volumes.js';
import { MAX_NODE_NAME, checkId, jsonOpt } from '../qemu-opts.js';
import type { DiskAddress, DiskCache, DiskImage, Domain, DomainDisk, DomainDiskControllers } from '../types.js';
import { sataAddress, sataControllerArgv, sataControllers, sataDiskDevice } from './disk-sata.js';
import { SCSI_CONTROLLER, scsiControllerArgv, scsiDiskDevice } from './disk-scsi.js';
import { USB_CONTROLLER, usbControllerArgv, usbDiskDevice } from './disk-usb.js';
import { virtioDiskDevice } from './disk-virtio.js';

type Kind = DomainDisk['device'];

function targetOf(disk: Disk): { kind: Kind; bus: string } {
  if (disk.cdrom) return { kind: 'cdrom', bus: disk.cdrom.bus ?? DEFAULT_CDROM_BUS };
  if (disk.lun) return { kind: 'lun', bus: disk.lun.bus ?? DEFAULT_LUN_BUS };
  return { kind: 'disk', bus: disk.disk?.bus ?? DEFAULT_DISK_BUS };
}

/**
 * Every VMI disk as a DomainDisk, in spec order. `ioThreads`: the iothread of each
 * disk (iothreads.ts); `host`: what the node has at each volume's path (a volume
 * missing there is a file, as the handler makes them).
 *
 * Boot order: the disks' bootOrder when any disk or interface has one, else the
 * first hard disk (or lun), as libvirt's default <boot dev='hd'/> that KubeVirt
 * relies on: a cdrom is not a "hd".
 */
export function disksFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext, host: HostVolumes = {}, ioThreads: readonly (string | undefined)[] = [], hostFds: Readonly<Record<string, number>> = {}): DomainDisk[] {
  const disks = vmi.spec.domain.devices.disks ?? [];
  const volumes = new Map((vmi.spec.volumes ?? []).map((v) => [v.name, v]));
  const anyBootOrder = disks.some((d) => d.bootOrder !== undefined) || (vmi.spec.domain.devices.interfaces ?? []).some((i) => i.bootOrder !== undefined);
  const firstHd = disks.findIndex((d) => !d.cdrom);
  const letters = new Map<string, number>();
  let usbPorts = 0;
  return disks.map((disk, i) => {
    const path = `spec.domain.devices.disks[${i}]`;
    if (isDNS1123Label(disk.name).length) throw new InvalidSpecError([{ path: `${path}.name`, message: `${JSON.stringify(disk.name)} is not a DNS label` }]);
    if ([disk.disk, disk.cdrom, disk.lun].filter((t) => t !== undefined).length > 1) throw new InvalidSpecError([{ path, message: 'can only have a single target type defined' }]);
    const { kind, bus } = targetOf(disk);
    checkBus(kind, bus, `${path}.${kind}.bus`);
    if (!volumes.has(disk.name)) throw new InvalidSpecError([{ path: `${path}.name`, message: `no volume named ${JSON.stringify(disk.name)}` }]);
    const prepared = ctx.volumes[disk.name];
    if (!prepared) throw new VirtnodeError('VN_INTERNAL', `${path}: the handler prepared no image for volume ${JSON.stringify(disk.name)}`);
    const onHost = host[disk.name];
    if (kind === 'lun' && !onHost?.blockDevice) {
      throw new InvalidSpecError([{ path: `${path}.lun`, message: `a lun needs a block volume: ${prepared.path} (volume ${JSON.stringify(disk.name)}) is not a block device` }]);
    }
    const cache = diskCache(disk, prepared.directIo === true, path);
    if (disk.io === 'native' && cache !== 'none') {
      throw new InvalidSpecError([{ path: `${path}.io`, message: 'native I/O needs cache "none" (O_DIRECT)' }]);
    }
    const prefix = DISK_TARGET_PREFIX[bus as DiskBusName];
    const letter = letters.get(prefix) ?? 0;
    letters.set(prefix, letter + 1);
    const address = addressOf(bus as DiskBusName, letter, disk, path, () => ++usbPorts);
    // A claim mounted readOnly makes its disk read-only, as KubeVirt's converter does.
    const readonly = volumes.get(disk.name)?.persistentVolumeClaim?.readOnly === true || (kind === 'cdrom' ? (disk.cdrom?.readonly ?? true) : kind === 'lun' ? (disk.lun?.readonly ?? false) : (disk.disk?.readonly ?? false));
    const bootIndex = anyBootOrder ? disk.bootOrder : i === firstHd ? 1 : undefined;
    const blockIO = blockIOOf(disk, onHost?.blockSizes);
    const ioThread = bus === 'virtio' ? ioThreads[i] : undefined;
    const hostFd = hostFds[disk.name];
    if (prepared.hostFile && hostFd === undefined) throw new VirtnodeError('VN_INTERNAL', `${path}: the hostDisk of volume ${JSON.stringify(disk.name)} was not opened`);
    return {
      name: disk.name,
      deviceId: `ua-${disk.name}`,
      nodeName: `disk${i}`,
      device: kind,
      image: { path: prepared.path, format: prepared.format, ...(prepared.hostFile ? { fdset: { fd: hostFd!, set: i + 1 } } : {}) },
      ...(onHost?.blockDevice ? { blockDevice: true } : {}),
      ...(prepared.backing ? { backing: { path: prepared.backing.path, format: prepared.backing.format } } : {}),
      address,
      target: diskTarget(prefix, letter),
      readonly,
      cache,
      ...(disk.io !== undefined ? { io: disk.io } : {}),
      errorPolicy: disk.errorPolicy ?? DEFAULT_DISK_ERROR_POLICY,
      // A shared hostDisk is written by other VMs too: QEMU's share-rw, as for shareable.
      shareable: disk.shareable === true || volumes.get(disk.name)?.hostDisk?.shared === true,
      ...(disk.serial !== undefined ? { serial: disk.serial } : {}),
      ...(bootIndex !== undefined ? { bootIndex } : {}),
      ...(blockIO ? { blockIO } : {}),
      ...(ioThread !== undefined ? { ioThread } : {}),
      ...(bus === 'virtio' && vmi.spec.domain.devices.blockMultiQueue === true ? { queues: vcpuCount(vmi.spec) } : {}),
    };
  });
}

/** The buses admission lets each target have (validate-storage.ts says why). */
function checkBus(kind: Kind, bus: string, path: string): void {
  const ok = (DISK_BUSES as readonly string[]).includes(bus) && (kind === 'disk' || (kind === 'cdrom' ? bus === 'sata' || bus === 'scsi' : bus === 'scsi'));
  if (!ok) throw new InvalidSpecError([{ path, message: `a ${kind} cannot be on bus ${JSON.stringify(bus)}` }]);
}

function addressOf(bus: DiskBusName, letter: number, disk: Disk, path: string, nextUsbPort: () => number): DiskAddress {
  switch (bus) {
    case 'virtio': {
      const slot = disk.disk?.pciAddress !== undefined ? pciSlot(disk.disk.pciAddress) : undefined;
      if (disk.disk?.pciAddress !== undefined && slot === undefined) {
        throw new InvalidSpecError([{ path: `${path}.disk.pciAddress`, message: `${disk.disk.pciAddress} is not a free slot of bus 00` }]);
      }
      return slot !== undefined ? { bus, pciSlot: slot } : { bus };
    }
    case 'sata':
      return sataAddress(letter);
    case 'scsi':
      return { bus, lun: letter };
    case 'usb':
      return { bus, port: nextUsbPort() };
  }
}

/**
 * blockSize.custom as given; matchVolume (unless disabled) takes a block device's
 * own sizes. For an image file it keeps QEMU's 512-byte sectors: the sizes of the
 * filesystem holding the file (KubeVirt's statfs) say nothing about the image, and
 * 4 KiB logical sectors would move every sector of a partition table written for 512.
 */
export function blockIOOf(disk: Disk, device: { logical: number; physical: number; discardGranularity: number } | undefined): DomainDisk['blockIO'] {
  const bs = disk.blockSize;
  if (bs?.custom) {
    const { logical = 0, physical = 0, discardGranularity } = bs.custom;
    return { logical, physical, ...(discardGranularity ? { discardGranularity } : {}) };
  }
  if (bs?.matchVolume && bs.matchVolume.enabled !== false && device) {
    return { logical: device.logical, physical: device.physical, ...(device.discardGranularity ? { discardGranularity: device.discardGranularity } : {}) };
  }
  return undefined;
}

/** libvirt's device names: a prefix per bus, then a, b, ..., z, aa, ab, ... by index on that prefix. */
export function diskTarget(prefix: string, index: number): string {
  let name = '';
  for (let i = index; i >= 0; i = Math.floor(i / 26) - 1) name = String.fromCharCode(97 + (i % 26)) + name;
  return prefix + name;
}

/**
 * KubeVirt's default: "none" (O_DIRECT) where the filesystem takes it, else
 * "writethrough". A disk with io "native" or shareable needs "none" and gets it
 * when it names no cache (KubeVirt's converter does so for shareable).
 */
export function diskCache(disk: Disk, directIo: boolean, path: string): DiskCache {
  if (disk.cache === undefined) return directIo || disk.io === 'native' || disk.shareable === true ? 'none' : 'writethrough';
  if (!(DISK_CACHE_MODES as readonly string[]).includes(disk.cache)) {
    throw new InvalidSpecError([{ path: `${path}.cache`, message: `has invalid value ${disk.cache}, must be one of: [${DISK_CACHE_MODES.join(' ')}]` }]);
  }
  if (disk.shareable === true && disk.cache !== 'none') throw new InvalidSpecError([{ path: `${path}.cache`, message: `a sharable disk requires cache = none got: ${disk.cache}` }]);
  return disk.cache;
}

/**
 * The controllers these disks need beyond q35's own AHCI; the virtio-scsi one also
 * when `hotplug` (KubeVirt's default: disks hot-plugged later go on it).
 */
export function diskControllers(disks: DomainDisk[], hotplug = false): DomainDiskControllers {
  return {
    sata: sataControllers(disks),
    ...(hotplug || disks.some((d) => d.address.bus === 'scsi') ? { scsi: SCSI_CONTROLLER } : {}),
    ...(disks.some((d) => d.address.bus === 'usb') ? { usb: USB_CONTROLLER } : {}),
  };
}

/**
 * The block nodes of one image, as -blockdev and QMP's blockdev-add take them alike:
 * the file (or host device) node "<nodeName>-file", then the format node on it.
 */
export function blockdevObjects(nodeName: string, image: DiskImage, readOnly: boolean, direct: boolean, io: DomainDisk['io'], backing: string | undefined, hostDevice: boolean): [file: BlockdevObject, format: BlockdevObject] {
  const cache = { direct, 'no-flush': false };
  const file = {
    // QEMU opens a block device with host_device (which passes SCSI ioctls on), a file with file.
    driver: hostDevice ? 'host_device' : 'file',
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
  return [file, format];
}

/** One block node's options: driver and node-name first, then the driver's members. */
export type BlockdevObject = { driver: string; 'node-name': string; 'read-only': boolean; cache: { direct: boolean; 'no-flush': boolean } } & Record<string, unknown>;

function layer(nodeName: string, image: DiskImage, readOnly: boolean, direct: boolean, io: DomainDisk['io'], backing: string | undefined, hostDevice: boolean): string[] {
  const [file, format] = blockdevObjects(nodeName, image, readOnly, direct, io, backing, hostDevice);
  const fdset = image.fdset ? ['-add-fd', `fd=${image.fdset.fd},set=${image.fdset.set}`] : [];
  return [...fdset, '-blockdev', jsonOpt(file), '-blockdev', jsonOpt(format)];
}

/** The -device object of a disk, by its bus's module. */
export function diskDeviceFor(d: DomainDisk): Record<string, unknown> {
  switch (d.address.bus) {
    case 'virtio':
      return virtioDiskDevice(d);
    case 'sata':
      return sataDiskDevice(d);
    case 'scsi':
      return scsiDiskDevice(d);
    case 'usb':
      return usbDiskDevice(d);
  }
}

/** The -blockdev chain and the -device of one disk. */
export function diskArgv(d: DomainDisk): string[] {
  if (d.image.format !== 'raw' && d.image.format !== 'qcow2') throw new VirtnodeError('VN_INTERNAL', `disk ${d.name}: format ${JSON.stringify(d.image.format)}`);
  if (d.backing && d.image.format !== 'qcow2') throw new VirtnodeError('VN_INTERNAL', `disk ${d.name}: only a qcow2 image has a backing file`);
  const direct = d.cache === 'none';
  const argv: string[] = [];
  let backing: string | undefined;
  if (d.backing) {
    backing = `${d.nodeName}-base`;
    // The base keeps whatever backing its own header names (a deeper image chain).
    argv.push(...layer(backing, d.backing, true, direct, d.io, undefined, false));
  }
  argv.push(...layer(d.nodeName, d.image, d.readonly, direct, d.io, d.image.format === 'qcow2' ? backing : undefined, d.blockDevice === true));
  return [...argv, '-device', jsonOpt(diskDeviceFor(d))];
}

/**
 * Every disk with its controllers. QEMU gives a PCI device without an address the
 * first free slot when it creates it, so the disks placed by pciAddress come first,
 * before any PCI device QEMU places: the controllers, then the other disks.
 */
export function disksArgv(d: Pick<Domain, 'disks' | 'diskControllers'>): string[] {
  const pinned = (k: DomainDisk): boolean => k.address.bus === 'virtio' && k.address.pciSlot !== undefined;
  const c = d.diskControllers;
  return [
    ...d.disks.filter(pinned).flatMap(diskArgv),
    ...sataControllerArgv(c.sata),
    ...(c.scsi !== undefined ? scsiControllerArgv(c.scsi) : []),
    ...(c.usb !== undefined ? usbControllerArgv(c.usb) : []),
    ...d.disks.filter((k) => !pinned(k)).flatMap(diskArgv),
  ];
}
