// Disk and volume rules (KubeVirt's storage admitters, disks.go and validateVolumes):
// names, the disk ↔ volume mapping, one target per disk, one source per volume,
// buses, boot order, serials, and the containerDisk / emptyDisk sources.

import { alignedImageBytes, DISK_BUSES, DISK_CACHE_MODES, SUPPORTED_DISK_BUSES } from './devices.js';
import { quantityToBytes } from './quantity.js';
import { isDNS1123Label } from './k8s-names.js';
import { compareQuantities, tryParseQuantity } from './quantity.js';
import { validateImage, validatePath } from './validate-compute.js';
import { validateHostDisk } from './validate-host-disk.js';
import { VOLUME_SOURCES } from './schema.js';
import { isObject } from './shape.js';
import { fail, int, isSet, list, obj, quantity, quote, REQUIRED, str, type Ctx, type Obj } from './validate-context.js';

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

export function validateStorage(spec: Obj, p: string, ctx: Ctx, bootOrders: BootOrders): void {
  const volumeNames = new Map<string, string>();
  list(spec, 'volumes').forEach((v, i) => {
    if (isObject(v)) validateVolume(v, `${p}.volumes[${i}]`, volumeNames, ctx);
  });

  const diskNames = new Map<string, string>();
  list(obj(obj(spec, 'domain'), 'devices'), 'disks').forEach((d, i) => {
    if (!isObject(d)) return;
    const dp = `${p}.domain.devices.disks[${i}]`;
    const name = validateName(d, dp, diskNames, ctx);
    if (name !== undefined && !volumeNames.has(name)) fail(ctx, `${dp}.name`, `${quote(name)} not found in ${p}.volumes`);
    validateDisk(d, dp, ctx, bootOrders);
  });
}

function validateDisk(disk: Obj, dp: string, ctx: Ctx, bootOrders: BootOrders): void {
  const targets = ['disk', 'cdrom', 'lun'].filter((t) => isSet(disk, t));
  if (targets.length > 1) fail(ctx, dp, 'can only have a single target type defined');

  const bus = str(obj(disk, 'disk'), 'bus');
  if (bus !== undefined && bus !== '' && !SUPPORTED_DISK_BUSES.includes(bus)) {
    const bp = `${dp}.disk.bus`;
    if (bus === 'ide') fail(ctx, bp, 'IDE bus is not supported');
    else if ((DISK_BUSES as readonly string[]).includes(bus)) fail(ctx, bp, `not supported yet: bus ${JSON.stringify(bus)} (only ${SUPPORTED_DISK_BUSES.join(', ')} so far)`);
    else fail(ctx, bp, `unrecognized bus ${bus}, must be one of: [${DISK_BUSES.join(' ')}]`);
  }

  const order = int(disk, 'bootOrder');
  if (order !== undefined) claimBootOrder(order, `${dp}.bootOrder`, ctx, bootOrders);

  const serial = str(disk, 'serial');
  if (serial !== undefined && serial !== '') {
    if (!SERIAL.test(serial)) fail(ctx, `${dp}.serial`, 'must be made up of the following characters [A-Za-z0-9_.+-], if specified');
    if ([...serial].length > SERIAL_MAX) fail(ctx, `${dp}.serial`, `must be less than or equal to ${SERIAL_MAX} in length, if specified`);
  }

  const cache = str(disk, 'cache');
  if (cache !== undefined && cache !== '' && !(DISK_CACHE_MODES as readonly string[]).includes(cache)) {
    fail(ctx, `${dp}.cache`, `has invalid value ${cache}, must be one of: [${DISK_CACHE_MODES.join(' ')}]`);
  }
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
