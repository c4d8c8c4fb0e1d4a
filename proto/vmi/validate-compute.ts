// Rules of a VMI spec outside storage and networking: memory, CPU, machine type,
// firmware, features, and the scalar spec fields. Messages follow
// vmi-create-admitter.go; `p` is the spec's path (spec, or spec.template.spec).

import { posix } from 'node:path';
import { isDNS1123Label, isDNS1123Subdomain } from './k8s-names.js';
import { CPU_MODEL_NAME, MACHINE_TYPES, QEMU_CPU_MODELS } from './devices.js';
import { parseImageReference } from './image-ref.js';
import { compareQuantities, exceedsInt64, tryParseQuantity, type ParsedQuantity } from './quantity.js';
import { validateLabels } from './validate-meta.js';
import {
  bool,
  fail,
  int,
  isSet,
  obj,
  quantity,
  quote,
  REQUIRED,
  str,
  unsupportedValue,
  type Ctx,
  type Obj,
  type QuantityAt,
} from './validate-context.js';

export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
const EVICTION_STRATEGIES = ['LiveMigrate', 'LiveMigrateIfPossible', 'None', 'External'];
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// QEMU's q35 maximum (max_cpus) in the versions virtnode drives.
const Q35_MAX_VCPUS = 288;
const ONE_MEGA = tryParseQuantity('1M')!;
/**
 * An x86-64 guest addresses at most 2^52 bytes (QEMU's largest phys-bits): more
 * memory can never run, and the handler's byte counts (cgroup limit = memory plus
 * overhead) stay exact below it.
 */
export const MAX_GUEST_MEMORY = tryParseQuantity('4Pi')!;
const MAX_CPU = tryParseQuantity(Q35_MAX_VCPUS)!;

export function validateComputeSpec(spec: Obj, p: string, ctx: Ctx): void {
  const domain = obj(spec, 'domain');
  if (!domain) {
    if (!isSet(spec, 'domain')) fail(ctx, `${p}.domain`, REQUIRED);
  } else {
    if (!isSet(domain, 'devices')) fail(ctx, `${p}.domain.devices`, REQUIRED);
    validateMemory(domain, p, ctx);
    validateCpu(domain, p, ctx);
    validateMachine(domain, p, ctx);
    validateFirmware(domain, p, ctx);
    validateBootloader(domain, p, ctx);
  }
  validateSpecScalars(spec, p, ctx);
}

function positiveOrUnset(at: QuantityAt | undefined, ctx: Ctx): ParsedQuantity | undefined {
  if (!at) return undefined;
  if (at.q.num < 0n) {
    fail(ctx, at.path, `${quote(at.q.text)} must be greater than or equal to 0`);
    return undefined;
  }
  if (exceedsInt64(at.q)) {
    fail(ctx, at.path, `${quote(at.q.text)} is too large`);
    return undefined;
  }
  // Zero is "not set" for requests and limits, as Quantity.IsZero() is in KubeVirt.
  return at.q.num === 0n ? undefined : at.q;
}

