#!/usr/bin/env node
// The unary load's floor: the handler's answers, byte for byte as it framed them
// (a large one gzip-compressed), written by node:http2 with nothing behind them
// (gRPC's wire format: HTTP/2, length-prefixed message, grpc-status trailer). The
// handler's API server is node:http2 too, so what separates the two is the
// handler's own per-call work: routing, decoding the request, the store lookup.
//
//   node <HANDLER_NODE_FLAGS> http2-floor.js <socket>  < {"get": base64, "list": base64}

import http2 from 'node:http2';
import { readFileSync, rmSync } from 'node:fs';

const socket = process.argv[2];
if (!socket) throw new Error('usage: http2-floor.js <socket>');
const answers = JSON.parse(readFileSync(0, 'utf8')) as { get: string; list: string };
const framed = (b64: string): { bytes: Buffer; encoding: string } => {
  const bytes = Buffer.from(b64, 'base64');
  return { bytes, encoding: bytes[0] === 1 ? 'gzip' : 'identity' };
};
const byPath = new Map([
  ['/virtnode.handler.v1.Node/Get', framed(answers.get)],
  ['/virtnode.handler.v1.Node/List', framed(answers.list)],
]);

const server = http2.createServer();
server.on('stream', (stream, headers) => {
  const answer = byPath.get(String(headers[':path']));
  stream.on('error', () => undefined);
  stream.resume(); // the request: read to its end, not looked at
  stream.on('end', () => {
    if (!answer) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-encoding': answer.encoding }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(answer.bytes);
  });
});
rmSync(socket, { force: true });
server.listen(socket, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
