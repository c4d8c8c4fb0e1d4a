// fast-check arbitraries for the admission fuzzer (test/unit/fuzz-admission.test.ts):
// mutations of the KubeVirt-shaped seeds (fuzz-seeds.ts) — any value at any path
// replaced by hostile JSON, keys deleted and added, list items duplicated, the
// strings that reach QEMU set to hostile ones — and manifest text that is
// generated or mutated character by character, malformed YAML included.
//
// A mutation names its target by a number taken modulo the targets the object has
// when it is applied, so every mutation applies to any object and fast-check can
// shrink a failing list of them freely.

import fc from 'fast-check';
import { Document, isNode, stringify } from 'yaml';
import { SCHEMA } from '../../../proto/vmi/schema.js';
import { MULTI_DOC_TEXT, SEEDS, SEED_TEXTS, type Json } from './fuzz-seeds.js';

export type Path = (string | number)[];

// ---- values ---------------------------------------------------------------

/** Pieces a hostile string is made of: QEMU's separators, YAML's syntax, odd code points, JS's own names. */
const PIECES = [
  ',', ',,', '=', ',uuid=00000000-0000-0000-0000-000000000001', ',id=x', ',serial=forged', ',readonly=on', '\0', '\n', '\r\n', '\t', ' ',
  '"', "'", '\\', '{', '}', '[', ']', ':', ': ', '#', '- ', '&a', '*a', '!!binary', '|', '>', '%', '@', '`', '$', '${x}',
  'é', 'ü', 'ß', '😀', '\u202e', '\ud800', '\udfff', '\uffff', '\ufeff', '\u0085', '\u2028', '\u007f', '\u0001', '\u001b[0m',
  'x', 'a', 'A', '0', '1', '-1', '.', '..', '/', '/..', '//', '/boot/vmlinuz', 'M', 'Mi', 'Gi', 'e9', 'E', 'm', 'k',
  'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'null', 'true', 'no', 'on', 'off', '~',
  'virtio', 'q35', 'default', 'masquerade', '-S', '-daemonize', '--', 'uuid=', 'serial=', 'guest=', 'path=', 'type=1',
];

/** Strings near limits: 63 and 64 (labels), 253 and 254 (names), 256 and 257 (serials), 2047 and 2048 (kernel args), 70,000. */
const LONG = [63, 64, 253, 254, 256, 257, 2047, 2048, 70_000].map((n) => 'a'.repeat(n));

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...PIECES),
  fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 8 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.string({ unit: 'grapheme', maxLength: 16 }),
  fc.string({ maxLength: 24 }),
  { weight: 1, arbitrary: fc.constantFrom(...LONG) },
);

/** Quantity-like text: a number and a suffix, Kubernetes' own and ones a lookup table must not take. */
const quantityText: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('0', '1', '-1', '+1', '.5', '5.', '1.5', '00064', '64', '9'.repeat(30), '1e3', ''),
    fc.constantFrom('', 'm', 'k', 'M', 'G', 'T', 'P', 'E', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'e3', 'E-3', 'e+9999', 'KI', 'mi', ' ', 'e', 'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'),
  )
  .map(([n, suffix]) => n + suffix);

const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 1, 2, 1.5, 0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 2 ** 64, 1e21, 1e308, -1e308, 5e-324, NaN, Infinity, -Infinity, 288, 289, 65535, 65536),
);

/** Every field name virtnode's schema knows, and some KubeVirt names it does not implement. */
const FIELD_NAMES = [...new Set(Object.values(SCHEMA).flatMap((t) => Object.keys(t)))];
const OTHER_KUBEVIRT_NAMES = ['dataVolumeTemplates', 'affinity', 'tolerations', 'sata', 'cdrom', 'lun', 'multus', 'sriov', 'efi', 'secureBoot', 'dedicatedCpuPlacement', 'hugepages', 'ownerReferences', 'finalizers', 'gpus', 'filesystems', 'dataVolume', 'persistentVolumeClaim', 'secret', 'configMap'];
export const hostileKey: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...FIELD_NAMES, ...OTHER_KUBEVIRT_NAMES), hostileString);

const leaf: fc.Arbitrary<unknown> = fc.oneof(hostileString, quantityText, hostileNumber, fc.boolean(), fc.constant(null));

