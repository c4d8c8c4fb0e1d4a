// ISO 9660 images for cloudInitNoCloud ("cidata") and cloudInitConfigDrive ("config-2")
// volumes, written in-process. KubeVirt's virt-launcher runs `xorrisofs -volid cidata
// -joliet -rock -partition_cyl_align on DIR` (genisoimage before it) at every VM start;
// a fork+exec of a C program per start is what this module saves, and the node image
// needs no ISO tool.
//
// Who reads which part of the image:
// - blkid reads the volume id of the Primary (and Joliet) Volume Descriptor as the
//   LABEL, and cloud-init finds its drive by LABEL=cidata / LABEL=config-2. The id is
//   written as given, lower case kept, as genisoimage and xorrisofs write it (ISO 9660
//   wants d-characters there; every reader takes it as it is).
// - Linux's isofs reads the primary hierarchy with Rock Ridge: the SUSP "SP" and "ER"
//   entries in the root's "." record switch it on, "NM" gives each entry its real name
//   (meta-data, user_data, meta_data.json) and "PX" its mode. Without the ER entry
//   Linux would fall back to Joliet, and without both to the 8.3 names below.
// - Windows (cloudbase-init) and readers without Rock Ridge read the Joliet hierarchy:
//   the same real names in UCS-2, no ";1" (as both tools write it).
// - The primary names themselves are ISO 9660 level 1 (NAME.EXT;1, upper case, 8.3),
//   made unique per directory, for whatever reads nothing else.
//
// Layout (2048-byte sectors): 0-15 system area, 16 PVD, 17 Joliet SVD, 18 terminator,
// then the four path tables, the Rock Ridge ER continuation sector, the primary
// directories, the Joliet directories, the file data (shared by both hierarchies), and
// zeros up to a whole MiB, the size xorrisofs' `-partition_cyl_align on` gives KubeVirt's
// images (block storage and O_DIRECT readers want whole, aligned sizes).

import { VirtnodeError } from '../../proto/errors.js';

export interface IsoFile {
  /** Relative, '/'-separated: `meta-data`, `openstack/latest/user_data`. */
  path: string;
  data: Buffer;
}

export interface IsoOptions {
  /** The volume label: `cidata` or `config-2`. */
  volumeId: string;
  files: IsoFile[];
  /** Every timestamp in the image; given, the image is byte-for-byte reproducible. */
  date?: Date;
}

export class IsoImageError extends VirtnodeError {
  constructor(detail: string) {
    super('VN_INVALID_SPEC', `cloud-init ISO: ${detail}`);
  }
}

const SECTOR = 2048;
const ALIGN_SECTORS = 512; // 1 MiB
// Names safe in all three namings (ISO, Joliet, POSIX); 64 is Joliet's limit, and keeps
// every directory record (with its Rock Ridge entries) under 255 bytes.
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const VOLUME_ID = /^[A-Za-z0-9._-]{1,16}$/; // 16: what the Joliet descriptor's 32 bytes hold
// ISO 9660 allows 8 directory levels; cloud-init needs 3.
const MAX_DEPTH = 8;

// RRIP 1.09 as genisoimage and xorrisofs announce it; Linux only checks that ER exists.
const ER_ID = 'RRIP_1991A';
const ER_DESCRIPTOR = 'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS';
const ER_SOURCE = 'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.';

// A read-only medium: modes say so (mkisofs -r does the same).
const DIR_MODE = 0o040555;
const FILE_MODE = 0o100444;

/** Hierarchy index: 0 primary (ISO names + Rock Ridge), 1 Joliet. */
type H = 0 | 1;

interface Node {
  name: string;
  parent: Node | null; // null only for the root
  data: Buffer | null; // null for a directory
  children: Node[];
  /** Per hierarchy: identifier bytes, children in identifier order, extent, extent size, path table number. */
  id: [Buffer, Buffer];
  kids: [Node[], Node[]];
  lba: [number, number];
  size: [number, number];
  num: [number, number];
}

const isDir = (n: Node): boolean => n.data === null;
const sectors = (bytes: number): number => Math.ceil(bytes / SECTOR);

function node(name: string, parent: Node | null, data: Buffer | null): Node {
  return { name, parent, data, children: [], id: [Buffer.alloc(0), Buffer.alloc(0)], kids: [[], []], lba: [0, 0], size: [0, 0], num: [0, 0] };
}

