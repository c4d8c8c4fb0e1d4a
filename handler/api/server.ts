// The handler's API listeners: the root-only unix socket for the node-local CLI,
// and, when configured, TCP with mutual TLS for controllers. Both serve the same
// services, plus grpc.health.v1 and server reflection.

import * as grpc from '@grpc/grpc-js';
import { promises as fs, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from 'pino';
import { handlerPackage, handlerPackageDefinition, infoService } from '../../proto/rpc.js';
import type { HandlerConfig } from '../config.js';
import { passEncoded } from './encoded.js';
import { nodeService, type NodeServiceDeps } from './node-server.js';

export interface ApiServer {
  health: HealthImplementation;
  close(): Promise<void>;
}

function bind(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port))));
}

/** The API server's grpc-js options (the unary benchmark's baseline server uses them too). */
export const API_SERVER_OPTIONS = { 'grpc.max_receive_message_length': 16 << 20 } as const;

export async function startApiServer(cfg: HandlerConfig, deps: NodeServiceDeps, log: Logger): Promise<ApiServer> {
  const pkg = handlerPackage();
  const server = new grpc.Server(API_SERVER_OPTIONS);
  server.addService(pkg.Info.service, infoService('virtnode-handler'));
  server.addService(passEncoded(pkg.Node.service), nodeService(deps));
  const health = new HealthImplementation({ '': 'SERVING', 'virtnode.handler.v1.Node': 'SERVING' });
  health.addToServer(server);
  new ReflectionService(handlerPackageDefinition()).addToServer(server);

  // Root only: the directory is 0700 and the socket 0600 (the handler runs with umask 077).
  await fs.mkdir(dirname(cfg.socketPath), { recursive: true, mode: 0o700 });
  await fs.rm(cfg.socketPath, { force: true });
  await bind(server, `unix:${cfg.socketPath}`, grpc.ServerCredentials.createInsecure());
  await fs.chmod(cfg.socketPath, 0o600);
  log.info({ socket: cfg.socketPath }, 'CLI API listening');

  if (cfg.tcp) {
    const creds = grpc.ServerCredentials.createSsl(
      readFileSync(cfg.tcp.caFile),
      [{ private_key: readFileSync(cfg.tcp.keyFile), cert_chain: readFileSync(cfg.tcp.certFile) }],
      true, // clients must present a certificate signed by the CA
    );
    const port = await bind(server, cfg.tcp.address, creds);
    log.info({ address: cfg.tcp.address, port }, 'controller API listening (mTLS)');
  }

  return {
    health,
    close: () =>
      new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        server.tryShutdown(() => resolve());
        // Watch and Console streams never end by themselves: cut them soon.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 200).unref();
      }),
  };
}
