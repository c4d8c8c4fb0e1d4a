// The node's image content store, shared by every VM:
//
//   <root>/blobs/sha256/<hex>                 manifests, configs, layers (verified before they land)
//   <root>/disks/sha256/<manifest-hex>/<path> files extracted from an image, once per manifest
//   <root>/index.json                         references -> manifest digest, images, leases
//   <root>/tmp/                               downloads and extractions in progress
//
// Nothing appears under blobs/ or disks/ except by rename from tmp/ after it was
// checked, and index.json is replaced atomically; so a crash leaves at worst
// unreferenced files, which gc() removes.

import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, chmod } from 'node:fs/promises';
import { dirname, join, relative, isAbsolute } from 'node:path';
import { VirtnodeError } from '../../proto/errors.js';
import type { Descriptor } from './manifest.js';
import { SHA256_DIGEST } from './reference.js';
import { sweepTemporaries } from '../store/fsutil.js';
import { silentLogger, type Logger } from './log.js';

export type { DiskFormat } from '../../proto/launch.js';
import type { DiskFormat } from '../../proto/launch.js';

export interface StoredFile {
  size: number;
  /** Probed with qemu-img for files used as disks. */
  format?: DiskFormat;
  virtualSize?: number;
}

export interface StoredImage {
  /** Digest of the image manifest. */
  digest: string;
  mediaType: string;
  /** The index the image was reached through, if any. */
  indexDigest?: string;
  config: Descriptor;
  layers: Descriptor[];
  /** Extracted files by path inside the image ("disk/disk.qcow2"). */
  files: Record<string, StoredFile>;
  /** What each request resolved to: "containerDisk" (KubeVirt's /disk/ rule) or a requested path -> the file's path. */
  resolved: Record<string, string>;
  /** Who uses the image (VMI UIDs); gc() keeps an image while this is not empty. */
  holders: string[];
  pulledAt: string;
}

interface IndexFile {
  version: 1;
  /** Fully qualified reference -> image manifest digest. */
  references: Record<string, string>;
  images: Record<string, StoredImage>;
}

export interface GcResult {
  images: string[];
  blobs: number;
  bytes: number;
}

function hexOf(digest: string): string {
  if (!SHA256_DIGEST.test(digest)) throw new VirtnodeError('VN_INTERNAL', `not a sha256 digest: ${JSON.stringify(digest)}`);
  return digest.slice('sha256:'.length);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    const st = await stat(path);
    return st.isDirectory() ? await dirSize(path) : st.blocks * 512;
  } catch {
    return 0;
  }
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) total += await sizeOf(join(dir, e.name));
  return total;
}

export class ContentStore {
  readonly root: string;
  readonly blobsDir: string;
  readonly disksDir: string;
  readonly tmpDir: string;
  private readonly indexPath: string;
  private readonly log: Logger;
  private index: IndexFile = { version: 1, references: {}, images: {} };
  /** Index writes, one at a time and in order. */
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(root: string, log: Logger) {
    this.root = root;
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.disksDir = join(root, 'disks', 'sha256');
    this.tmpDir = join(root, 'tmp');
    this.indexPath = join(root, 'index.json');
    this.log = log;
  }

  /** Open (creating if needed) the store at `root`. Leftovers of an interrupted run in tmp/ are removed. */
  static async open(root: string, log: Logger = silentLogger): Promise<ContentStore> {
    if (!isAbsolute(root)) throw new VirtnodeError('VN_INVALID_SPEC', `image state dir ${JSON.stringify(root)} must be an absolute path`);
    const s = new ContentStore(root, log);
    await mkdir(s.blobsDir, { recursive: true, mode: 0o700 });
    await mkdir(s.disksDir, { recursive: true, mode: 0o755 });
    await rm(s.tmpDir, { recursive: true, force: true });
    await mkdir(s.tmpDir, { recursive: true, mode: 0o700 });
    await sweepTemporaries(root); // an index write a kill cut short

    let text: string | undefined;
    try {
      text = await readFile(s.indexPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== undefined) {
      let parsed: IndexFile;
      try {
        parsed = JSON.parse(text) as IndexFile;
      } catch (e) {
        // Refuse rather than start empty: an empty index would let gc() delete disks running VMs boot from.
        throw new VirtnodeError('VN_IMAGE', `image index ${s.indexPath} is not valid JSON; move it aside to start over`, { cause: e });
      }
      if (parsed.version !== 1) throw new VirtnodeError('VN_IMAGE', `image index ${s.indexPath} has unknown version ${JSON.stringify(parsed.version)}`);
      s.index = parsed;
    }
    return s;
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, hexOf(digest));
  }

  imageDir(digest: string): string {
    return join(this.disksDir, hexOf(digest));
  }

  /** Host path of an extracted file; the image path was cleaned at extraction, this re-checks. */
  filePath(digest: string, imagePath: string): string {
    const dir = this.imageDir(digest);
    const p = join(dir, imagePath);
    const rel = relative(dir, p);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new VirtnodeError('VN_INTERNAL', `image path ${JSON.stringify(imagePath)} leaves the image directory`);
    return p;
  }

  async hasBlob(digest: string, size?: number): Promise<boolean> {
    try {
      const st = await stat(this.blobPath(digest));
      return size === undefined || st.size === size;
    } catch {
      return false;
    }
  }

  tempPath(prefix: string): string {
    return join(this.tmpDir, `${prefix}-${randomUUID()}`);
  }