export function buildIso(opts: IsoOptions): Buffer {
  if (!VOLUME_ID.test(opts.volumeId)) throw new IsoImageError(`volume id ${JSON.stringify(opts.volumeId)} must be 1-16 of A-Z a-z 0-9 . _ -`);
  const date = opts.date ?? new Date();
  const year = date.getUTCFullYear(); // NaN for an invalid Date
  if (!(year >= 1900 && year <= 2155)) throw new IsoImageError(`date ${String(date)} is outside 1900-2155, what a directory record holds`);
  const root = buildTree(opts.files);
  const dirs: [Node[], Node[]] = [[], []];
  const files: Node[] = [];
  nameAll(root, files);
  for (const h of [0, 1] as const) dirs[h] = pathTableOrder(root, h);

  // Sizes first (records do not depend on where things go), then places.
  const ptSize = [pathTableSize(dirs[0], 0), pathTableSize(dirs[1], 1)];
  let next = 19;
  const pt = ptSize.map((size) => {
    const at = { l: next, m: next + sectors(size) };
    next += 2 * sectors(size);
    return at;
  });
  const erLba = next++;
  for (const h of [0, 1] as const) {
    for (const d of dirs[h]) {
      d.size[h] = packRecords(dirRecords(d, h, date, erLba)).length;
      d.lba[h] = next;
      next += d.size[h] / SECTOR;
    }
  }
  for (const f of files) {
    // An empty file points at the sector after the data, as genisoimage does; nothing reads it.
    f.lba[0] = f.lba[1] = next;
    next += sectors(f.data!.length);
  }
  const total = Math.ceil(next / ALIGN_SECTORS) * ALIGN_SECTORS;

  const img = Buffer.alloc(total * SECTOR);
  for (const h of [0, 1] as const) {
    volumeDescriptor(img.subarray((16 + h) * SECTOR), h, opts.volumeId, total, ptSize[h]!, pt[h]!, root, date);
    writePathTable(img, pt[h]!.l * SECTOR, dirs[h], h, 'LE');
    writePathTable(img, pt[h]!.m * SECTOR, dirs[h], h, 'BE');
    for (const d of dirs[h]) packRecords(dirRecords(d, h, date, erLba)).copy(img, d.lba[h] * SECTOR);
  }
  img[18 * SECTOR] = 255; // Volume Descriptor Set Terminator
  img.write('CD001', 18 * SECTOR + 1, 'latin1');
  img[18 * SECTOR + 6] = 1;
  er().copy(img, erLba * SECTOR);
  for (const f of files) f.data!.copy(img, f.lba[0] * SECTOR);
  return img;
}

function buildTree(files: IsoFile[]): Node {
  const root = node('', null, null);
  for (const f of files) {
    const parts = f.path.split('/');
    if (parts.length > MAX_DEPTH) throw new IsoImageError(`${f.path}: deeper than ${MAX_DEPTH} levels`);
    if (f.data.length > 0xffffffff) throw new IsoImageError(`${f.path}: larger than 4 GiB`);
    let dir = root;
    parts.forEach((name, i) => {
      if (!NAME.test(name) || name === '.' || name === '..') {
        throw new IsoImageError(`${JSON.stringify(f.path)}: each name must be 1-64 of A-Z a-z 0-9 . _ -`);
      }
      const last = i === parts.length - 1;
      let n = dir.children.find((c) => c.name === name);
      if (n && (last || !isDir(n))) throw new IsoImageError(`${f.path}: given twice, or both a file and a directory`);
      if (!n) {
        n = node(name, dir, last ? f.data : null);
        dir.children.push(n);
      }
      dir = n;
    });
  }
  return root;
}

/**
 * Gives every node its identifiers: Joliet's is the real name; the primary one is
 * level 1 (d-characters, 8.3, ";1" on files), made unique in its directory by a
 * number at the end of the name part (user-data → USER_DAT.;1, user_data → USER_DA1.;1).
 * Children are visited in real-name order, so the same input always names alike.
 */
function nameAll(dir: Node, files: Node[]): void {
  dir.id = [Buffer.from([0]), Buffer.from([0])]; // the root's; others are overwritten below
  const walk = (d: Node): void => {
    d.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const taken = new Set<string>();
    for (const c of d.children) {
      const dot = isDir(c) ? -1 : c.name.lastIndexOf('.');
      const base = dchars(dot > 0 ? c.name.slice(0, dot) : c.name).slice(0, 8);
      const ext = dot > 0 ? dchars(c.name.slice(dot + 1)).slice(0, 3) : '';
      const full = (b: string): string => (isDir(c) ? b : `${b}.${ext};1`);
      let b = base;
      for (let k = 1; taken.has(full(b)); k++) b = base.slice(0, 8 - String(k).length) + k;
      taken.add(full(b));
      c.id = [Buffer.from(full(b), 'latin1'), ucs2(c.name)];
      if (isDir(c)) walk(c);
      else files.push(c);
    }
    d.kids[0] = [...d.children].sort((a, b) => isoCompare(a.id[0], b.id[0]));
    d.kids[1] = [...d.children].sort((a, b) => Buffer.compare(a.id[1], b.id[1]));
  };
  walk(dir);
}

