// Image references parsed the way Docker (distribution/reference) does, so a
// reference that works in a pod spec means the same image here.

import { VirtnodeError } from '../../proto/errors.js';
import { DEFAULT_REGISTRY, SHA256_DIGEST, parseImageReference, type ImageReference as ProtoReference } from '../../proto/vmi/image-ref.js';
import type { PullPolicy } from '../../proto/vmi/types.js';

/** A parsed reference, as the image service keys it (without the normalised text). */
export type ImageReference = Omit<ProtoReference, 'normalized'>;

export { DEFAULT_REGISTRY, SHA256_DIGEST };

/** proto/vmi's parser (the one admission uses), throwing a VN_INVALID_SPEC error that names the reference. */
export function parseReference(ref: string): ImageReference {
  const r = parseImageReference(ref);
  if (typeof r === 'string') throw new VirtnodeError('VN_INVALID_SPEC', `invalid image reference ${JSON.stringify(String(ref))}: ${r}`);
  const { normalized: _normalized, ...out } = r;
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