/** Any JSON value (and the numbers YAML has beyond JSON: NaN, ±Infinity, -0), nested a little. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    leaf,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 3, noNullPrototype: true }),
  ),
})).value;

/** Every value and subtree of the seeds, and valid-looking pieces they lack: what a near-valid edit puts somewhere. */
const POOL: unknown[] = (() => {
  const out: unknown[] = [];
  const walk = (v: unknown): void => {
    out.push(v);
    if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) walk(x);
  };
  SEEDS.forEach(walk);
  out.push(
    '64M', '1Gi', '0.5Gi', '1e9', 67108864, '1Pi', '4Pi', '2Pi', '1M', '999k', '0', '1', '500m', '288', 4, 2 ** 31 - 1,
    'virtio', 'sata', 'scsi', 'none', 'writethrough', 'writeback', 'e1000', 'igb', 'host-passthrough', 'qemu64', 'host', 'pc-q35-2.4',
    'Always', 'Halted', 'Manual', 'Once', 'WaitAsReceiver', 'aa-bb-cc-dd-ee-ff', '02:00:00:00:00:00', '01:00:5e:00:00:01', '10.0.2.0/30', '10.244.0.0/16',
    { name: 'hd', hostDisk: { path: '/var/lib/vn/hd/disk.img', type: 'DiskOrCreate', capacity: '1Gi' } },
    { name: 'hd', disk: {} },
    { name: 'ci', cloudInitNoCloud: { userDataBase64: 'I2Nsb3VkLWNvbmZpZwo=', networkData: 'version: 2' } },
    { name: 'extra', emptyDisk: { capacity: '1Mi' } },
    { name: 'cd', cdrom: {} },
    { name: 'net2', pod: {} },
    { name: 'net2', bridge: {} },
    { efi: { secureBoot: false } },
    { container: { image: 'registry:5000/k:1', kernelPath: '/k' }, kernelArgs: 'console=ttyS0' },
  );
  return out;
})();

// ---- object mutations -----------------------------------------------------

/** What one edit does. `at` picks a target modulo the targets there are. */
export type Mutation =
  | { op: 'set'; at: number; value: unknown }
  | { op: 'pool'; at: number; pick: number }
  | { op: 'delete'; at: number }
  | { op: 'add'; at: number; key: string; value: unknown }
  | { op: 'dup'; at: number; item: number }
  | { op: 'user'; slot: number; at: number; value: string };

/** A string from `alphabet`, `min` to `max` characters. */
function from(alphabet: string, min: number, max: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max });
}

const DNS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const dnsLabel = fc.oneof(
  fc.tuple(from(DNS, 1, 1), from(DNS + '-', 0, 61), from(DNS, 0, 1)).map(([a, b, c]) => a + b + c),
  fc.constantFrom('a', '0', 'a'.repeat(63), '1abc', 'a-b'),
);
const dnsSubdomain = fc.array(dnsLabel, { minLength: 1, maxLength: 4 }).map((l) => l.join('.').slice(0, 253).replace(/[-.]+$/, '') || 'a');
/** What firmware.serial and kernelArgs take: anything without control characters (serial) or NUL (kernelArgs). */
const QEMU_HOSTILE = fc.oneof(
  fc.array(fc.constantFrom(',', ',,', '=', ',uuid=00000000-0000-0000-0000-000000000001', ',serial=x', ',type=2', ' ', '"', "'", '\\', '{"a":1}', 'é', '😀', '\u202e', '\ud800', 'x', '-S', ' -daemonize', 'console=ttyS0', 'nofoo', ','.repeat(7)), { minLength: 1, maxLength: 8 }).map((a) => a.join('')),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);
const hex = (n: number) => from('0123456789abcdefABCDEF', n, n);
const uuid = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((p) => p.join('-'));
const mac = fc
  .tuple(fc.integer({ min: 0, max: 127 }).map((b) => b * 2), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 5, maxLength: 5 }), fc.constantFrom(':', '-', '.'), fc.boolean())
  .map(([first, rest, sep, upper]) => {
    const hexes = [first, ...rest].map((b) => b.toString(16).padStart(2, '0'));
    const text = sep === '.' ? [0, 2, 4].map((i) => hexes[i]! + hexes[i + 1]!).join('.') : hexes.join(sep);
    return upper ? text.toUpperCase() : text;
  });
