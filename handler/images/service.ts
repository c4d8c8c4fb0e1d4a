// The handler's image service: in standalone mode it plays the kubelet's part
// for containerDisk and kernelBoot images — pull (honouring imagePullPolicy),
// keep one extracted copy per manifest digest, hand each VM its own overlay, and
// collect what no VM holds any more.

import { mkdir, rm, stat } from 'node:fs/promises';
import { InvalidSpecError } from '../../proto/errors.js';
import type { PullPolicy } from '../../proto/vmi/types.js';
import type { Credentials } from './auth.js';
import { ImagePullError, shortDigest } from './errors.js';
import { applyLayer, cleanImagePath, ImageTree, LayerError } from './extract.js';
import { validateMirrors, type Mirrors } from './hosts.js';
import type { Platform } from './manifest.js';
import { createEmptyDisk, createOverlay, inspectImage, removeOverlay, type Overlay } from './overlay.js';
import { throttleProgress, type ProgressCallback, type PullProgress } from './progress.js';
import { defaultPullPolicy, formatReference, parseReference, type ImageReference } from './reference.js';
import { RegistryClient, type ResolvedImage } from './registry.js';
import { ContentStore, type DiskFormat, type GcResult, type StoredFile, type StoredImage } from './store.js';
import { SharedExclusiveLock, SingleFlight } from './sync.js';
import { silentLogger, type Logger } from './log.js';

export interface ImageServiceOptions {
  /** Where the content store lives, e.g. /var/lib/virtnode/images. Absolute. */
  stateDir: string;
  mirrors?: Mirrors;
  mirrorsOnly?: boolean;
  /** Keyed by endpoint host[:port]; see RegistryOptions.credentials. */
  credentials?: Record<string, Credentials>;
  logger?: Logger;
  /** Which manifest of a multi-arch index to use; default: this host's. */
  platform?: Platform;
  requestTimeoutMs?: number;
  idleTimeoutMs?: number;
}

export interface PullOptions {
  onProgress?: ProgressCallback;
  /** The VM (its VMI UID) that will use the image: gc() keeps the image until release(). */
  holder?: string;
}

export interface ContainerDiskPull {
  /** The reference, fully qualified. */
  reference: string;
  /** Image manifest digest. */
  digest: string;
  /** The shared, read-only base disk: boot from an overlay over it, never from it. */
  diskPath: string;
  format: DiskFormat;
  virtualSize: number;
}

export interface KernelBootPull {
  reference: string;
  digest: string;
  kernel?: string;
  initrd?: string;
}

export interface ImageSummary {
  digest: string;
  indexDigest?: string;
  references: string[];
  files: { path: string; size: number; format?: DiskFormat }[];
  holders: string[];
  pulledAt: string;
  /** Blobs plus extracted files, as allocated on disk. */
  bytes: number;
}

/** A request for a file out of an image: KubeVirt's /disk/ rule, or an explicit path. */
type FileRequest = { key: string; kind: 'containerDisk' } | { key: string; kind: 'path'; path: string; disk: boolean };

const POLICIES: ReadonlySet<string> = new Set(['Always', 'IfNotPresent', 'Never']);
/** Symlinks may point outside what we extracted; each pass adds their targets. */
const MAX_EXTRACT_PASSES = 4;
const DISK_DIR = 'disk';

type BytesListener = (done: number, total: number) => void;

export class ImageService {
  private readonly log: Logger;
  private readonly registry: RegistryClient;
  private readonly store: Promise<ContentStore>;
  private readonly lock = new SharedExclusiveLock();
  private readonly imageFlights = new SingleFlight<StoredImage>();
  private readonly blobFlights = new SingleFlight<void>();
  private readonly extractFlights = new SingleFlight<void>();
  /** Progress listeners of everyone waiting on an image flight, by flight key. */
  private readonly imageListeners = new Map<string, Set<ProgressCallback>>();
  /** Byte listeners of everyone waiting on a blob download, by digest. */
  private readonly blobListeners = new Map<string, Set<BytesListener>>();
  /** Image pulls in flight, by flight key: bytes per layer, for ListImages. */
  private readonly inFlight = new Map<string, { reference: string; layers: Map<string, { done: number; total: number }> }>();

