// Fuzzing admission and the launcher with fast-check (issue 17). KubeVirt-shaped
// seeds (helpers/fuzz-seeds.ts) are mutated — any value at any path replaced by
// hostile JSON, keys deleted and added, list items duplicated, the strings that
// reach QEMU made hostile — or their manifest text is edited, generated or broken
// (helpers/fuzz-arbitraries.ts). Each case goes through Apply as the handler runs it
// (handler/api/admission.ts admit: judgeManifest, then this node's checks), and
// every object Apply accepts on through the launcher to QEMU's argv. Properties:
//
//  1. validate, judgeManifest and Apply throw nothing but InvalidSpecError;
//  2. every refusal's field error has a message and a path naming a field of what
//     was sent (or a place in the manifest: "line N, column M", "document N");
//  3. every accepted object converts (vmiToDomain + buildArgv under TCG, after the
//     handler's own computations) to an argv that reads back, as QEMU reads it
//     (helpers/qemu-argv.ts), with each user string exactly where it belongs, whole:
//     no extra option, no extra key, no value split;
//  4. Apply of each takes less than 50 ms (a slow measurement is taken again: the
//     best of five counts, since a GC pause or the other core's load is no spec's).
//
// Deterministic: a fixed seed and count. FUZZ_SEED, FUZZ_RUNS (and FUZZ_PATH, which
// fast-check prints with a failure) override them, for a longer run:
//   FUZZ_RUNS=200000 FUZZ_SEED=$RANDOM node --test dist/test/unit/fuzz-admission.test.js

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidSpecError, VirtnodeError, type FieldError } from '../../proto/errors.js';
import { decodeLaunchContext, DEFAULT_SMBIOS, encodeLaunchContext, type LaunchContext } from '../../proto/launch.js';
import type { LaunchContext__Output } from '../../proto/generated/virtnode/launcher/v1/LaunchContext.js';
import { alignedImageBytes, MAX_TAP_QUEUES, normalizeMac, ROOT_BUS_FREE_SLOTS, rootBusDevices, tapQueueCount } from '../../proto/vmi/devices.js';
import { judgeManifest } from '../../proto/vmi/admit.js';
import { guestMemoryBytes, parseManifests, quantityToBytes, validate, vcpuCount, vmiFromVM } from '../../proto/vmi/index.js';
import type { KubeVirtObject, VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { ManifestObject } from '../../proto/vmi/manifest.js';
import { buildArgv } from '../../launcher/domain/argv.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import { admit } from '../../handler/api/admission.js';
import { ManifestReader } from '../../handler/api/manifest-reader.js';
import { HostDisks } from '../../handler/hostdisk/host-disks.js';
import { deviceStateOf, VmStateDirs } from '../../handler/sandbox/device-state.js';
import { cloudInitImage } from '../../handler/cloudinit/data.js';
import { buildIso } from '../../handler/cloudinit/iso9660.js';
import { planPodNetwork, podNetworkRequest, resolveNodeNetwork, type PlannedInterface } from '../../handler/network/index.js';
import { LOCAL_OUI, POD_TAP, QEMU_OUI, stableMac } from '../../handler/network/names.js';
import { limitWrites } from '../../handler/sandbox/cgroup-limits.js';
import type { Store } from '../../handler/store/store.js';
import { fuzzCase, manifestOf, mutate, type FuzzCase, type NodeChoices } from './helpers/fuzz-arbitraries.js';
import { SEEDS, type Json } from './helpers/fuzz-seeds.js';
import { isRootBusDevice, LONE_SURROGATE, optOf, parseQemuArgv, type QemuOption } from './helpers/qemu-argv.js';
import { cgroupLimits } from '../../handler/controller/vmi-prepare.js';

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 0x17f0220;
const RUNS = process.env.FUZZ_RUNS !== undefined ? Number(process.env.FUZZ_RUNS) : 10_000;
const PATH = process.env.FUZZ_PATH;
/** Issue 17: Apply of each spec in under 50 ms. */
const APPLY_LIMIT_MS = 50;

const NETWORKING = { podNetworking: true } as const;
const NODE = resolveNodeNetwork();
// Every manifest judged in line (the handler sends only those over 64 KiB to its worker).
const READER = new ManifestReader({ inlineMaxChars: Infinity });
// Apply over an empty store, on a node without host disk roots (the handler's default).
const STORE = { get: () => undefined } as unknown as Store;
const HOST_DISKS = new HostDisks([]);
const RUN_DIR = '/run/vn/p';
const DISK_DIR = '/var/lib/vn/disks/p';
const HOST_DISK_ROOT = '/var/lib/vn/hostdisks';

// ---- property 2: a refusal names a field ---------------------------------

/** Places in a manifest rather than fields of an object. */
const LOCATION = /^(manifest|<root>|document \d+|line \d+, column \d+)$/;
/** What may follow the last field a path reaches: a field that is not there (a Required value). */
const MISSING = /^(\.[A-Za-z][A-Za-z0-9]*)+$/;

/** Whether `path` walks `v` from its root: `.key`, `[i]`, `[key]`, then at most a chain of missing field names. */
function walks(v: unknown, rest: string, root: boolean): boolean {
  if (rest === '') return true;
  if (Array.isArray(v)) {
    const m = /^\[(\d+)\]/.exec(rest);
    if (m && Number(m[1]) < v.length && walks(v[Number(m[1])], rest.slice(m[0].length), false)) return true;
  } else if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) {
      for (const form of [...(root ? [k] : [`.${k}`, `[${k}]`]), `[${JSON.stringify(k)}]`]) {
        if (rest.startsWith(form) && walks((v as Json)[k], rest.slice(form.length), false)) return true;
      }
    }
  }
  return MISSING.test(root ? `.${rest}` : rest);
}

