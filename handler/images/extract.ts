// Read image layers (tar, gzip'ed or not) in order and keep only what was asked
// for. Nothing from an archive ever becomes a host path: wanted file contents go
// to numbered files in a staging directory, and the image's tree (paths,
// symlinks, whiteouts) lives in a map. So `../`, absolute names and symlinks
// cannot reach outside the store, and the checks below exist to refuse a hostile
// image loudly, not to keep the host safe by luck.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { join, posix } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { VirtnodeError } from '../../proto/errors.js';

export type TreeNode =
  | { kind: 'file'; layer: number; staged: string; size: number }
  | { kind: 'symlink'; layer: number; target: string }
  | { kind: 'hardlink'; layer: number; target: string };

/** Thrown for an archive we refuse; the message names the layer entry. */
/** A layer that cannot be unpacked safely; the image service wraps it in an ImagePullError. */
export class LayerError extends VirtnodeError {
  constructor(message: string) {
    super('VN_IMAGE', message);
  }
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
const MAX_SYMLINK_HOPS = 40;
const BLOCK = 4096;
const ZEROS = Buffer.alloc(BLOCK);

/**
 * An archive path as a clean image path ("disk/disk.img"), or null for the root.
 * Absolute names and `..` are refused: no well-formed image layer has them.
 */
export function cleanEntryPath(raw: string): string | null {
  if (raw.startsWith('/')) throw new LayerError(`absolute path ${JSON.stringify(raw)}`);
  const parts: string[] = [];
  for (const p of raw.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw new LayerError(`path traversal in ${JSON.stringify(raw)}`);
    parts.push(p);
  }
  return parts.length ? parts.join('/') : null;
}

/** A path the user gave (containerDisk.path, kernelPath): leading "/" allowed, `..` not. */
export function cleanImagePath(raw: string): string {
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new LayerError(`path ${JSON.stringify(raw)} may not contain ".."`);
  if (parts.length === 0) throw new LayerError(`path ${JSON.stringify(raw)} names no file`);
  return parts.join('/');
}

/** Join a symlink target onto its directory inside the image; null when it climbs above the root. */
function joinInImage(dir: string, target: string): string | null {
  const base = target.startsWith('/') ? [] : dir.split('/').filter(Boolean);
  for (const p of target.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (base.length === 0) return null;
      base.pop();
    } else {
      base.push(p);
    }
  }
  return base.join('/');
}

function isUnder(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

/** The image's tree as far as we read it: wanted files plus every link. */
export class ImageTree {
  readonly nodes = new Map<string, TreeNode>();
  private staged = 0;
  constructor(readonly stagingDir: string) {}

  nextStagedPath(): string {
    return join(this.stagingDir, String(this.staged++));
  }

  /** Remove a path and everything under it, from layers below `belowLayer` only if given. */
  remove(path: string, belowLayer?: number): void {
    for (const [p, n] of this.nodes) {
      if (isUnder(p, path) && (belowLayer === undefined || n.layer < belowLayer)) this.nodes.delete(p);
    }
  }

  /**
   * Follow symlinks (in any component) and hard links to the path that holds
   * the content. Throws if a link climbs above the root or loops.
   */
  resolve(path: string): string {
    let parts = path.split('/').filter(Boolean);
    let hops = 0;
    for (let i = 0; i < parts.length; i++) {
      const prefix = parts.slice(0, i + 1).join('/');
      const node = this.nodes.get(prefix);
      if (!node || node.kind === 'file') continue;
      if (++hops > MAX_SYMLINK_HOPS) throw new LayerError(`too many levels of links resolving ${JSON.stringify(path)}`);
      const target = node.kind === 'hardlink' ? node.target : joinInImage(posix.dirname(prefix) === '.' ? '' : posix.dirname(prefix), node.target);
      if (target === null) throw new LayerError(`symlink ${JSON.stringify(prefix)} -> ${JSON.stringify(node.target)} escapes the image root`);
      parts = [...target.split('/').filter(Boolean), ...parts.slice(i + 1)];
      i = -1;
    }
    return parts.join('/');
  }

  /** Names directly inside `dir` that are files or links to them (not directories). */
  entriesIn(dir: string): string[] {
    const out: string[] = [];
    for (const p of this.nodes.keys()) {
      if (posix.dirname(p) === dir) out.push(p);
    }
    return out.sort();
  }
}

export interface LayerInput {
  /** Index of the layer, bottom first: whiteouts hide only lower layers. */
  index: number;
  digest: string;
  path: string;
}

/**
 * Apply one layer to the tree, storing the content of entries `wanted` says
 * yes to. Device nodes, FIFOs and unsupported entry kinds are refused where
 * wanted and skipped elsewhere; traversal and escaping links are refused
 * anywhere, since no honest image has them.
 */
export async function applyLayer(tree: ImageTree, layer: LayerInput, wanted: (path: string) => boolean): Promise<void> {
  const writes: Promise<void>[] = [];
  let failure: Error | undefined;
  const parser = new Parser({
    strict: true,
    noResume: true,
    // Sparse raw disks compress far beyond tar's default 1000:1 bomb guard.
    maxDecompressionRatio: Number.POSITIVE_INFINITY,
    onReadEntry: (entry: ReadEntry) => {
      if (failure) {
        entry.resume();
        return;
      }
      try {
        const w = onEntry(tree, layer.index, entry, wanted);
        if (w) writes.push(w.catch((e: unknown) => {
          failure ??= e instanceof Error ? e : new Error(String(e));
          parser.abort(failure);
        }));
        else entry.resume();
      } catch (e) {
        failure ??= e instanceof Error ? e : new Error(String(e));
        entry.resume();
        parser.abort(failure);
      }
    },
  });
  const ended = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', (e: Error) => {
      failure ??= e;
      reject(e);
    });
  });
  ended.catch(() => {}); // observed below; avoid an unhandled rejection while feeding
  const src = createReadStream(layer.path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of src) {
      if (failure) break;
      if (!parser.write(chunk as Buffer)) await Promise.race([once(parser, 'drain'), ended]);
    }
    if (!failure) parser.end();
    await ended;
    await Promise.all(writes);
  } catch (e) {
    failure ??= e instanceof Error ? e : new Error(String(e));
  } finally {
    src.destroy();
  }
  if (failure) {
    await Promise.allSettled(writes);
    const msg = failure instanceof LayerError ? failure.message : `unreadable archive: ${failure.message}`;
    throw new LayerError(msg);
  }
}

