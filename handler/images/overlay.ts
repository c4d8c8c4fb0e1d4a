// Per-VM writable disks over the shared, read-only bases: a qcow2 overlay for a
// containerDisk, an empty qcow2 for an emptyDisk. qemu-img is run with an argv
// array, never a shell; every path is absolute, so none can pass for an option.

import { execFile } from 'node:child_process';
import { realpath, rm, stat } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { AlreadyExistsError, VirtnodeError } from '../../proto/errors.js';
import type { DiskFormat } from './store.js';
import { fitsDirectOverlay, writeQcow2Overlay } from './qcow2.js';

const QEMU_IMG = process.env.VIRTNODE_QEMU_IMG ?? 'qemu-img';
const QEMU_IMG_TIMEOUT_MS = 60_000;
const BASE_FORMATS: ReadonlySet<string> = new Set(['raw', 'qcow2']);

export interface ImageInfo {
  filename: string;
  format: string;
  virtualSize: number;
  backingFilename?: string;
  fullBackingFilename?: string;
  backingFormat?: string;
  /** qcow2 with an external data file: its content lives in another file. */
  dataFile?: string;
}

export interface Overlay {
  path: string;
  format: 'qcow2';
  backing: { path: string; format: DiskFormat };
}

function qemuImg(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(QEMU_IMG, args, { timeout: QEMU_IMG_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const detail = (stderr || err.message).trim().replace(/^qemu-img: /, '');
        reject(new VirtnodeError('VN_IMAGE', `qemu-img ${args[0]}: ${detail}`, { cause: err }));
      } else {
        resolve(stdout);
      }
    });
  });
}

function toInfo(j: Record<string, unknown>): ImageInfo {
  const info: ImageInfo = {
    filename: String(j.filename ?? ''),
    format: String(j.format ?? ''),
    virtualSize: Number(j['virtual-size'] ?? 0),
  };
  if (typeof j['backing-filename'] === 'string') info.backingFilename = j['backing-filename'];
  if (typeof j['full-backing-filename'] === 'string') info.fullBackingFilename = j['full-backing-filename'];
  if (typeof j['backing-filename-format'] === 'string') info.backingFormat = j['backing-filename-format'];
  const fs = j['format-specific'] as { data?: Record<string, unknown> } | undefined;
  if (typeof fs?.data?.['data-file'] === 'string') info.dataFile = fs.data['data-file'];
  return info;
}

function requireAbsolute(what: string, path: string): void {
  if (!isAbsolute(path)) throw new VirtnodeError('VN_INVALID_SPEC', `${what} ${JSON.stringify(path)} must be an absolute path`);
}

/**
 * `qemu-img info` of a file and (unless `chain: false`) its backing chain, first
 * element the file.
 * Pass `format` when known: probing a raw file can be fooled by what is in it.
 * `-U` because other VMs may have the base open.
 */
export async function inspectImage(path: string, opts: { format?: string; chain?: boolean } = {}): Promise<ImageInfo[]> {
  requireAbsolute('image', path);
  const args = ['info', '--output=json', '-U'];
  if (opts.chain !== false) args.push('--backing-chain');
  if (opts.format) args.push('-f', opts.format);
  args.push(path);
  const out = await qemuImg(args);
  const parsed = JSON.parse(out) as Record<string, unknown> | Record<string, unknown>[];
  return (Array.isArray(parsed) ? parsed : [parsed]).map(toInfo);
}

async function isInside(root: string, path: string): Promise<boolean> {
  const [r, p] = await Promise.all([realpath(root), realpath(path).catch(() => undefined)]);
  if (p === undefined) return false;
  const rel = relative(r, p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Check a base disk: raw or qcow2 only, no external data file, and a backing
 * chain (if any) that stays inside `allowedRoot` — a disk from a registry must not
 * make QEMU read a host file. Returns the base's own info.
 */
export async function checkBase(path: string, allowedRoot: string, format?: string): Promise<ImageInfo> {
  const chain = await inspectImage(path, format ? { format } : {});
  for (const [i, info] of chain.entries()) {
    const what = i === 0 ? `disk ${path}` : `backing file ${info.filename} of ${path}`;
    if (!BASE_FORMATS.has(info.format)) throw new VirtnodeError('VN_IMAGE', `${what}: format ${info.format} is not supported (raw or qcow2 only)`);
    if (info.dataFile !== undefined) throw new VirtnodeError('VN_IMAGE', `${what}: qcow2 external data files are not allowed`);
    if (!(await isInside(allowedRoot, info.filename))) throw new VirtnodeError('VN_IMAGE', `${what}: ${info.filename} is outside the image store ${allowedRoot}`);
  }
  return chain[0]!;
}

/**
 * Bases already checked, by identity (inode, size, mtime): a stored base is read-only
 * and never changes, so one `qemu-img info` per base is enough, not one per VM start.
 */
const checkedBases = new Map<string, ImageInfo>();

async function checkBaseOnce(base: string, allowedRoot: string, format?: DiskFormat): Promise<ImageInfo> {
  const st = await stat(base);
  const key = [base, st.ino, st.size, st.mtimeMs, allowedRoot, format ?? ''].join('\0');
  const hit = checkedBases.get(key);
  if (hit) return hit;
  const info = await checkBase(base, allowedRoot, format);
  checkedBases.set(key, info);
  return info;
}

/**
 * Create a qcow2 overlay over `base`; the overlay must not exist yet. Written directly
 * (qcow2.ts) when the base's size is whole sectors and at most 16 TiB; by
 * `qemu-img create` otherwise, which rounds the size itself.
 */
export async function createOverlay(base: string, overlay: string, opts: { allowedRoot: string; baseFormat?: DiskFormat }): Promise<Overlay> {
  requireAbsolute('base disk', base);
  requireAbsolute('overlay', overlay);
  const info = await checkBaseOnce(base, opts.allowedRoot, opts.baseFormat);
  const format = info.format as DiskFormat;
  await refuseExisting(overlay);
  try {
    if (fitsDirectOverlay(info.virtualSize)) {
      await writeQcow2Overlay(overlay, { virtualSize: info.virtualSize, backingFile: base, backingFormat: format });
    } else {
      await qemuImg(['create', '-q', '-f', 'qcow2', '-F', format, '-b', base, overlay]);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError(`disk ${overlay}`);
    await rm(overlay, { force: true });
    throw e;
  }
  return { path: overlay, format: 'qcow2', backing: { path: base, format } };
}

/** Remove a VM's overlay (or empty disk); a missing file is fine. */
export async function removeOverlay(path: string): Promise<void> {
  requireAbsolute('overlay', path);
  await rm(path, { force: true });
}

/** KubeVirt's emptyDisk: a fresh sparse qcow2 of `sizeBytes`. */
export async function createEmptyDisk(path: string, sizeBytes: number): Promise<{ path: string; format: 'qcow2'; sizeBytes: number }> {
  requireAbsolute('empty disk', path);
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new VirtnodeError('VN_INVALID_SPEC', `empty disk size ${sizeBytes} must be a positive whole number of bytes`);
  await refuseExisting(path);
  try {
    await qemuImg(['create', '-q', '-f', 'qcow2', path, String(sizeBytes)]);
  } catch (e) {
    await rm(path, { force: true });
    throw e;
  }
  return { path, format: 'qcow2', sizeBytes };
}

async function refuseExisting(path: string): Promise<void> {
  try {
    await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  throw new AlreadyExistsError(`disk ${path}`);
}