  constructor(opts: ImageServiceOptions) {
    validateMirrors(opts.mirrors ?? {});
    this.log = opts.logger ?? silentLogger;
    const ro: ConstructorParameters<typeof RegistryClient>[0] = { logger: this.log };
    if (opts.mirrors) ro.mirrors = opts.mirrors;
    if (opts.mirrorsOnly !== undefined) ro.mirrorsOnly = opts.mirrorsOnly;
    if (opts.credentials) ro.credentials = opts.credentials;
    if (opts.platform) ro.platform = opts.platform;
    if (opts.requestTimeoutMs !== undefined) ro.requestTimeoutMs = opts.requestTimeoutMs;
    if (opts.idleTimeoutMs !== undefined) ro.idleTimeoutMs = opts.idleTimeoutMs;
    this.registry = new RegistryClient(ro);
    this.store = ContentStore.open(opts.stateDir, this.log);
    this.store.catch(() => {}); // reported by init() and by every call
  }

  /** Open the store now, so a bad state dir fails at start-up rather than at the first VM. */
  async init(): Promise<void> {
    await this.store;
  }

  async pullContainerDisk(image: string, policy?: PullPolicy, opts: PullOptions & { path?: string } = {}): Promise<ContainerDiskPull> {
    let req: FileRequest;
    if (opts.path !== undefined) {
      let p: string;
      try {
        p = cleanImagePath(opts.path);
      } catch (e) {
        throw new InvalidSpecError([{ path: 'containerDisk.path', message: (e as Error).message }]);
      }
      req = { key: `path:${p}`, kind: 'path', path: p, disk: true };
    } else {
      req = { key: 'containerDisk', kind: 'containerDisk' };
    }
    const { ref, img, paths } = await this.pull(image, policy, [req], opts);
    const store = await this.store;
    const file = img.files[paths[0]!]!;
    return {
      reference: formatReference(ref),
      digest: img.digest,
      diskPath: store.filePath(img.digest, paths[0]!),
      format: file.format!,
      virtualSize: file.virtualSize!,
    };
  }

  /** kernelBoot.container: at least one of the two paths, as KubeVirt requires. */
  async pullKernelBoot(image: string, policy: PullPolicy | undefined, kernelPath?: string, initrdPath?: string, opts: PullOptions = {}): Promise<KernelBootPull> {
    if (!kernelPath && !initrdPath) {
      throw new InvalidSpecError([{ path: 'firmware.kernelBoot.container', message: 'kernelPath or initrdPath must be set' }]);
    }
    const reqs: FileRequest[] = [];
    for (const [field, p] of [['kernelPath', kernelPath], ['initrdPath', initrdPath]] as const) {
      if (!p) continue;
      try {
        const clean = cleanImagePath(p);
        reqs.push({ key: `path:${clean}`, kind: 'path', path: clean, disk: false });
      } catch (e) {
        throw new InvalidSpecError([{ path: `firmware.kernelBoot.container.${field}`, message: (e as Error).message }]);
      }
    }
    const { ref, img, paths } = await this.pull(image, policy, reqs, opts);
    const store = await this.store;
    const out: KernelBootPull = { reference: formatReference(ref), digest: img.digest };
    let i = 0;
    if (kernelPath) out.kernel = store.filePath(img.digest, paths[i++]!);
    if (initrdPath) out.initrd = store.filePath(img.digest, paths[i++]!);
    return out;
  }

