// A connection to the handler's Node API with the protocol version agreed first,
// on grpc-js. Used by the tests, the benchmarks and the CLI's streaming verbs (its
// unary calls go through unary.ts, which starts without grpc-js).

import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, PROTOCOL_VERSIONS, handlerPackage, pickVersion, protocolMetadata, unary } from '../../proto/rpc.js';
import type { NodeClient } from '../../proto/generated/virtnode/handler/v1/Node.js';
import type { NegotiateRequest } from '../../proto/generated/virtnode/handler/v1/NegotiateRequest.js';
import type { NegotiateResponse__Output } from '../../proto/generated/virtnode/handler/v1/NegotiateResponse.js';
import { isErrorCode, VirtnodeError, type ErrorCode } from '../../proto/errors.js';
import { DEFAULT_SOCKET } from './unary.js';

export { DEFAULT_SOCKET };

export interface HandlerClient {
  node: NodeClient;
  version: number;
  /** Metadata for every call: carries the negotiated protocol version. */
  md(): grpc.Metadata;
  /** A unary Node call as a promise; errors become VirtnodeErrors with the server's code. */
  call<Req, Res>(method: keyof NodeClient & string, req: Req, opts?: grpc.CallOptions): Promise<Res>;
  close(): void;
}

/** The server's error code (from the trailer) on a failed call. */
export function serverError(e: unknown): VirtnodeError {
  const se = e as grpc.ServiceError;
  const trailer = se.metadata?.get('virtnode-error-code')[0];
  const code: ErrorCode = isErrorCode(trailer) ? trailer : se.code === grpc.status.UNAVAILABLE ? 'VN_UNAVAILABLE' : 'VN_INTERNAL';
  return new VirtnodeError(code, se.details || se.message, { cause: e });
}

export async function connectHandler(opts: { socket?: string; address?: string; credentials?: grpc.ChannelCredentials; timeoutMs?: number } = {}): Promise<HandlerClient> {
  const pkg = handlerPackage();
  const target = opts.address ?? `unix:${opts.socket ?? DEFAULT_SOCKET}`;
  const creds = opts.credentials ?? grpc.credentials.createInsecure();
  const info = new pkg.Info(target, creds, CHANNEL_OPTIONS);
  let version: number | undefined;
  try {
    const res = await unary<NegotiateRequest, NegotiateResponse__Output>(info.Negotiate, info, { supportedVersions: [...PROTOCOL_VERSIONS], client: 'virtnode-cli' }, new grpc.Metadata(), {
      deadline: Date.now() + (opts.timeoutMs ?? 5000),
    });
    version = pickVersion(PROTOCOL_VERSIONS, [res.version]);
  } catch (e) {
    throw new VirtnodeError('VN_UNAVAILABLE', `cannot reach the handler at ${target}: ${(e as grpc.ServiceError).details || (e as Error).message}`, { cause: e });
  } finally {
    info.close();
  }
  if (version === undefined) throw new VirtnodeError('VN_PROTOCOL', 'the handler speaks no protocol version this client knows');
  const node = new pkg.Node(target, creds, CHANNEL_OPTIONS) as unknown as NodeClient;
  const v = version;
  return {
    node,
    version: v,
    md: () => protocolMetadata(v),
    call: async <Req, Res>(method: string, req: Req, callOpts: grpc.CallOptions = {}) => {
      const fn = (node as unknown as Record<string, grpc.requestCallback<Res> & ((...a: unknown[]) => unknown)>)[method] as unknown as (
        r: Req,
        md: grpc.Metadata,
        o: grpc.CallOptions,
        cb: grpc.requestCallback<Res>,
      ) => unknown;
      try {
        return await unary<Req, Res>(fn, node, req, protocolMetadata(v), callOpts);
      } catch (e) {
        throw serverError(e);
      }
    },
    close: () => node.close(),
  };
}
