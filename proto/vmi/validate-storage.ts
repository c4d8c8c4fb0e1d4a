// Disk and volume rules (KubeVirt's storage admitters, disks.go and validateVolumes):
// names, the disk ↔ volume mapping, one target per disk, one source per volume,
// buses per target, PCI addresses, boot order, serials, cache/io/error policy,
// block sizes, iothreads, and the containerDisk / emptyDisk sources. Where QEMU
// would refuse what KubeVirt lets through (a lun over a file, a usb cdrom), the
// rule says so here rather than at launch.

import {
  alignedImageBytes,
  CDROM_TRAY_STATES,
  DEFAULT_CDROM_BUS,
  DEFAULT_DISK_BUS,
  DEFAULT_LUN_BUS,
  DISK_BUSES,
  DISK_CACHE_MODES,
  DISK_ERROR_POLICIES,
  DISK_IO_MODES,
  IO_THREADS_POLICIES,
  MAX_BLOCK_SIZE,
  MAX_DISCARD_GRANULARITY,
  MAX_SUPPLEMENTAL_IO_THREADS,
  MIN_BLOCK_SIZE,
  PCI_ADDRESS,
  pciSlot,
  USB_PORTS,
} from './devices.js';
import { quantityToBytes } from './quantity.js';
import { isDNS1123Label, isDNS1123Subdomain } from './k8s-names.js';
import { compareQuantities, tryParseQuantity } from './quantity.js';
import { validateImage, validatePath } from './validate-compute.js';
import { validateHostDisk } from './validate-host-disk.js';
import { VOLUME_SOURCES } from './schema.js';
import { isObject } from './shape.js';
import { bool, fail, int, isSet, list, obj, quantity, quote, REQUIRED, str, unsupportedValue, type Ctx, type Obj } from './validate-context.js';

const SERIAL = /^[A-Za-z0-9_.+-]+$/;
const SERIAL_MAX = 256;
/** An empty disk is a qcow2 image: qemu-img makes them at most 2 PiB (64 KiB clusters), as KubeVirt's are. */
export const MAX_EMPTY_DISK = tryParseQuantity('2Pi')!;

/** Boot orders taken so far, shared with the interfaces: order → the field that took it. */
export type BootOrders = Map<number, string>;

function validateName(item: Obj, path: string, seen: Map<string, string>, ctx: Ctx): string | undefined {
  const name = str(item, 'name');
  if (name === undefined || name === '') {
    if (!isSet(item, 'name') || name === '') fail(ctx, `${path}.name`, REQUIRED);
    return undefined;
  }
  // Disk names become device and file names; KubeVirt holds them to DNS-1123 labels.
  for (const msg of isDNS1123Label(name)) fail(ctx, `${path}.name`, `Invalid value: ${JSON.stringify(name)}: ${msg}`);
  const first = seen.get(name);
  if (first !== undefined) fail(ctx, `${path}.name`, `Duplicate value: ${JSON.stringify(name)}: ${path} and ${first} must not have the same name`);
  else seen.set(name, path);
  return name;
}

/** A volume's name → its path and its source (containerDisk, emptyDisk, ...), for the disk rules. */
type VolumeSources = Map<string, { path: string; source: string | undefined }>;

