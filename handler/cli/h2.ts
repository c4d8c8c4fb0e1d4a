// A small HTTP/2 client (RFC 9113) on one node:net connection, for the CLI's
// unary gRPC calls (unary.ts): a request is headers and a body, its answer
// headers, a body and trailers. Why not node:http2: loading it loads http, tls
// and crypto too (8.5 ms more than node:net here), and its session setup waits a
// few ms more; measured in one run under load, a `get` took 1.48x a bare `node -e 0`
// on node:http2 and 1.21x on a sketch of this file.
//
// What it does not do, because the CLI does not need it: server push (refused in
// SETTINGS), priorities, streaming bodies, TLS (the CLI's socket is a root-only
// unix socket). What it must do, it does: SETTINGS and their ACK, PING answers,
// CONTINUATION, padding, GOAWAY and RST_STREAM, and flow control both ways (an
// Apply manifest may be larger than the handler's 64 KiB window).

import { connect, type Socket } from 'node:net';
import { HpackDecoder, encodeHeaders, type HeaderList } from './hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEAD = 9;

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

const CANCEL = 0x8;
/** RFC 9113's initial window of a connection and of a stream, until SETTINGS say otherwise. */
const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;

/** RFC 9113 7: error codes by number, for messages. */
const ERROR_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

/** The handler ended one stream (RST_STREAM) or the connection (GOAWAY) with an HTTP/2 error code. */
export class H2ResetError extends Error {
  readonly http2Code: number;
  constructor(what: string, code: number) {
    super(`${what} with code ${code} (${ERROR_NAMES[code] ?? 'unknown'})`);
    this.http2Code = code;
  }
}

export class H2TimeoutError extends Error {}

export interface H2Response {
  headers: HeaderList;
  trailers: HeaderList | undefined;
  body: Buffer;
}

interface Stream {
  id: number;
  resolve(r: H2Response): void;
  reject(e: Error): void;
  headers?: HeaderList;
  trailers?: HeaderList;
  chunks: Buffer[];
  /** Body bytes not yet sent: flow control holds them until the handler opens its windows. */
  pending: Buffer;
  sendWindow: number;
}

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.allocUnsafe(FRAME_HEAD);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return payload.length ? Buffer.concat([head, payload]) : head;
}

export class H2Connection {
  readonly #socket: Socket;
  readonly #streams = new Map<number, Stream>();
  readonly #hpack = new HpackDecoder();
  #nextId = 1;
  #input: Buffer = Buffer.alloc(0);
  #failure: Error | undefined;
  /** The handler's limits on what we send. */
  #peerWindow = DEFAULT_WINDOW;
  #peerMaxFrame = 16_384;
  #connWindow = DEFAULT_WINDOW;
  /** A header block split over CONTINUATION frames, until END_HEADERS. */
  #continuing: { stream: number; endStream: boolean; parts: Buffer[] } | undefined;

