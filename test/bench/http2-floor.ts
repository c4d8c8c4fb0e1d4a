#!/usr/bin/env node
// A second reference for the unary load: the same answers served by node:http2 with
// no gRPC library, each written as the framed bytes it already is (gRPC's wire
// format: HTTP/2, length-prefixed message, grpc-status trailer). What separates it
// from grpc-floor.ts is grpc-js's per-call work; for a List of a few hundred VMIs
// that is most of the cost (a new buffer and a copy of the answer on every call),
// and this figure is what a unary path without it would start from.
//
//   node <HANDLER_NODE_FLAGS> http2-floor.js <socket>  < {"get": base64, "list": base64}

import http2 from 'node:http2';
import { readFileSync, rmSync } from 'node:fs';
import { grpcFrame } from './grpc-wire.js';

const socket = process.argv[2];
if (!socket) throw new Error('usage: http2-floor.js <socket>');
const answers = JSON.parse(readFileSync(0, 'utf8')) as { get: string; list: string };
const framed = (b64: string): Buffer => grpcFrame(Buffer.from(b64, 'base64'));
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
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(answer);
  });
});
rmSync(socket, { force: true });
server.listen(socket, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