export function validateStorage(spec: Obj, p: string, ctx: Ctx, bootOrders: BootOrders): void {
  const volumeNames = new Map<string, string>();
  const volumes: VolumeSources = new Map();
  list(spec, 'volumes').forEach((v, i) => {
    if (!isObject(v)) return;
    const vp = `${p}.volumes[${i}]`;
    validateVolume(v, vp, volumeNames, ctx);
    const name = str(v, 'name');
    if (name && !volumes.has(name)) volumes.set(name, { path: vp, source: VOLUME_SOURCES.find((s) => isSet(v, s)) });
  });

  const devices = obj(obj(spec, 'domain'), 'devices');
  const diskNames = new Map<string, string>();
  const pciSlots = new Map<number, string>();
  let usbDisks = 0;
  list(devices, 'disks').forEach((d, i) => {
    if (!isObject(d)) return;
    const dp = `${p}.domain.devices.disks[${i}]`;
    const name = validateName(d, dp, diskNames, ctx);
    if (name !== undefined && !volumeNames.has(name)) fail(ctx, `${dp}.name`, `${quote(name)} not found in ${p}.volumes`);
    validateDisk(d, dp, ctx, bootOrders);
    const volume = name !== undefined ? volumes.get(name) : undefined;
    if (isSet(d, 'lun') && volume) validateLunVolume(volume, dp, ctx);
    claimPciSlot(d, dp, ctx, pciSlots);
    if (targetBus(d) === 'usb' && ++usbDisks === USB_PORTS + 1) {
      fail(ctx, `${dp}`, `more than ${USB_PORTS} disks on bus usb: the USB controller has ${USB_PORTS} ports`);
    }
  });
  validateIOThreads(obj(spec, 'domain'), `${p}.domain`, ctx);
  refuseSharedDeviceIds(spec, devices, p, diskNames, ctx);
}

/**
 * A disk's guest device is "ua-<name>", as an interface's is (KubeVirt's aliases): a
 * disk named as an interface would give QEMU two devices of one id, and it refuses to
 * start. The pod interface defaults add counts, under the name they give it.
 */
function refuseSharedDeviceIds(spec: Obj, devices: Obj | undefined, p: string, diskNames: Map<string, string>, ctx: Ctx): void {
  const interfaces = list(devices, 'interfaces');
  const names = new Map<string, string>();
  interfaces.forEach((i, n) => {
    const name = isObject(i) ? str(i, 'name') : undefined;
    if (name && !names.has(name)) names.set(name, `${p}.domain.devices.interfaces[${n}]`);
  });
  const podDefault = bool(devices, 'autoattachPodInterface') !== false && interfaces.length === 0 && list(spec, 'networks').length === 0;
  if (podDefault) names.set('default', `the pod interface added by default (${p}.domain.devices.autoattachPodInterface)`);
  for (const [name, dp] of diskNames) {
    const nic = names.get(name);
    if (nic) fail(ctx, `${dp}.name`, `Duplicate value: ${JSON.stringify(name)}: ${nic} has the same name, and their guest devices would share the id ua-${name}`);
  }
}

/** The target a disk has, defaulted as applyDefaults does: disk when none is given. */
function target(disk: Obj): { kind: 'disk' | 'cdrom' | 'lun'; value: Obj | undefined } {
  for (const kind of ['disk', 'cdrom', 'lun'] as const) if (isSet(disk, kind)) return { kind, value: obj(disk, kind) };
  return { kind: 'disk', value: undefined };
}

/** The bus the disk ends up on after defaults: virtio for a disk, sata for a cdrom, scsi for a lun. */
function targetBus(disk: Obj): string {
  const t = target(disk);
  const bus = str(t.value, 'bus');
  if (bus) return bus;
  return t.kind === 'disk' ? DEFAULT_DISK_BUS : t.kind === 'cdrom' ? DEFAULT_CDROM_BUS : DEFAULT_LUN_BUS;
}