/** An absolute, normal path with QEMU's separators and odd characters in its names. */
const absPath = fc.array(fc.oneof(from(DNS, 1, 8), QEMU_HOSTILE.map((s) => s.replace(/[\0/]/g, '').replace(/^\.{1,2}$/, 'x') || 'x')), { minLength: 1, maxLength: 4 }).map((parts) => '/' + parts.join('/'));
const diskSerial = from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-', 1, 256);
const ifaceName = from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-', 1, 70);
const kernelArgs = fc.oneof(QEMU_HOSTILE, fc.string({ unit: 'binary', maxLength: 64 }).map((s) => s.replaceAll('\0', '')), fc.constant('x'.repeat(2047)));

/**
 * Where a user's string reaches the launcher, relative to the VMI spec (`spec` of a
 * VMI, `spec.template.spec` of a VM) unless it starts at the object's root, each
 * with values admission takes but QEMU's syntax would not (commas, '=', quotes,
 * unicode, a leading '-'): what the argv check follows to QEMU. `[]` takes the
 * at-th list item; a field ending in '=' renames a disk and its volume (or an
 * interface and its network) together.
 */
const USER_SLOTS: readonly { slot: string; valid: fc.Arbitrary<string> }[] = [
  { slot: '/metadata.name', valid: dnsSubdomain },
  { slot: '/metadata.namespace', valid: dnsLabel },
  { slot: 'domain.firmware.serial', valid: QEMU_HOSTILE.map((s) => s.replace(/[\0-\x1f\x7f]/g, '')) },
  { slot: 'domain.firmware.uuid', valid: uuid },
  { slot: 'domain.firmware.kernelBoot.kernelArgs', valid: kernelArgs },
  { slot: 'domain.firmware.kernelBoot.container.kernelPath', valid: absPath },
  { slot: 'domain.firmware.kernelBoot.container.initrdPath', valid: absPath },
  { slot: 'domain.devices.disks[].serial', valid: diskSerial },
  { slot: 'domain.devices.disks[].name=', valid: dnsLabel },
  { slot: 'domain.devices.interfaces[].name=', valid: ifaceName },
  { slot: 'domain.devices.interfaces[].macAddress', valid: mac },
  { slot: 'volumes[].containerDisk.path', valid: absPath },
  { slot: 'volumes[].cloudInitNoCloud.userData', valid: QEMU_HOSTILE },
  { slot: 'volumes[].hostDisk.path', valid: absPath },
  { slot: 'domain.cpu.model', valid: fc.constantFrom('qemu64', 'host-model', 'host-passthrough', 'EPYC-IBPB', 'Skylake-Client-v4', 'max', '486') },
  { slot: 'hostname', valid: dnsLabel },
];

/** A user string set at a slot: mostly one admission takes, sometimes anything. */
const userMutation: fc.Arbitrary<Mutation> = fc.nat(USER_SLOTS.length - 1).chain((slot) =>
  fc.record({ op: fc.constant('user' as const), slot: fc.constant(slot), at: fc.nat(), value: fc.oneof({ weight: 3, arbitrary: USER_SLOTS[slot]!.valid }, hostileString) }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: hostileValue }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('pool' as const), at: fc.nat(), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), at: fc.nat(), key: hostileKey, value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dup' as const), at: fc.nat(), item: fc.nat() }) },
  { weight: 4, arbitrary: userMutation },
);

/** Edits of anything, few or several; or only user strings set (mostly accepted: the argv check's cases). */
const mutations: fc.Arbitrary<Mutation[]> = fc.oneof(
  { weight: 3, arbitrary: fc.array(mutation, { maxLength: 2 }) },
  { weight: 2, arbitrary: fc.array(mutation, { minLength: 3, maxLength: 6 }) },
  { weight: 4, arbitrary: fc.array(userMutation, { minLength: 1, maxLength: 5 }) },
);

function isContainer(v: unknown): v is Json | unknown[] {
  return typeof v === 'object' && v !== null;
}

/** Every member at any depth, depth first. */
function members(o: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (!isContainer(o)) return out;
  for (const k of Object.keys(o)) {
    const key = Array.isArray(o) ? Number(k) : k;
    out.push([...prefix, key]);
    members((o as Json)[k], [...prefix, key], out);
  }
  return out;
}