  /** A VM's own qcow2 overlay over a pulled base disk. */
  async createOverlay(disk: { diskPath: string; format: DiskFormat }, overlayPath: string): Promise<Overlay> {
    const store = await this.store;
    return createOverlay(disk.diskPath, overlayPath, { allowedRoot: store.disksDir, baseFormat: disk.format });
  }

  removeOverlay(path: string): Promise<void> {
    return removeOverlay(path);
  }

  createEmptyDisk(path: string, sizeBytes: number): ReturnType<typeof createEmptyDisk> {
    return createEmptyDisk(path, sizeBytes);
  }

  /** The VM `holder` no longer uses the image (or, without a digest, any image). Idempotent. */
  async release(digest: string | undefined, holder: string): Promise<void> {
    const store = await this.store;
    await store.release(digest, holder);
  }

  /** Remove images no VM holds, and their blobs and disks. Waits for running pulls; pulls wait for it. */
  async gc(): Promise<GcResult> {
    const store = await this.store;
    return this.lock.withExclusive(() => store.gc());
  }

  async list(): Promise<ImageSummary[]> {
    const store = await this.store;
    const out: ImageSummary[] = [];
    for (const img of store.images()) {
      const s: ImageSummary = {
        digest: img.digest,
        references: store.references(img.digest),
        files: Object.entries(img.files).map(([path, f]) => ({ path, size: f.size, ...(f.format ? { format: f.format } : {}) })),
        holders: [...img.holders],
        pulledAt: img.pulledAt,
        bytes: await store.usage(img),
      };
      if (img.indexDigest) s.indexDigest = img.indexDigest;
      out.push(s);
    }
    return out.sort((a, b) => a.pulledAt.localeCompare(b.pulledAt));
  }

  /** Pulls in flight: bytes fetched so far of the layers that have started. */
  pulls(): { reference: string; bytesDone: number; bytesTotal: number }[] {
    return [...this.inFlight.values()].map(({ reference, layers }) => {
      let bytesDone = 0;
      let bytesTotal = 0;
      for (const l of layers.values()) {
        bytesDone += l.done;
        bytesTotal += l.total;
      }
      return { reference, bytesDone, bytesTotal };
    });
  }

  // ---- the pull itself ----

  private async pull(image: string, policy: PullPolicy | undefined, reqs: FileRequest[], opts: PullOptions): Promise<{ ref: ImageReference; img: StoredImage; paths: string[] }> {
    const ref = parseReference(image);
    const name = formatReference(ref);
    if (policy !== undefined && !POLICIES.has(policy)) {
      throw new InvalidSpecError([{ path: 'imagePullPolicy', message: `${JSON.stringify(policy)} is not Always, IfNotPresent or Never` }]);
    }
    const pol = policy ?? defaultPullPolicy(ref);
    const store = await this.store;
    return this.lock.withShared(async () => {
      const started = Date.now();
      const key = `${pol} ${name}`;
      const listener = opts.onProgress ? throttleProgress(opts.onProgress) : undefined;
      let listeners = this.imageListeners.get(key);
      if (!listeners) this.imageListeners.set(key, (listeners = new Set()));
      if (listener) listeners.add(listener);
      let img: StoredImage;
      try {
        img = await this.imageFlights.run(key, async () => {
          const layers = new Map<string, { done: number; total: number }>();
          this.inFlight.set(key, { reference: name, layers });
          try {
            return await this.ensureImage(store, ref, name, pol, (p) => {
              layers.set(p.layer, { done: p.bytesDone, total: p.bytesTotal });
              for (const l of this.imageListeners.get(key) ?? []) l(p);
            });
          } finally {
            this.inFlight.delete(key);
          }
        });
      } finally {
        if (listener) listeners.delete(listener);
        if (listeners.size === 0 && this.imageListeners.get(key) === listeners) this.imageListeners.delete(key);
      }
      const paths = await this.ensureFiles(store, ref, name, pol, img, reqs);
      if (opts.holder !== undefined) await store.acquire(img.digest, opts.holder);
      this.log.debug({ image: name, digest: img.digest, policy: pol, ms: Date.now() - started }, 'image ready');
      return { ref, img: store.image(img.digest)!, paths };
    });
  }