function validateDisk(disk: Obj, dp: string, ctx: Ctx, bootOrders: BootOrders): void {
  const targets = ['disk', 'cdrom', 'lun'].filter((t) => isSet(disk, t));
  if (targets.length > 1) fail(ctx, dp, 'can only have a single target type defined');
  const t = target(disk);
  const bus = targetBus(disk);
  const bp = `${dp}.${t.kind}.bus`;
  const known = (DISK_BUSES as readonly string[]).includes(bus);
  if (bus === 'ide') fail(ctx, bp, 'IDE bus is not supported');
  else if (!known) fail(ctx, bp, `unrecognized bus ${bus}, must be one of: [${DISK_BUSES.join(' ')}]`);
  else if (t.kind === 'cdrom' && bus === 'virtio') fail(ctx, bp, `Bus type ${bus} is invalid for CD-ROM device`);
  else if (t.kind === 'cdrom' && bus === 'usb') fail(ctx, bp, 'not supported yet: a cdrom on bus usb (virtnode builds sata and scsi cdroms)');
  else if (t.kind === 'lun' && bus !== 'scsi') fail(ctx, bp, `a lun needs bus scsi: its SCSI commands pass through to the host device (scsi-block), not bus ${bus}`);
  // sata disks (unlike sata cdroms) cannot be read-only: QEMU's ide-hd refuses a read-only drive.
  if (t.kind === 'disk' && bus === 'sata' && bool(t.value, 'readonly') === true) fail(ctx, bp, `${bus} hard-disks do not support read-only.`);
  if (t.kind === 'lun' && bool(t.value, 'reservation') === true) {
    fail(ctx, `${dp}.lun.reservation`, "not supported: SCSI persistent reservations need the node's qemu-pr-helper, which virtnode does not run");
  }
  const tray = str(t.kind === 'cdrom' ? t.value : undefined, 'tray');
  if (tray && !(CDROM_TRAY_STATES as readonly string[]).includes(tray)) fail(ctx, `${dp}.cdrom.tray`, unsupportedValue(tray, CDROM_TRAY_STATES));
  // Measured: QEMU opens the tray (blockdev-open-tray) but closes it again, without an
  // event, whenever the drive is reset, and SeaBIOS and the guest's driver reset it at boot.
  else if (tray === 'open') fail(ctx, `${dp}.cdrom.tray`, 'not supported: QEMU closes a CD-ROM tray whenever the drive is reset, and firmware and guest drivers reset it at boot, so no tray stays open from the start');

  const pci = str(t.kind === 'disk' ? t.value : undefined, 'pciAddress');
  if (pci) {
    const pp = `${dp}.disk.pciAddress`;
    if (bus !== 'virtio') fail(ctx, pp, `disk ${dp}.name - setting a PCI address is only possible with bus type virtio.`);
    if (!PCI_ADDRESS.test(pci)) fail(ctx, pp, `disk ${dp}.name has malformed PCI address (${pci}).`);
    else if (pciSlot(pci) === undefined) {
      fail(ctx, pp, `not supported: ${pci}: virtnode places disks on bus 00 (q35's root bus pcie.0), in slots 01 to 1e, function 0`);
    }
  }
  if (bool(disk, 'dedicatedIOThread') === true && bus !== 'virtio' && known) fail(ctx, `${dp}.dedicatedIOThread`, `IOThreads are not supported for disks on a ${bus} bus`);

  const order = int(disk, 'bootOrder');
  if (order !== undefined) claimBootOrder(order, `${dp}.bootOrder`, ctx, bootOrders);

  const serial = str(disk, 'serial');
  if (serial !== undefined && serial !== '') {
    if (!SERIAL.test(serial)) fail(ctx, `${dp}.serial`, 'must be made up of the following characters [A-Za-z0-9_.+-], if specified');
    if ([...serial].length > SERIAL_MAX) fail(ctx, `${dp}.serial`, `must be less than or equal to ${SERIAL_MAX} in length, if specified`);
    // scsi-block has no serial property: the guest reads the host device's own.
    if (t.kind === 'lun') fail(ctx, `${dp}.serial`, "not supported for a lun: the guest sees the host device's own serial");
  }

  const cache = str(disk, 'cache');
  if (cache !== undefined && cache !== '' && !(DISK_CACHE_MODES as readonly string[]).includes(cache)) {
    fail(ctx, `${dp}.cache`, `has invalid value ${cache}, must be one of: [${DISK_CACHE_MODES.join(' ')}]`);
  }
  const explicitCache = cache !== undefined && cache !== '' ? cache : undefined;
  const io = str(disk, 'io');
  if (io !== undefined && io !== '') {
    if (!(DISK_IO_MODES as readonly string[]).includes(io)) fail(ctx, `${dp}.io`, `Disk IO mode for ${dp} is not supported. Supported modes are: native, threads.`);
    // QEMU's rule: Linux native AIO needs O_DIRECT (cache.direct), which only cache "none" gives.
    else if (io === 'native' && explicitCache !== undefined && explicitCache !== 'none') fail(ctx, `${dp}.io`, `native I/O needs cache "none" (O_DIRECT), not ${quote(explicitCache)}`);
  }
  if (bool(disk, 'shareable') === true && explicitCache !== undefined && explicitCache !== 'none') {
    fail(ctx, `${dp}.cache`, `a sharable disk requires cache = none got: ${explicitCache}`);
  }
  const policy = str(disk, 'errorPolicy');
  if (policy !== undefined && policy !== '' && !(DISK_ERROR_POLICIES as readonly string[]).includes(policy)) {
    fail(ctx, `${dp}.errorPolicy`, `${dp}.errorPolicy has invalid value "${policy}"`);
  }
  validateBlockSize(obj(disk, 'blockSize'), `${dp}.blockSize`, t.kind, bus, ctx);
}