function containers(o: unknown, pred: (v: unknown) => boolean): Path[] {
  return [[] as Path, ...members(o)].filter((p) => pred(getAt(o, p)));
}

export function getAt(o: unknown, path: Path): unknown {
  let cur = o;
  for (const k of path) cur = isContainer(cur) ? (cur as Json)[k as string] : undefined;
  return cur;
}

function setAt(o: Json, path: Path, value: unknown): void {
  let cur: any = o;
  for (const k of path.slice(0, -1)) cur = cur[k];
  // defineProperty: a key "__proto__" becomes a member, as JSON.parse and YAML make it.
  Object.defineProperty(cur, path[path.length - 1]!, { value, writable: true, enumerable: true, configurable: true });
}

function deleteAt(o: Json, path: Path): void {
  let cur: any = o;
  for (const k of path.slice(0, -1)) cur = cur[k];
  const last = path[path.length - 1]!;
  if (Array.isArray(cur)) cur.splice(last as number, 1);
  else delete cur[last];
}

/** The object at `path` below `o`, made (as `{}`) where missing or not an object. */
function objectAt(o: Json, path: string[]): Json {
  let cur = o;
  for (const k of path) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) setAt(cur, [k], {});
    cur = cur[k];
  }
  return cur;
}

function userEdit(o: Json, slot: string, at: number, value: string): void {
  const rooted = slot.startsWith('/');
  const base: string[] = rooted ? [] : o.kind === 'VirtualMachine' ? ['spec', 'template', 'spec'] : ['spec'];
  if (slot.includes('kernelBoot')) {
    // Kernel arguments and an initrd need a kernel to go with.
    const container = objectAt(o, [...base, 'domain', 'firmware', 'kernelBoot', 'container']);
    container.image ??= 'registry:5000/kernel-boot:devel';
    container.kernelPath ??= '/boot/vmlinuz';
  }
  const rel = (rooted ? slot.slice(1) : slot).split('.');
  const list = rel.findIndex((k) => k.endsWith('[]'));
  if (list < 0) {
    setAt(objectAt(o, [...base, ...rel.slice(0, -1)]), [rel[rel.length - 1]!], value);
    return;
  }
  const items = getAt(o, [...base, ...rel.slice(0, list), rel[list]!.slice(0, -2)]);
  if (!Array.isArray(items) || items.length === 0) return;
  const item = items[at % items.length];
  if (!isContainer(item) || Array.isArray(item)) return;
  const tail = rel.slice(list + 1);
  const field = tail[tail.length - 1]!;
  if (field.endsWith('=')) {
    // Rename the pair: a disk and its volume, an interface and its network.
    const old = (item as Json).name;
    (item as Json).name = value;
    const partner = getAt(o, [...base, rel[list] === 'disks[]' ? 'volumes' : 'networks']);
    if (Array.isArray(partner)) for (const p of partner) if (isContainer(p) && (p as Json).name === old) (p as Json).name = value;
    return;
  }
  if (tail[0] === 'hostDisk') {
    // The volume becomes a hostDisk (its only source), on a file made when missing.
    for (const k of Object.keys(item)) if (k !== 'name') delete (item as Json)[k];
    (item as Json).hostDisk = { path: value, type: 'DiskOrCreate', capacity: '1Gi' };
    return;
  }
  setAt(objectAt(item as Json, tail.slice(0, -1)), [field], value);
}

/** `seed` with `muts` applied in order, on a copy. */
export function mutate(seed: Json, muts: readonly Mutation[]): Json {
  const o = structuredClone(seed);
  for (const m of muts) {
    if (m.op === 'user') {
      userEdit(o, USER_SLOTS[m.slot]!.slot, m.at, m.value);
      continue;
    }
    if (m.op === 'add') {
      const objs = containers(o, (v) => isContainer(v) && !Array.isArray(v));
      setAt(o, [...objs[m.at % objs.length]!, m.key], m.value);
      continue;
    }
    if (m.op === 'dup') {
      const lists = containers(o, (v) => Array.isArray(v) && v.length > 0);
      if (lists.length === 0) continue;
      const list = getAt(o, lists[m.at % lists.length]!) as unknown[];
      list.push(structuredClone(list[m.item % list.length]));
      continue;
    }
    const all = members(o);
    if (all.length === 0) continue;
    const path = all[m.at % all.length]!;
    if (m.op === 'delete') deleteAt(o, path);
    else setAt(o, path, m.op === 'set' ? m.value : structuredClone(POOL[m.pick % POOL.length]));
  }
  return o;
}

