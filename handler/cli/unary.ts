// The CLI's unary gRPC calls to the handler: gRPC's framing and status on h2.ts's
// HTTP/2, with the messages of wire.ts. It serves `get`, `apply`, `delete`, the
// lifecycle verbs, `images` and `node` without loading grpc-js and proto-loader
// (client.ts, which the streaming verbs still use), and reports errors as
// client.ts does: the handler's code from the `virtnode-error-code` trailer, its
// message as the handler wrote it.

import { isErrorCode, VirtnodeError, type ErrorCode } from '../../proto/errors.js';
import { PROTOCOL_HEADER, PROTOCOL_VERSIONS, pickVersion } from '../../proto/version.js';
import { H2Connection, H2ResetError, H2TimeoutError } from './h2.js';
import type { HeaderList } from './hpack.js';
import { NEGOTIATE, NODE_METHODS, decode, encode, type NodeMethodName, type UnaryMethod } from './wire.js';
import type { NegotiateResponse__Output } from '../../proto/generated/virtnode/handler/v1/NegotiateResponse.js';

export const DEFAULT_SOCKET = process.env.VIRTNODE_SOCKET ?? '/run/virtnode/virtnode.sock';


/** The deadline of Negotiate, as client.ts's connectHandler has it. */
const NEGOTIATE_TIMEOUT_MS = 5000;

const CANCELLED = 1;
const UNKNOWN = 2;
const DEADLINE_EXCEEDED = 4;
const INTERNAL = 13;
const UNAVAILABLE = 14;
/** grpc-js's names of the status codes, for a status that comes without a message. */
const STATUS_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

/** A call that ended with a gRPC status other than OK, or never reached the handler. */
export class CallError extends Error {
  readonly status: number;
  readonly errorCode: ErrorCode | undefined;
  constructor(status: number, details: string, errorCode?: ErrorCode, cause?: unknown) {
    super(details || `${status} ${STATUS_NAMES[status] ?? 'UNKNOWN'}: `, { cause });
    this.status = status;
    this.errorCode = errorCode;
  }

  /** As client.ts's serverError: the handler's code, else VN_UNAVAILABLE or VN_INTERNAL. */
  toVirtnodeError(): VirtnodeError {
    return new VirtnodeError(this.errorCode ?? (this.status === UNAVAILABLE ? 'VN_UNAVAILABLE' : 'VN_INTERNAL'), this.message, { cause: this });
  }
}

/** A transport failure as the gRPC status grpc-js gives it (RST_STREAM codes as grpc-js maps them). */
function transportError(e: Error): CallError {
  if (e instanceof H2TimeoutError) return new CallError(DEADLINE_EXCEEDED, e.message, undefined, e);
  if (e instanceof H2ResetError) {
    const status = e.http2Code === 7 ? UNAVAILABLE : e.http2Code === 8 ? CANCELLED : INTERNAL;
    return new CallError(status, e.message, undefined, e);
  }
  return new CallError(UNAVAILABLE, e.message, undefined, e);
}

function header(fields: HeaderList | undefined, name: string): string | undefined {
  return fields?.find((f) => f[0] === name)?.[1];
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The one message of a unary answer, unpacked if the handler compressed it. */
async function unframe(body: Buffer, encoding: string | undefined): Promise<Buffer> {
  if (body.length < 5) throw new CallError(INTERNAL, 'the answer holds no message');
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) throw new CallError(INTERNAL, `the answer holds ${body.length - 5} bytes where its frame says ${length}`);
  const bytes = body.subarray(5);
  if (body[0] !== 1) return bytes;
  const zlib = await import('node:zlib');
  if (encoding === 'gzip') return zlib.gunzipSync(bytes);
  if (encoding === 'deflate') return zlib.inflateSync(bytes);
  throw new CallError(INTERNAL, `the answer is compressed with "${encoding ?? ''}", which this client does not speak`);
}

/** One unary call: request headers as grpc-js sends them, the answer's status from its trailers (or its headers: trailers-only). */
async function call<Res>(conn: H2Connection, m: UnaryMethod, req: Record<string, unknown>, metadata: HeaderList, timeoutMs?: number): Promise<Res> {
  const message = encode(m.request, req);
  const body = Buffer.allocUnsafe(5 + message.length);
  body[0] = 0;
  body.writeUInt32BE(message.length, 1);
  message.copy(body, 5);
  const headers: HeaderList = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', m.path],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...(timeoutMs !== undefined ? ([['grpc-timeout', `${timeoutMs}m`]] as HeaderList) : []),
    ...metadata,
  ];
  let res;
  try {
    res = await conn.request(headers, body, timeoutMs);
  } catch (e) {
    throw transportError(e as Error);
  }
  const httpStatus = header(res.headers, ':status');
  const status = res.trailers ?? (header(res.headers, 'grpc-status') !== undefined ? res.headers : undefined);
  if (!status) {
    if (httpStatus !== '200') throw new CallError(UNKNOWN, `Received HTTP status code ${httpStatus}`);
    throw new CallError(INTERNAL, 'the answer ended without a gRPC status');
  }
  const code = Number(header(status, 'grpc-status'));
  if (code !== 0) throw new CallError(code, percentDecode(header(status, 'grpc-message') ?? ''), errorCodeOf(header(status, 'virtnode-error-code')));
  return decode<Res>(m.response, await unframe(res.body, header(res.headers, 'grpc-encoding')));
}

export interface UnaryClient {
  version: number;
  /** A unary Node call; errors are VirtnodeErrors with the server's code. */
  call<Req, Res>(method: NodeMethodName, req: Req): Promise<Res>;
  close(): void;
}

/** Connects to the handler's socket and agrees on the protocol version, as client.ts's connectHandler does. */
export async function connectUnary(opts: { socket?: string } = {}): Promise<UnaryClient> {
  const socket = opts.socket ?? DEFAULT_SOCKET;
  const conn = new H2Connection(socket);
  let version: number | undefined;
  try {
    const res = await call<NegotiateResponse__Output>(conn, NEGOTIATE, { supportedVersions: [...PROTOCOL_VERSIONS], client: 'virtnode-cli' }, [], NEGOTIATE_TIMEOUT_MS);
    version = pickVersion(PROTOCOL_VERSIONS, [res.version]);
  } catch (e) {
    conn.close();
    throw new VirtnodeError('VN_UNAVAILABLE', `cannot reach the handler at unix:${socket}: ${(e as Error).message}`, { cause: e });
  }
  if (version === undefined) {
    conn.close();
    throw new VirtnodeError('VN_PROTOCOL', 'the handler speaks no protocol version this client knows');
  }
  const metadata: HeaderList = [[PROTOCOL_HEADER, String(version)]];
  return {
    version,
    call: async <Req, Res>(name: NodeMethodName, req: Req) => {
      try {
        return await call<Res>(conn, NODE_METHODS[name], req as Record<string, unknown>, metadata);
      } catch (e) {
        throw e instanceof CallError ? e.toVirtnodeError() : e;
      }
    },
    close: () => conn.close(),
  };
}

/** A trailer's error code, checked: a code this build does not know reads as none. */
function errorCodeOf(v: string | undefined): ErrorCode | undefined {
  return isErrorCode(v) ? v : undefined;
}
