// The API's gRPC server, on node:http2 directly rather than grpc-js's Server.
//
// Why: a List answer is hundreds of KB (387 KB for 240 VMIs), and grpc-js's server
// copies every answer into a new buffer per call and cannot send a compressed
// answer. Here an answer encoded once (EncodedMessage) goes out as it is, and, for
// clients that accept gzip (grpc-js clients always say so in grpc-accept-encoding,
// grpc-go clients when gzip is registered), compressed once too, as kube-apiserver
// gzips large responses. grpc-js stays the client library, and the server for launcher sessions.
//
// Services are added as grpc-js service definitions and implementations (see
// grpc-call.ts for the call shapes), which is how the health and reflection
// services attach.
//
// What grpc-js's Server kept, this one keeps too: keepalive pings that end the
// calls of a vanished peer, an idle timeout, a cap on streams per connection and on
// connections per listener (the defaults below say why each value).

import * as grpc from '@grpc/grpc-js';
import http2, { type Http2Server, type Http2SecureServer, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { Socket } from 'node:net';
import { VirtnodeError } from '../../proto/errors.js';
import { Responder, StreamCall, UnaryCall, toStatus, type StatusLike } from './grpc-call.js';
import { MessageReader, acceptsEncoding, parseTimeout, type WireMessage } from './grpc-wire.js';

export interface GrpcServerOptions {
  maxReceiveMessageBytes: number;
  /** Pre-encoded answers from this size on are sent gzip-compressed to clients that accept gzip. */
  compressMinBytes: number;
  /** How often each session is pinged (grpc's keepalive_time). */
  keepaliveTimeMs?: number;
  /** A ping unanswered this long destroys its session, cancelling its calls (grpc's keepalive_timeout). */
  keepaliveTimeoutMs?: number;
  /** A session with no open stream this long is closed with GOAWAY (grpc's max_connection_idle). */
  maxConnectionIdleMs?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of every session: a stream past it is refused with REFUSED_STREAM. */
  maxConcurrentStreams?: number;
  /** Connections each listener holds at once; one more is closed as soon as it is accepted. */
  maxConnections?: number;
  /** Told of connections refused at the cap: how many since it was last told, at most once per REFUSALS_REPORT_MS per listener. */
  onConnectionsRefused?: (refused: number, listener: string) => void;
}

type Method = grpc.MethodDefinition<unknown, unknown>;
type Impl = (...args: never[]) => void;
/** Method implementations by name, each taking the call shapes of grpc-call.ts. */
export type ServiceImplementation = Record<string, Impl>;
type Listener = Http2Server | Http2SecureServer;

/** kube-apiserver compresses responses from 128 KiB on; the same line here. */
export const DEFAULT_COMPRESS_MIN_BYTES = 128 << 10;

/**
 * Each session is pinged this often, calls open or not: a peer gone without a FIN
 * (a node powered off, a partition) otherwise keeps its Watch subscribed to the store
 * until TCP gives up retransmitting (some 15 minutes), or forever on a quiet socket.
 * A peer that connects and never speaks HTTP/2 does not answer either, so it loses
 * its place under the connection cap as soon. 30 s is what the handler's own clients
 * ping at (CHANNEL_OPTIONS), and a PING frame per 30 s is nothing at the cap.
 */
export const DEFAULT_KEEPALIVE_TIME_MS = 30_000;
/**
 * A ping answer takes milliseconds on a local socket or a cluster network; 10 s leaves
 * room for a client in a long GC pause on a busy node, and with the 30 s above a
 * vanished peer's calls end within 40 s (grpc's default timeout is 20 s of a 2 h period).
 */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 10_000;
/**
 * A CLI command's connection lives seconds and a controller keeps a Watch open, so a
 * session without a call for 5 minutes is a client that never closed it, holding an
 * fd and a place under the connection cap. grpc-js and grpc-go clients reconnect on
 * their next call.
 */
export const DEFAULT_MAX_CONNECTION_IDLE_MS = 5 * 60_000;
/**
 * grpc-js clients put all their calls to one target on one connection, and Watch and
 * Console streams never end by themselves: the scale benchmark holds 100 watches on
 * one. A compliant client queues a call past the limit until a stream ends, so a
 * limit near what clients use would stall their unary calls behind open watches.
 * 1000 is ten times that, and still bounds what one connection can make the handler
 * hold: 1000 open watches cost this server about 18 MB of RSS (measured here).
 */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 1000;
/**
 * Per listener, so a flood on the TCP port cannot lock the root CLI out of its
 * socket. A node's real clients are a few controllers (one connection each, see
 * above) and the CLI commands running at the moment; 128 is ten times more than
 * that, and both listeners full (256 fds) still fit a 1024 fd limit beside a
 * launcher socket per VM.
 */
export const DEFAULT_MAX_CONNECTIONS = 128;
/** The largest timer setTimeout keeps (about 24.8 days); also plenty for the counts. */
const MAX_LIMIT = 2 ** 31 - 1;
/** Refusals at the connection cap are reported at most this often: a flood must not become a flood of log lines. */
export const REFUSALS_REPORT_MS = 10_000;

function http2Options(maxConcurrentStreams: number) {
  return {
    // Node refuses new streams past 10 MB of buffered session memory by default; a
    // few watchers catching up on a List-sized snapshot reach that.
    maxSessionMemory: Number.MAX_SAFE_INTEGER,
    maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
    settings: { maxConcurrentStreams },
  };
}

type Limits = Required<Pick<GrpcServerOptions, 'keepaliveTimeMs' | 'keepaliveTimeoutMs' | 'maxConnectionIdleMs' | 'maxConcurrentStreams' | 'maxConnections'>>;

/** Keepalive pings and the idle timeout of one session, as grpc's server keeps them. */
function guardSession(session: Http2Session, limits: Limits): void {
  let ping: NodeJS.Timeout | undefined;
  let idle: NodeJS.Timeout | undefined;
  let open = 0;
  const goIdle = (): void => {
    idle = setTimeout(() => session.close(), limits.maxConnectionIdleMs).unref();
  };
  const schedulePing = (): void => {
    ping = setTimeout(sendPing, limits.keepaliveTimeMs).unref();
  };
  function sendPing(): void {
    let answered = false;
    let sent = false;
    try {
      sent = session.ping((err) => {
        answered = true;
        clearTimeout(ping);
        if (!err) schedulePing();
      });
    } catch {
      // the session is already destroyed
    }
    if (!sent) return void session.destroy();
    // When this process itself stalled past the timeout (a GC, a big List), timers
    // run before the reads that waited, so an answer already in the socket would count
    // as missing: the verdict waits for setImmediate, which runs after those reads.
    ping = setTimeout(() => setImmediate(() => answered || session.destroy()), limits.keepaliveTimeoutMs).unref();
  }
  session.on('stream', (stream: ServerHttp2Stream) => {
    if (open++ === 0) clearTimeout(idle);
    stream.once('close', () => --open === 0 && !session.closed && !session.destroyed && goIdle());
  });
  session.once('close', () => {
    clearTimeout(ping);
    clearTimeout(idle);
  });
  goIdle();
  schedulePing();
}

/** Calls `report(n)` with the calls since the last report, at once and then at most every `everyMs`. */
function throttled(report: (n: number) => void, everyMs: number): () => void {
  let pending = 0;
  let last = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  return () => {
    pending++;
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      last = Date.now();
      const n = pending;
      pending = 0;
      report(n);
    }, Math.max(0, last + everyMs - Date.now())).unref();
  };
}