/**
 * KubeVirt's block size rules (storage admitters validateBlockSize), in its order and
 * words: custom and matchVolume exclude each other; logical <= physical; SATA takes
 * only 512-byte logical blocks (QEMU's IDE); the discard granularity is a multiple
 * of the logical size; each size a power of 2 from 512 B to 2 MiB.
 */
function validateBlockSize(blockSize: Obj | undefined, bp: string, kind: string, bus: string, ctx: Ctx): void {
  const custom = obj(blockSize, 'custom');
  if (!custom) return;
  const match = obj(blockSize, 'matchVolume');
  if (match && bool(match, 'enabled') !== false) {
    fail(ctx, bp, "Block size matching can't be enabled together with a custom value");
    return;
  }
  if (kind === 'lun') {
    fail(ctx, `${bp}.custom`, "not supported for a lun: the guest sees the host device's own block sizes (scsi-block)");
    return;
  }
  const logical = int(custom, 'logical') ?? 0;
  const physical = int(custom, 'physical') ?? 0;
  const granularity = int(custom, 'discardGranularity');
  const cp = `${bp}.custom`;
  if (logical > physical) fail(ctx, `${cp}.logical`, `Logical size ${logical} must be the same or less than the physical size of ${physical}`);
  else if (bus === 'sata' && logical !== MIN_BLOCK_SIZE) fail(ctx, `${cp}.logical`, `Logical size ${logical} must be ${MIN_BLOCK_SIZE} for SATA devices`);
  else if (granularity !== undefined && logical !== 0 && granularity % logical !== 0) {
    fail(ctx, `${cp}.discardGranularity`, `Discard granularity ${granularity} must be multiples of logical size ${logical}`);
  } else {
    for (const [field, size] of [['logical', logical], ['physical', physical]] as const) {
      if (size < MIN_BLOCK_SIZE) fail(ctx, `${cp}.${field}`, `Provided size of ${size} is less than the supported minimum size of ${MIN_BLOCK_SIZE}`);
      else if (size > MAX_BLOCK_SIZE) fail(ctx, `${cp}.${field}`, `Provided size of ${size} is greater than the supported maximum size of ${MAX_BLOCK_SIZE}`);
      else if ((size & (size - 1)) !== 0) fail(ctx, `${cp}.${field}`, `Provided size of ${size} is not a power of 2`);
    }
  }
  // QEMU's IDE (ide-hd, ide-cd) refuses any other: "discard_granularity must be 512 for ide".
  if (bus === 'sata' && granularity && granularity !== MIN_BLOCK_SIZE) {
    fail(ctx, `${cp}.discardGranularity`, `Discard granularity ${granularity} must be ${MIN_BLOCK_SIZE} for SATA devices`);
  }
  if (granularity !== undefined && (granularity < 0 || granularity > MAX_DISCARD_GRANULARITY)) {
    fail(ctx, `${cp}.discardGranularity`, `must be between 0 and ${MAX_DISCARD_GRANULARITY} (QEMU's 32-bit discard_granularity)`);
  }
}