/** Throws unless every field error has a message and a path naming a field of `objects` (as admit.ts prefixes them). */
function checkRefusal(stage: string, fields: readonly FieldError[], objects: readonly unknown[] | undefined): void {
  if (fields.length === 0) throw new Error(`${stage}: a refusal without field errors`);
  for (const f of fields) {
    if (typeof f.message !== 'string' || f.message.trim() === '') throw new Error(`${stage}: ${JSON.stringify(f.path)} has no message`);
    if (typeof f.path !== 'string' || f.path === '') throw new Error(`${stage}: a field error without a path: ${JSON.stringify(f)}`);
    if (LOCATION.test(f.path)) continue;
    let path = f.path;
    let object: unknown = objects?.length === 1 ? objects[0] : undefined;
    if (objects && objects.length > 1) {
      const i = objects.findIndex((o, i) => path.startsWith(prefixOf(o, i)));
      if (i < 0) throw new Error(`${stage}: ${JSON.stringify(f.path)} does not say which of ${objects.length} objects it is about`);
      path = path.slice(prefixOf(objects[i], i).length);
      object = objects[i];
    }
    if (object === undefined ? !MISSING.test(`.${path}`) : !walks(object, path, true)) {
      throw new Error(`${stage}: ${JSON.stringify(f.path)} (${f.message}) names no field of what was sent`);
    }
  }
}

/** admit.ts's prefix of the i-th of several objects. */
function prefixOf(o: unknown, i: number): string {
  const obj = o as Json;
  return `[${i}] ${obj.kind} ${obj.metadata?.name ?? ''}: `;
}

/** The objects a manifest holds, as admission read them, or undefined when it cannot be read. */
function objectsOf(text: string): readonly unknown[] | undefined {
  try {
    return parseManifests(text).objects;
  } catch {
    return undefined;
  }
}

/** Runs `f`; an InvalidSpecError is a refusal (its paths checked), anything else thrown breaks property 1. */
function refusedBy<T>(stage: string, objects: () => readonly unknown[] | undefined, f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof InvalidSpecError)) throw new Error(`${stage} threw ${describe(e)}`, { cause: e });
    checkRefusal(stage, e.fields, objects());
    return undefined;
  }
}

