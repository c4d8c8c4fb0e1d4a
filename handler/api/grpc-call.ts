// One call on the API server: what a method implementation sees (the request, its
// metadata, a stream to write answers to) and the responder behind it, which owns
// the HTTP/2 stream and sends exactly one status. The shapes follow grpc-js's server
// calls (request, metadata, write/end, 'data'/'end'/'cancelled', emit('error',
// status)), so grpc-health-check and @grpc/reflection run on this server unchanged.

import * as grpc from '@grpc/grpc-js';
import type { ServerHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { EncodedMessage } from './encoded.js';
import { encodeGrpcMessage, messageHead } from './grpc-wire.js';

/** A status as implementations give it: grpc-js's ServiceError / StatusObject shape, or any Error. */
export interface StatusLike {
  code?: number;
  details?: string;
  message?: string;
  metadata?: grpc.Metadata | null;
}

/** Below this a framed message is one copied buffer; above, head and body go out as two writes (no copy). */
const COPY_BELOW_BYTES = 16 << 10;

const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-accept-encoding': 'identity,deflate,gzip' } as const;

export interface ResponderOptions {
  /** The client listed gzip in grpc-accept-encoding. */
  acceptsGzip: boolean;
  /** Pre-encoded answers at least this long go out gzip-compressed to clients that accept it. */
  compressMinBytes: number;
}

/** Sends a call's answer on its HTTP/2 stream: headers once, messages, then one status. */
export class Responder {
  readonly #stream: ServerHttp2Stream;
  readonly #serialize: (value: unknown) => Buffer;
  readonly #opts: ResponderOptions;
  #headersSent = false;
  #gzip = false;
  #trailers: OutgoingHttpHeaders | undefined;
  #done = false;
  #extraHeaders: OutgoingHttpHeaders | undefined;

  constructor(stream: ServerHttp2Stream, serialize: (value: unknown) => Buffer, opts: ResponderOptions) {
    this.#stream = stream;
    this.#serialize = serialize;
    this.#opts = opts;
  }

  /** A status was sent, or the stream ended without one (cancelled). */
  get done(): boolean {
    return this.#done;
  }

  /** The stream closed before a status: nothing more goes out. Returns whether this cancelled the call. */
  abandon(): boolean {
    if (this.#done) return false;
    this.#done = true;
    return true;
  }

  sendMetadata(md: grpc.Metadata): void {
    if (!this.#headersSent) this.#extraHeaders = { ...this.#extraHeaders, ...md.toHttp2Headers() };
  }

  #respond(gzip: boolean): void {
    this.#headersSent = true;
    this.#gzip = gzip;
    this.#stream.respond({ ...RESPONSE_HEADERS, 'grpc-encoding': gzip ? 'gzip' : 'identity', ...this.#extraHeaders }, { waitForTrailers: true });
    this.#stream.on('wantTrailers', () => {
      try {
        this.#stream.sendTrailers(this.#trailers ?? { 'grpc-status': String(grpc.status.OK) });
      } catch {
        // the peer reset the stream meanwhile
      }
    });
  }

  /** Writes one message; `cb` runs when HTTP/2 took it (a stream's backpressure). */
  send(value: unknown, cb?: (err?: Error | null) => void): void {
    if (this.#done || this.#stream.destroyed) {
      cb?.();
      return;
    }
    const encoded = value instanceof EncodedMessage ? value : undefined;
    const compressible = encoded !== undefined && this.#opts.acceptsGzip && encoded.bytes.length >= this.#opts.compressMinBytes;
    if (!this.#headersSent) this.#respond(compressible);
    const compressed = compressible && this.#gzip;
    const body = compressed ? encoded!.gzip() : (encoded?.bytes ?? this.#serialize(value));
    const head = messageHead(body.length, compressed);
    if (body.length < COPY_BELOW_BYTES) {
      this.#stream.write(Buffer.concat([head, body]), cb);
    } else {
      this.#stream.cork();
      this.#stream.write(head);
      this.#stream.write(body, cb);
      this.#stream.uncork();
    }
  }

  /** Ends the call with `status` (the only one it gets). */
  sendStatus(status: StatusLike): void {
    if (this.#done) return;
    this.#done = true;
    const code = typeof status.code === 'number' ? status.code : grpc.status.UNKNOWN;
    const details = status.details ?? status.message ?? '';
    const trailers: OutgoingHttpHeaders = { ...status.metadata?.toHttp2Headers(), 'grpc-status': String(code) };
    if (details) trailers['grpc-message'] = encodeGrpcMessage(details);
    if (this.#stream.destroyed || this.#stream.closed) return;
    if (!this.#headersSent) {
      // Trailers-only: no message was sent, so the status rides on the headers.
      this.#headersSent = true;
      this.#stream.respond({ ...RESPONSE_HEADERS, ...this.#extraHeaders, ...trailers }, { endStream: true });
      return;
    }
    this.#trailers = trailers;
    this.#stream.end();
  }
}

/** What an implementation's callback error or emitted 'error' becomes on the wire. */
export function toStatus(e: unknown): StatusLike {
  if (e && typeof e === 'object') {
    const s = e as StatusLike;
    return { code: typeof s.code === 'number' ? s.code : grpc.status.UNKNOWN, details: s.details ?? s.message ?? String(e), metadata: s.metadata ?? null };
  }
  return { code: grpc.status.UNKNOWN, details: String(e) };
}

/** The shared part of every call: metadata, cancellation, deadline. */
interface CallBase {
  readonly metadata: grpc.Metadata;
  readonly cancelled: boolean;
  sendMetadata(md: grpc.Metadata): void;
  getPeer(): string;
}

/** A unary or client-streaming call's request side (`request` for unary). */
export class UnaryCall<Req> extends EventEmitter implements CallBase {
  readonly request: Req;
  readonly metadata: grpc.Metadata;
  readonly #responder: Responder;
  readonly #peer: () => string;
  cancelled = false;

  constructor(request: Req, metadata: grpc.Metadata, responder: Responder, peer: () => string) {
    super();
    this.request = request;
    this.metadata = metadata;
    this.#responder = responder;
    this.#peer = peer;
  }

  sendMetadata(md: grpc.Metadata): void {
    this.#responder.sendMetadata(md);
  }

  getPeer(): string {
    return this.#peer();
  }

  /** The stream closed, or its deadline passed, before an answer. */
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled');
  }
}

/**
 * A server-streaming or bidi call: a Duplex in object mode. Reading gives the
 * client's messages; writing sends answers, `end()` ends with OK, and
 * `emit('error', status)` ends with that status (grpc-js's convention).
 */
export class StreamCall<Req, Res> extends Duplex implements CallBase {
  /** A server-streaming call's one request; undefined for bidi (read the messages instead). */
  readonly request: Req;
  readonly metadata: grpc.Metadata;
  readonly #responder: Responder;
  readonly #peer: () => string;
  readonly #resume: () => void;
  cancelled = false;

  constructor(opts: { request?: Req; metadata: grpc.Metadata; responder: Responder; peer: () => string; resume: () => void }) {
    super({ objectMode: true });
    this.request = opts.request as Req;
    this.metadata = opts.metadata;
    this.#responder = opts.responder;
    this.#peer = opts.peer;
    this.#resume = opts.resume;
    this.on('error', (e: unknown) => {
      this.#responder.sendStatus(toStatus(e));
      this.destroy();
    });
  }

  sendMetadata(md: grpc.Metadata): void {
    this.#responder.sendMetadata(md);
  }

  getPeer(): string {
    return this.#peer();
  }

  override _read(): void {
    this.#resume();
  }

  override _write(message: Res, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#responder.send(message, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#responder.sendStatus({ code: grpc.status.OK });
    cb();
  }

  /** The stream closed, or its deadline passed, before the call ended. */
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled');
    this.destroy();
  }
}
