// A unary gRPC call written straight onto node:http2 from bytes encoded up front:
// the same path, headers and framed message that the load generator (h2load.ts)
// repeats, made once so that its grpc-status and answer can be checked.

import http2 from 'node:http2';
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { MESSAGE_HEAD_BYTES } from '../../handler/api/grpc-wire.js';
import { PROTOCOL_HEADER } from '../../proto/rpc.js';

export { grpcFrame } from '../../handler/api/grpc-wire.js';

/** The request headers of a unary call to the handler (or a reference server): what a grpc-js client sends, gzip accepted. */
export function grpcHeaders(protocolVersion: number): Record<string, string> {
  return { 'content-type': 'application/grpc', te: 'trailers', 'grpc-accept-encoding': 'identity,deflate,gzip', [PROTOCOL_HEADER]: String(protocolVersion) };
}

/** A framed answer's message, unpacked when its compressed flag is set (gzip is the only encoding asked for). */
export function unframe(framed: Buffer): Buffer {
  const bytes = framed.subarray(MESSAGE_HEAD_BYTES);
  return framed[0] === 1 ? gunzipSync(bytes) : bytes;
}

export class RawGrpcClient {
  readonly #session: http2.ClientHttp2Session;
  readonly #headers: Record<string, string>;

  constructor(socketPath: string, protocolVersion: number) {
    this.#session = http2.connect('http://localhost', { createConnection: () => connect(socketPath) });
    this.#session.on('error', () => undefined);
    this.#headers = grpcHeaders(protocolVersion);
  }

  /** One unary call; resolves with the framed response bytes, rejects on a non-zero grpc-status. */
  call(path: string, framedRequest: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = this.#session.request({ ':method': 'POST', ':path': path, ...this.#headers });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = '';
      req.on('response', (h) => {
        // A trailers-only answer (an error) carries its status in the headers.
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      });
      req.on('trailers', (t) => {
        status = String(t['grpc-status']);
        message = String(t['grpc-message'] ?? '');
      });
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => (status === '0' ? resolve(Buffer.concat(chunks)) : reject(new Error(`${path}: grpc-status ${status} ${decodeURIComponent(message)}`))));
      req.on('error', reject);
      req.end(framedRequest);
    });
  }

  close(): void {
    this.#session.close();
  }
}