/**
 * A lun passes SCSI commands through to a host block device (scsi-block), so its
 * volume must be one. Every volume source virtnode has today is a file the handler
 * makes (KubeVirt's rule, then why).
 */
function validateLunVolume(volume: { path: string; source: string | undefined }, dp: string, ctx: Ctx): void {
  if (volume.source === 'persistentVolumeClaim' || volume.source === 'dataVolume') return;
  fail(ctx, `${dp}.lun`, `${dp}.lun can only be mapped to a DataVolume or PersistentVolumeClaim volume. A lun needs a block volume; ${volume.path} is a ${volume.source ?? 'volume'}, which is a file`);
}

/** An explicit PCI address takes its slot of the root bus; two disks cannot share one. */
function claimPciSlot(disk: Obj, dp: string, ctx: Ctx, slots: Map<number, string>): void {
  const pci = str(obj(disk, 'disk'), 'pciAddress');
  const slot = pci ? pciSlot(pci) : undefined;
  if (slot === undefined) return;
  const first = slots.get(slot);
  if (first !== undefined) fail(ctx, `${dp}.disk.pciAddress`, `PCI address ${pci} is already used by ${first}`);
  else slots.set(slot, `${dp}.disk.pciAddress`);
}

/** KubeVirt's iothreads rules (vmi-create-admitter validateIOThreadsPolicy), and a bound on the pool. */
function validateIOThreads(domain: Obj | undefined, p: string, ctx: Ctx): void {
  const policy = str(domain, 'ioThreadsPolicy');
  if (policy === undefined || policy === '') return;
  if (!(IO_THREADS_POLICIES as readonly string[]).includes(policy)) fail(ctx, `${p}.ioThreadsPolicy`, `Invalid IOThreadsPolicy (${policy})`);
  if (policy !== 'supplementalPool') return;
  const count = int(obj(domain, 'ioThreads'), 'supplementalPoolThreadCount');
  const cp = `${p}.ioThreads.supplementalPoolThreadCount`;
  if (count === undefined || count < 1) fail(ctx, cp, 'the number of iothreads needs to be set and positive for the dedicated policy');
  else if (count > MAX_SUPPLEMENTAL_IO_THREADS) fail(ctx, cp, `must be at most ${MAX_SUPPLEMENTAL_IO_THREADS}: each iothread is a host thread of QEMU, under the VM's pids limit`);
}

/** QEMU's bootindex is an int32: a larger boot order fails at launch ("expects int32_t"). */
export const MAX_BOOT_ORDER = 2 ** 31 - 1;

/** KubeVirt's limits on inline cloud-init data; more belongs in a Secret. */
export const CLOUD_INIT_USER_DATA_MAX = 2048;
export const CLOUD_INIT_NETWORK_DATA_MAX = 2048;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * KubeVirt's cloud-init rules (vmi-create-admitter.go), in its words: one source of
 * user data and one of network data at most, at least one of the two, valid base64,
 * and at most 2048 bytes of each inline.
 */
function validateCloudInit(source: Obj, path: string, ctx: Ctx): void {
  const field = path.slice(path.lastIndexOf('.') + 1);
  const one = (kind: 'user' | 'network'): number => {
    const [raw, b64, ref] = kind === 'user' ? ['userData', 'userDataBase64', 'secretRef'] : ['networkData', 'networkDataBase64', 'networkDataSecretRef'];
    let sources = 0;
    let length = 0;
    if (str(obj(source, ref), 'name')) sources++;
    const encoded = str(source, b64);
    if (encoded) {
      sources++;
      if (!BASE64.test(encoded)) fail(ctx, `${path}.${b64}`, `${path}.${b64}.${field}.${b64} is not a valid base64 value.`);
      else length = Buffer.from(encoded, 'base64').length;
    }
    const text = str(source, raw);
    if (text) {
      sources++;
      length = Buffer.byteLength(text);
    }
    const max = kind === 'user' ? CLOUD_INIT_USER_DATA_MAX : CLOUD_INIT_NETWORK_DATA_MAX;
    if (sources > 1) fail(ctx, path, `${path} must have only one ${kind === 'user' ? 'userdatasource' : 'networkdata source'} set.`);
    if (length > max) {
      fail(ctx, path, kind === 'user'
        ? `${path} userdata exceeds ${max} byte limit. Should use UserDataSecretRef for larger data.`
        : `${path} networkdata exceeds ${max} byte limit. Should use NetworkDataSecretRef for larger data.`);
    }
    return sources;
  };
  const user = one('user');
  const network = one('network');
  if (user === 0 && network === 0) fail(ctx, path, `${path} must have at least one userdatasource or one networkdatasource set.`);
}