  /** The image the reference names, by policy: from the store, or from the registry. */
  private async ensureImage(store: ContentStore, ref: ImageReference, name: string, policy: PullPolicy, emit: (p: PullProgress) => void): Promise<StoredImage> {
    const local = ref.digest !== undefined ? store.byDigest(ref.digest) : store.byReference(name);
    if (policy === 'Never') {
      if (!local) throw new ImagePullError(name, 'policy', 'the image is not present on this node and imagePullPolicy is Never');
      return local;
    }
    if (policy === 'IfNotPresent' && local) return local;

    const resolved = await this.registry.resolve(ref);
    const known = store.image(resolved.digest);
    if (!known) await this.download(store, ref, name, resolved, emit);
    const recorded = store.byReference(name);
    if (known && recorded?.digest === resolved.digest && (!resolved.index || recorded.indexDigest)) {
      this.log.debug({ image: name, digest: resolved.digest }, 'image up to date');
      return known;
    }
    await store.update((ix) => {
      ix.references[name] = resolved.digest;
      const img = ix.images[resolved.digest];
      if (img && resolved.index && !img.indexDigest) img.indexDigest = resolved.index.digest;
    });
    return store.image(resolved.digest)!;
  }

  /** Fetch every blob not in the store yet, then record the image. */
  private async download(store: ContentStore, ref: ImageReference, name: string, resolved: ResolvedImage, emit: (p: PullProgress) => void): Promise<void> {
    const m = resolved.manifest;
    const t0 = Date.now();
    let bytes = 0;
    // Layers first: if one is bad, we have not stored anything of the image yet.
    await this.fetchBlobs(store, ref, name, [...m.layers, m.config], emit, (n) => (bytes += n));
    await store.writeBlob(resolved.digest, resolved.bytes);
    if (resolved.index) await store.writeBlob(resolved.index.digest, resolved.index.bytes);
    await store.update((ix) => {
      if (ix.images[resolved.digest]) return;
      const img: StoredImage = {
        digest: resolved.digest,
        mediaType: resolved.mediaType,
        config: m.config,
        layers: m.layers,
        files: {},
        resolved: {},
        holders: [],
        pulledAt: new Date().toISOString(),
      };
      if (resolved.index) img.indexDigest = resolved.index.digest;
      ix.images[resolved.digest] = img;
    });
    this.log.info({ image: name, digest: resolved.digest, layers: m.layers.length, bytes, ms: Date.now() - t0 }, 'image pulled');
  }

  private async fetchBlobs(
    store: ContentStore, ref: ImageReference, name: string, blobs: { digest: string; size: number; mediaType: string }[],
    emit: (p: PullProgress) => void, downloaded: (n: number) => void = () => {},
  ): Promise<void> {
    for (const desc of blobs) {
      if (await store.hasBlob(desc.digest, desc.size)) continue;
      const what = desc.mediaType.includes('config') ? 'config' : 'layer';
      const mine: BytesListener = (done, total) => emit({ image: name, layer: desc.digest, bytesDone: done, bytesTotal: total });
      let set = this.blobListeners.get(desc.digest);
      if (!set) this.blobListeners.set(desc.digest, (set = new Set()));
      set.add(mine);
      try {
        await this.blobFlights.run(desc.digest, async () => {
          const tmp = store.tempPath('blob');
          await this.registry.fetchBlob(ref, desc, tmp, what, (done) => {
            for (const l of this.blobListeners.get(desc.digest) ?? []) l(done, desc.size);
          });
          await store.commitBlob(tmp, desc.digest);
          downloaded(desc.size);
        });
      } finally {
        set.delete(mine);
        if (set.size === 0 && this.blobListeners.get(desc.digest) === set) this.blobListeners.delete(desc.digest);
      }
    }
  }

