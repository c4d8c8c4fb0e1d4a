// Which endpoints serve a registry, in the order to try them: the configured
// mirrors, then the registry itself (containerd's hosts.toml model). Plain http is
// allowed only for a mirror whose endpoint was written with "http://", so a typo
// can never silently downgrade a real registry to cleartext.

import { VirtnodeError } from '../../proto/errors.js';
import { DEFAULT_REGISTRY } from './reference.js';

export interface MirrorConfig {
  /** "http://127.0.0.1:5000", "https://mirror.example.com", "mirror.example.com:5000" (https). */
  endpoints: string[];
}

/** Keyed by registry host as it appears in references: "quay.io", "docker.io", "registry:5000". */
export type Mirrors = Record<string, MirrorConfig>;

export interface RegistryHost {
  /** The endpoint as configured, for messages. */
  endpoint: string;
  /** Base of the distribution API, ending in "/v2". */
  api: URL;
  /** A mirror, not the registry itself: requests carry `?ns=<registry>` as containerd's do. */
  mirror: boolean;
}

function badMirror(registry: string, endpoint: string, why: string): VirtnodeError {
  return new VirtnodeError('VN_INVALID_SPEC', `mirrors[${JSON.stringify(registry)}]: endpoint ${JSON.stringify(endpoint)}: ${why}`);
}

function apiBase(url: URL): URL {
  const api = new URL(url.href);
  const path = api.pathname.replace(/\/+$/, '');
  api.pathname = path.endsWith('/v2') ? path : `${path}/v2`;
  api.search = '';
  api.hash = '';
  return api;
}

function mirrorHost(registry: string, endpoint: string): RegistryHost {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw badMirror(registry, endpoint, 'not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badMirror(registry, endpoint, `scheme ${url.protocol} is not http or https`);
  if (url.username || url.password) throw badMirror(registry, endpoint, 'credentials belong in the credentials config, not the URL');
  return { endpoint, api: apiBase(url), mirror: true };
}

/** Check a mirrors config up front, so a typo fails at start-up and not at the first pull. */
export function validateMirrors(mirrors: Mirrors): void {
  for (const [registry, cfg] of Object.entries(mirrors)) {
    if (!cfg || !Array.isArray(cfg.endpoints)) throw new VirtnodeError('VN_INVALID_SPEC', `mirrors[${JSON.stringify(registry)}].endpoints: must be a list`);
    for (const e of cfg.endpoints) mirrorHost(registry, e);
  }
}

/** The registry's own API endpoint; docker.io is served by registry-1.docker.io. */
export function upstreamHost(registry: string): RegistryHost {
  const host = registry === DEFAULT_REGISTRY ? 'registry-1.docker.io' : registry;
  return { endpoint: `https://${host}`, api: new URL(`https://${host}/v2`), mirror: false };
}

/** Names people write for Docker Hub in mirror configs; references normalise them all to docker.io. */
const DOCKER_HUB_ALIASES = [DEFAULT_REGISTRY, 'index.docker.io', 'registry-1.docker.io'];

export function registryHosts(registry: string, mirrors: Mirrors = {}, mirrorsOnly = false): RegistryHost[] {
  const keys = registry === DEFAULT_REGISTRY ? DOCKER_HUB_ALIASES : [registry];
  const hosts = keys.flatMap((k) => (mirrors[k]?.endpoints ?? []).map((e) => mirrorHost(k, e)));
  if (!mirrorsOnly) hosts.push(upstreamHost(registry));
  if (hosts.length === 0) {
    throw new VirtnodeError('VN_IMAGE', `no endpoint for registry ${registry}: mirrorsOnly is set and no mirror is configured for it`);
  }
  return hosts;
}