/** Boot orders start at 1, fit QEMU's bootindex, and are unique across disks and interfaces. */
export function claimBootOrder(order: number, path: string, ctx: Ctx, bootOrders: BootOrders): void {
  if (order < 1) {
    fail(ctx, path, `must have a boot order > 0, if supplied (got ${order})`);
    return;
  }
  if (order > MAX_BOOT_ORDER) {
    fail(ctx, path, `must be at most ${MAX_BOOT_ORDER}, the largest bootindex QEMU takes (got ${order})`);
    return;
  }
  const first = bootOrders.get(order);
  if (first !== undefined) fail(ctx, path, `Boot order ${order} already set for a different device (${first})`);
  else bootOrders.set(order, path);
}

function validateVolume(volume: Obj, vp: string, names: Map<string, string>, ctx: Ctx): void {
  validateName(volume, vp, names, ctx);
  const sources = VOLUME_SOURCES.filter((s) => isSet(volume, s));
  if (sources.length !== 1) fail(ctx, vp, 'must have exactly one source type set');
  for (const kind of ['cloudInitNoCloud', 'cloudInitConfigDrive'] as const) {
    const source = obj(volume, kind);
    if (source) validateCloudInit(source, `${vp}.${kind}`, ctx);
  }

  const containerDisk = obj(volume, 'containerDisk');
  if (containerDisk) {
    const cp = `${vp}.containerDisk`;
    validateImage(containerDisk, cp, ctx);
    const path = str(containerDisk, 'path');
    if (path) validatePath(path, `${cp}.path`, ctx);
  }

  const claim = obj(volume, 'persistentVolumeClaim');
  if (claim) {
    const cp = `${vp}.persistentVolumeClaim.claimName`;
    const name = str(claim, 'claimName');
    if (!name) fail(ctx, cp, REQUIRED);
    else for (const m of isDNS1123Subdomain(name)) fail(ctx, cp, `Invalid value: ${JSON.stringify(name)}: ${m}`);
  }

  const hostDisk = obj(volume, 'hostDisk');
  if (hostDisk) validateHostDisk(hostDisk, vp, str(volume, 'name') ?? '', ctx);

  const emptyDisk = obj(volume, 'emptyDisk');
  if (emptyDisk) {
    const capPath = `${vp}.emptyDisk.capacity`;
    if (!isSet(emptyDisk, 'capacity')) {
      fail(ctx, capPath, REQUIRED);
    } else {
      const cap = quantity(emptyDisk, 'capacity', capPath);
      if (cap && cap.q.num <= 0n) fail(ctx, capPath, `${quote(cap.q.text)} must be greater than 0`);
      else if (cap && compareQuantities(cap.q, MAX_EMPTY_DISK) > 0) fail(ctx, capPath, `${quote(cap.q.text)} must be at most ${MAX_EMPTY_DISK.text}, the largest qcow2 image`);
      else if (cap && alignedImageBytes(quantityToBytes(cap.q.text, capPath)) === 0n) {
        fail(ctx, capPath, `${quote(cap.q.text)} is smaller than 1Mi: volume ${quote(str(volume, 'name') ?? '')} would be an empty disk (sizes are aligned down to 1Mi)`);
      }
    }
  }
}