  /** The image paths that answer each request, extracting what is not extracted yet. */
  private async ensureFiles(store: ContentStore, ref: ImageReference, name: string, policy: PullPolicy, img: StoredImage, reqs: FileRequest[]): Promise<string[]> {
    const missing: FileRequest[] = [];
    const cur = store.image(img.digest) ?? img;
    for (const r of reqs) {
      const p = cur.resolved[r.key];
      const f = p === undefined ? undefined : cur.files[p];
      const needsProbe = (r.kind === 'containerDisk' || r.disk) && f?.format === undefined;
      if (p === undefined || needsProbe || !(await exists(store.filePath(img.digest, p)))) missing.push(r);
    }
    if (missing.length > 0) {
      const key = `${img.digest} ${missing.map((r) => r.key).sort().join(' ')}`;
      await this.extractFlights.run(key, () => this.extract(store, ref, name, policy, img, missing));
    }
    const now = store.image(img.digest)!;
    return reqs.map((r) => now.resolved[r.key]!);
  }

  private async extract(store: ContentStore, ref: ImageReference, name: string, policy: PullPolicy, img: StoredImage, reqs: FileRequest[]): Promise<void> {
    // Layers may be gone (removed by hand); fetch them again unless told not to touch the network.
    const absent = [];
    for (const l of img.layers) if (!(await store.hasBlob(l.digest, l.size))) absent.push(l);
    if (absent.length) {
      if (policy === 'Never') throw new ImagePullError(name, `layer ${shortDigest(absent[0]!.digest)}`, 'missing from the store and imagePullPolicy is Never');
      await this.fetchBlobs(store, ref, name, absent, () => {});
    }

    const prefixes = new Set<string>();
    const exact = new Set<string>();
    for (const r of reqs) {
      if (r.kind === 'containerDisk') prefixes.add(DISK_DIR);
      else exact.add(r.path);
    }
    const wanted = (p: string): boolean => exact.has(p) || [...prefixes].some((d) => p.startsWith(`${d}/`));

    const staging = store.tempPath('extract');
    await mkdir(staging, { mode: 0o700 });
    try {
      let answers: Map<string, string> | undefined;
      let tree: ImageTree | undefined;
      for (let pass = 0; pass < MAX_EXTRACT_PASSES && !answers; pass++) {
        if (tree) {
          await rm(staging, { recursive: true, force: true });
          await mkdir(staging, { mode: 0o700 });
        }
        tree = new ImageTree(staging);
        for (const [index, l] of img.layers.entries()) {
          try {
            await applyLayer(tree, { index, digest: l.digest, path: store.blobPath(l.digest) }, wanted);
          } catch (e) {
            if (e instanceof LayerError) throw new ImagePullError(name, `layer ${shortDigest(l.digest)}`, e.message);
            throw e;
          }
        }
        answers = this.answer(name, tree, reqs, prefixes, exact);
      }
      if (!answers || !tree) throw new ImagePullError(name, 'extract', `links still point at unextracted paths after ${MAX_EXTRACT_PASSES} passes`);

      // Files already in the store (extracted for another request) are not replaced.
      const have = store.image(img.digest)?.files ?? {};
      const files: Record<string, StoredFile> = {};
      for (const r of reqs) {
        const p = answers.get(r.key)!;
        const isDisk = r.kind === 'containerDisk' || r.disk;
        const prior = files[p] ?? (have[p] && (await exists(store.filePath(img.digest, p))) ? have[p] : undefined);
        if (prior && (!isDisk || prior.format)) continue;
        const node = tree.nodes.get(p);
        if (node?.kind !== 'file') throw new ImagePullError(name, 'extract', `/${p} is not a regular file`);
        const f: StoredFile = { size: node.size };
        if (isDisk) Object.assign(f, await this.checkDisk(name, p, node.staged));
        files[p] = f;
      }
      for (const [p] of Object.entries(files)) {
        const node = tree.nodes.get(p);
        if (node?.kind === 'file') await store.commitFile(img.digest, p, node.staged);
      }
      await store.update((ix) => {
        const cur = ix.images[img.digest];
        if (!cur) return;
        Object.assign(cur.files, files);
        for (const r of reqs) cur.resolved[r.key] = answers.get(r.key)!;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * Map each request to an image path holding a file. Returns undefined when a
   * link points at a path not extracted in this pass (after widening `exact`
   * and `prefixes` so the next pass gets it); throws when the image cannot
   * answer.
   */
  private answer(name: string, tree: ImageTree, reqs: FileRequest[], prefixes: Set<string>, exact: Set<string>): Map<string, string> | undefined {
    const out = new Map<string, string>();
    let again = false;
    const wantedPath = (p: string): boolean => exact.has(p) || [...prefixes].some((d) => p.startsWith(`${d}/`));
    const resolve = (p: string): string => {
      try {
        return tree.resolve(p);
      } catch (e) {
        throw new ImagePullError(name, 'extract', (e as Error).message);
      }
    };
    for (const r of reqs) {
      if (r.kind === 'path') {
        const target = resolve(r.path);
        const node = tree.nodes.get(target);
        if (node?.kind === 'file') out.set(r.key, target);
        else if (!node && !wantedPath(target)) {
          exact.add(target);
          again = true;
        } else {
          throw new ImagePullError(name, r.disk ? 'disk' : 'kernelBoot', node ? `/${r.path} is not a regular file` : `/${r.path} not found in the image`);
        }
        continue;
      }
      // KubeVirt's rule: the one file directly under /disk/.
      const dir = resolve(DISK_DIR);
      if (dir !== DISK_DIR && !prefixes.has(dir)) {
        prefixes.add(dir);
        again = true;
        continue;
      }
      const entries = tree.entriesIn(dir);
      const candidates: { entry: string; target: string }[] = [];
      for (const e of entries) {
        const target = resolve(e);
        const node = tree.nodes.get(target);
        if (node?.kind === 'file') candidates.push({ entry: e, target });
        else if (!node && !wantedPath(target)) {
          exact.add(target);
          again = true;
        }
      }
      if (again) continue;
      if (candidates.length === 0) throw new ImagePullError(name, 'disk', `no disk found: /${DISK_DIR}/ holds no regular file (set containerDisk.path if the disk is elsewhere)`);
      if (candidates.length > 1) {
        throw new ImagePullError(name, 'disk', `several files under /${DISK_DIR}/ (${candidates.map((c) => `/${c.entry}`).join(', ')}); set containerDisk.path to choose one`);
      }
      out.set(r.key, candidates[0]!.target);
    }
    return again ? undefined : out;
  }

  /** A disk from a registry: raw or qcow2, and nothing that makes QEMU open another file. */
  private async checkDisk(name: string, imagePath: string, staged: string): Promise<{ format: DiskFormat; virtualSize: number }> {
    let chain;
    try {
      chain = await inspectImage(staged, { chain: false });
    } catch (e) {
      throw new ImagePullError(name, 'disk', `/${imagePath}: ${(e as Error).message}`);
    }
    const info = chain[0]!;
    if (info.format !== 'raw' && info.format !== 'qcow2') throw new ImagePullError(name, 'disk', `/${imagePath}: format ${info.format} is not supported (raw or qcow2 only)`);
    if (info.backingFilename !== undefined) throw new ImagePullError(name, 'disk', `/${imagePath}: has a backing file (${info.backingFilename}); a containerDisk must be self-contained`);
    if (info.dataFile !== undefined) throw new ImagePullError(name, 'disk', `/${imagePath}: qcow2 external data files are not allowed`);
    return { format: info.format, virtualSize: info.virtualSize };
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