function describe(e: unknown): string {
  if (e instanceof VirtnodeError) return `${e.name} ${e.code}: ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

// ---- property 3: the launcher, as it would run ----------------------------

let uidCounter = 0;
function newUid(): string {
  uidCounter++;
  return `00000000-0000-4000-8000-${uidCounter.toString(16).padStart(12, '0')}`;
}

/** The VMI the handler would run for an admitted object, as the launcher receives it (JSON). */
function vmiOf(obj: KubeVirtObject): VirtualMachineInstance {
  const stored = { ...structuredClone(obj), metadata: { ...obj.metadata, uid: newUid() } };
  const vmi = obj.kind === 'VirtualMachine' ? vmiFromVM(stored as VirtualMachine, newUid(), NETWORKING) : (stored as VirtualMachineInstance);
  return JSON.parse(JSON.stringify(vmi)) as VirtualMachineInstance;
}

/**
 * What the handler computes from the spec before it makes anything (vmi-prepare.ts):
 * the cgroup's limits, each empty disk's size, each cloud-init volume's ISO.
 */
function prepare(vmi: VirtualMachineInstance): void {
  // The handler's own computation, as prepareVmi makes the sandbox with it.
  const limits = cgroupLimits(vmi, { accelerator: 'tcg', softwareEmulation: true });
  limitWrites(1, limits);
  limitWrites(2, limits);
  for (const v of vmi.spec.volumes ?? []) {
    if (v.emptyDisk) {
      const size = Number(alignedImageBytes(quantityToBytes(v.emptyDisk.capacity, 'emptyDisk.capacity')));
      if (!Number.isSafeInteger(size) || size <= 0) throw new Error(`empty disk ${v.name}: ${size} bytes`);
    }
    if (v.cloudInitNoCloud || v.cloudInitConfigDrive) {
      const image = cloudInitImage(vmi, v);
      buildIso({ volumeId: image.label, files: image.files });
    }
  }
}

/**
 * The LaunchContext prepareVmi would send (through its wire form, as Sync carries it):
 * each volume's image, the kernel of kernelBoot, each interface's tap. hostDisks are
 * taken as a node with a root holding them would have vetted them.
 */
function launchContext(vmi: VirtualMachineInstance, plan: PlannedInterface[], node: NodeChoices): LaunchContext {
  const volumes: LaunchContext['volumes'] = {};
  let ino = 1000;
  for (const v of vmi.spec.volumes ?? []) {
    const directIo = node.directIo ? { directIo: true } : {};
    if (v.containerDisk) {
      const backing = node.backing ? { backing: { path: `/var/lib/vn/images/${v.name}.img`, format: 'raw' as const } } : {};
      volumes[v.name] = { path: `${DISK_DIR}/${v.name}.qcow2`, format: 'qcow2', ...backing, ...directIo };
    } else if (v.cloudInitNoCloud || v.cloudInitConfigDrive) {
      volumes[v.name] = { path: `${DISK_DIR}/${v.name}.iso`, format: 'raw', ...directIo };
    } else if (v.emptyDisk) {
      volumes[v.name] = { path: `${DISK_DIR}/${v.name}.qcow2`, format: 'qcow2', ...directIo };
    } else if (v.hostDisk) {
      const rel = `vm/${v.name}.img`;
      volumes[v.name] = { path: v.hostDisk.path, format: 'raw', ...directIo, hostFile: { root: HOST_DISK_ROOT, path: rel, dev: '2049', ino: String(ino++) } };
    }
  }
  // prepareKernel: pullKernelBoot gives a kernel only for kernelPath, an initrd only for initrdPath.
  const c = vmi.spec.domain.firmware?.kernelBoot?.container;
  const kernelBoot = c ? { ...(c.kernelPath ? { kernel: '/var/lib/vn/images/blobs/kernel' } : {}), ...(c.initrdPath ? { initrd: '/var/lib/vn/images/blobs/initrd' } : {}) } : undefined;
  const interfaces: NonNullable<LaunchContext['interfaces']> = {};
  for (const p of plan) {
    const mac = p.macAddress ?? (p.binding === 'masquerade' ? stableMac(`${vmi.metadata.uid}/${p.name}`, QEMU_OUI) : stableMac(`${vmi.metadata.uid}/eth0`, LOCAL_OUI));
    interfaces[p.name] = { tapName: POD_TAP, multiQueue: p.multiQueue, mac };
  }
  const ctx: LaunchContext = {
    runDir: RUN_DIR,
    accelerator: 'tcg',
    volumes,
    ...(kernelBoot ? { kernelBoot } : {}),
    interfaces,
    netns: '/run/netns/vn-000000000001',
    smbios: { ...DEFAULT_SMBIOS, ...node.smbios },
  };
  const deviceState = deviceStateOf(vmi, DISK_DIR, new VmStateDirs('/var/lib/vn'));
  if (deviceState) ctx.deviceState = deviceState;
  return decodeLaunchContext(encodeLaunchContext(ctx) as unknown as LaunchContext__Output);
}

/** openInterfaceTaps then openHostFiles (launcher/domain/manager.ts): fds from 3, taps first. */
function launcherFds(vmi: VirtualMachineInstance, ctx: LaunchContext): { taps: Record<string, number[]>; hostFiles: Record<string, number> } {
  const taps: Record<string, number[]> = {};
  let next = 3;
  for (const [name, p] of Object.entries(ctx.interfaces ?? {})) {
    const queues = tapQueueCount(p.multiQueue ?? false, vcpuCount(vmi.spec));
    if (queues > MAX_TAP_QUEUES) throw new Error(`interface ${JSON.stringify(name)}: ${queues} tap queues, more than the kernel's ${MAX_TAP_QUEUES}`);
    taps[name] = Array.from({ length: queues }, () => next++);
  }
  const hostFiles: Record<string, number> = {};
  for (const v of vmi.spec.volumes ?? []) if (ctx.volumes[v.name]?.hostFile) hostFiles[v.name] = next++;
  return { taps, hostFiles };
}

