// gRPC's wire format over HTTP/2, as the API server speaks it: length-prefixed
// messages, the grpc-timeout header, the percent-encoded grpc-message trailer.
// Kept free of imports beyond node:, so the benchmark's node:http2 reference server
// can frame with it and load nothing else.

/** gRPC's message prefix: compressed flag, then the 4-byte big-endian length. */
export const MESSAGE_HEAD_BYTES = 5;

export function messageHead(length: number, compressed: boolean): Buffer {
  const head = Buffer.allocUnsafe(MESSAGE_HEAD_BYTES);
  head.writeUInt8(compressed ? 1 : 0, 0);
  head.writeUInt32BE(length, 1);
  return head;
}

/** A message as gRPC frames it, uncompressed. */
export function grpcFrame(message: Buffer): Buffer {
  return Buffer.concat([messageHead(message.length, false), message]);
}

export interface WireMessage {
  compressed: boolean;
  bytes: Buffer;
}

/**
 * A request message past the server's limit; the call ends RESOURCE_EXHAUSTED. It
 * carries its code like a VirtnodeError without importing one (see above).
 */
export class MessageTooLargeError extends Error {
  readonly code = 'VN_INVALID_SPEC' as const;
}

/** Cuts a request body (DATA frames, split anywhere) into messages. */
export class MessageReader {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes;
  }

  /** The messages `chunk` completes; throws MessageTooLargeError before buffering one past the limit. */
  push(chunk: Buffer): WireMessage[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: WireMessage[] = [];
    while (this.#buffered >= MESSAGE_HEAD_BYTES) {
      let all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#buffered);
      const length = all.readUInt32BE(1);
      if (length > this.#max) throw new MessageTooLargeError(`received a message of ${length} bytes, more than the ${this.#max} allowed`);
      const end = MESSAGE_HEAD_BYTES + length;
      if (this.#buffered < end) {
        this.#chunks = [all];
        break;
      }
      out.push({ compressed: all[0] === 1, bytes: all.subarray(MESSAGE_HEAD_BYTES, end) });
      all = all.subarray(end);
      this.#chunks = all.length ? [all] : [];
      this.#buffered = all.length;
    }
    return out;
  }

  /** Bytes of a message begun but not finished (a body that ends here was cut short). */
  get pending(): number {
    return this.#buffered;
  }
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** grpc-timeout ("100m", "5S"): milliseconds, or undefined when absent or malformed. */
export function parseTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  return m ? Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]! : undefined;
}

/** grpc-message is percent-encoded: anything outside printable ASCII, and '%' itself. */
export function encodeGrpcMessage(s: string): string {
  return /^[\x20-\x24\x26-\x7e]*$/.test(s) ? s : Buffer.from(s, 'utf8').reduce((out, b) => out + (b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`), '');
}

/** Whether a grpc-accept-encoding header lists `encoding`. */
export function acceptsEncoding(header: string | string[] | undefined, encoding: string): boolean {
  const v = Array.isArray(header) ? header.join(',') : (header ?? '');
  return v.split(',').some((e) => e.trim() === encoding);
}
