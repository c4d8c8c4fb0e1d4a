// OCI image references ("quay.io/kubevirt/cirros-container-disk-demo:v1.2@sha256:…"),
// parsed with the grammar of the distribution/reference package that the kubelet and
// containerd use, and normalised the same way (docker.io, library/, latest). A
// reference refused here is one the kubelet would refuse with InvalidImageName.

export interface ImageReference {
  /** Registry host[:port]; "docker.io" when the reference names none. */
  registry: string;
  /** Repository path inside the registry ("library/busybox" for "busybox"). */
  repository: string;
  tag?: string;
  digest?: string;
  /** Fully qualified: registry/repository[:tag][@digest], tag "latest" when neither is given. */
  normalized: string;
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const NAME_MAX = 255;

/** Parses an image reference; a string result is the reason it is invalid. */
export function parseImageReference(ref: string): ImageReference | string {
  if (ref.length === 0) return 'repository name must have at least one component';
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return 'invalid digest format';
  }
  let tag: string | undefined;
  // A tag follows the last ':' that comes after the last '/' (a ':' before it is a port).
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return 'invalid reference format';
  }
  if (rest.length > NAME_MAX) return `repository name must not be more than ${NAME_MAX} characters`;

  const parts = rest.split('/');
  let registry = 'docker.io';
  // The first part is a registry when it looks like a host: a dot, a port, or localhost.
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === 'localhost' || /[A-Z]/.test(parts[0]!))) {
    registry = parts.shift()!;
    if (!DOMAIN.test(registry)) return 'invalid reference format';
  }
  for (const p of parts) {
    if (!PATH_COMPONENT.test(p)) {
      return /[A-Z]/.test(p) && PATH_COMPONENT.test(p.toLowerCase())
        ? 'invalid reference format: repository name must be lowercase'
        : 'invalid reference format';
    }
  }
  let repository = parts.join('/');
  if (registry === 'docker.io' && parts.length === 1) repository = `library/${repository}`;
  const normalized = `${registry}/${repository}${tag !== undefined ? `:${tag}` : digest ? '' : ':latest'}${digest ? `@${digest}` : ''}`;
  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest && { digest }), normalized };
}
