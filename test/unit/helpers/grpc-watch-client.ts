// A Watch client in a process of its own, for the keepalive tests: it answers the
// server's pings while the test's process is busy. argv[2] is the server's socket;
// it ends when its parent goes.

import http2 from 'node:http2';
import { connect } from 'node:net';
import { grpcFrame } from '../../../handler/api/grpc-wire.js';
import { handlerPackage } from '../../../proto/rpc.js';

const watch = handlerPackage().Node.service.Watch!;
const session = http2.connect('http://localhost', { createConnection: () => connect(process.argv[2]!) });
session.on('close', () => process.exit(1));
const req = session.request({ ':method': 'POST', ':path': watch.path, 'content-type': 'application/grpc', te: 'trailers' });
req.resume();
req.end(grpcFrame(watch.requestSerialize({ name: 'child' })));
process.on('disconnect', () => process.exit(0));
