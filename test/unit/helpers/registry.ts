// Test parts for the image tests: a real docker-registry process, a token server
// for it, a counting (and optionally redirecting) proxy, and builders for small
// OCI layouts with hand-made tar layers that skopeo pushes.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

// ---- docker-registry ----

export interface TokenAuth {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
}

export interface TestRegistry {
  port: number;
  /** "127.0.0.1:<port>": the registry part of references. */
  host: string;
  url: string;
  /** Filesystem storage root. */
  storage: string;
  stop(): Promise<void>;
}

/** Start /usr/bin/docker-registry on a free port with filesystem storage under `dir`. */
export async function startRegistry(dir: string, auth?: TokenAuth): Promise<TestRegistry> {
  const port = await freePort();
  const storage = join(dir, 'storage');
  await mkdir(storage, { recursive: true });
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: virtnode-test',
  ];
  if (auth) {
    lines.push('auth:', '  token:', `    realm: ${auth.realm}`, `    service: ${auth.service}`, `    issuer: ${auth.issuer}`, `    rootcertbundle: ${auth.rootCertBundle}`);
  }
  const config = join(dir, 'config.yml');
  await writeFile(config, `${lines.join('\n')}\n`);
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || (auth && res.status === 401)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer on ${url}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    host: `127.0.0.1:${port}`,
    url,
    storage,
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

/** Where the registry keeps a blob's bytes (to corrupt it). */
export function registryBlobPath(reg: TestRegistry, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(reg.storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

// ---- deterministic tar layers ----

export interface TarEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'fifo';
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/** A ustar archive, byte-for-byte the same for the same entries (mtime 0, uid 0). */
export function tarball(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  const typeflag = { file: '0', hardlink: '1', symlink: '2', char: '3', dir: '5', fifo: '6' } as const;
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = type === 'file' ? (typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0))) : Buffer.alloc(0);
    const h = Buffer.alloc(512);
    if (Buffer.byteLength(e.path) > 100) throw new Error(`tar path too long for this writer: ${e.path}`);
    h.write(e.path, 0, 100, 'utf8');
    h.write(octal(e.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100, 'ascii');
    h.write(octal(0, 8), 108, 'ascii');
    h.write(octal(0, 8), 116, 'ascii');
    h.write(octal(data.length, 12), 124, 'ascii');
    h.write(octal(0, 12), 136, 'ascii');
    h.write('        ', 148, 'ascii');
    h.write(typeflag[type], 156, 'ascii');
    if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
    h.write('ustar\0', 257, 'ascii');
    h.write('00', 263, 'ascii');
    h.write(octal(0, 8), 329, 'ascii');
    h.write(octal(0, 8), 337, 'ascii');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(h, data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

// ---- OCI layouts ----

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export interface LayoutImage {
  /** Each layer's entries, bottom first. */
  layers: TarEntry[][];
  architecture?: string;
  /** Default true: tar+gzip layers. */
  gzip?: boolean;
}

export interface BuiltImage {
  manifestDigest: string;
  configDigest: string;
  layerDigests: string[];
  manifest: Buffer;
}

export interface BuiltLayout {
  /** What the tag points at: the manifest, or the index when several images were given. */
  digest: string;
  images: BuiltImage[];
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

async function putBlob(dir: string, bytes: Buffer): Promise<string> {
  const d = sha256(bytes);
  await writeFile(join(dir, 'blobs', 'sha256', d.slice(7)), bytes);
  return d;
}

async function buildImage(dir: string, img: LayoutImage): Promise<BuiltImage & { size: number }> {
  const gzip = img.gzip ?? true;
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  const diffIds: string[] = [];
  for (const entries of img.layers) {
    const tar = tarball(entries);
    diffIds.push(sha256(tar));
    const blob = gzip ? gzipSync(tar) : tar;
    layers.push({ mediaType: gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar', digest: await putBlob(dir, blob), size: blob.length });
  }
  const config = Buffer.from(JSON.stringify({
    architecture: img.architecture ?? 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: diffIds },
  }));
  const configDigest = await putBlob(dir, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers,
  }));
  const manifestDigest = await putBlob(dir, manifest);
  return { manifestDigest, configDigest, layerDigests: layers.map((l) => l.digest), manifest, size: manifest.length };
}

/**
 * Write an OCI image layout at `dir` whose `tag` names one image, or an index
 * of several (one per architecture) when given a list.
 */
export async function writeOciLayout(dir: string, tag: string, images: LayoutImage | LayoutImage[]): Promise<BuiltLayout> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const list = Array.isArray(images) ? images : [images];
  const built: (BuiltImage & { size: number })[] = [];
  for (const img of list) built.push(await buildImage(dir, img));
  let top: { mediaType: string; digest: string; size: number };
  if (Array.isArray(images)) {
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: built.map((b, i) => ({ mediaType: OCI_MANIFEST, digest: b.manifestDigest, size: b.size, platform: { os: 'linux', architecture: list[i]!.architecture ?? 'amd64' } })),
    }));
    top = { mediaType: OCI_INDEX, digest: await putBlob(dir, index), size: index.length };
  } else {
    top = { mediaType: OCI_MANIFEST, digest: built[0]!.manifestDigest, size: built[0]!.size };
  }
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return { digest: top.digest, images: built.map(({ size: _size, ...b }) => b) };
}