  /** Move a downloaded and verified blob into place. */
  async commitBlob(tmp: string, digest: string): Promise<void> {
    await rename(tmp, this.blobPath(digest));
    await fsyncDir(this.blobsDir);
  }

  /** Store bytes already in memory (a manifest) under their digest, checking it. */
  async writeBlob(digest: string, bytes: Buffer): Promise<void> {
    const got = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (got !== digest) throw new VirtnodeError('VN_INTERNAL', `blob hashes to ${got}, not ${digest}`);
    if (await this.hasBlob(digest, bytes.length)) return;
    const tmp = this.tempPath('blob');
    const fh = await open(tmp, 'wx', 0o644);
    try {
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.commitBlob(tmp, digest);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** Move an extracted, checked file into the image's directory, read-only: it is a shared base. */
  async commitFile(digest: string, imagePath: string, staged: string): Promise<string> {
    const dest = this.filePath(digest, imagePath);
    await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
    await chmod(staged, 0o444);
    await rename(staged, dest);
    await fsyncDir(dirname(dest));
    return dest;
  }

  image(digest: string): StoredImage | undefined {
    return this.index.images[digest];
  }

  /** The image a reference last resolved to. */
  byReference(reference: string): StoredImage | undefined {
    const d = this.index.references[reference];
    return d === undefined ? undefined : this.index.images[d];
  }

  /** An image by its manifest digest or by the digest of the index it came through. */
  byDigest(digest: string): StoredImage | undefined {
    return this.index.images[digest] ?? Object.values(this.index.images).find((i) => i.indexDigest === digest);
  }

  references(digest: string): string[] {
    return Object.entries(this.index.references).filter(([, d]) => d === digest).map(([r]) => r).sort();
  }

  images(): StoredImage[] {
    return Object.values(this.index.images);
  }

  /**
   * Change the index: the mutator works on a copy, which replaces the index
   * only once it is on disk (temp file, fsync, rename, fsync of the directory).
   */
  update(mutate: (index: IndexFile) => void): Promise<void> {
    const run = this.writing.then(async () => {
      const next = structuredClone(this.index);
      mutate(next);
      const tmp = `${this.indexPath}.${randomUUID()}.tmp`;
      const fh = await open(tmp, 'wx', 0o600);
      try {
        try {
          await fh.writeFile(`${JSON.stringify(next, null, 1)}\n`);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, this.indexPath);
      } catch (e) {
        // A full disk fails the write: its temporary goes, not only a failed rename's.
        await rm(tmp, { force: true });
        throw e;
      }
      await fsyncDir(this.root);
      this.index = next;
    });
    this.writing = run.catch(() => {});
    return run;
  }

  async acquire(digest: string, holder: string): Promise<void> {
    await this.update((ix) => {
      const img = ix.images[digest];
      if (!img) throw new VirtnodeError('VN_NOT_FOUND', `image ${digest} not found in the store`);
      if (!img.holders.includes(holder)) img.holders.push(holder);
    });
  }

  /** Drop a holder's lease; unknown images or holders are not an error (release is idempotent). */
  async release(digest: string | undefined, holder: string): Promise<void> {
    await this.update((ix) => {
      for (const img of Object.values(ix.images)) {
        if (digest !== undefined && img.digest !== digest) continue;
        img.holders = img.holders.filter((h) => h !== holder);
      }
    });
  }

  /**
   * Remove every image no VM holds, then every blob and directory no remaining
   * image refers to, and anything left in tmp/. The caller makes sure no pull
   * runs meanwhile. The index goes first, so a crash halfway leaves only orphans.
   */
  async gc(): Promise<GcResult> {
    const dropped: string[] = [];
    await this.update((ix) => {
      for (const img of Object.values(ix.images)) {
        if (img.holders.length > 0) continue;
        dropped.push(img.digest);
        delete ix.images[img.digest];
      }
      for (const [ref, d] of Object.entries(ix.references)) if (!ix.images[d]) delete ix.references[ref];
    });

    const keepBlobs = new Set<string>();
    const keepDirs = new Set<string>();
    for (const img of this.images()) {
      keepDirs.add(hexOf(img.digest));
      for (const d of [img.digest, img.indexDigest, img.config.digest, ...img.layers.map((l) => l.digest)]) {
        if (d !== undefined) keepBlobs.add(hexOf(d));
      }
    }
    let bytes = 0;
    let blobs = 0;
    for (const name of await readdir(this.blobsDir)) {
      if (keepBlobs.has(name)) continue;
      const p = join(this.blobsDir, name);
      bytes += await sizeOf(p);
      await rm(p, { force: true });
      blobs++;
    }
    for (const name of await readdir(this.disksDir)) {
      if (keepDirs.has(name)) continue;
      const p = join(this.disksDir, name);
      bytes += await sizeOf(p);
      await rm(p, { recursive: true, force: true });
    }
    for (const name of await readdir(this.tmpDir)) {
      const p = join(this.tmpDir, name);
      bytes += await sizeOf(p);
      await rm(p, { recursive: true, force: true });
    }
    if (dropped.length || blobs) this.log.info({ images: dropped, blobs, bytes }, 'image gc');
    return { images: dropped, blobs, bytes };
  }

  /** Bytes on disk of one image: its blobs and extracted files. */
  async usage(img: StoredImage): Promise<number> {
    let total = await sizeOf(this.imageDir(img.digest));
    for (const d of [img.digest, img.indexDigest, img.config.digest, ...img.layers.map((l) => l.digest)]) {
      if (d !== undefined) total += await sizeOf(this.blobPath(d));
    }
    return total;
  }
}
