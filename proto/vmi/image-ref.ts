// OCI image references ("quay.io/kubevirt/cirros-container-disk-demo:v1.2@sha256:…"),
// parsed with the grammar of the distribution/reference package that the kubelet and
// containerd use, and normalised the same way (docker.io, library/, latest). One
// parser for both sides: admission refuses here what the image service could not
// pull (handler/images/reference.ts wraps it).

export interface ImageReference {
  /** Registry host[:port]; "docker.io" when the reference names none. */
  registry: string;
  /** Repository path inside the registry ("library/busybox" for "busybox"). */
  repository: string;
  /** The tag; "latest" when neither a tag nor a digest was given. */
  tag?: string;
  /** "sha256:<64 hex>"; when present it wins over the tag. */
  digest?: string;
  /** Fully qualified: registry/repository[:tag][@digest]. */
  normalized: string;
}

export const DEFAULT_REGISTRY = 'docker.io';
const NAME_MAX = 255;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:/;

function validDomain(domain: string): boolean {
  if (/^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$/.test(domain)) return true; // an IPv6 literal, [::1]:5000
  let host = domain;
  const colon = domain.lastIndexOf(':');
  if (colon >= 0) {
    const port = domain.slice(colon + 1);
    if (!/^[0-9]+$/.test(port) || Number(port) > 65535) return false;
    host = domain.slice(0, colon);
  }
  return host.length > 0 && host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/**
 * Parses a reference the way `docker pull` does: a first component with a dot, a
 * port or "localhost" (or any capital letter) is a registry, otherwise the image
 * lives on docker.io, where single names sit under library/. A string result is
 * the reason the reference is refused.
 */
export function parseImageReference(ref: string): ImageReference | string {
  if (typeof ref !== 'string' || ref.length === 0) return 'empty';
  if (ref !== ref.trim()) return 'leading or trailing whitespace';

  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!SHA256_DIGEST.test(digest)) {
      return ANY_DIGEST.test(digest) && !digest.startsWith('sha256:')
        ? `unsupported digest algorithm in ${JSON.stringify(digest)} (only sha256)`
        : `malformed digest ${JSON.stringify(digest)} (want sha256:<64 lowercase hex>)`;
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return `malformed tag ${JSON.stringify(tag)}`;
  }
  if (rest.length === 0) return 'missing repository name';

  let registry = DEFAULT_REGISTRY;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first) {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry !== DEFAULT_REGISTRY && !validDomain(registry)) return `malformed registry host ${JSON.stringify(registry)}`;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;

  for (const part of repository.split('/')) {
    if (part.length === 0) return 'empty path component';
    if (!PATH_COMPONENT.test(part)) {
      return part.toLowerCase() !== part && PATH_COMPONENT.test(part.toLowerCase())
        ? 'repository name must be lowercase'
        : `malformed path component ${JSON.stringify(part)}`;
    }
  }
  if (registry.length + 1 + repository.length > NAME_MAX) return `name longer than ${NAME_MAX} characters`;

  if (tag === undefined && digest === undefined) tag = 'latest';
  const normalized = `${registry}/${repository}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}`;
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}), normalized };
}