function validateMemory(domain: Obj, p: string, ctx: Ctx): void {
  const res = obj(domain, 'resources');
  const reqPath = `${p}.domain.resources.requests.memory`;
  const limPath = `${p}.domain.resources.limits.memory`;
  const guestPath = `${p}.domain.memory.guest`;
  const reqAt = quantity(obj(res, 'requests'), 'memory', reqPath);
  const limAt = quantity(obj(res, 'limits'), 'memory', limPath);
  const guestAt = quantity(obj(domain, 'memory'), 'guest', guestPath);
  const req = positiveOrUnset(reqAt, ctx);
  const lim = positiveOrUnset(limAt, ctx);
  let guest: ParsedQuantity | undefined;
  if (guestAt) {
    // A zero guest would reach QEMU as -m 0: unlike a request, it is never "unset".
    if (guestAt.q.num <= 0n) fail(ctx, guestPath, `${quote(guestAt.q.text)} must be greater than 0`);
    else guest = positiveOrUnset(guestAt, ctx);
  }

  for (const [q, path] of [[req, reqPath], [lim, limPath], [guest, guestPath]] as const) {
    if (q && compareQuantities(q, MAX_GUEST_MEMORY) > 0) {
      fail(ctx, path, `${quote(q.text)} must be at most ${MAX_GUEST_MEMORY.text}: an x86-64 guest addresses at most 2^52 bytes`);
    }
  }
  if (req && compareQuantities(req, ONE_MEGA) < 0) fail(ctx, reqPath, `${quote(req.text)} must be greater than or equal to 1M`);
  if (guest && compareQuantities(guest, ONE_MEGA) < 0) fail(ctx, guestPath, `${quote(guest.text)} must be greater than or equal to 1M`);
  if (lim && req && compareQuantities(req, lim) > 0) {
    fail(ctx, reqPath, `${quote(req.text)} is greater than ${limPath} ${quote(lim.text)}`);
  }
  if (lim && guest && compareQuantities(guest, lim) > 0) {
    fail(ctx, guestPath, `${quote(guest.text)} must be equal to or less than the memory limit ${limPath} ${quote(lim.text)}`);
  }
  // KubeVirt requires some memory; a value of the wrong form was reported already.
  const unsetOrZero = (o: Obj | undefined, k: string, at: QuantityAt | undefined) => !isSet(o, k) || at?.q.num === 0n;
  if (
    unsetOrZero(obj(res, 'requests'), 'memory', reqAt) &&
    unsetOrZero(obj(res, 'limits'), 'memory', limAt) &&
    !isSet(obj(domain, 'memory'), 'guest')
  ) {
    fail(ctx, reqPath, `no memory requested, at least one of '${guestPath}', '${reqPath}' or '${limPath}' must be set`);
  }
}

function validateCpu(domain: Obj, p: string, ctx: Ctx): void {
  const res = obj(domain, 'resources');
  const reqPath = `${p}.domain.resources.requests.cpu`;
  const limPath = `${p}.domain.resources.limits.cpu`;
  const req = positiveOrUnset(quantity(obj(res, 'requests'), 'cpu', reqPath), ctx);
  const lim = positiveOrUnset(quantity(obj(res, 'limits'), 'cpu', limPath), ctx);
  // Without sockets/cores/threads the limit (else the request) is the vCPU count
  // (cpuTopology); with them, more CPU than the most vCPUs could use is a mistake.
  for (const [q, path] of [[req, reqPath], [lim, limPath]] as const) {
    if (q && compareQuantities(q, MAX_CPU) > 0) fail(ctx, path, `${quote(q.text)} is more CPU than ${Q35_MAX_VCPUS} vCPUs, the most a q35 machine takes`);
  }
  if (req && lim && compareQuantities(req, lim) > 0) {
    fail(ctx, reqPath, `${quote(req.text)} is greater than ${limPath} ${quote(lim.text)}`);
  }

  const cpu = obj(domain, 'cpu');
  let vcpus = 1;
  for (const k of ['sockets', 'cores', 'threads'] as const) {
    const n = int(cpu, k);
    if (n === undefined) continue;
    if (n < 1) fail(ctx, `${p}.domain.cpu.${k}`, `must be greater than or equal to 1 (got ${n})`);
    else vcpus *= n;
  }
  if (vcpus > Q35_MAX_VCPUS) {
    fail(ctx, `${p}.domain.cpu`, `sockets × cores × threads is ${vcpus}: a q35 machine takes at most ${Q35_MAX_VCPUS} vCPUs`);
  }
  const model = str(cpu, 'model');
  if (model !== undefined && model !== '' && !CPU_MODEL_NAME.test(model)) {
    fail(ctx, `${p}.domain.cpu.model`, `${JSON.stringify(model)} is not a CPU model name (host-model, host-passthrough, or a QEMU model such as qemu64)`);
  } else if (model === 'host') {
    // QEMU's own "host" runs only under KVM, and libvirt (so KubeVirt) has no such model.
    fail(ctx, `${p}.domain.cpu.model`, '"host" is not a CPU model name: host-passthrough gives the guest the host\'s CPU');
  } else if (model !== undefined && model !== '' && model !== 'host-model' && model !== 'host-passthrough' && !QEMU_CPU_MODELS.has(model)) {
    // KubeVirt would leave such a VMI unscheduled (no node labels the model); a node of its own has only its QEMU.
    fail(ctx, `${p}.domain.cpu.model`, `not supported yet: CPU model ${JSON.stringify(model)} (the node's QEMU 7.2 has no such model: host-model, host-passthrough, or one of qemu-system-x86_64 -cpu help)`);
  }
}