/** The one option `name` of `opts` (throws for none or several). */
function only(opts: QemuOption[], name: string): QemuOption {
  const found = opts.filter((o) => o.option === name);
  if (found.length !== 1) throw new Error(`${found.length} ${name} options`);
  return found[0]!;
}

function expectEqual(what: string, got: unknown, want: unknown): void {
  if (got !== want) throw new Error(`${what}: QEMU reads ${JSON.stringify(got)}, the spec says ${JSON.stringify(want)}`);
}

/**
 * The argv read back as QEMU reads it: every element an option or its value, every
 * user string whole at its place (and nowhere a stray key or element), every
 * device the spec names present with its own values.
 */
function checkArgv(argv: string[], vmi: VirtualMachineInstance, ctx: LaunchContext, fds: ReturnType<typeof launcherFds>): void {
  argv.forEach((a, i) => {
    // execve takes C strings, and Node writes a lone surrogate as U+FFFD: neither reaches QEMU as given.
    if (a.includes('\0')) throw new Error(`argv[${i}] holds NUL: ${JSON.stringify(a)}`);
    if (LONE_SURROGATE.test(a)) throw new Error(`argv[${i}] holds a lone surrogate: ${JSON.stringify(a)}`);
  });
  const opts = parseQemuArgv(argv);
  const spec = vmi.spec;
  const fw = spec.domain.firmware;

  expectEqual('-name guest', optOf(only(opts, '-name'), 'guest'), `${vmi.metadata.namespace ?? 'default'}_${vmi.metadata.name}`);
  const uuid = (fw?.uuid || vmi.metadata.uid)!.toLowerCase();
  expectEqual('-uuid', only(opts, '-uuid').raw, uuid);
  const smbios = only(opts, '-smbios');
  expectEqual('-smbios type', optOf(smbios, 'type'), '1');
  expectEqual('-smbios uuid', optOf(smbios, 'uuid'), uuid);
  expectEqual('-smbios serial (firmware.serial)', optOf(smbios, 'serial'), fw?.serial || undefined);
  for (const k of ['manufacturer', 'product', 'version', 'sku', 'family'] as const) expectEqual(`-smbios ${k}`, optOf(smbios, k), ctx.smbios?.[k] || undefined);
  expectEqual('-machine type', optOf(only(opts, '-machine'), 'type'), spec.domain.machine?.type ?? 'q35');
  expectEqual('-m size', optOf(only(opts, '-m'), 'size'), `${guestMemoryBytes(spec)}b`);
  const model = spec.domain.cpu?.model;
  if (model !== undefined && model !== 'host-model' && model !== 'host-passthrough') expectEqual('-cpu model', only(opts, '-cpu').cpu!.model, model);

  const kb = fw?.kernelBoot;
  const append = opts.filter((o) => o.option === '-append');
  if (kb?.container && kb.kernelArgs) expectEqual('-append (kernelArgs)', only(opts, '-append').raw, kb.kernelArgs);
  else if (append.length) throw new Error(`-append ${JSON.stringify(append[0]!.raw)} without kernelArgs`);
  if (kb?.container) {
    expectEqual('-kernel', only(opts, '-kernel').raw, ctx.kernelBoot?.kernel);
    expectEqual('-initrd', opts.find((o) => o.option === '-initrd')?.raw, ctx.kernelBoot?.initrd);
  }

  const devices = new Map<string, Record<string, unknown>>();
  const blockdevs = new Map<string, Record<string, unknown>>();
  for (const o of opts) {
    if (o.option === '-device') {
      const id = o.json!.id as string;
      if (devices.has(id)) throw new Error(`two devices with id ${id}`);
      devices.set(id, o.json!);
    }
    if (o.option === '-blockdev') blockdevs.set(o.json!['node-name'] as string, o.json!);
  }
  const graphics = spec.domain.devices.autoattachGraphicsDevice !== false;
  expectEqual('a VGA device (autoattachGraphicsDevice)', devices.get('video0')?.driver, graphics ? 'VGA' : undefined);
  expectEqual('-vnc none (autoattachGraphicsDevice)', opts.find((o) => o.option === '-vnc')?.raw, graphics ? 'none' : undefined);
  const userDevices = [...devices.keys()].filter((id) => id.startsWith('ua-'));
  const disks = spec.domain.devices.disks ?? [];
  const interfaces = spec.domain.devices.interfaces ?? [];
  expectEqual('devices of the spec', userDevices.length, disks.length + interfaces.length);
  disks.forEach((disk) => {
    const dev = devices.get(`ua-${disk.name}`);
    if (!dev) throw new Error(`no -device for disk ${JSON.stringify(disk.name)}`);
    expectEqual(`disk ${disk.name} serial`, dev.serial, disk.serial || undefined);
    const format = blockdevs.get(dev.drive as string);
    const file = format && blockdevs.get(format.file as string);
    if (!file) throw new Error(`disk ${disk.name}: no -blockdev chain from ${JSON.stringify(dev.drive)}`);
    const prepared = ctx.volumes[disk.name]!;
    // A hostDisk is the fd the launcher opened: QEMU never sees the user's path.
    const set = prepared.hostFile ? only(opts.filter((o) => o.option === '-add-fd' && optOf(o, 'fd') === String(fds.hostFiles[disk.name])), '-add-fd') : undefined;
    expectEqual(`disk ${disk.name} file`, file.filename, set ? `/dev/fdset/${optOf(set, 'set')}` : prepared.path);
  });
  interfaces.forEach((iface) => {
    const dev = devices.get(`ua-${iface.name}`);
    if (!dev) throw new Error(`no -device for interface ${JSON.stringify(iface.name)}`);
    expectEqual(`interface ${iface.name} mac`, dev.mac, normalizeMac(ctx.interfaces![iface.name]!.mac!));
  });
  // What admission counted on q35's root bus is what the launcher put there, and it fits.
  const onRootBus = [...devices.values()].filter(isRootBusDevice).length;
  const counted = rootBusDevices(spec).reduce((sum, [, n]) => sum + n, 0);
  expectEqual('devices on the root bus (admission counted them)', onRootBus, counted);
  if (onRootBus > ROOT_BUS_FREE_SLOTS) throw new Error(`${onRootBus} devices on the root bus, which has ${ROOT_BUS_FREE_SLOTS} free slots`);
}