// ---- manifests as text ----------------------------------------------------

/** YAML's syntax and the tags and scalars a YAML 1.1 or 1.2 reader may treat specially. */
const YAML_TOKENS = [
  '\n', ' ', '  ', '\t', '-', '- ', ':', ': ', '? ', '{', '}', '[', ']', ',', '&a ', '*a', '*b', '&b ', '!!str ', '!!binary ', '!!set ', '!!omap ',
  '!!pairs ', '!!map ', '!!seq ', '!!int ', '!!float ', '!!null ', '!!bool ', '!!timestamp ', '!local ', '!<tag:yaml.org,2002:str> ', '%YAML 1.1\n',
  '%TAG ! tag:x,2024:\n', '---\n', '...\n', '|', '>-', '"', "'", '#', '\\', '\\u0000', '\\x00', '\\ud800', '\0', '\ufeff', '<<: *a\n',
  'kind: VirtualMachine\n', 'kind: VirtualMachineInstance\n', 'apiVersion: kubevirt.io/v1\n', 'spec:\n', 'metadata: {name: x}\n', '~', 'null',
  '.inf', '.nan', '0x1F', '0o17', '1e400', '-0', '1_000', 'yes', 'on', '2001-12-14t21:59:43.10-05:00', 'é', '😀', '\r\n', '\u2028', '\u0085',
  '__proto__: ', 'constructor: ',
];
const yamlToken = fc.oneof(fc.constantFrom(...YAML_TOKENS), fc.constantFrom(...PIECES), fc.string({ unit: 'binary', maxLength: 6 }));

/** The texts a text mutation starts from: each seed as written, as JSON and as the yaml library writes it, and a multi-document one. */
const BASE_TEXTS: readonly string[] = [...SEED_TEXTS, MULTI_DOC_TEXT, ...SEEDS.map((s) => JSON.stringify(s, null, 1)), ...SEEDS.map((s) => stringify(s))];

type TextEdit = { op: 'insert' | 'replace' | 'delete' | 'dupLine'; pos: number; len: number; token: string };
const textEdit: fc.Arbitrary<TextEdit> = fc.record({ op: fc.constantFrom('insert', 'replace', 'delete', 'dupLine'), pos: fc.nat(), len: fc.nat(24), token: yamlToken });

function editText(text: string, edits: readonly TextEdit[]): string {
  let t = text;
  for (const e of edits) {
    const pos = t.length === 0 ? 0 : e.pos % (t.length + 1);
    if (e.op === 'insert') t = t.slice(0, pos) + e.token + t.slice(pos);
    else if (e.op === 'replace') t = t.slice(0, pos) + e.token + t.slice(pos + e.len);
    else if (e.op === 'delete') t = t.slice(0, pos) + t.slice(pos + e.len);
    else {
      const start = t.lastIndexOf('\n', pos - 1) + 1;
      const end = t.indexOf('\n', pos);
      const line = t.slice(start, end < 0 ? t.length : end + 1);
      t = t.slice(0, start) + line + (line.endsWith('\n') ? '' : '\n') + t.slice(start);
    }
  }
  return t;
}

/** Anchors aliased `width` times per level, `depth` levels deep: the "billion laughs". */
function aliasBomb(width: number, depth: number, where: number): string {
  const lines = ['apiVersion: kubevirt.io/v1', 'kind: VirtualMachineInstance', 'metadata: {name: bomb}', 'a0: &a0 [x, y]'];
  for (let i = 1; i <= depth; i++) lines.push(`a${i}: &a${i} [${Array(width).fill(`*a${i - 1}`).join(', ')}]`);
  lines.push(`spec: {domain: {devices: {}, memory: {guest: 64M}}, nodeSelector: *a${where % (depth + 1)}}`);
  return lines.join('\n');
}

