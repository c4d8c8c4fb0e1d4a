// The handler's API listeners: the root-only unix socket for the node-local CLI,
// and, when configured, TCP with mutual TLS for controllers. Both serve the same
// services, plus grpc.health.v1 and server reflection, on GrpcServer (see
// grpc-server.ts for why not grpc-js's Server).

import type * as grpc from '@grpc/grpc-js';
import { promises as fs, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from 'pino';
import { handlerPackage, handlerPackageDefinition, infoService } from '../../proto/rpc.js';
import { parseListenAddress, type HandlerConfig } from '../config.js';
import { DEFAULT_COMPRESS_MIN_BYTES, GrpcServer, type GrpcServerOptions } from './grpc-server.js';
import { nodeService, type NodeServiceDeps } from './node-server.js';

export interface ApiServer {
  health: HealthImplementation;
  close(): Promise<void>;
}

/** The largest request the API takes (an Apply of many manifests fits). */
export const MAX_RECEIVE_MESSAGE_BYTES = 16 << 20;

export async function startApiServer(cfg: HandlerConfig, deps: NodeServiceDeps, log: Logger, opts: Partial<GrpcServerOptions> = {}): Promise<ApiServer> {
  const pkg = handlerPackage();
  const server = new GrpcServer({
    maxReceiveMessageBytes: MAX_RECEIVE_MESSAGE_BYTES,
    compressMinBytes: DEFAULT_COMPRESS_MIN_BYTES,
    // Keepalive, idle timeout, streams per connection and connections per listener
    // keep GrpcServer's defaults, which are chosen for this handler (why: grpc-server.ts).
    onConnectionsRefused: (refused, listener) => log.warn({ listener, refused }, 'API connections refused: the listener is at its connection cap'),
    ...opts,
  });
  server.addService(pkg.Info.service, infoService('virtnode-handler'));
  server.addService(pkg.Node.service, nodeService(deps));
  const health = new HealthImplementation({ '': 'SERVING', 'virtnode.handler.v1.Node': 'SERVING' });
  // Both only call addService, which GrpcServer has with grpc-js's signature.
  health.addToServer(server as unknown as grpc.Server);
  new ReflectionService(handlerPackageDefinition()).addToServer(server);

  // Root only: the directory is 0700 and the socket 0600 (the handler runs with umask 077).
  await fs.mkdir(dirname(cfg.socketPath), { recursive: true, mode: 0o700 });
  await fs.rm(cfg.socketPath, { force: true });
  await server.listenUnix(cfg.socketPath);
  await fs.chmod(cfg.socketPath, 0o600);
  log.info({ socket: cfg.socketPath }, 'CLI API listening');

  if (cfg.tcp) {
    // Clients must present a certificate signed by the CA.
    const at = parseListenAddress(cfg.tcp.address);
    if (!at) throw new Error(`tcp.address "${cfg.tcp.address}" is not host:port`); // loadConfig checked it
    const port = await server.listenTls(at, { ca: readFileSync(cfg.tcp.caFile), cert: readFileSync(cfg.tcp.certFile), key: readFileSync(cfg.tcp.keyFile) });
    log.info({ address: cfg.tcp.address, port }, 'controller API listening (mTLS)');
  }

  return {
    health,
    close: () => {
      health.setStatus('', 'NOT_SERVING');
      // Watch and Console streams never end by themselves: cut them soon.
      return server.close(200);
    },
  };
}