/** Runs everything after Apply for one admitted object; throws what breaks. */
function launch(o: ManifestObject, node: NodeChoices): void {
  // Instance types and preferences start nothing (the fuzzer makes none yet).
  if (o.kind !== 'VirtualMachine' && o.kind !== 'VirtualMachineInstance') return;
  const obj: KubeVirtObject = o;
  let step = 'handler: store the object';
  try {
    // What Apply accepted is what the store keeps and the launcher reads: JSON data.
    assert.deepStrictEqual(JSON.parse(JSON.stringify(obj)), obj, 'the admitted object is not what its JSON says');
    step = 'handler: make the VMI';
    const vmi = vmiOf(obj);
    step = 'handler: pod network and preparation';
    const plan = planPodNetwork(podNetworkRequest(vmi, RUN_DIR), NODE);
    prepare(vmi);
    const ctx = launchContext(vmi, plan, node);
    step = 'launcher: vmiToDomain + buildArgv (tcg)';
    const fds = launcherFds(vmi, ctx);
    const argv = buildArgv(vmiToDomain(vmi, ctx, fds.taps, {}, fds.hostFiles));
    step = 'argv read back';
    checkArgv(argv, vmi, ctx, fds);
  } catch (e) {
    throw new Error(`accepted by Apply, then ${step}: ${describe(e)}`, { cause: e });
  }
}