function deepNest(depth: number, style: number): string {
  const head = 'apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: deep}\nspec: ';
  if (style === 0) return head + '['.repeat(depth) + ']'.repeat(depth);
  if (style === 1) return head + '{a: '.repeat(depth) + '1' + '}'.repeat(depth);
  let t = head + '\n';
  for (let i = 1; i <= depth; i++) t += ' '.repeat(i) + 'a:\n';
  return t;
}

/** YAML 1.1's tags beyond JSON's types (the yaml library knows them), a local tag, and core tags on the wrong kind of node. */
const TAGS = ['!!omap', '!!set', '!!pairs', '!!binary', '!!timestamp', '!local', '!!str', '!!int', '!!float', '!!bool', '!!null', '!!map', '!!seq'] as const;

/** A seed written as YAML with the value at one path given a tag (and the shape that tag wants). */
function taggedText(seed: Json, at: number, tag: (typeof TAGS)[number]): string {
  const doc = new Document(seed);
  const all = members(seed);
  const path = all[at % all.length]!;
  const value = getAt(seed, path);
  let node;
  if (tag === '!!omap' || tag === '!!pairs') {
    // An ordered map is a list of one-member maps.
    node = doc.createNode(isContainer(value) && !Array.isArray(value) ? Object.entries(value).map(([k, v]) => ({ [k]: v })) : value);
  } else if (tag === '!!binary' && typeof value === 'string') {
    node = doc.createNode(Buffer.from(value).toString('base64'));
  } else {
    node = doc.createNode(value);
  }
  if (isNode(node)) node.tag = tag.startsWith('!!') ? `tag:yaml.org,2002:${tag.slice(2)}` : tag;
  doc.setIn(path, node);
  return doc.toString();
}

/** Manifest text: a seed's text edited, a seed with a tagged value, a token soup, an alias bomb, or deep nesting. */
export const manifestText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.nat(BASE_TEXTS.length - 1), fc.array(textEdit, { minLength: 1, maxLength: 6 })).map(([i, edits]) => editText(BASE_TEXTS[i]!, edits)) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(SEEDS.length - 1), fc.nat(), fc.constantFrom(...TAGS)).map(([seed, at, tag]) => taggedText(SEEDS[seed]!, at, tag)) },
  { weight: 2, arbitrary: fc.array(yamlToken, { maxLength: 40 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 8 }), fc.nat()).map(([w, d, at]) => aliasBomb(w, d, at)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 400 }), fc.nat(2)).map(([d, s]) => deepNest(d, s)) },
);

// ---- cases ----------------------------------------------------------------

/** What the handler prepared beyond the spec: choices the launcher must take all of. */
export interface NodeChoices {
  /** A containerDisk's base image opened explicitly under its overlay. */
  backing: boolean;
  /** The disk directory takes O_DIRECT. */
  directIo: boolean;
  /** The node's SMBIOS strings (--smbios: at most 255 bytes, no control characters). */
  smbios?: Record<string, string>;
}

// What handler/config.ts takes (an admin's strings from flags or a file, so well-formed UTF-16).
const smbiosValue = hostileString.filter((s) => Buffer.byteLength(s) <= 255 && !/[\0-\x1f]/.test(s) && Buffer.from(s).toString() === s);
const nodeChoices: fc.Arbitrary<NodeChoices> = fc.record(
  {
    backing: fc.boolean(),
    directIo: fc.boolean(),
    smbios: fc.record({ manufacturer: smbiosValue, product: smbiosValue, version: smbiosValue, sku: smbiosValue, family: smbiosValue }, { requiredKeys: [] }),
  },
  { requiredKeys: ['backing', 'directIo'] },
);

export type FuzzCase =
  | { kind: 'object'; seed: number; mutations: Mutation[]; format: 'json' | 'yaml'; node: NodeChoices }
  | { kind: 'text'; text: string; node: NodeChoices };

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('object' as const),
      seed: fc.nat(SEEDS.length - 1),
      mutations,
      format: fc.constantFrom('json' as const, 'yaml' as const),
      node: nodeChoices,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('text' as const), text: manifestText, node: nodeChoices }) },
);

/** A mutated object as manifest text: JSON, or YAML as the yaml library writes it (which keeps NaN and ±Infinity). */
export function manifestOf(o: Json, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(o) : stringify(o);
}
