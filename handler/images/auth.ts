// Registry authentication: the Docker token protocol (a 401 with
// `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, then a GET of the realm)
// and plain Basic. Tokens are cached per realm, service, scope and user until
// shortly before they expire, so a pull asks for one token, not one per layer.

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parse a WWW-Authenticate header into its challenges. Parameter values may be
 * quoted and hold commas (scope="repository:a:pull,push").
 */
export function parseChallenges(header: string | null): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  const h = header;
  const n = h.length;
  const tokenChar = /[A-Za-z0-9!#$%&'*+.^_`|~-]/;
  let i = 0;
  let current: Challenge | undefined;
  const skipSpace = (): void => {
    while (i < n && (h[i] === ' ' || h[i] === '\t')) i++;
  };
  while (i < n) {
    while (i < n && (h[i] === ' ' || h[i] === '\t' || h[i] === ',')) i++;
    const start = i;
    while (i < n && tokenChar.test(h[i]!)) i++;
    const name = h.slice(start, i);
    if (!name) {
      i++; // a character we cannot read: skip it rather than stop
      continue;
    }
    skipSpace();
    if (h[i] !== '=') {
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
      continue;
    }
    i++;
    skipSpace();
    let value = '';
    if (h[i] === '"') {
      i++;
      while (i < n && h[i] !== '"') {
        if (h[i] === '\\' && i + 1 < n) i++;
        value += h[i++];
      }
      i++;
    } else {
      const vs = i;
      while (i < n && h[i] !== ',' && h[i] !== ' ' && h[i] !== '\t') i++;
      value = h.slice(vs, i);
    }
    if (current) current.params[name.toLowerCase()] = value;
  }
  return out;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** Tokens this close to expiry are fetched anew rather than risk a 401 mid-download. */
const EXPIRY_MARGIN_MS = 10_000;
/** The token spec's default lifetime when the server does not say. */
const DEFAULT_TOKEN_LIFETIME_S = 60;
const MAX_TOKEN_RESPONSE_BYTES = 1 << 20;

export type TokenFetcher = (url: URL, headers: Record<string, string>) => Promise<{ status: number; statusText: string; body: Buffer }>;

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  /** Which token key last worked for (origin, repository): lets requests send it before any 401. */
  private readonly bySite = new Map<string, string>();
  private readonly now: () => number;
  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** An Authorization header known to work for this site and repository, if still fresh. */
  lookup(origin: string, repository: string): string | undefined {
    const key = this.bySite.get(`${origin} ${repository}`);
    if (key === undefined) return undefined;
    const t = this.tokens.get(key);
    if (!t || t.expiresAt - EXPIRY_MARGIN_MS <= this.now()) return undefined;
    return t.header;
  }

  /** Forget what was sent for this site: the registry refused it. */
  invalidate(origin: string, repository: string): void {
    const key = this.bySite.get(`${origin} ${repository}`);
    if (key !== undefined) this.tokens.delete(key);
    this.bySite.delete(`${origin} ${repository}`);
  }

  /**
   * Answer a 401: get an Authorization header for the challenge. Throws an Error
   * whose message says why (no credentials, token server refused, bad reply).
   */
  async authorize(
    origin: string,
    repository: string,
    challenges: Challenge[],
    credentials: Credentials | undefined,
    allowCleartextCredentials: boolean,
    fetchToken: TokenFetcher,
  ): Promise<string> {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      const realm = bearer.params.realm;
      if (!realm) throw new Error('Bearer challenge without realm');
      let url: URL;
      try {
        url = new URL(realm);
      } catch {
        throw new Error(`Bearer realm ${JSON.stringify(realm)} is not a URL`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`Bearer realm ${realm} is not http(s)`);
      const scope = bearer.params.scope ?? `repository:${repository}:pull`;
      const service = bearer.params.service;
      if (service !== undefined) url.searchParams.set('service', service);
      url.searchParams.set('scope', scope);
      const key = `${url.origin}${url.pathname} ${service ?? ''} ${scope} ${credentials?.username ?? ''}`;
      const cached = this.tokens.get(key);
      if (cached && cached.expiresAt - EXPIRY_MARGIN_MS > this.now()) {
        this.bySite.set(`${origin} ${repository}`, key);
        return cached.header;
      }
      const headers: Record<string, string> = {};
      if (credentials) {
        if (url.protocol === 'http:' && !allowCleartextCredentials) {
          throw new Error(`refusing to send credentials to the plain-http token realm ${realm} of an https registry`);
        }
        headers.authorization = basicHeader(credentials);
      }
      const started = this.now();
      const res = await fetchToken(url, headers);
      if (res.status === 401 || res.status === 403) {
        throw new Error(`token request to ${url.origin}${url.pathname} refused: ${res.status} ${res.statusText}${credentials ? ` (check the credentials of user ${JSON.stringify(credentials.username)})` : ' (no credentials configured)'}`);
      }
      if (res.status !== 200) throw new Error(`token request to ${url.origin}${url.pathname} failed: ${res.status} ${res.statusText}`);
      if (res.body.length > MAX_TOKEN_RESPONSE_BYTES) throw new Error('token response too large');
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new Error(`token response from ${url.origin}${url.pathname} is not JSON`);
      }
      const token = typeof json.token === 'string' && json.token ? json.token : typeof json.access_token === 'string' ? json.access_token : '';
      if (!token) throw new Error(`token response from ${url.origin}${url.pathname} has no token`);
      const lifetime = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_TOKEN_LIFETIME_S;
      const issued = typeof json.issued_at === 'string' ? Date.parse(json.issued_at) : NaN;
      // Trust our own clock for the start unless the server's is earlier: never extend a lifetime.
      const start = Number.isFinite(issued) ? Math.min(issued, started) : started;
      const header = `Bearer ${token}`;
      this.tokens.set(key, { header, expiresAt: start + lifetime * 1000 });
      this.bySite.set(`${origin} ${repository}`, key);
      return header;
    }
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (basic) {
      if (!credentials) throw new Error('registry asks for Basic credentials and none are configured');
      if (!allowCleartextCredentials && origin.startsWith('http:')) throw new Error('refusing to send Basic credentials over plain http');
      const header = basicHeader(credentials);
      const key = `basic ${origin} ${credentials.username}`;
      this.tokens.set(key, { header, expiresAt: Number.POSITIVE_INFINITY });
      this.bySite.set(`${origin} ${repository}`, key);
      return header;
    }
    throw new Error(challenges.length ? `unsupported authentication scheme ${challenges.map((c) => c.scheme).join(', ')}` : '401 without a WWW-Authenticate challenge');
  }
}
