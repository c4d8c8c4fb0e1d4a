#!/usr/bin/env node
// The unary load's baseline: the handler's Node service on a grpc-js server (what
// the handler's API ran on before GrpcServer) with nothing behind it. Get and List
// answer the messages the handler itself encoded (read from stdin as the handler
// framed them; grpc-js cannot send a compressed answer, so a gzip one is unpacked
// here). What is left is the cost of grpc-js and node:http2 per call on this
// machine, with the handler's Node flags. The scale benchmark loads it with the same
// client, the same way, in the same run, and prints the handler's figures against it.
//
//   node <HANDLER_NODE_FLAGS> grpc-floor.js <socket>  < {"get": base64, "list": base64}

import * as grpc from '@grpc/grpc-js';
import { readFileSync, rmSync } from 'node:fs';
import { MAX_RECEIVE_MESSAGE_BYTES } from '../../handler/api/server.js';
import { handlerPackage } from '../../proto/rpc.js';
import { unframe } from './grpc-raw.js';

const socket = process.argv[2];
if (!socket) throw new Error('usage: grpc-floor.js <socket>');
const answers = JSON.parse(readFileSync(0, 'utf8')) as { get: string; list: string };
const get = unframe(Buffer.from(answers.get, 'base64'));
const list = unframe(Buffer.from(answers.list, 'base64'));

const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES });
const reply = (bytes: Buffer) => (_call: unknown, cb: (err: null, res: Buffer) => void): void => cb(null, bytes);
const unimplemented = (_call: unknown, cb: (err: grpc.ServiceError) => void): void => cb({ code: grpc.status.UNIMPLEMENTED } as grpc.ServiceError);
// Answers are bytes already encoded: passed on as they are.
const def = Object.fromEntries(Object.entries(handlerPackage().Node.service).map(([name, m]) => [name, { ...m, responseSerialize: (v: Buffer) => v }])) as grpc.ServiceDefinition;
server.addService(def, Object.fromEntries(Object.keys(def).map((m) => [m, m === 'Get' ? reply(get) : m === 'List' ? reply(list) : unimplemented])));
rmSync(socket, { force: true });
server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => server.forceShutdown());