function validateMachine(domain: Obj, p: string, ctx: Ctx): void {
  const type = str(obj(domain, 'machine'), 'type');
  if (type && !MACHINE_TYPES.includes(type)) {
    const versioned = MACHINE_TYPES.filter((t) => t !== 'q35');
    fail(ctx, `${p}.domain.machine.type`, `not supported yet: ${JSON.stringify(type)} (allowed values: q35, ${versioned[0]} to ${versioned[versioned.length - 1]})`);
  }
}

function validateFirmware(domain: Obj, p: string, ctx: Ctx): void {
  const fw = obj(domain, 'firmware');
  const fp = `${p}.domain.firmware`;
  const uuid = str(fw, 'uuid');
  if (uuid !== undefined && uuid !== '' && !UUID.test(uuid)) fail(ctx, `${fp}.uuid`, `${JSON.stringify(uuid)} is not a UUID`);
  const serial = str(fw, 'serial');
  if (serial !== undefined && /[\x00-\x1f\x7f]/.test(serial)) fail(ctx, `${fp}.serial`, 'must not contain control characters');

  const kb = obj(fw, 'kernelBoot');
  if (!kb) return;
  const kp = `${fp}.kernelBoot`;
  const container = obj(kb, 'container');
  if (!container) {
    if (str(kb, 'kernelArgs')) fail(ctx, `${kp}.kernelArgs`, 'kernel arguments cannot be provided without an external kernel');
    return;
  }
  const cp = `${kp}.container`;
  validateImage(container, cp, ctx);
  const args = str(kb, 'kernelArgs');
  if (args !== undefined) {
    // QEMU hands -append to the kernel as one NUL-terminated string, at most x86's
    // COMMAND_LINE_SIZE with its NUL; more is cut off, or QEMU refuses to start.
    if (args.includes('\0')) fail(ctx, `${kp}.kernelArgs`, 'must not contain a NUL character');
    else if (Buffer.byteLength(args) > MAX_KERNEL_ARGS_BYTES) fail(ctx, `${kp}.kernelArgs`, `must be at most ${MAX_KERNEL_ARGS_BYTES} bytes, the kernel's command line limit (got ${Buffer.byteLength(args)})`);
  }
  const kernelPath = str(container, 'kernelPath');
  const initrdPath = str(container, 'initrdPath');
  if (!kernelPath && !initrdPath) fail(ctx, cp, 'must be defined with at least one of the following: kernelPath, initrdPath');
  // KubeVirt takes an initrd alone and libvirt then fails to start QEMU, which loads an initrd only with a kernel.
  else if (!kernelPath) fail(ctx, `${cp}.kernelPath`, 'not supported yet: an initrd without a kernel (QEMU loads an initrd only with -kernel)');
  if (kernelPath) validatePath(kernelPath, `${cp}.kernelPath`, ctx);
  if (initrdPath) validatePath(initrdPath, `${cp}.initrdPath`, ctx);
}

/** image and imagePullPolicy of a containerDisk or a kernelBoot container at `path`. */
export function validateImage(container: Obj, path: string, ctx: Ctx): void {
  const image = str(container, 'image');
  if (image === undefined || image === '') {
    if (!isSet(container, 'image') || image === '') fail(ctx, `${path}.image`, REQUIRED);
  } else {
    const ref = parseImageReference(image);
    if (typeof ref === 'string') fail(ctx, `${path}.image`, `couldn't parse image reference ${JSON.stringify(image)}: ${ref}`);
  }
  const policy = str(container, 'imagePullPolicy');
  if (policy !== undefined && policy !== '' && !(PULL_POLICIES as readonly string[]).includes(policy)) {
    fail(ctx, `${path}.imagePullPolicy`, unsupportedValue(policy, PULL_POLICIES));
  }
}