// ---- the run --------------------------------------------------------------

interface Stats {
  cases: number;
  texts: number;
  accepted: number;
  launched: number;
  /** Refused only by this node's host disk gate, and launched as a node with roots would. */
  hostDisks: number;
  retimed: number;
  refusedAt: Map<string, number>;
  /** Each Apply's time (the best of five when the first was slow), and its first measurement. */
  applyMs: number[];
  firstMs: number[];
  /** The slowest Apply: [best ms, first ms, text]. */
  slowest: [number, number, string];
}

const stats: Stats = { cases: 0, texts: 0, accepted: 0, launched: 0, hostDisks: 0, retimed: 0, refusedAt: new Map(), applyMs: [], firstMs: [], slowest: [0, 0, ''] };

function noteRefusal(e: unknown): void {
  if (!(e instanceof InvalidSpecError)) return;
  for (const f of e.fields) {
    const at = f.path.replace(/^\[\d+\] \S+ [^:]*: /, '').replace(/\[[^\]]*\]/g, '[]').replace(/^spec\.template\./, '').replace(/^line \d+, column \d+$/, 'line N').split('.').slice(0, 4).join('.');
    stats.refusedAt.set(at, (stats.refusedAt.get(at) ?? 0) + 1);
  }
}

function noteTime(ms: number, first: number, text: string): void {
  stats.applyMs.push(ms);
  stats.firstMs.push(first);
  if (ms !== first) stats.retimed++;
  if (ms > stats.slowest[0]) stats.slowest = [ms, first, text];
}

async function timedApply(text: string): Promise<{ ms: number; result: Awaited<ReturnType<typeof admit>> | InvalidSpecError }> {
  const t0 = performance.now();
  try {
    const result = await admit(READER, text, STORE, NODE, HOST_DISKS);
    return { ms: performance.now() - t0, result };
  } catch (e) {
    const ms = performance.now() - t0;
    if (e instanceof InvalidSpecError) return { ms, result: e };
    throw new Error(`Apply threw ${describe(e)}`, { cause: e });
  }
}

/**
 * Throws unless `v` is made of JSON's types only: plain objects, arrays, strings,
 * booleans, null and numbers (YAML's .nan and .inf included: the rules refuse them
 * as numbers, by field).
 */
function plainData(v: unknown, path = ''): void {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return;
  if (typeof v !== 'object' || (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype)) {
    throw new Error(`the manifest reads as something JSON cannot say at ${path || '<root>'}: ${Object.prototype.toString.call(v)}`);
  }
  for (const [k, x] of Object.entries(v)) plainData(x, `${path}.${k}`);
}