  constructor(socketPath: string) {
    this.#socket = connect(socketPath);
    // Our windows are opened wide at once (2 GiB for the connection, far more than
    // one CLI command reads), so answers flow without WINDOW_UPDATEs from us;
    // server push is refused.
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(MAX_WINDOW, 8);
    const grow = Buffer.alloc(4);
    grow.writeUInt32BE(MAX_WINDOW - DEFAULT_WINDOW);
    this.#socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, settings), frame(WINDOW_UPDATE, 0, 0, grow)]));
    this.#socket.on('data', (d: Buffer) => {
      try {
        this.#read(d);
      } catch (e) {
        this.#fail(e as Error);
        this.#socket.destroy();
      }
    });
    this.#socket.on('error', (e) => this.#fail(e));
    this.#socket.on('close', () => this.#fail(new Error('the connection to the handler closed')));
  }

  /** One request: `headers` (pseudo-headers first), then `body`, then the end of the stream. */
  request(headers: HeaderList, body: Buffer, timeoutMs?: number): Promise<H2Response> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId;
    this.#nextId += 2;
    return new Promise<H2Response>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#end(id, new H2TimeoutError(`Deadline exceeded after ${timeoutMs / 1000}s`));
              const code = Buffer.alloc(4);
              code.writeUInt32BE(CANCEL);
              this.#socket.write(frame(RST_STREAM, 0, id, code));
            }, timeoutMs);
      const done = <T>(f: (v: T) => void) => (v: T): void => {
        clearTimeout(timer);
        f(v);
      };
      this.#streams.set(id, { id, resolve: done(resolve), reject: done(reject), chunks: [], pending: body, sendWindow: this.#peerWindow });
      const block = encodeHeaders(headers);
      const out: Buffer[] = [];
      for (let at = 0; at < block.length || at === 0; at += this.#peerMaxFrame) {
        const part = block.subarray(at, at + this.#peerMaxFrame);
        const last = at + this.#peerMaxFrame >= block.length;
        out.push(frame(at === 0 ? HEADERS : CONTINUATION, (last ? END_HEADERS : 0) | (at === 0 && body.length === 0 ? END_STREAM : 0), id, part));
      }
      this.#socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      if (body.length) this.#flush(this.#streams.get(id)!);
    });
  }

  close(): void {
    this.#socket.end();
  }

  /** Sends what the windows allow of a stream's body; the last frame ends the stream. */
  #flush(s: Stream): void {
    const out: Buffer[] = [];
    while (s.pending.length) {
      const n = Math.min(s.pending.length, this.#peerMaxFrame, s.sendWindow, this.#connWindow);
      if (n <= 0) break;
      const part = s.pending.subarray(0, n);
      s.pending = s.pending.subarray(n);
      s.sendWindow -= n;
      this.#connWindow -= n;
      out.push(frame(DATA, s.pending.length ? 0 : END_STREAM, s.id, part));
    }
    if (out.length) this.#socket.write(Buffer.concat(out));
  }

  #read(d: Buffer): void {
    this.#input = this.#input.length ? Buffer.concat([this.#input, d]) : d;
    while (this.#input.length >= FRAME_HEAD) {
      const length = this.#input.readUIntBE(0, 3);
      if (this.#input.length < FRAME_HEAD + length) break;
      const type = this.#input[3]!;
      const flags = this.#input[4]!;
      const id = this.#input.readUInt32BE(5) & 0x7fffffff;
      const payload = this.#input.subarray(FRAME_HEAD, FRAME_HEAD + length);
      this.#input = this.#input.subarray(FRAME_HEAD + length);
      this.#frame(type, flags, id, payload);
    }
  }

  #frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.#continuing && type !== CONTINUATION) throw new Error(`HTTP/2: frame of type ${type} inside a header block`);
    switch (type) {
      case DATA: {
        const s = this.#streams.get(id);
        if (s) s.chunks.push(unpad(flags, payload));
        if (flags & END_STREAM) this.#complete(id);
        return;
      }
      case HEADERS: {
        let block = unpad(flags, payload);
        if (flags & PRIORITY) block = block.subarray(5);
        this.#continuing = { stream: id, endStream: (flags & END_STREAM) !== 0, parts: [block] };
        if (flags & END_HEADERS) this.#headerBlock();
        return;
      }
      case CONTINUATION: {
        if (!this.#continuing || this.#continuing.stream !== id) throw new Error('HTTP/2: CONTINUATION without HEADERS');
        this.#continuing.parts.push(payload);
        if (flags & END_HEADERS) this.#headerBlock();
        return;
      }
      case RST_STREAM:
        this.#end(id, new H2ResetError('the handler reset the stream', payload.readUInt32BE(0)));
        return;
      case SETTINGS: {
        if (flags & ACK) return;
        for (let at = 0; at + 6 <= payload.length; at += 6) {
          const key = payload.readUInt16BE(at);
          const value = payload.readUInt32BE(at + 2);
          if (key === SETTINGS_INITIAL_WINDOW_SIZE) {
            // A new initial window moves every open stream's window by the difference.
            for (const s of this.#streams.values()) s.sendWindow += value - this.#peerWindow;
            this.#peerWindow = value;
          } else if (key === SETTINGS_MAX_FRAME_SIZE) {
            this.#peerMaxFrame = value;
          }
        }
        this.#socket.write(frame(SETTINGS, ACK, 0));
        this.#flushAll();
        return;
      }
      case PING:
        if (!(flags & ACK)) this.#socket.write(frame(PING, ACK, 0, payload));
        return;
      case GOAWAY: {
        const last = payload.readUInt32BE(0) & 0x7fffffff;
        const err = new H2ResetError('the handler closed the connection', payload.readUInt32BE(4));
        for (const s of [...this.#streams.values()]) if (s.id > last) this.#end(s.id, err);
        this.#failure ??= err;
        return;
      }
      case WINDOW_UPDATE: {
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) {
          this.#connWindow += inc;
          this.#flushAll();
        } else {
          const s = this.#streams.get(id);
          if (s) {
            s.sendWindow += inc;
            this.#flush(s);
          }
        }
        return;
      }
      default:
        // PRIORITY, PUSH_PROMISE (refused in SETTINGS), unknown extension frames: nothing to do.
        return;
    }
  }

  /** A complete header block: decoded in arrival order (the table depends on it), then given to its stream. */
  #headerBlock(): void {
    const { stream: id, endStream, parts } = this.#continuing!;
    this.#continuing = undefined;
    const fields = this.#hpack.decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    const s = this.#streams.get(id);
    if (s) {
      if (!s.headers) s.headers = fields;
      else s.trailers = fields;
    }
    if (endStream) this.#complete(id);
  }

  #flushAll(): void {
    for (const s of this.#streams.values()) if (s.pending.length) this.#flush(s);
  }

  #complete(id: number): void {
    const s = this.#streams.get(id);
    if (!s) return;
    this.#streams.delete(id);
    s.resolve({ headers: s.headers ?? [], trailers: s.trailers, body: s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks) });
  }

  #end(id: number, e: Error): void {
    const s = this.#streams.get(id);
    if (!s) return;
    this.#streams.delete(id);
    s.reject(e);
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    for (const id of [...this.#streams.keys()]) this.#end(id, e);
  }
}

/** A frame's payload without its padding (PADDED: a length byte first, that many bytes at the end). */
function unpad(flags: number, payload: Buffer): Buffer {
  if (!(flags & PADDED)) return payload;
  const pad = payload[0]!;
  if (pad >= payload.length) throw new Error('HTTP/2: padding longer than the frame');
  return payload.subarray(1, payload.length - pad);
}
