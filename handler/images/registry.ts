// A client for the OCI distribution API (v2) on Node's fetch: manifests, blobs,
// token auth, mirrors, redirects. It trusts nothing it downloads until the bytes
// hash to the digest that named them.

import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { VirtnodeError } from '../../proto/errors.js';
import { attemptsError, ImagePullError, shortDigest, type Attempt } from './errors.js';
import { parseChallenges, TokenCache, type Credentials } from './auth.js';
import { registryHosts, type Mirrors, type RegistryHost } from './hosts.js';
import {
  hostPlatform, layerCompression, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, parseManifest, selectPlatform,
  type Descriptor, type ImageManifest, type ParsedManifest, type Platform,
} from './manifest.js';
import { formatReference, manifestReference, SHA256_DIGEST, type ImageReference } from './reference.js';
import { silentLogger, type Logger } from './log.js';

export interface RegistryOptions {
  mirrors?: Mirrors;
  /** Never fall back to the registry itself (air-gapped nodes). */
  mirrorsOnly?: boolean;
  /** Keyed by endpoint host[:port] ("127.0.0.1:5000", "quay.io"); "docker.io" also matches registry-1.docker.io. */
  credentials?: Record<string, Credentials>;
  /** Until response headers arrive, per request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Longest silence while a body streams. Default 60 s. */
  idleTimeoutMs?: number;
  platform?: Platform;
  logger?: Logger;
  userAgent?: string;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  parsed: ParsedManifest;
}

export interface ResolvedImage {
  /** Digest of the platform's image manifest: the identity of what we extract. */
  digest: string;
  mediaType: string;
  manifest: ImageManifest;
  bytes: Buffer;
  /** The index (manifest list) the reference named, when it named one. */
  index?: { digest: string; mediaType: string; bytes: Buffer };
}

/** Bytes received so far for one blob. */
export type BytesCallback = (bytesDone: number) => void;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
const MAX_ERROR_BODY = 64 << 10;

interface Exchange {
  res: Response;
  ctl: AbortController;
  url: URL;
}

/** A failure at one endpoint; the loop over endpoints collects them into one message. */
/** One registry endpoint failed (the next one may still answer). */
class EndpointError extends VirtnodeError {
  constructor(message: string) {
    super('VN_IMAGE', message);
  }
}

function fetchFailure(e: unknown, ctl: AbortController): string {
  if (ctl.signal.aborted) {
    const r = ctl.signal.reason as unknown;
    return r instanceof Error ? r.message : 'aborted';
  }
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as { code?: string }).code;
      // OpenSSL's messages are a line of internals; the code says it better.
      if (code?.startsWith('ERR_SSL') || code?.startsWith('ERR_TLS')) return `TLS handshake failed (${code})`;
      const first = cause.message.trim().split('\n')[0]!;
      return code && !first.includes(code) ? `${code}: ${first}` : first;
    }
    return e.message;
  }
  return String(e);
}

async function cancel(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // the connection is being dropped anyway
  }
}

