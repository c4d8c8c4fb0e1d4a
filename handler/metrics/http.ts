// The handler's Prometheus endpoint (--metrics-listen): GET /metrics and nothing
// else, plain HTTP as virt-handler serves it to Prometheus inside the cluster.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { errorMessage } from '../../proto/errors.js';
import { CONTENT_TYPE } from './exposition.js';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(at: { host: string; port: number }, scrape: () => Promise<string>, log: Logger): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the handler serves /metrics only\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    scrape().then(
      (body) => {
        res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (e) => {
        log.error({ err: errorMessage(e) }, 'gathering metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`gathering metrics failed: ${errorMessage(e)}\n`);
      },
    );
  });
  // Scrapers reuse their connection; an idle one is closed after a minute.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host || undefined, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
