// OCI and Docker schema2 manifests: what we accept, how we read them, and which
// platform of a multi-arch index we boot.

import { SHA256_DIGEST } from './reference.js';

export const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  DockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** Sent as Accept on manifest requests, most preferred first. */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerList, MediaType.DockerManifest].join(', ');

/** Larger manifests are refused before parsing (containerd uses the same bound). */
export const MAX_MANIFEST_BYTES = 4 << 20;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  urls?: string[];
}

export interface ImageManifest {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  mediaType: string;
  manifests: Descriptor[];
}

export type ParsedManifest = { kind: 'index'; index: ImageIndex } | { kind: 'manifest'; manifest: ImageManifest };

const GZIP_LAYERS = new Set([
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);
const PLAIN_LAYERS = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.docker.image.rootfs.diff.tar',
]);

/** Throws a plain Error with the reason; the caller adds which image and step. */
function fail(why: string): never {
  throw new Error(why);
}

function descriptor(v: unknown, where: string): Descriptor {
  if (typeof v !== 'object' || v === null) fail(`${where}: not an object`);
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string') fail(`${where}.mediaType: missing`);
  if (typeof d.digest !== 'string' || !SHA256_DIGEST.test(d.digest)) fail(`${where}.digest: ${JSON.stringify(d.digest)} is not a sha256 digest`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) fail(`${where}.size: not a byte count`);
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (typeof d.platform === 'object' && d.platform !== null) {
    const p = d.platform as Record<string, unknown>;
    out.platform = { os: String(p.os ?? ''), architecture: String(p.architecture ?? '') };
    if (typeof p.variant === 'string') out.platform.variant = p.variant;
  }
  if (Array.isArray(d.urls)) out.urls = d.urls.filter((u): u is string => typeof u === 'string');
  return out;
}

/**
 * Parse a manifest body. The media type comes from the body if it says, else from
 * the Content-Type the registry sent, else from its shape.
 */
export function parseManifest(body: Buffer, contentType: string | null): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    fail('manifest is not JSON');
  }
  if (typeof json !== 'object' || json === null) fail('manifest is not a JSON object');
  const m = json as Record<string, unknown>;
  const header = contentType?.split(';')[0]?.trim();
  const mediaType = typeof m.mediaType === 'string' ? m.mediaType
    : header && header !== 'application/json' && header !== 'application/octet-stream' ? header
      : Array.isArray(m.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
  if (m.schemaVersion === 1 || mediaType === MediaType.DockerSchema1 || mediaType === MediaType.DockerSchema1Signed) {
    fail('Docker schema1 manifests are not supported (re-push the image with a current tool)');
  }
  if (m.schemaVersion !== 2) fail(`unsupported manifest schemaVersion ${JSON.stringify(m.schemaVersion)}`);

  if (mediaType === MediaType.OciIndex || mediaType === MediaType.DockerList) {
    if (!Array.isArray(m.manifests)) fail('index has no manifests list');
    return { kind: 'index', index: { mediaType, manifests: m.manifests.map((d, i) => descriptor(d, `manifests[${i}]`)) } };
  }
  if (mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest) {
    if (!Array.isArray(m.layers)) fail('manifest has no layers list');
    return {
      kind: 'manifest',
      manifest: { mediaType, config: descriptor(m.config, 'config'), layers: m.layers.map((d, i) => descriptor(d, `layers[${i}]`)) },
    };
  }
  fail(`unsupported manifest media type ${mediaType}`);
}

/** Node's process.arch in OCI's words. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

function normaliseArch(a: string): string {
  return a === 'x86_64' || a === 'x86-64' ? 'amd64' : a === 'aarch64' ? 'arm64' : a;
}

/** The manifest of an index that matches the platform; the error lists what there is. */
export function selectPlatform(index: ImageIndex, want: Platform): Descriptor {
  const matching = index.manifests.filter((d) =>
    d.platform !== undefined && d.platform.os === want.os && normaliseArch(d.platform.architecture) === want.architecture
    && (want.variant === undefined || d.platform.variant === undefined || d.platform.variant === want.variant));
  // An exact variant match beats an unspecified one (arm/v7 vs arm).
  const best = matching.find((d) => d.platform?.variant === want.variant) ?? matching[0];
  if (best) return best;
  const have = index.manifests.map((d) => d.platform ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}` : 'unknown');
  fail(`no manifest for ${want.os}/${want.architecture} in the index (it has: ${have.join(', ') || 'nothing'})`);
}

/** How a layer's tar stream is compressed; refuses what we cannot read. */
export function layerCompression(mediaType: string): 'gzip' | 'none' {
  if (GZIP_LAYERS.has(mediaType)) return 'gzip';
  if (PLAIN_LAYERS.has(mediaType)) return 'none';
  if (mediaType.endsWith('+zstd')) fail(`zstd layers (${mediaType}) are not supported on Node 20`);
  fail(`unsupported layer media type ${mediaType}`);
}