function onEntry(tree: ImageTree, layer: number, entry: ReadEntry, wanted: (path: string) => boolean): Promise<void> | undefined {
  const path = cleanEntryPath(entry.path);
  if (path === null) return undefined;
  const name = posix.basename(path);
  const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);

  if (name.startsWith(WHITEOUT)) {
    if (name === OPAQUE) tree.remove(dir, layer); // the directory's lower-layer content is hidden
    else if (!name.startsWith(`${WHITEOUT}${WHITEOUT}`)) tree.remove(dir ? `${dir}/${name.slice(WHITEOUT.length)}` : name.slice(WHITEOUT.length), layer);
    return undefined; // other .wh..wh. names are aufs bookkeeping
  }

  switch (entry.type) {
    case 'Directory':
      // A directory replaces a file or link of the same name, not what is under it.
      tree.nodes.delete(path);
      return undefined;
    case 'SymbolicLink': {
      const target = entry.linkpath ?? '';
      if (joinInImage(dir, target) === null) throw new LayerError(`symlink ${JSON.stringify(entry.path)} -> ${JSON.stringify(target)} escapes the image root`);
      tree.remove(path);
      tree.nodes.set(path, { kind: 'symlink', layer, target });
      return undefined;
    }
    case 'Link': {
      const target = cleanEntryPath(entry.linkpath ?? '');
      if (target === null) throw new LayerError(`hard link ${JSON.stringify(entry.path)} to the root`);
      tree.remove(path);
      tree.nodes.set(path, { kind: 'hardlink', layer, target });
      return undefined;
    }
    case 'File':
    case 'OldFile':
    case 'ContiguousFile': {
      tree.remove(path);
      if (!wanted(path)) return undefined;
      const staged = tree.nextStagedPath();
      tree.nodes.set(path, { kind: 'file', layer, staged, size: entry.size });
      return writeSparse(entry, staged, entry.size);
    }
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO':
      tree.remove(path);
      if (wanted(path)) throw new LayerError(`${JSON.stringify(entry.path)} is a ${entry.type === 'FIFO' ? 'FIFO' : 'device node'}; a disk must be a regular file`);
      return undefined;
    default:
      if (wanted(path)) throw new LayerError(`${JSON.stringify(entry.path)} has unsupported tar entry type ${entry.type}`);
      return undefined;
  }
}

/**
 * Write an entry's content, leaving holes where whole blocks are zero: raw disk
 * images are mostly zeros and need not occupy the space on the host.
 */
async function writeSparse(entry: ReadEntry, dest: string, size: number): Promise<void> {
  const fh = await open(dest, 'wx', 0o644);
  try {
    let pos = 0;
    for await (const chunk of entry as AsyncIterable<Buffer>) {
      // Write each run of blocks that are not all zero in one call; skip the rest.
      let runStart = -1;
      let off = 0;
      while (off < chunk.length) {
        const end = Math.min(chunk.length, off + (BLOCK - ((pos + off) % BLOCK)));
        const zero = chunk.subarray(off, end).equals(ZEROS.subarray(0, end - off));
        if (!zero && runStart < 0) runStart = off;
        if (zero && runStart >= 0) {
          await fh.write(chunk, runStart, off - runStart, pos + runStart);
          runStart = -1;
        }
        off = end;
      }
      if (runStart >= 0) await fh.write(chunk, runStart, chunk.length - runStart, pos + runStart);
      pos += chunk.length;
    }
    if (pos !== size) throw new LayerError(`${JSON.stringify(entry.path)}: archive ends after ${pos} of ${size} bytes`);
    await fh.truncate(size);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
