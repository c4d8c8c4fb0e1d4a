// `virtnode vnc NAME [--port N] [--proxy-only]`: the VMI's VNC display on
// 127.0.0.1 for a local viewer, as `virtctl vnc` serves it. Each TCP connection
// becomes one VNC call to the handler (taking the display over from a client
// attached before, as virtctl does); bytes are copied both ways with backpressure.
// Without --proxy-only a viewer found on PATH is started against the port; with
// it, the port is printed as virtctl prints it ({"port":N}) and the proxy serves
// until interrupted.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { HandlerClient } from './client.js';
import { serverError } from './client.js';
import type { ConsoleInput } from '../../proto/generated/virtnode/handler/v1/ConsoleInput.js';
import type { ConsoleOutput__Output } from '../../proto/generated/virtnode/handler/v1/ConsoleOutput.js';

type VncStream = grpc.ClientDuplexStream<ConsoleInput, ConsoleOutput__Output>;

/** Viewers tried in order, with how each is told the address (virtctl's remote-viewer and vncviewer). */
const VIEWERS: { bin: string; args: (port: number) => string[] }[] = [
  { bin: 'remote-viewer', args: (port) => [`vnc://127.0.0.1:${port}`] },
  { bin: 'vncviewer', args: (port) => [`127.0.0.1::${port}`] },
];

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return join(dir, bin);
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Opens the VMI's VNC stream; resolves once the display has spoken (its RFB version), or rejects with the handler's error. */
function openVnc(c: HandlerClient, namespace: string, name: string): Promise<{ stream: VncStream; first: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream: VncStream = c.node.VNC(c.md());
    const onData = (m: ConsoleOutput__Output): void => {
      stream.off('error', onError);
      stream.off('end', onEnd);
      // Whoever takes the stream listens for its end; a cancel must not be an unhandled error meanwhile.
      stream.on('error', () => undefined);
      stream.pause();
      resolve({ stream, first: Buffer.from(m.data) });
    };
    const onError = (e: Error): void => reject(serverError(e));
    const onEnd = (): void => reject(new Error(`the VNC display of ${name} closed at once`));
    stream.once('data', onData);
    stream.once('error', onError);
    stream.once('end', onEnd);
    stream.write({ open: { kind: 'VirtualMachineInstance', namespace, name }, force: true });
  });
}

/** Copies bytes between a viewer's TCP connection and a VNC stream until either ends. */
function splice(tcp: Socket, stream: VncStream, first: Buffer): void {
  tcp.write(first);
  stream.on('data', (m: ConsoleOutput__Output) => {
    if (!tcp.write(m.data)) {
      stream.pause();
      tcp.once('drain', () => stream.resume());
    }
  });
  stream.resume();
  tcp.on('data', (b: Buffer) => {
    if (!stream.write({ data: b })) {
      tcp.pause();
      stream.once('drain', () => tcp.resume());
    }
  });
  tcp.resume(); // paused on accept, until the stream was open
  const close = (): void => {
    tcp.destroy();
    stream.cancel();
  };
  tcp.on('close', close);
  tcp.on('error', close);
  stream.on('end', () => tcp.end());
  stream.on('error', (e) => {
    if ((e as grpc.ServiceError).code !== 1) process.stderr.write(`vnc: ${serverError(e).message}\n`);
    tcp.destroy();
  });
}

export async function runVnc(c: HandlerClient, namespace: string, name: string, opts: { port?: number; proxyOnly: boolean }): Promise<number> {
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 0 && opts.port <= 65535)) throw new Error('vnc: --port must be a port number (0 to 65535; 0 picks a free one)');
  // Fail now, not when a viewer connects: a VMI without graphics, or not running, says so here.
  const probe = await openVnc(c, namespace, name);
  probe.stream.cancel();
  const server: Server = createServer((tcp) => {
    tcp.pause();
    openVnc(c, namespace, name).then(
      ({ stream, first }) => splice(tcp, stream, first),
      (e: Error) => {
        process.stderr.write(`vnc: ${e.message}\n`);
        tcp.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const stop = new Promise<number>((resolve) => process.once('SIGINT', () => resolve(0)));
  let viewerExit: Promise<number> | undefined;
  if (opts.proxyOnly) {
    process.stdout.write(`${JSON.stringify({ port })}\n`);
  } else {
    const viewer = VIEWERS.find((v) => onPath(v.bin));
    if (!viewer) {
      process.stderr.write(`no VNC viewer (${VIEWERS.map((v) => v.bin).join(', ')}) on PATH; serving the display on 127.0.0.1:${port} for one of your own (Ctrl-C ends)\n`);
    } else {
      const child = spawn(viewer.bin, viewer.args(port), { stdio: 'inherit' });
      viewerExit = new Promise((resolve) => {
        child.once('exit', (code) => resolve(code ?? 1));
        child.once('error', (e) => {
          process.stderr.write(`vnc: starting ${viewer.bin}: ${e.message}\n`);
          resolve(1);
        });
      });
    }
  }
  const code = await Promise.race(viewerExit ? [stop, viewerExit] : [stop]);
  server.close();
  return code;
}
