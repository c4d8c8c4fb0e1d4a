// A qcow2 overlay written directly: the header, one refcount table and block, and an
// empty L1 table, over a backing file of a known size. `qemu-img create -b` makes the
// same file (less its optional feature-name table) but costs a process and ~15 ms on
// every VM start; this costs one write. Layout per QEMU's docs/interop/qcow2.txt,
// version 3, 64 KiB clusters, 16-bit refcounts:
//
//   cluster 0  header, header extensions (backing format, end), backing file name
//   cluster 1  refcount table: one entry, the block in cluster 2
//   cluster 2  refcount block: clusters 0..n-1 used once each
//   cluster 3+ L1 table, all zero: every read falls through to the backing file

import { open } from 'node:fs/promises';
import { VirtnodeError } from '../../proto/errors.js';

const CLUSTER_BITS = 16;
const CLUSTER = 1 << CLUSTER_BITS;
/** Bytes one L2 table maps: CLUSTER / 8 entries of one cluster each (512 MiB). */
const L2_COVERS = (CLUSTER / 8) * CLUSTER;
const HEADER_LENGTH = 112;
const EXT_BACKING_FORMAT = 0xe2792aca;
/** The spec's limit on a backing file name. */
const MAX_BACKING_NAME = 1023;
/** Largest disk written here: its L1 table is 256 KiB (qemu-img takes anything larger). */
const MAX_DIRECT_SIZE = 2 ** 44;

/** Whether qcow2OverlayBytes can describe a disk of `virtualSize` bytes. */
export function fitsDirectOverlay(virtualSize: number): boolean {
  return Number.isSafeInteger(virtualSize) && virtualSize > 0 && virtualSize % 512 === 0 && virtualSize <= MAX_DIRECT_SIZE;
}

export interface Qcow2OverlaySpec {
  /** The guest-visible size: the backing file's virtual size, a multiple of 512. */
  virtualSize: number;
  /** Absolute path of the backing file, as QEMU will open it. */
  backingFile: string;
  backingFormat: 'raw' | 'qcow2';
}

/** The whole overlay file as bytes (~192 KiB, mostly zeros). */
export function qcow2OverlayBytes(spec: Qcow2OverlaySpec): Buffer {
  const { virtualSize, backingFile, backingFormat } = spec;
  if (!fitsDirectOverlay(virtualSize)) {
    throw new VirtnodeError('VN_IMAGE', `qcow2 overlay: virtual size ${virtualSize} is not a positive multiple of 512 up to ${MAX_DIRECT_SIZE}`);
  }
  const name = Buffer.from(backingFile, 'utf8');
  if (name.length === 0 || name.length > MAX_BACKING_NAME) throw new VirtnodeError('VN_IMAGE', `qcow2 overlay: backing file name of ${name.length} bytes (1 to ${MAX_BACKING_NAME})`);
  const l1Size = Math.ceil(virtualSize / L2_COVERS);
  // At most 4 + 3 clusters in use: one refcount block (32768 entries) covers them.
  const clusters = 3 + Math.ceil((l1Size * 8) / CLUSTER);

  const l1Offset = 3 * CLUSTER;
  const out = Buffer.alloc(l1Offset + l1Size * 8);
  // Header extensions start right after the header; each is type, length, data padded to 8.
  const fmt = Buffer.from(backingFormat, 'ascii');
  const extEnd = HEADER_LENGTH + 8 + Math.ceil(fmt.length / 8) * 8;
  const nameOffset = extEnd + 8;

  out.write('QFI\xfb', 0, 'latin1');
  out.writeUInt32BE(3, 4); // version
  out.writeBigUInt64BE(BigInt(nameOffset), 8);
  out.writeUInt32BE(name.length, 16);
  out.writeUInt32BE(CLUSTER_BITS, 20);
  out.writeBigUInt64BE(BigInt(virtualSize), 24);
  out.writeUInt32BE(0, 32); // no encryption
  out.writeUInt32BE(l1Size, 36);
  out.writeBigUInt64BE(BigInt(l1Offset), 40);
  out.writeBigUInt64BE(BigInt(CLUSTER), 48); // refcount table offset
  out.writeUInt32BE(1, 56); // refcount table clusters
  // nb_snapshots, snapshots_offset, incompatible/compatible/autoclear features: 0.
  out.writeUInt32BE(4, 96); // refcount_order: 16-bit refcounts
  out.writeUInt32BE(HEADER_LENGTH, 100);
  // Byte 104: compression type 0 (zlib); the rest of the header is padding.

  out.writeUInt32BE(EXT_BACKING_FORMAT, HEADER_LENGTH);
  out.writeUInt32BE(fmt.length, HEADER_LENGTH + 4);
  fmt.copy(out, HEADER_LENGTH + 8);
  // The end-of-extensions marker (type 0, length 0) is already zeros at extEnd.
  name.copy(out, nameOffset);

  out.writeBigUInt64BE(BigInt(2 * CLUSTER), CLUSTER); // refcount table → block
  for (let c = 0; c < clusters; c++) out.writeUInt16BE(1, 2 * CLUSTER + 2 * c);
  return out;
}

/** Writes a new overlay at `path` (which must not exist: O_EXCL). */
export async function writeQcow2Overlay(path: string, spec: Qcow2OverlaySpec): Promise<void> {
  const bytes = qcow2OverlayBytes(spec);
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(bytes);
  } finally {
    await fh.close();
  }
}