/** gRPC's own request headers: the call's metadata is the rest. */
const TRANSPORT_HEADERS = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'content-type', 'te', 'user-agent'];

/** The serializer of a call that gets no answer (an unknown method: a status only). */
function noAnswer(): Buffer {
  return Buffer.alloc(0);
}

/** A request message that does not decode: INTERNAL (as grpc-js answers), unless the error names a gRPC code. */
function badRequest(e: unknown): StatusLike {
  const code = (e as StatusLike).code;
  return { code: typeof code === 'number' ? code : grpc.status.INTERNAL, details: `bad request message: ${(e as Error).message}` };
}

export class GrpcServer {
  readonly #opts: GrpcServerOptions;
  readonly #limits: Limits;
  readonly #methods = new Map<string, { def: Method; impl: Impl }>();
  readonly #listeners: Listener[] = [];
  readonly #sessions = new Set<Http2Session>();
  #refused = 0;

  constructor(opts: GrpcServerOptions) {
    this.#opts = opts;
    this.#limits = {
      keepaliveTimeMs: opts.keepaliveTimeMs ?? DEFAULT_KEEPALIVE_TIME_MS,
      keepaliveTimeoutMs: opts.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS,
      maxConnectionIdleMs: opts.maxConnectionIdleMs ?? DEFAULT_MAX_CONNECTION_IDLE_MS,
      maxConcurrentStreams: opts.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
      maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    };
    // setTimeout takes anything past 2^31-1 ms (Infinity too) as 1 ms: "never" would ping without pause.
    for (const [name, v] of Object.entries(this.#limits)) {
      if (!Number.isInteger(v) || v < 1 || v > MAX_LIMIT) throw new VirtnodeError('VN_INVALID_SPEC', `GrpcServerOptions.${name}: ${v} is not a whole number from 1 to ${MAX_LIMIT}`);
    }
  }

