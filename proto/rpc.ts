// Loading the two gRPC contracts and the protocol-version handshake both sides use.
// KubeVirt's handler-launcher-com keeps an Info service beside each versioned cmd
// service for the same reason: a newer handler must keep serving older launchers
// and CLIs during a rolling upgrade, so the version is agreed before anything else.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { ProtoGrpcType as HandlerProto } from './generated/handler.js';
import type { ProtoGrpcType as LauncherProto } from './generated/launcher.js';

import { PROTOCOL_HEADER, PROTOCOL_VERSIONS, pickVersion } from './version.js';

export { PROTOCOL_HEADER, PROTOCOL_VERSIONS, pickVersion };

// Compiled files live in dist/proto/; the .proto sources stay in proto/.
const here = dirname(fileURLToPath(import.meta.url));
const protoDir = here.includes(`${join('dist', 'proto')}`) ? join(here, '..', '..', 'proto') : here;

// Must match the flags in proto/gen.sh so runtime objects have the generated shapes.
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let handlerDefinition: protoLoader.PackageDefinition | undefined;
let handlerProto: HandlerProto | undefined;
let launcherProto: LauncherProto | undefined;

/** The loaded handler contract, for server reflection. */
export function handlerPackageDefinition(): protoLoader.PackageDefinition {
  handlerDefinition ??= protoLoader.loadSync(join(protoDir, 'handler.proto'), LOADER_OPTIONS);
  return handlerDefinition;
}

export function handlerPackage(): HandlerProto['virtnode']['handler']['v1'] {
  handlerProto ??= grpc.loadPackageDefinition(handlerPackageDefinition()) as unknown as HandlerProto;
  return handlerProto.virtnode.handler.v1;
}

export function launcherPackage(): LauncherProto['virtnode']['launcher']['v1'] {
  launcherProto ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(join(protoDir, 'launcher.proto'), LOADER_OPTIONS),
  ) as unknown as LauncherProto;
  return launcherProto.virtnode.launcher.v1;
}


/**
 * The Info service both servers expose: picks the highest version both sides
 * list, or refuses with the versions this side speaks.
 */
export function infoService(server: string): grpc.UntypedServiceImplementation {
  return {
    Negotiate: (call: grpc.ServerUnaryCall<{ supportedVersions?: number[] }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const v = pickVersion(PROTOCOL_VERSIONS, call.request.supportedVersions ?? []);
      if (v === undefined) {
        cb({ code: grpc.status.FAILED_PRECONDITION, details: `no common protocol version (${server} speaks ${PROTOCOL_VERSIONS.join(', ')})` });
        return;
      }
      cb(null, { version: v, server });
    },
  };
}

/**
 * Client channel options. grpc-js buffers streamed messages for retries; with its
 * default buffer small stream messages crawl (measured ~10x slower), so it is set.
 */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.per_rpc_retry_buffer_size': 1 << 20,
  'grpc.retry_buffer_size': 16 << 20,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_permit_without_calls': 1,
};

/** Metadata carrying the negotiated protocol version on every call. */
export function protocolMetadata(version: number): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(PROTOCOL_HEADER, String(version));
  return md;
}

/** The version a call claims, if it is one this build speaks. */
export function callProtocol(md: grpc.Metadata): number | undefined {
  const raw = md.get(PROTOCOL_HEADER)[0];
  const v = typeof raw === 'string' ? Number(raw) : NaN;
  return PROTOCOL_VERSIONS.includes(v) ? v : undefined;
}

/**
 * Every call but Info.Negotiate must name a protocol version this build speaks: the
 * status to end a call with when it does not, else undefined.
 */
export function requireProtocol(md: grpc.Metadata): { code: grpc.status; details: string } | undefined {
  if (callProtocol(md) !== undefined) return undefined;
  return { code: grpc.status.FAILED_PRECONDITION, details: `call Info.Negotiate first and send the ${PROTOCOL_HEADER} header (this build speaks ${PROTOCOL_VERSIONS.join(', ')})` };
}

/** Promisified unary call: grpc-js clients are callback-shaped. */
export function unary<Req, Res>(
  fn: (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => unknown,
  self: unknown,
  req: Req,
  md: grpc.Metadata,
  opts: grpc.CallOptions = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn.call(self, req, md, opts, (err: grpc.ServiceError | null, res?: Res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}