/** x86's COMMAND_LINE_SIZE (2048) less its terminating NUL. */
export const MAX_KERNEL_ARGS_BYTES = 2047;

/** A path inside an image: absolute, not the root, no '.', '..' or '//' components, no NUL. */
export function validatePath(path: string, field: string, ctx: Ctx): void {
  if (path.includes('\0')) {
    fail(ctx, field, 'must not contain a NUL character');
    return;
  }
  if (path === '/') {
    fail(ctx, field, 'must not point to root');
    return;
  }
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  if (posix.join('/', path) !== trimmed) fail(ctx, field, 'must be an absolute path to a file without relative components');
}

/**
 * firmware.bootloader and what it needs, with KubeVirt's words (validateBootloader,
 * validateDomainSpec): EFI or BIOS, not both; Secure Boot (on unless secureBoot is
 * false) only with SMM, which guards its variables from the guest.
 */
function validateBootloader(domain: Obj, p: string, ctx: Ctx): void {
  const bl = obj(obj(domain, 'firmware'), 'bootloader');
  if (!bl) return;
  const bp = `${p}.domain.firmware.bootloader`;
  const efi = obj(bl, 'efi');
  const bios = obj(bl, 'bios');
  if (efi && bios) fail(ctx, bp, `${bp} has both EFI and BIOS configured, but they are mutually exclusive.`);
  if (efi && bool(efi, 'secureBoot') !== false) {
    const smm = obj(obj(domain, 'features'), 'smm');
    if (!smm || bool(smm, 'enabled') === false) {
      fail(ctx, `${p}.domain`, `${p}.domain has EFI SecureBoot enabled. SecureBoot requires SMM, which is currently disabled.`);
    }
  }
  // libvirt refuses <bios useserial='yes'/> without a serial port: the adapter has nowhere to write.
  if (bios && bool(bios, 'useSerial') === true && bool(obj(domain, 'devices'), 'autoattachSerialConsole') === false) {
    fail(ctx, `${bp}.bios.useSerial`, `needs a serial port, and ${p}.domain.devices.autoattachSerialConsole is false`);
  }
}

function validateSpecScalars(spec: Obj, p: string, ctx: Ctx): void {
  const hostname = str(spec, 'hostname');
  if (hostname) {
    const errs = isDNS1123Label(hostname);
    if (errs.length) fail(ctx, `${p}.hostname`, `does not conform to the kubernetes DNS_LABEL rules : ${errs.join(', ')}`);
  }
  const subdomain = str(spec, 'subdomain');
  if (subdomain) {
    const errs = isDNS1123Subdomain(subdomain);
    if (errs.length) fail(ctx, `${p}.subdomain`, `does not conform to the kubernetes DNS_SUBDOMAIN rules : ${errs.join(', ')}`);
  }
  const grace = int(spec, 'terminationGracePeriodSeconds');
  if (grace !== undefined && grace < 0) fail(ctx, `${p}.terminationGracePeriodSeconds`, `must be greater than or equal to 0 (got ${grace})`);

  const arch = str(spec, 'architecture');
  if (arch !== undefined && arch !== '' && arch !== 'amd64') {
    fail(ctx, `${p}.architecture`, arch === 'arm64' || arch === 's390x' ? 'not supported yet: virtnode runs amd64 guests only' : `unsupported architecture: ${arch}`);
  }

  const eviction = str(spec, 'evictionStrategy');
  if (eviction !== undefined) {
    if (!EVICTION_STRATEGIES.includes(eviction)) {
      fail(ctx, `${p}.evictionStrategy`, `is set with an unrecognized option: ${eviction}`);
    } else if (eviction !== 'None') {
      ctx.warnings.push(`${p}.evictionStrategy: accepted but has no effect yet: virtnode does not migrate or evict VMIs`);
    }
  }

  const nodeSelector = obj(spec, 'nodeSelector');
  if (nodeSelector) {
    validateLabels(nodeSelector, `${p}.nodeSelector`, ctx);
    if (ctx.opts.standalone && Object.keys(nodeSelector).length > 0) {
      ctx.warnings.push(`${p}.nodeSelector is ignored: a standalone node runs every VMI it accepts`);
    }
  }
}