  /** Connections refused at the cap since the server started, on all listeners. */
  get refusedConnections(): number {
    return this.#refused;
  }

  /** Sessions open now, on all listeners. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** grpc-js's addService: a service definition and its implementation by method name. */
  addService(service: grpc.ServiceDefinition, implementation: ServiceImplementation | grpc.UntypedServiceImplementation): void {
    for (const [name, def] of Object.entries(service)) {
      const impls = implementation as Record<string, unknown>;
      const impl = impls[name] ?? impls[def.originalName ?? ''];
      if (typeof impl !== 'function') throw new Error(`no implementation for ${def.path}`);
      if (this.#methods.has(def.path)) throw new Error(`${def.path} is already served`);
      this.#methods.set(def.path, { def: def as Method, impl: impl as Impl });
    }
  }

  /**
   * Plaintext HTTP/2 on a unix socket, whose file mode is the first access control.
   * `admit`, when given, judges every connection as it is accepted, before HTTP/2
   * reads a byte of it: a reason (string) refuses it, and the socket is destroyed.
   */
  listenUnix(path: string, admit?: (socket: Socket) => string | undefined, onRefused?: (reason: string) => void): Promise<void> {
    const server = http2.createServer(http2Options(this.#limits.maxConcurrentStreams));
    if (admit) {
      // First in line, ahead of the HTTP/2 machinery's own listener.
      server.prependListener('connection', (socket: Socket) => {
        let reason: string | undefined;
        try {
          reason = admit(socket);
        } catch (e) {
          reason = `checking the peer failed: ${e instanceof Error ? e.message : String(e)}`;
        }
        if (reason === undefined) return;
        socket.destroy();
        onRefused?.(reason);
      });
    }
    return this.#listen(server, (s, done) => s.listen(path, done)).then(() => undefined);
  }

  /** HTTP/2 over mutual TLS: clients must present a certificate signed by `ca`. Returns the bound port. */
  listenTls(at: { host: string; port: number }, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<number> {
    const server = http2.createSecureServer({ ...http2Options(this.#limits.maxConcurrentStreams), ...tls, requestCert: true, rejectUnauthorized: true });
    return this.#listen(server, (s, done) => s.listen(at.port, at.host || undefined, done));
  }

  async #listen(server: Listener, listen: (s: Listener, done: () => void) => void): Promise<number> {
    // net.Server closes a connection past maxConnections as it accepts it, before
    // TLS or HTTP/2 spend anything on it, and says so with 'drop'.
    server.maxConnections = this.#limits.maxConnections;
    const report = this.#opts.onConnectionsRefused;
    const where = (): string => {
      const a = server.address();
      return typeof a === 'string' ? a : a ? `${a.address}:${a.port}` : 'closed';
    };
    const reportRefused = report ? throttled((n) => report(n, where()), REFUSALS_REPORT_MS) : undefined;
    server.on('drop', () => {
      this.#refused++;
      reportRefused?.();
    });
    server.on('stream', (stream, headers) => {
      try {
        this.#onStream(stream, headers);
      } catch {
        // A bug here must not take the handler down with it: end the one call.
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
    server.on('session', (session: Http2Session) => {
      this.#sessions.add(session);
      session.on('close', () => this.#sessions.delete(session));
      guardSession(session, this.#limits);
      session.on('error', () => undefined); // the session closes next; its calls see that
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      listen(server, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#listeners.push(server);
    const a = server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** Stops listening and sends GOAWAY: calls under way finish, until `graceMs`, when every session is cut. */
  close(graceMs: number): Promise<void> {
    for (const l of this.#listeners) l.close();
    for (const s of this.#sessions) s.close();
    return new Promise((resolve) => {
      const cut = setTimeout(() => {
        for (const s of this.#sessions) s.destroy();
        resolve();
      }, graceMs);
      const check = (): void => {
        if (this.#sessions.size > 0) return;
        clearTimeout(cut);
        resolve();
      };
      for (const s of this.#sessions) s.once('close', () => setImmediate(check));
      check();
    });
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined); // a reset by the peer: 'close' follows and cancels the call
    if (!String(headers['content-type'] ?? '').startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const path = headers[':path'] ?? '';
    const method = this.#methods.get(path);
    const responder = new Responder(stream, method?.def.responseSerialize ?? noAnswer, {
      acceptsGzip: acceptsEncoding(headers['grpc-accept-encoding'], 'gzip'),
      compressMinBytes: this.#opts.compressMinBytes,
    });
    if (!method) {
      responder.sendStatus({ code: grpc.status.UNIMPLEMENTED, details: `unknown method ${path}` });
      stream.resume();
      return;
    }
    const { def, impl } = method;
    const metadata = grpc.Metadata.fromHttp2Headers(headers);
    for (const h of TRANSPORT_HEADERS) metadata.remove(h);
    // Asked for rarely: the session's socket is a Proxy, not worth reading on every call.
    const peer = (): string => {
      const socket = stream.session?.socket;
      return socket?.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    };
    const encoding = String(headers['grpc-encoding'] ?? 'identity');
    const decode = (m: WireMessage): unknown => {
      let bytes = m.bytes;
      if (m.compressed) {
        const maxOutputLength = this.#opts.maxReceiveMessageBytes;
        if (encoding === 'gzip') bytes = gunzipSync(bytes, { maxOutputLength });
        else if (encoding === 'deflate') bytes = inflateSync(bytes, { maxOutputLength });
        else throw Object.assign(new Error(`received a message compressed with "${encoding}", which this server does not speak`), { code: grpc.status.UNIMPLEMENTED });
      }
      return def.requestDeserialize(bytes);
    };
    const fail = (status: StatusLike): void => {
      responder.sendStatus(status);
      stream.resume(); // drain what is left of the request
    };
    const reader = new MessageReader(this.#opts.maxReceiveMessageBytes);
    const read = (chunk: Buffer): WireMessage[] | undefined => {
      try {
        return reader.push(chunk);
      } catch (e) {
        fail({ code: grpc.status.RESOURCE_EXHAUSTED, details: (e as Error).message });
        return undefined;
      }
    };

    let call: UnaryCall<unknown> | StreamCall<unknown, unknown> | undefined;
    const timeout = parseTimeout(headers['grpc-timeout']);
    const deadline = timeout === undefined ? undefined : setTimeout(() => {
      responder.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: 'deadline exceeded' });
      call?.cancel();
    }, timeout);
    stream.on('close', () => {
      clearTimeout(deadline);
      if (responder.abandon()) call?.cancel();
    });
    const answer = (err: unknown, value?: unknown, trailer?: grpc.Metadata): void => {
      if (err) return responder.sendStatus(toStatus(err));
      try {
        responder.send(value);
      } catch (e) {
        return responder.sendStatus({ code: grpc.status.INTERNAL, details: `${path}: cannot encode the answer: ${(e as Error).message}` });
      }
      responder.sendStatus({ code: grpc.status.OK, metadata: trailer ?? null });
    };
    const invoke = (f: () => void): void => {
      try {
        f();
      } catch (e) {
        responder.sendStatus({ code: grpc.status.INTERNAL, details: `${path}: ${(e as Error).message}` });
      }
    };

    if (def.requestStream) {
      // Client streaming and bidi: messages reach the call as they arrive.
      const s = new StreamCall<unknown, unknown>({ metadata, responder, peer, resume: () => stream.resume() });
      call = s;
      stream.on('data', (chunk: Buffer) => {
        if (responder.done) return;
        for (const m of read(chunk) ?? []) {
          let msg: unknown;
          try {
            msg = decode(m);
          } catch (e) {
            return fail(badRequest(e));
          }
          if (!s.push(msg)) stream.pause();
        }
      });
      stream.on('end', () => s.push(null));
      invoke(() => (def.responseStream ? (impl as (c: unknown) => void)(s) : (impl as (c: unknown, cb: typeof answer) => void)(s, answer)));
      return;
    }

    // Unary and server streaming: exactly one request message, then the call.
    const messages: WireMessage[] = [];
    stream.on('data', (chunk: Buffer) => {
      for (const m of read(chunk) ?? []) messages.push(m);
    });
    stream.on('end', () => {
      if (responder.done) return;
      if (messages.length !== 1 || reader.pending) {
        return fail({ code: grpc.status.INTERNAL, details: `${path} takes exactly one request message, got ${messages.length}${reader.pending ? ' and a cut-off one' : ''}` });
      }
      let request: unknown;
      try {
        request = decode(messages[0]!);
      } catch (e) {
        return fail(badRequest(e));
      }
      if (def.responseStream) {
        const s = new StreamCall<unknown, unknown>({ request, metadata, responder, peer, resume: () => undefined });
        s.push(null);
        call = s;
        invoke(() => (impl as (c: unknown) => void)(s));
      } else {
        const u = new UnaryCall(request, metadata, responder, peer);
        call = u;
        invoke(() => (impl as (c: unknown, cb: typeof answer) => void)(u, answer));
      }
    });
  }
}