/** One case through every property; throws what breaks. */
async function check(c: FuzzCase): Promise<void> {
  stats.cases++;
  let text: string;
  // What was sent, for property 2's paths: the object itself, or the text's objects when a refusal asks.
  let sent: () => readonly unknown[] | undefined;
  if (c.kind === 'object') {
    const o = mutate(SEEDS[c.seed]!, c.mutations);
    // validate() on the object itself: values no text carries (undefined, -0) included.
    refusedBy('validate', () => [o], () => validate(o, NETWORKING));
    text = manifestOf(o, c.format);
    sent = () => [o];
  } else {
    stats.texts++;
    text = c.text;
    let read: readonly unknown[] | undefined | null = null;
    sent = () => (read === null ? (read = objectsOf(c.text)) : read);
    // A Kubernetes API server reads YAML as JSON: no Map, Set, Buffer or Date from a YAML tag.
    for (const o of sent() ?? []) plainData(o);
  }
  // Apply runs judgeManifest first (in line: READER), then this node's checks; one
  // InvalidSpecError carries the field errors of both.
  const { ms: first, result } = await timedApply(text);
  // A slow first measurement is taken again (best of five): a GC pause or the other
  // core's load is the machine's, not the spec's.
  let ms = first;
  for (let i = 0; i < 4 && ms > APPLY_LIMIT_MS / 2; i++) ms = Math.min(ms, (await timedApply(text)).ms);
  noteTime(ms, first, text);
  if (result instanceof InvalidSpecError) {
    checkRefusal('Apply', result.fields, sent());
    noteRefusal(result);
    // Refused only for this node's lack of host disk roots: a node with a root holding
    // the files would have taken it, so it goes on to the launcher all the same.
    if (!result.fields.every((f) => f.message.startsWith('HostDisk feature gate is not enabled'))) return;
    const judged = judgeManifest(text, NETWORKING);
    stats.hostDisks++;
    for (const j of judged.objects) launch(j.object!, c.node);
    return;
  }
  stats.accepted++;
  for (const obj of result.objects) launch(obj, c.node);
  stats.launched += result.objects.length;
}

test('the seeds are accepted by Apply and launch', async () => {
  for (const s of SEEDS) {
    const text = JSON.stringify(s);
    const { result } = await timedApply(text);
    assert.ok(!(result instanceof InvalidSpecError), `seed ${s.metadata?.name} refused: ${result instanceof InvalidSpecError ? result.message : ''}`);
    for (const obj of result.objects) launch(obj, { backing: true, directIo: false });
  }
});

test(`fuzzing admission and the launcher: ${RUNS} cases (seed ${SEED})`, { timeout: 30 * 60_000 }, async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const t0 = performance.now();
  try {
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        await check(c);
      }),
      { seed: SEED, numRuns: RUNS, ...(PATH !== undefined ? { path: PATH } : {}), includeErrorInReport: true },
    );
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  const sec = ((performance.now() - t0) / 1000).toFixed(1);
  const pct = (xs: number[], p: number): string => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(2);
  const top = [...stats.refusedAt].sort((a, b) => b[1] - a[1]).slice(0, 10);
  console.log(`seed ${SEED}: ${stats.cases} cases (${stats.texts} of them text) in ${sec} s; ${stats.accepted} accepted by Apply, ${stats.launched} objects launched to an argv (and ${stats.hostDisks} with hostDisks that need host disk roots)`);
  console.log(`Apply: median ${pct(stats.applyMs, 0.5)} ms, p99 ${pct(stats.applyMs, 0.99)} ms, max ${pct(stats.applyMs, 1)} ms (first measurements: p99 ${pct(stats.firstMs, 0.99)} ms, max ${pct(stats.firstMs, 1)} ms; ${stats.retimed} over ${APPLY_LIMIT_MS / 2} ms timed again; the slowest a ${stats.slowest[2].length}-character manifest)`);
  console.log(`refused most often at: ${top.map(([f, n]) => `${f} ${n}`).join(', ')}`);
  assert.deepEqual(unhandled, [], 'unhandled rejections during the run');
  // Not vacuous: a good share is accepted and launched, and a good share refused.
  assert.ok(stats.accepted >= stats.cases * 0.1, `only ${stats.accepted} of ${stats.cases} cases were accepted`);
  assert.ok(stats.accepted <= stats.cases * 0.9, `${stats.accepted} of ${stats.cases} cases were accepted: the mutations hardly bite`);
});

test(`Apply of each fuzzed spec takes less than ${APPLY_LIMIT_MS} ms`, () => {
  const [best, first, text] = stats.slowest;
  assert.ok(stats.applyMs.length > 0, 'the fuzzing run timed nothing');
  assert.ok(best < APPLY_LIMIT_MS, `Apply took ${best.toFixed(1)} ms (best of 5; first ${first.toFixed(1)} ms) on a ${text.length}-character manifest: ${JSON.stringify(text.slice(0, 400))}`);
});