const dchars = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9_]/g, '_') || '_';

/** ECMA-119 9.3: by name, then extension, each as if padded with spaces. */
function isoCompare(a: Buffer, b: Buffer): number {
  const key = (id: Buffer): string => {
    const [name = '', ext = ''] = id.toString('latin1').replace(/;1$/, '').split('.');
    return name.padEnd(8, ' ') + ext.padEnd(3, ' ');
  };
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function ucs2(s: string): Buffer {
  return Buffer.from(s, 'utf16le').swap16();
}

/** Breadth first, children in identifier order: the path table's required order (ECMA-119 6.9.1). */
function pathTableOrder(root: Node, h: H): Node[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    out[i]!.num[h] = i + 1;
    for (const c of out[i]!.kids[h]) if (isDir(c)) out.push(c);
  }
  return out;
}

function pathTableSize(dirs: Node[], h: H): number {
  return dirs.reduce((sum, d) => sum + 8 + d.id[h].length + (d.id[h].length & 1), 0);
}

function writePathTable(img: Buffer, off: number, dirs: Node[], h: H, endian: 'LE' | 'BE'): void {
  for (const d of dirs) {
    const id = d.id[h];
    img[off] = id.length;
    if (endian === 'LE') {
      img.writeUInt32LE(d.lba[h], off + 2);
      img.writeUInt16LE((d.parent ?? d).num[h], off + 6);
    } else {
      img.writeUInt32BE(d.lba[h], off + 2);
      img.writeUInt16BE((d.parent ?? d).num[h], off + 6);
    }
    id.copy(img, off + 8);
    off += 8 + id.length + (id.length & 1);
  }
}

/** A directory's records: ".", "..", then its entries in identifier order. */
function dirRecords(d: Node, h: H, date: Date, erLba: number): Buffer[] {
  const parent = d.parent ?? d;
  // Rock Ridge starts in the root's "." record: SP, which SUSP wants first in it, then CE
  // pointing to the ER entry, which is too big to fit beside them (a record holds 255 bytes).
  const isRoot = d.parent === null;
  const su = (n: Node, kind: 'root' | 'dot' | 'named'): Buffer => {
    if (h === 1) return Buffer.alloc(0);
    const name = Buffer.concat([Buffer.from([0]), Buffer.from(n.name, 'latin1')]);
    return Buffer.concat([
      ...(kind === 'root' ? [sp()] : []),
      rr(kind === 'named' ? 0x09 : 0x01),
      ...(kind === 'named' ? [susp('NM', name)] : []),
      px(n),
      ...(kind === 'root' ? [ce(erLba, er().length)] : []),
    ]);
  };
  return [
    record(d.lba[h], d.size[h], true, Buffer.from([0]), su(d, isRoot ? 'root' : 'dot'), date),
    record(parent.lba[h], parent.size[h], true, Buffer.from([1]), su(parent, 'dot'), date),
    ...d.kids[h].map((c) =>
      isDir(c)
        ? record(c.lba[h], c.size[h], true, c.id[h], su(c, 'named'), date)
        : record(c.lba[h], c.data!.length, false, c.id[h], su(c, 'named'), date)),
  ];
}

/** Lays records into sectors; one never crosses a sector boundary (ECMA-119 6.8.1.1). */
function packRecords(records: Buffer[]): Buffer {
  const out: Buffer[] = [];
  let used = 0;
  for (const r of records) {
    if ((used % SECTOR) + r.length > SECTOR) {
      out.push(Buffer.alloc(SECTOR - (used % SECTOR)));
      used += SECTOR - (used % SECTOR);
    }
    out.push(r);
    used += r.length;
  }
  out.push(Buffer.alloc(sectors(Math.max(used, 1)) * SECTOR - used));
  return Buffer.concat(out);
}

/** A directory record (ECMA-119 9.1); `su` is its System Use area (Rock Ridge). */
function record(lba: number, size: number, dir: boolean, id: Buffer, su: Buffer, date: Date): Buffer {
  const idEnd = 33 + id.length + ((id.length & 1) ^ 1); // the identifier is padded to end even
  const len = idEnd + su.length + (su.length & 1);
  const r = Buffer.alloc(len);
  r[0] = len;
  both32(r, 2, lba);
  both32(r, 10, size);
  recordDate(date).copy(r, 18);
  r[25] = dir ? 2 : 0;
  both16(r, 28, 1); // volume sequence number
  r[32] = id.length;
  id.copy(r, 33);
  su.copy(r, idEnd);
  return r;
}