/** A temp dir others can read: skopeo runs as nobody and must read the layouts in it. */
export async function makeTmp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

const NOBODY = 65534;

/**
 * `skopeo copy` a layout's tag into the registry (plain http). As root, skopeo
 * keeps a cache in /var/lib/containers; run as nobody with a throw-away HOME it
 * keeps it there instead, and the test leaves nothing behind. Its auth file is
 * in that HOME too: by default it reads /run/containers/<uid>/auth.json, and
 * where podman or buildah ran as root /run/containers is 0700, so nobody's
 * skopeo failed with "permission denied" before it sent a byte.
 */
export async function push(layoutDir: string, tag: string, reg: TestRegistry, repo: string, opts: { all?: boolean; creds?: string; format?: 'v2s2' | 'oci' } = {}): Promise<void> {
  const args = ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false'];
  if (opts.all) args.push('--all');
  if (opts.creds) args.push('--dest-creds', opts.creds);
  if (opts.format) args.push('--format', opts.format);
  args.push(`oci:${layoutDir}:${tag}`, `docker://${reg.host}/${repo}:${tag}`);
  const home = await mkdtemp(join(tmpdir(), 'vn-skopeo-'));
  const asRoot = process.getuid?.() === 0;
  try {
    if (asRoot) await chown(home, NOBODY, NOBODY);
    const env = { HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: home, REGISTRY_AUTH_FILE: join(home, 'auth.json') };
    const cmd = asRoot ? 'setpriv' : 'skopeo';
    const argv = asRoot ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'skopeo', ...args] : args;
    await run(cmd, argv, { timeout: 60_000, env });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`skopeo ${args.join(' ')}: ${err.stderr || err.message}`);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** A small valid qcow2 file's bytes, made by qemu-img. */
export async function qcow2Bytes(dir: string, size = '1M'): Promise<Buffer> {
  const p = join(dir, `${randomUUID()}.qcow2`);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', p, size]);
  const b = await readFile(p);
  await rm(p, { force: true });
  return b;
}

// ---- token auth ----

function base32(buf: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of buf) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** libtrust's key ID (what docker-registry looks a JWT's "kid" up by): base32 of SHA-256(SPKI)[:30] in groups of 4. */
export function libtrustKeyId(certPem: string): string {
  const spki = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  const s = base32(createHash('sha256').update(spki).digest().subarray(0, 30));
  return s.match(/.{1,4}/g)!.join(':');
}

export interface SigningKey {
  keyPem: string;
  certPath: string;
  kid: string;
}

/** An RSA key and its self-signed cert (openssl req -x509), the cert being the registry's rootcertbundle. */
export async function makeSigningKey(dir: string): Promise<SigningKey> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=virtnode-test-token-issuer'], { timeout: 30_000 });
  const keyPem = await readFile(keyPath, 'utf8');
  return { keyPem, certPath, kid: libtrustKeyId(await readFile(certPath, 'utf8')) };
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

export interface TokenServer {
  realm: string;
  /** Token requests answered, granted or not. */
  requests: number;
  granted: number;
  stop(): Promise<void>;
}

/**
 * The Docker token service, just enough for docker-registry: Basic auth against
 * `users`, then an RS256 JWT granting the requested actions on the scope.
 */