/** Read a body up to `limit` bytes, aborting if the peer stalls for `idleMs`. */
async function readBody(ex: Exchange, limit: number, idleMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of iterateBody(ex, idleMs)) {
    total += chunk.length;
    if (total > limit) {
      ex.ctl.abort(new Error(`response larger than ${limit} bytes`));
      throw new EndpointError(`response larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function* iterateBody(ex: Exchange, idleMs: number): AsyncGenerator<Buffer> {
  if (!ex.res.body) return;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => ex.ctl.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
  };
  arm();
  try {
    for await (const chunk of ex.res.body as unknown as AsyncIterable<Uint8Array>) {
      arm();
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } catch (e) {
    throw new EndpointError(fetchFailure(e, ex.ctl));
  } finally {
    clearTimeout(timer);
  }
}

/** "manifest unknown (404)" from the registry's JSON error body, or the HTTP status. */
async function statusDetail(ex: Exchange, idleMs: number): Promise<string> {
  let text = '';
  try {
    text = (await readBody(ex, MAX_ERROR_BODY, idleMs)).toString('utf8');
  } catch {
    // the status line is enough
  }
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors;
    const first = errors?.[0];
    if (first) return `${first.message ?? first.code?.toLowerCase().replace(/_/g, ' ') ?? 'error'} (${ex.res.status})`;
  } catch {
    // not a registry error body
  }
  return `${ex.res.status} ${ex.res.statusText || 'error'}`.trim();
}

export class RegistryClient {
  private readonly mirrors: Mirrors;
  private readonly mirrorsOnly: boolean;
  private readonly credentials: Record<string, Credentials>;
  private readonly requestTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly platform: Platform;
  private readonly log: Logger;
  private readonly userAgent: string;
  private readonly tokens = new TokenCache();

  constructor(opts: RegistryOptions = {}) {
    this.mirrors = opts.mirrors ?? {};
    this.mirrorsOnly = opts.mirrorsOnly ?? false;
    this.credentials = opts.credentials ?? {};
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    this.platform = opts.platform ?? hostPlatform();
    this.log = opts.logger ?? silentLogger;
    this.userAgent = opts.userAgent ?? 'virtnode';
  }

  hosts(ref: ImageReference): RegistryHost[] {
    return registryHosts(ref.registry, this.mirrors, this.mirrorsOnly);
  }

  /** GET /v2/: is this endpoint a registry, and does it want auth? Throws an Error saying why not. */
  async ping(host: RegistryHost): Promise<{ status: number; authenticate: string | null }> {
    const ex = await this.follow(new URL(`${host.api.href}/`), 'GET', {});
    const status = ex.res.status;
    const authenticate = ex.res.headers.get('www-authenticate');
    const version = ex.res.headers.get('docker-distribution-api-version');
    await cancel(ex.res);
    if (status !== 200 && status !== 401) throw new Error(`${host.endpoint} is not a registry: GET /v2/ answered ${status}`);
    if (status === 401 && !authenticate) throw new Error(`${host.endpoint}: GET /v2/ answered 401 without a challenge`);
    if (version && !version.startsWith('registry/2.')) this.log.warn({ endpoint: host.endpoint, version }, 'unexpected registry API version');
    return { status, authenticate };
  }

  /** Resolve a reference to the image manifest for our platform, verifying every digest on the way. */
  async resolve(ref: ImageReference): Promise<ResolvedImage> {
    const image = formatReference(ref);
    const top = await this.fetchManifest(ref, manifestReference(ref));
    if (top.parsed.kind === 'manifest') {
      this.checkLayers(image, top.parsed.manifest);
      return { digest: top.digest, mediaType: top.mediaType, manifest: top.parsed.manifest, bytes: top.bytes };
    }
    let chosen: Descriptor;
    try {
      chosen = selectPlatform(top.parsed.index, this.platform);
    } catch (e) {
      throw new ImagePullError(image, 'platform', (e as Error).message);
    }
    const child = await this.fetchManifest(ref, chosen.digest);
    if (child.bytes.length !== chosen.size) {
      throw new ImagePullError(image, `manifest ${shortDigest(chosen.digest)}`, `size ${child.bytes.length} differs from the index's ${chosen.size}`);
    }
    if (child.parsed.kind !== 'manifest') {
      throw new ImagePullError(image, `manifest ${shortDigest(chosen.digest)}`, 'the index points at another index');
    }
    this.checkLayers(image, child.parsed.manifest);
    return {
      digest: child.digest,
      mediaType: child.mediaType,
      manifest: child.parsed.manifest,
      bytes: child.bytes,
      index: { digest: top.digest, mediaType: top.mediaType, bytes: top.bytes },
    };
  }

  private checkLayers(image: string, m: ImageManifest): void {
    for (const l of m.layers) {
      try {
        layerCompression(l.mediaType);
      } catch (e) {
        throw new ImagePullError(image, `layer ${shortDigest(l.digest)}`, (e as Error).message);
      }
    }
  }

  /** GET a manifest by tag or digest from the first endpoint that has it. */
  async fetchManifest(ref: ImageReference, reference: string): Promise<FetchedManifest> {
    const image = formatReference(ref);
    const byDigest = SHA256_DIGEST.test(reference);
    const step = byDigest ? `manifest ${shortDigest(reference)}` : `manifest ${reference}`;
    const attempts: Attempt[] = [];
    let lastCause: unknown;
    for (const host of this.hosts(ref)) {
      try {
        const ex = await this.request(host, ref, `/manifests/${reference}`, 'GET', MANIFEST_ACCEPT);
        if (ex.res.status !== 200) throw new EndpointError(await statusDetail(ex, this.idleTimeoutMs));
        const declared = Number(ex.res.headers.get('content-length') ?? '0');
        if (declared > MAX_MANIFEST_BYTES) {
          await cancel(ex.res);
          throw new EndpointError(`manifest of ${declared} bytes is over the ${MAX_MANIFEST_BYTES} byte limit`);
        }
        const bytes = await readBody(ex, MAX_MANIFEST_BYTES, this.idleTimeoutMs);
        const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
        if (byDigest && digest !== reference) throw new EndpointError(`digest mismatch: the manifest served hashes to ${digest}`);
        const claimed = ex.res.headers.get('docker-content-digest');
        if (claimed && SHA256_DIGEST.test(claimed) && claimed !== digest) {
          throw new EndpointError(`digest mismatch: the registry says ${claimed} but the manifest hashes to ${digest}`);
        }
        let parsed: ParsedManifest;
        try {
          parsed = parseManifest(bytes, ex.res.headers.get('content-type'));
        } catch (e) {
          throw new EndpointError((e as Error).message);
        }
        const mediaType = parsed.kind === 'index' ? parsed.index.mediaType : parsed.manifest.mediaType;
        this.log.debug({ image, endpoint: host.endpoint, digest, mediaType }, 'manifest fetched');
        return { digest, mediaType, bytes, parsed };
      } catch (e) {
        attempts.push({ endpoint: host.endpoint, detail: e instanceof Error ? e.message : String(e) });
        lastCause = e;
      }
    }
    throw attemptsError(image, step, attempts, lastCause);
  }

  /**
   * Stream a blob into `dest` (created exclusively), hashing as it arrives.
   * On any failure, including a digest or size mismatch, `dest` is removed.
   */
  async fetchBlob(ref: ImageReference, desc: Descriptor, dest: string, what: string, onBytes?: BytesCallback): Promise<void> {
    const image = formatReference(ref);
    const attempts: Attempt[] = [];
    let lastCause: unknown;
    for (const host of this.hosts(ref)) {
      try {
        await this.blobFrom(host, ref, desc, dest, onBytes);
        return;
      } catch (e) {
        await rm(dest, { force: true });
        attempts.push({ endpoint: host.endpoint, detail: e instanceof Error ? e.message : String(e) });
        lastCause = e;
      }
    }
    throw attemptsError(image, `${what} ${shortDigest(desc.digest)}`, attempts, lastCause);
  }

  private async blobFrom(host: RegistryHost, ref: ImageReference, desc: Descriptor, dest: string, onBytes?: BytesCallback): Promise<void> {
    const ex = await this.request(host, ref, `/blobs/${desc.digest}`, 'GET');
    if (ex.res.status !== 200) throw new EndpointError(await statusDetail(ex, this.idleTimeoutMs));
    const declared = ex.res.headers.get('content-length');
    if (declared !== null && Number(declared) !== desc.size) {
      await cancel(ex.res);
      throw new EndpointError(`size mismatch: the registry sends ${declared} bytes, the manifest says ${desc.size}`);
    }
    const fh = await open(dest, 'wx', 0o644);
    try {
      const hash = createHash('sha256');
      let done = 0;
      for await (const chunk of iterateBody(ex, this.idleTimeoutMs)) {
        done += chunk.length;
        if (done > desc.size) {
          ex.ctl.abort(new Error('blob larger than its descriptor'));
          throw new EndpointError(`size mismatch: more than the ${desc.size} bytes the manifest says`);
        }
        hash.update(chunk);
        await fh.write(chunk);
        onBytes?.(done);
      }
      if (done !== desc.size) throw new EndpointError(`size mismatch: got ${done} bytes, the manifest says ${desc.size}`);
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== desc.digest) throw new EndpointError(`digest mismatch: the content hashes to ${got}`);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** One API request with auth: a cached token if we have one, else answer the 401 challenge once. */
  private async request(host: RegistryHost, ref: ImageReference, path: string, method: string, accept?: string): Promise<Exchange> {
    const url = new URL(`${host.api.href}/${ref.repository}${path}`);
    if (host.mirror) url.searchParams.set('ns', ref.registry);
    const origin = host.api.origin;
    let auth = this.tokens.lookup(origin, ref.repository);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      if (auth) headers.authorization = auth;
      const ex = await this.follow(url, method, headers);
      if (ex.res.status !== 401 || attempt === 1) {
        if (ex.res.status === 401) {
          const detail = await statusDetail(ex, this.idleTimeoutMs);
          this.tokens.invalidate(origin, ref.repository);
          throw new EndpointError(`unauthorized: the registry refused the credentials it asked for: ${detail}`);
        }
        return ex;
      }
      const challenges = parseChallenges(ex.res.headers.get('www-authenticate'));
      await cancel(ex.res);
      if (auth) this.tokens.invalidate(origin, ref.repository);
      try {
        auth = await this.tokens.authorize(origin, ref.repository, challenges, this.credentialsFor(host, ref),
          host.api.protocol === 'http:', (u, h) => this.fetchToken(u, h));
      } catch (e) {
        throw new EndpointError(`unauthorized: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  private credentialsFor(host: RegistryHost, ref: ImageReference): Credentials | undefined {
    // A mirror gets only credentials written for it: the upstream's must not leak to it.
    return this.credentials[host.api.host] ?? (host.mirror ? undefined : this.credentials[ref.registry]);
  }

  private async fetchToken(url: URL, headers: Record<string, string>): Promise<{ status: number; statusText: string; body: Buffer }> {
    const ex = await this.follow(url, 'GET', headers);
    if (ex.res.status !== 200) {
      await cancel(ex.res);
      return { status: ex.res.status, statusText: ex.res.statusText, body: Buffer.alloc(0) };
    }
    return { status: 200, statusText: ex.res.statusText, body: await readBody(ex, 1 << 20, this.idleTimeoutMs) };
  }

  /**
   * fetch with our own redirect handling: registries send blobs to object
   * storage, and the Authorization header must not follow to another origin
   * (a pre-signed URL carries its own), nor may https drop to http.
   */
  private async follow(start: URL, method: string, headers: Record<string, string>): Promise<Exchange> {
    let url = start;
    const h = { 'user-agent': this.userAgent, ...headers };
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(new Error(`no response within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
      let res: Response;
      try {
        res = await fetch(url, { method, headers: h, redirect: 'manual', signal: ctl.signal });
      } catch (e) {
        throw new EndpointError(`${method} ${url.origin}${url.pathname}: ${fetchFailure(e, ctl)}`);
      } finally {
        clearTimeout(timer);
      }
      const location = res.headers.get('location');
      if (!REDIRECTS.has(res.status) || !location) return { res, ctl, url };
      await cancel(res);
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new EndpointError(`redirect to unsupported URL scheme ${next.protocol}`);
      if (url.protocol === 'https:' && next.protocol === 'http:') throw new EndpointError(`refusing redirect from https to plain http (${next.origin})`);
      if (next.origin !== url.origin) delete (h as Record<string, string>).authorization;
      this.log.debug({ from: url.origin + url.pathname, to: next.origin + next.pathname }, 'registry redirect');
      url = next;
    }
    throw new EndpointError(`more than ${MAX_REDIRECTS} redirects`);
  }
}
