// Image references parsed the way Docker (distribution/reference) does, so a
// reference that works in a pod spec means the same image here.

import { VirtnodeError } from '../../proto/errors.js';
import type { PullPolicy } from '../../proto/vmi/types.js';

export interface ImageReference {
  /** Registry host as written, normalised: "docker.io", "quay.io", "registry:5000". */
  registry: string;
  /** Repository path inside the registry: "library/busybox", "kubevirt/cirros-container-disk-demo". */
  repository: string;
  /** Tag; "latest" when neither tag nor digest was given. */
  tag?: string;
  /** "sha256:<64 hex>"; when present it wins over the tag. */
  digest?: string;
}

export const DEFAULT_REGISTRY = 'docker.io';
const MAX_NAME_LENGTH = 255;

const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

function invalid(ref: string, why: string): VirtnodeError {
  return new VirtnodeError('VN_INVALID_SPEC', `invalid image reference ${JSON.stringify(ref)}: ${why}`);
}

function validDomain(domain: string): boolean {
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
 * Parse a reference the way `docker pull` does: a first component with a dot, a
 * port or "localhost" (or any capital letter) is a registry, otherwise the image
 * lives on docker.io, where single names sit under library/.
 */
export function parseReference(ref: string): ImageReference {
  if (typeof ref !== 'string' || ref.length === 0) throw invalid(String(ref), 'empty');
  if (ref !== ref.trim()) throw invalid(ref, 'leading or trailing whitespace');

  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!SHA256_DIGEST.test(digest)) {
      throw invalid(ref, /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:/.test(digest) && !digest.startsWith('sha256:')
        ? `unsupported digest algorithm in ${JSON.stringify(digest)} (only sha256)`
        : `malformed digest ${JSON.stringify(digest)} (want sha256:<64 lowercase hex>)`);
    }
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, `malformed tag ${JSON.stringify(tag)}`);
  }
  if (rest.length === 0) throw invalid(ref, 'missing repository name');

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
  if (registry !== DEFAULT_REGISTRY && !validDomain(registry)) throw invalid(ref, `malformed registry host ${JSON.stringify(registry)}`);
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;

  for (const part of repository.split('/')) {
    if (part.length === 0) throw invalid(ref, 'empty path component');
    if (!PATH_COMPONENT.test(part)) {
      throw invalid(ref, part.toLowerCase() !== part && PATH_COMPONENT.test(part.toLowerCase())
        ? 'repository name must be lowercase'
        : `malformed path component ${JSON.stringify(part)}`);
    }
  }
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) throw invalid(ref, `name longer than ${MAX_NAME_LENGTH} characters`);

  if (tag === undefined && digest === undefined) tag = 'latest';
  const out: ImageReference = { registry, repository };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** "registry/repository", the name a manifest is stored under. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The fully qualified reference: "docker.io/library/busybox:latest", "quay.io/x/y@sha256:…". */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** What to ask the registry's manifest endpoint for: the digest if pinned, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/**
 * Kubernetes' default imagePullPolicy: Always when the tag is "latest" (which a
 * reference without tag and digest gets), IfNotPresent otherwise.
 */
export function defaultPullPolicy(ref: ImageReference): PullPolicy {
  return ref.tag === 'latest' ? 'Always' : 'IfNotPresent';
}