export async function startTokenServer(key: SigningKey, opts: { issuer: string; service: string; users: Record<string, string>; lifetimeS?: number }): Promise<TokenServer> {
  const priv = createPrivateKey(key.keyPem);
  const state = { requests: 0, granted: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? '';
    const [user, pass] = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString().split(':') : [];
    if (!user || opts.users[user] !== pass || url.searchParams.get('service') !== opts.service) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const access = url.searchParams.getAll('scope').flatMap((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop()!.split(',');
      return [{ type, name: rest.join(':'), actions }];
    });
    const now = Math.floor(Date.now() / 1000);
    const lifetime = opts.lifetimeS ?? 300;
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: key.kid }));
    const claims = b64url(JSON.stringify({ iss: opts.issuer, sub: user, aud: opts.service, exp: now + lifetime, nbf: now - 10, iat: now, jti: randomUUID(), access }));
    const sig = sign('sha256', Buffer.from(`${header}.${claims}`), priv);
    state.granted++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${b64url(sig)}`, expires_in: lifetime, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    get requests() {
      return state.requests;
    },
    get granted() {
      return state.granted;
    },
    stop: () => new Promise((r) => server.close(() => r())),
  };
}

// ---- a counting proxy ----

export interface CountingProxy {
  url: string;
  /** Requests seen, as "METHOD /path" (query dropped). */
  seen: string[];
  count(re: RegExp): number;
  stop(): Promise<void>;
}

export interface ProxyOptions {
  /** Blob GETs get a 307 to /_storage/… on the proxy, as registries send blobs to object storage. */
  redirectBlobs?: boolean;
  /** Hold blob requests this long before forwarding them (to make pulls overlap). */
  delayBlobsMs?: number;
  /** Require HTTP Basic auth with these credentials (a registry behind htpasswd). */
  basicAuth?: { username: string; password: string };
  /** Rewrite manifest bodies (keeping the registry's headers, digest included). */
  rewriteManifest?: (body: Buffer) => Buffer;
  /** Send half of each blob body, then go silent. */
  stallBlobs?: boolean;
}

/** An HTTP proxy in front of the registry that records requests and misbehaves on request. */
export async function startProxy(target: string, opts: ProxyOptions = {}): Promise<CountingProxy> {
  const seen: string[] = [];
  const open = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.method} ${url.pathname}`);
    let path = url.pathname + url.search;
    const isBlob = /^\/v2\/.+\/blobs\/sha256:[a-f0-9]{64}$/.test(url.pathname);
    const isManifest = /^\/v2\/.+\/manifests\/[^/]+$/.test(url.pathname);
    if (opts.basicAuth && !url.pathname.startsWith('/_storage/')) {
      const want = `Basic ${Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="virtnode-test"', 'content-type': 'application/json' })
          .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        return;
      }
    }
    if (opts.redirectBlobs && isBlob && req.method === 'GET') {
      res.writeHead(307, { location: `/_storage${url.pathname}` }).end();
      return;
    }
    if (url.pathname.startsWith('/_storage/')) path = url.pathname.slice('/_storage'.length);
    const headers = { ...req.headers };
    delete headers.host;
    if (opts.basicAuth) delete headers.authorization; // ours, not the registry's
    const forward = (): void => {
      const up = http.request(`${target}${path}`, { method: req.method, headers }, (ur) => {
        if (isManifest && opts.rewriteManifest && ur.statusCode === 200) {
          const chunks: Buffer[] = [];
          ur.on('data', (c: Buffer) => chunks.push(c));
          ur.on('end', () => {
            const body = opts.rewriteManifest!(Buffer.concat(chunks));
            res.writeHead(200, { ...ur.headers, 'content-length': String(body.length) }).end(body);
          });
          return;
        }
        if (isBlob && opts.stallBlobs && ur.statusCode === 200) {
          res.writeHead(200, ur.headers);
          const half = Number(ur.headers['content-length'] ?? 0) >> 1;
          let sent = 0;
          ur.on('data', (c: Buffer) => {
            if (sent < half) res.write(c.subarray(0, Math.max(0, half - sent)));
            sent += c.length;
          });
          return; // never end: the client must give up on its own
        }
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (isBlob && opts.delayBlobsMs) setTimeout(forward, opts.delayBlobsMs);
    else forward();
  });
  server.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    count: (re) => seen.filter((s) => re.test(s)).length,
    stop: () => new Promise((r) => {
      for (const s of open) s.destroy();
      server.close(() => r());
    }),
  };
}
