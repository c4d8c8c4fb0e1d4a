// The API's gRPC server against grpc-js clients (what controllers and the CLI use)
// and a raw HTTP/2 client (to see the wire): unary answers and errors, pre-encoded
// answers compressed only for clients that accept gzip, streams in both
// directions, cancellation, deadlines, size limits, and shutdown.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { GrpcServer } from '../../handler/api/grpc-server.js';
import { EncodedMessage } from '../../handler/api/encoded.js';
import { grpcFrame } from '../../handler/api/grpc-wire.js';
import type { StreamCall, UnaryCall } from '../../handler/api/grpc-call.js';
import { CHANNEL_OPTIONS, handlerPackage } from '../../proto/rpc.js';

const COMPRESS_MIN = 4096;
const node = handlerPackage().Node;
const def = node.service;
let dir: string;
let socket: string;
let server: GrpcServer;
let client: InstanceType<typeof node>;
const seen = { cancelled: [] as string[], closed: [] as string[] };
let releaseHang: (() => void) | undefined;

type Cb = (err: unknown, res?: unknown, trailer?: grpc.Metadata) => void;
const bigList = (n: number) => ({ objects: Array.from({ length: n }, (_, i) => ({ kind: 'VirtualMachineInstance', json: JSON.stringify({ metadata: { name: `vm-${i}`, namespace: 'default' }, status: { phase: 'Running' } }), resourceVersion: i })), resourceVersion: n });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vn-grpc-'));
  socket = join(dir, 'api.sock');
  server = new GrpcServer({ maxReceiveMessageBytes: 64 << 10, compressMinBytes: COMPRESS_MIN });
  const unimplemented = (_c: unknown, cb: Cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in this test' });
  const impl: Record<string, unknown> = Object.fromEntries(Object.keys(def).map((m) => [m, unimplemented]));
  Object.assign(impl, {
    // Get: an object, or the error its name asks for, with a trailer.
    Get: (call: UnaryCall<{ name: string }>, cb: Cb) => {
      const name = call.request.name;
      if (name === 'missing') {
        const md = new grpc.Metadata();
        md.set('virtnode-error-code', 'VN_NOT_FOUND');
        return cb({ code: grpc.status.NOT_FOUND, details: 'VirtualMachine default/missing — not here, 100% sure', metadata: md });
      }
      if (name === 'throw') throw new Error('bug in a method');
      if (name === 'hang') {
        call.on('cancelled', () => seen.cancelled.push('hang'));
        releaseHang = () => cb(null, { kind: 'late', json: '{}', resourceVersion: 0 });
        return;
      }
      cb(null, { kind: 'VirtualMachineInstance', json: JSON.stringify({ name, protocol: call.metadata.get('virtnode-protocol') }), resourceVersion: 7 });
    },
    // List: pre-encoded, large or small by the namespace asked for.
    List: (call: UnaryCall<{ namespace: string }>, cb: Cb) => cb(null, new EncodedMessage(def.List!.responseSerialize(bigList(call.request.namespace === 'big' ? 400 : 2)))),
    Watch: (call: StreamCall<{ name: string }, unknown>) => {
      call.on('cancelled', () => seen.cancelled.push(`watch ${call.request.name}`));
      call.on('close', () => seen.closed.push(`watch ${call.request.name}`));
      if (call.request.name === 'fail') {
        call.write({ seq: 1, type: 'ADDED', kind: 'VirtualMachine', json: '{}' });
        call.emit('error', { code: grpc.status.OUT_OF_RANGE, details: 'sequence too old' });
        return;
      }
      for (let i = 1; i <= 3; i++) call.write({ seq: i, type: 'ADDED', kind: 'VirtualMachine', json: `{"i":${i}}` });
      if (call.request.name === 'three') call.end();
    },
    // Console: echoes each input back, upper-cased, and ends when the client does.
    Console: (call: StreamCall<undefined, unknown>) => {
      call.on('data', (m: { data?: Buffer }) => call.write({ data: Buffer.from(String(m.data ?? '').toUpperCase()) }));
      call.on('end', () => call.end());
    },
  });
  server.addService(def, impl as never);
  await server.listenUnix(socket);
  client = new node(`unix:${socket}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
});

after(async () => {
  client?.close();
  await server?.close(100);
  rmSync(dir, { recursive: true, force: true });
});

function unary<Res>(method: string, req: unknown, opts: { md?: grpc.Metadata; deadline?: number } = {}): Promise<{ res: Res; trailer: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let trailer = new grpc.Metadata();
    const call = (client as any)[method](req, opts.md ?? new grpc.Metadata(), opts.deadline ? { deadline: Date.now() + opts.deadline } : {}, (e: grpc.ServiceError | null, res: Res) => (e ? reject(e) : resolve({ res, trailer })));
    call.on('status', (s: grpc.StatusObject) => (trailer = s.metadata));
  });
}

/** One call on a raw HTTP/2 connection: what goes over the wire. */
function raw(path: string, body: Buffer, headers: Record<string, string>): Promise<{ headers: http2.IncomingHttpHeaders; data: Buffer; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const s = http2.connect('http://localhost', { createConnection: () => connect(socket) });
    s.on('error', reject);
    const req = s.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let h: http2.IncomingHttpHeaders = {};
    let t: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (x) => (h = x));
    req.on('trailers', (x) => (t = x));
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      s.close();
      resolve({ headers: h, data: Buffer.concat(chunks), trailers: t });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('unary: the answer, request metadata reaching the method', async () => {
  const md = new grpc.Metadata();
  md.set('virtnode-protocol', '1');
  const { res } = await unary<{ json: string; resourceVersion: string }>('Get', { kind: 'vmi', namespace: 'default', name: 'a' }, { md });
  assert.deepEqual(JSON.parse(res.json), { name: 'a', protocol: ['1'] });
  assert.equal(Number(res.resourceVersion), 7);
});

test('unary errors: code, details (non-ASCII and % intact) and trailing metadata; a throwing method is INTERNAL', async () => {
  await assert.rejects(unary('Get', { name: 'missing' }), (e: grpc.ServiceError) => {
    assert.equal(e.code, grpc.status.NOT_FOUND);
    assert.equal(e.details, 'VirtualMachine default/missing — not here, 100% sure');
    assert.deepEqual(e.metadata.get('virtnode-error-code'), ['VN_NOT_FOUND']);
    return true;
  });
  await assert.rejects(unary('Get', { name: 'throw' }), (e: grpc.ServiceError) => e.code === grpc.status.INTERNAL && /bug in a method/.test(e.details));
});

test('an unknown method is UNIMPLEMENTED; a request past the size limit is RESOURCE_EXHAUSTED', async () => {
  const generic = new grpc.Client(`unix:${socket}`, grpc.credentials.createInsecure());
  const call = (path: string, body: Buffer) =>
    new Promise((resolve, reject) => generic.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, (e, r) => (e ? reject(e) : resolve(r))));
  await assert.rejects(call('/virtnode.handler.v1.Node/Nope', Buffer.alloc(0)), (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED && /Nope/.test(e.details));
  await assert.rejects(call(def.Get!.path, Buffer.alloc(100 << 10)), (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED && /more than the 65536 allowed/.test(e.details));
  generic.close();
});

test('a pre-encoded answer past the line is gzip-compressed for clients that accept gzip, and only for them', async () => {
  const { res } = await unary<{ objects: unknown[] }>('List', { namespace: 'big' });
  assert.equal(res.objects.length, 400, 'grpc-js unpacks it');

  const body = grpcFrame(def.List!.requestSerialize({ kind: 'vmi', namespace: 'big' }));
  const plain = def.List!.responseSerialize(bigList(400));
  assert.ok(plain.length > COMPRESS_MIN);
  const zipped = await raw(def.List!.path, body, { 'grpc-accept-encoding': 'identity,deflate,gzip' });
  assert.equal(zipped.headers['grpc-encoding'], 'gzip');
  assert.equal(zipped.trailers['grpc-status'], '0');
  assert.equal(zipped.data[0], 1, 'the compressed flag');
  assert.equal(zipped.data.readUInt32BE(1), zipped.data.length - 5);
  assert.ok(zipped.data.length < plain.length / 4, `${zipped.data.length} bytes on the wire for ${plain.length}`);
  assert.deepEqual(gunzipSync(zipped.data.subarray(5)), plain);

  const identity = await raw(def.List!.path, body, {});
  assert.equal(identity.headers['grpc-encoding'], 'identity');
  assert.equal(identity.data[0], 0);
  assert.deepEqual(identity.data.subarray(5), plain);

  const small = await raw(def.List!.path, grpcFrame(def.List!.requestSerialize({ namespace: 'small' })), { 'grpc-accept-encoding': 'gzip' });
  assert.equal(small.data[0], 0, 'an answer under the line goes as it is');
});

test('server streaming: messages then OK; an emitted error is the status; a client cancel reaches the method', async () => {
  const read = (name: string) =>
    new Promise<{ got: number[]; status: grpc.StatusObject }>((resolve) => {
      const got: number[] = [];
      const s = client.Watch({ name });
      s.on('data', (e: { seq: string }) => got.push(Number(e.seq)));
      s.on('error', () => undefined);
      s.on('status', (status: grpc.StatusObject) => resolve({ got, status }));
    });
  const three = await read('three');
  assert.deepEqual(three.got, [1, 2, 3]);
  assert.equal(three.status.code, grpc.status.OK);
  const fail = await read('fail');
  assert.deepEqual(fail.got, [1]);
  assert.equal(fail.status.code, grpc.status.OUT_OF_RANGE);
  assert.equal(fail.status.details, 'sequence too old');

  const s = client.Watch({ name: 'open' });
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => s.on('data', (e: { seq: string }) => Number(e.seq) === 3 && resolve()));
  s.cancel();
  for (let i = 0; i < 100 && !seen.closed.includes('watch open'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(seen.cancelled.includes('watch open'), seen.cancelled.join(','));
  assert.ok(seen.closed.includes('watch open'));
  assert.ok(!seen.cancelled.includes('watch three'), 'a call that ended is not cancelled');
});

test('bidi streaming: each message answered in order, then OK when the client ends', async () => {
  const s = client.Console();
  const got: string[] = [];
  const status = new Promise<grpc.StatusObject>((resolve) => s.on('status', resolve));
  s.on('data', (m: { data: Buffer }) => got.push(m.data.toString()));
  for (const w of ['root', 'ls -l', 'exit']) s.write({ data: Buffer.from(w) });
  s.end();
  assert.equal((await status).code, grpc.status.OK);
  assert.deepEqual(got, ['ROOT', 'LS -L', 'EXIT']);
});

test('a deadline that passes answers DEADLINE_EXCEEDED and cancels the call; a late answer goes nowhere', async () => {
  await assert.rejects(unary('Get', { name: 'hang' }, { deadline: 100 }), (e: grpc.ServiceError) => e.code === grpc.status.DEADLINE_EXCEEDED);
  for (let i = 0; i < 100 && !seen.cancelled.includes('hang'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(seen.cancelled.includes('hang'));
  releaseHang!();
  const { res } = await unary<{ json: string }>('Get', { name: 'after' });
  assert.equal(JSON.parse(res.json).name, 'after', 'the server goes on');
});

test('close: open streams are cut after the grace period, and the socket stops answering', async () => {
  const s2 = new GrpcServer({ maxReceiveMessageBytes: 1 << 20, compressMinBytes: COMPRESS_MIN });
  s2.addService(def, { ...Object.fromEntries(Object.keys(def).map((m) => [m, () => undefined])), Watch: (call: StreamCall<unknown, unknown>) => call.write({ seq: 1, type: 'ADDED', kind: 'x', json: '{}' }) } as never);
  const path = join(dir, 'closing.sock');
  await s2.listenUnix(path);
  const c = new node(`unix:${path}`, grpc.credentials.createInsecure());
  const w = c.Watch({});
  const status = new Promise<grpc.StatusObject>((resolve) => w.on('status', resolve));
  w.on('error', () => undefined);
  await new Promise((resolve) => w.once('data', resolve));
  const t0 = Date.now();
  await s2.close(150);
  assert.ok(Date.now() - t0 >= 140, 'waited for the grace period');
  assert.notEqual((await status).code, grpc.status.OK);
  await assert.rejects(
    new Promise((resolve, reject) => c.GetNodeInfo({}, new grpc.Metadata(), { deadline: Date.now() + 1000 }, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r)))),
    (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED,
  );
  c.close();
});