function susp(sig: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(sig, 'latin1'), Buffer.from([4 + body.length, 1]), body]);
}
const sp = (): Buffer => susp('SP', Buffer.from([0xbe, 0xef, 0]));
// RRIP 1.09 "RR": which RRIP entries follow (0x01 PX, 0x08 NM). Linux ignores NM without it set.
const rr = (flags: number): Buffer => susp('RR', Buffer.from([flags]));

function ce(lba: number, length: number): Buffer {
  const b = Buffer.alloc(24);
  both32(b, 0, lba);
  both32(b, 8, 0);
  both32(b, 16, length);
  return susp('CE', b);
}

function px(n: Node): Buffer {
  const b = Buffer.alloc(32);
  const subdirs = n.children.filter(isDir).length;
  both32(b, 0, isDir(n) ? DIR_MODE : FILE_MODE);
  both32(b, 8, isDir(n) ? 2 + subdirs : 1); // nlink: a directory's "." and its subdirectories' ".."
  both32(b, 16, 0); // uid
  both32(b, 24, 0); // gid
  return susp('PX', b);
}

function er(): Buffer {
  const [id, des, src] = [ER_ID, ER_DESCRIPTOR, ER_SOURCE].map((s) => Buffer.from(s, 'latin1')) as [Buffer, Buffer, Buffer];
  return susp('ER', Buffer.concat([Buffer.from([id.length, des.length, src.length, 1]), id, des, src]));
}

/** The Primary (h 0) or Joliet Supplementary (h 1) Volume Descriptor, ECMA-119 8.4/8.5. */
function volumeDescriptor(vd: Buffer, h: H, volumeId: string, total: number, ptSize: number, pt: { l: number; m: number }, root: Node, date: Date): void {
  vd[0] = h === 0 ? 1 : 2;
  vd.write('CD001', 1, 'latin1');
  vd[6] = 1;
  text(vd, 8, 32, '', h); // system id
  text(vd, 40, 32, volumeId, h);
  both32(vd, 80, total);
  if (h === 1) vd.write('%/E', 88, 'latin1'); // Joliet, UCS-2 level 3
  both16(vd, 120, 1); // volume set size
  both16(vd, 124, 1); // volume sequence number
  both16(vd, 128, SECTOR);
  both32(vd, 132, ptSize);
  vd.writeUInt32LE(pt.l, 140);
  vd.writeUInt32BE(pt.m, 148);
  // The root's record here has no System Use area (34 bytes).
  record(root.lba[h], root.size[h], true, Buffer.from([0]), Buffer.alloc(0), date).copy(vd, 156);
  text(vd, 190, 813 - 190, '', h); // volume set, publisher, preparer, application, three file ids
  const stamp = decDate(date);
  stamp.copy(vd, 813); // creation
  stamp.copy(vd, 830); // modification
  decDate(null).copy(vd, 847); // expiration: none
  decDate(null).copy(vd, 864); // effective: at once
  vd[881] = 1; // file structure version
}

/** A descriptor text field, space-padded: bytes in the primary, UCS-2 big endian in Joliet. */
function text(b: Buffer, off: number, len: number, s: string, h: H): void {
  const pad = h === 0 ? Buffer.from(' ') : Buffer.from([0, 0x20]);
  b.fill(pad, off, off + len);
  (h === 0 ? Buffer.from(s, 'latin1') : ucs2(s)).copy(b, off);
}

/** 17-byte "YYYYMMDDHHMMSScc" + offset, in UTC; null is "not specified". */
function decDate(d: Date | null): Buffer {
  const b = Buffer.alloc(17);
  if (d === null) {
    b.write('0'.repeat(16), 0, 'latin1');
    return b;
  }
  const p = (v: number, w = 2): string => String(v).padStart(w, '0');
  const cs = Math.floor(d.getUTCMilliseconds() / 10);
  b.write(`${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(cs)}`, 0, 'latin1');
  return b; // byte 16, the offset from GMT in 15-minute units, stays 0
}

/** 7-byte directory record date, in UTC. */
function recordDate(d: Date): Buffer {
  return Buffer.from([d.getUTCFullYear() - 1900, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), 0]);
}

// ISO 9660 writes most numbers twice, little endian then big endian ("both-byte order").
function both16(b: Buffer, off: number, v: number): void {
  b.writeUInt16LE(v, off);
  b.writeUInt16BE(v, off + 2);
}
function both32(b: Buffer, off: number, v: number): void {
  b.writeUInt32LE(v, off);
  b.writeUInt32BE(v, off + 4);
}
