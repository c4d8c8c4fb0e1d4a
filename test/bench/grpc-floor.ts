#!/usr/bin/env node
// The unary load's baseline: the handler's Node service on a grpc-js server with
// nothing behind it. Get and List answer bytes the handler itself encoded (read
// from stdin), so the wire is the same byte for byte; what is left is the cost of
// grpc-js and node:http2 per call on this machine, with the handler's Node flags
// and server options. The scale benchmark loads it with the same client, the same
// way, in the same run, and prints the handler's figures against it.
//
//   node <HANDLER_NODE_FLAGS> grpc-floor.js <socket>  < {"get": base64, "list": base64}

import * as grpc from '@grpc/grpc-js';
import { readFileSync, rmSync } from 'node:fs';
import { passEncoded } from '../../handler/api/encoded.js';
import { API_SERVER_OPTIONS } from '../../handler/api/server.js';
import { handlerPackage } from '../../proto/rpc.js';

const socket = process.argv[2];
if (!socket) throw new Error('usage: grpc-floor.js <socket>');
const answers = JSON.parse(readFileSync(0, 'utf8')) as { get: string; list: string };
const get = Buffer.from(answers.get, 'base64');
const list = Buffer.from(answers.list, 'base64');

const server = new grpc.Server(API_SERVER_OPTIONS);
const reply = (bytes: Buffer) => (_call: unknown, cb: (err: null, res: Buffer) => void): void => cb(null, bytes);
const unimplemented = (_call: unknown, cb: (err: grpc.ServiceError) => void): void => cb({ code: grpc.status.UNIMPLEMENTED } as grpc.ServiceError);
const def = passEncoded(handlerPackage().Node.service);
server.addService(def, Object.fromEntries(Object.keys(def).map((m) => [m, m === 'Get' ? reply(get) : m === 'List' ? reply(list) : unimplemented])));
rmSync(socket, { force: true });
server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => server.forceShutdown());
