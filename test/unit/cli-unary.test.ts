// The CLI's own gRPC client (handler/cli/unary.ts on h2.ts and hpack.ts): HPACK
// against RFC 7541's examples and against what node:http2 (nghttp2, the handler's
// HTTP/2) sends; HTTP/2 flow control, CONTINUATION, PING, RST_STREAM, GOAWAY and
// deadlines against a node:http2 server; and, against the handler's own API server
// (GrpcServer), the same answers and the same errors as grpc-js's client (client.ts).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { HpackDecoder, encodeHeaders, huffmanDecode, type HeaderList } from '../../handler/cli/hpack.js';
import { H2Connection, H2ResetError, H2TimeoutError } from '../../handler/cli/h2.js';
import { connectUnary, type UnaryClient } from '../../handler/cli/unary.js';
import { connectHandler, type HandlerClient } from '../../handler/cli/client.js';
import { GrpcServer } from '../../handler/api/grpc-server.js';
import { EncodedMessage } from '../../handler/api/encoded.js';
import type { UnaryCall } from '../../handler/api/grpc-call.js';
import { handlerPackage, infoService } from '../../proto/rpc.js';
import { isVirtnodeError } from '../../proto/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'vn-cli-unary-'));

test('HPACK: RFC 7541 C.4, three requests with Huffman strings sharing one dynamic table', () => {
  const d = new HpackDecoder();
  const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
  assert.deepEqual(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']]);
  assert.deepEqual(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf')), [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']]);
  assert.deepEqual(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']]);
});

test('HPACK: bad input is an error, never a wrong header', () => {
  const d = new HpackDecoder();
  assert.throws(() => d.decode(Buffer.from([0xbe])), /no header at index 62/);
  assert.throws(() => d.decode(Buffer.from([0x00, 0x05, 0x61])), /past the end/);
  assert.throws(() => d.decode(Buffer.from([0x3f, 0xe2, 0x1f])), /table size/); // 4097 > 4096
  assert.throws(() => huffmanDecode(Buffer.from([0x00])), /padding/); // '0' (00000) then 3 zero bits
  assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff])), /EOS|Huffman/);
});

test('HPACK: what the encoder writes, the decoder reads (long values too)', () => {
  const headers: HeaderList = [[':path', '/virtnode.handler.v1.Node/List'], ['x', 'y'.repeat(300)], ['empty', '']];
  assert.deepEqual(new HpackDecoder().decode(encodeHeaders(headers)), headers);
});

/** A node:http2 server on a unix socket, with `onStream` as its handler. */
async function h2Server(name: string, onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, session: http2.ServerHttp2Session) => void): Promise<{ path: string; close(): Promise<void> }> {
  const path = join(dir, `${name}.sock`);
  const server = http2.createServer({ maxSendHeaderBlockLength: 1 << 20 });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    onStream(stream, headers, stream.session as http2.ServerHttp2Session);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    path,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  };
}

const readBody = (stream: http2.ServerHttp2Stream): Promise<Buffer> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });

const request = (conn: H2Connection, path: string, body: Buffer, headers: HeaderList = [], timeoutMs?: number) =>
  conn.request([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'localhost'], ...headers], body, timeoutMs);

test('HTTP/2: nghttp2 headers (Huffman, dynamic table, CONTINUATION) and flow control both ways', async () => {
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
  const srv = await h2Server('h2', async (stream, headers, session) => {
    const body = await readBody(stream);
    const path = String(headers[':path']);
    if (path === '/ping') await new Promise<void>((r, j) => session.ping((e) => (e ? j(e) : r())));
    if (path === '/reset') return stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    if (path === '/hang') return;
    const size = Number(headers['x-answer-bytes'] ?? 0);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto', 'x-echo': String(headers['x-echo'] ?? ''), 'x-printable': printable, 'x-bytes': String(body.length) }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-long': 'l'.repeat(Number(headers['x-long'] ?? 1)), 'x-echo': String(headers['x-echo'] ?? '') }));
    stream.end(Buffer.alloc(size, 7));
  });
  const conn = new H2Connection(srv.path);
  try {
    // Many answers on one connection: nghttp2 indexes repeated headers in its dynamic table.
    for (let i = 0; i < 5; i++) {
      const r = await request(conn, '/x', Buffer.from('hi'), [['x-echo', `echo ${i} ünï`]]);
      const get = (l: HeaderList | undefined, n: string) => l?.find((f) => f[0] === n)?.[1];
      assert.equal(get(r.headers, ':status'), '200');
      assert.equal(get(r.headers, 'x-printable'), printable);
      assert.equal(get(r.headers, 'x-echo'), `echo ${i} ünï`);
      assert.equal(get(r.headers, 'x-bytes'), '2');
      assert.equal(get(r.trailers, 'grpc-status'), '0');
    }
    // A request body over the handler's 64 KiB window and 16 KiB frames; an answer of 5 MiB;
    // trailers of 40 KB, which nghttp2 sends as HEADERS + CONTINUATION.
    const big = await request(conn, '/x', Buffer.alloc(1 << 20, 1), [['x-answer-bytes', String(5 << 20)], ['x-long', '40000']]);
    assert.equal(big.headers.find((f) => f[0] === 'x-bytes')?.[1], String(1 << 20));
    assert.equal(big.body.length, 5 << 20);
    assert.equal(big.trailers?.find((f) => f[0] === 'x-long')?.[1], 'l'.repeat(40000));
    // Several at once.
    const all = await Promise.all(Array.from({ length: 8 }, (_, i) => request(conn, '/x', Buffer.alloc(100_000 + i), [['x-echo', String(i)]])));
    assert.deepEqual(all.map((r) => r.headers.find((f) => f[0] === 'x-bytes')?.[1]), Array.from({ length: 8 }, (_, i) => String(100_000 + i)));
    // The server's PING is answered (its callback would fail otherwise).
    await request(conn, '/ping', Buffer.alloc(1));
    await assert.rejects(request(conn, '/reset', Buffer.alloc(1)), (e) => e instanceof H2ResetError && e.http2Code === 7 && /REFUSED_STREAM/.test(e.message));
    await assert.rejects(request(conn, '/hang', Buffer.alloc(1), [], 100), (e) => e instanceof H2TimeoutError && /Deadline exceeded/.test(e.message));
    // The connection still serves after a reset and a timeout.
    assert.equal((await request(conn, '/x', Buffer.alloc(3))).headers.find((f) => f[0] === 'x-bytes')?.[1], '3');
  } finally {
    conn.close();
    await srv.close();
  }
});

test('HTTP/2: a connection that fails or closes fails its calls, with the reason', async () => {
  await assert.rejects(request(new H2Connection(join(dir, 'nothing.sock')), '/x', Buffer.alloc(1)), /connect ENOENT/);
  // A handler going away mid-call: GOAWAY, then the connection is cut.
  const srv = await h2Server('goaway', (_stream, _h, session) => {
    session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    setTimeout(() => session.destroy(), 20);
  });
  const conn = new H2Connection(srv.path);
  try {
    await assert.rejects(request(conn, '/x', Buffer.alloc(1)), /ENHANCE_YOUR_CALM|closed/);
    await assert.rejects(request(conn, '/x', Buffer.alloc(1)));
  } finally {
    conn.close();
    await srv.close();
  }
});

// --- against the handler's API server, beside grpc-js ---------------------------

const pkg = handlerPackage();
let server: GrpcServer;
let socket: string;
let unary: UnaryClient;
let reference: HandlerClient;
const seenProtocol: unknown[] = [];

type Cb = (err: unknown, res?: unknown, trailer?: grpc.Metadata) => void;
const trailer = (code: string) => {
  const md = new grpc.Metadata();
  md.set('virtnode-error-code', code);
  return md;
};
const object = (i: number) => ({ kind: 'VirtualMachineInstance', json: JSON.stringify({ metadata: { name: `vm-${i}`, namespace: 'default' }, status: { phase: 'Running' } }), resourceVersion: i });

before(async () => {
  socket = join(dir, 'api.sock');
  server = new GrpcServer({ maxReceiveMessageBytes: 16 << 20, compressMinBytes: 4096 });
  server.addService(pkg.Info.service, infoService('test-handler'));
  const unimplemented = (_c: unknown, cb: Cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in this test' });
  const impl: Record<string, unknown> = Object.fromEntries(Object.keys(pkg.Node.service).map((m) => [m, unimplemented]));
  Object.assign(impl, {
    Get: (call: UnaryCall<{ name: string }>, cb: Cb) => {
      seenProtocol.push(call.metadata.get('virtnode-protocol')[0]);
      const name = call.request.name;
      if (name === 'missing') return cb({ code: grpc.status.NOT_FOUND, details: 'VirtualMachineInstance default/missing not found — 100% sure', metadata: trailer('VN_NOT_FOUND') });
      if (name === 'bare') return cb({ code: grpc.status.INTERNAL, details: '' });
      if (name === 'gone') return cb({ code: grpc.status.UNAVAILABLE, details: 'the launcher went away' });
      if (name === 'throw') throw new Error('bug in a method');
      cb(null, { ...object(1), json: JSON.stringify({ name }) });
    },
    // Pre-encoded and large: compressed only for a client that accepts gzip (grpc-js does, the CLI does not).
    List: (call: UnaryCall<{ namespace: string }>, cb: Cb) =>
      cb(null, new EncodedMessage(pkg.Node.service.List!.responseSerialize({ objects: Array.from({ length: call.request.namespace === 'big' ? 400 : 2 }, (_, i) => object(i)), resourceVersion: 9 }))),
    Apply: (call: UnaryCall<{ manifest: string; dryRun: boolean }>, cb: Cb) => {
      if (call.request.manifest.startsWith('bad')) return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'spec.domain: Required value', metadata: trailer('VN_INVALID_SPEC') });
      cb(null, { objects: [], warnings: ['w'], results: [`${call.request.manifest.length} bytes${call.request.dryRun ? ' (dry run)' : ''}`] });
    },
    Stop: (call: UnaryCall<{ gracePeriodSeconds: number; force: boolean }>, cb: Cb) => cb(null, { message: `grace ${call.request.gracePeriodSeconds} force ${call.request.force}` }),
    GetNodeInfo: (_c: unknown, cb: Cb) => cb(null, { nodeName: 'n', mode: 'standalone', version: '0.1.0', acceleratorJson: '', allowEmulation: true, protocolVersion: 1 }),
  });
  server.addService(pkg.Node.service, impl as never);
  await server.listenUnix(socket);
  unary = await connectUnary({ socket });
  reference = await connectHandler({ socket });
});

after(async () => {
  unary?.close();
  reference?.close();
  await server?.close(100);
  rmSync(dir, { recursive: true, force: true });
});

/** The same call through both clients: the same answer, or the same error (code and message). */
async function same(method: Parameters<UnaryClient['call']>[0], req: unknown): Promise<unknown> {
  const settle = (p: Promise<unknown>) =>
    p.then(
      (value) => ({ value }),
      (e: unknown) => ({ error: { virtnode: isVirtnodeError(e), code: (e as { code?: string }).code, message: (e as Error).message } }),
    );
  const [ours, theirs] = await Promise.all([settle(unary.call(method, req)), settle(reference.call(method, req))]);
  assert.deepEqual(ours, theirs, `${method} ${JSON.stringify(req).slice(0, 60)}`);
  return ours;
}

test('the CLI client negotiates and sends the protocol version on every call', async () => {
  assert.equal(unary.version, 1);
  seenProtocol.length = 0;
  await unary.call('Get', { kind: 'vmi', namespace: 'default', name: 'a' });
  assert.deepEqual(seenProtocol, ['1']);
});

test('answers and errors: the same as grpc-js gives the CLI', async () => {
  assert.deepEqual(await same('Get', { kind: 'vmi', namespace: 'default', name: 'a' }), { value: { ...object(1), json: '{"name":"a"}' } });
  assert.equal(((await same('List', { kind: 'vmi', namespace: 'big' })) as { value: { objects: unknown[] } }).value.objects.length, 400);
  await same('List', { kind: 'vmi', namespace: 'small' });
  // An Apply of 3 MB: past HTTP/2's 64 KiB windows and 16 KiB frames.
  await same('Apply', { manifest: 'x'.repeat(3_000_000), dryRun: true });
  await same('Stop', { namespace: 'default', name: 'a', gracePeriodSeconds: -1, force: true });
  await same('GetNodeInfo', {});
  const notFound = await same('Get', { kind: 'vmi', namespace: 'default', name: 'missing' });
  assert.deepEqual(notFound, { error: { virtnode: true, code: 'VN_NOT_FOUND', message: 'VirtualMachineInstance default/missing not found — 100% sure' } });
  await same('Apply', { manifest: 'bad', dryRun: false });
  await same('Get', { kind: 'vmi', namespace: 'default', name: 'bare' }); // no message: "13 INTERNAL: "
  await same('Get', { kind: 'vmi', namespace: 'default', name: 'gone' }); // UNAVAILABLE without a code: VN_UNAVAILABLE
  await same('Get', { kind: 'vmi', namespace: 'default', name: 'throw' });
  await same('Pause', { namespace: 'default', name: 'a' });
});

test('no handler: "cannot reach the handler", VN_UNAVAILABLE, as grpc-js says it', async () => {
  const path = join(dir, 'none.sock');
  await assert.rejects(connectUnary({ socket: path }), (e) => isVirtnodeError(e) && e.code === 'VN_UNAVAILABLE' && e.message === `cannot reach the handler at unix:${path}: connect ENOENT ${path}`);
  await assert.rejects(connectHandler({ socket: path }), (e) => isVirtnodeError(e) && e.code === 'VN_UNAVAILABLE' && e.message.startsWith(`cannot reach the handler at unix:${path}: `));
});

test('a handler that speaks no common version, or answers compressed, is understood', async () => {
  const refusing = await h2Server('refusing', (stream) => {
    stream.resume();
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '9', 'grpc-message': 'no common protocol version (handler speaks 7)' }, { endStream: true });
  });
  try {
    await assert.rejects(connectUnary({ socket: refusing.path }), (e) => isVirtnodeError(e) && e.code === 'VN_UNAVAILABLE' && /: no common protocol version \(handler speaks 7\)$/.test(e.message));
  } finally {
    await refusing.close();
  }
  // Negotiate answers version 1, gzip-compressed; the next answer names a version this CLI does not know.
  let calls = 0;
  const gz = await h2Server('gzip', async (stream) => {
    await readBody(stream);
    const msg = pkg.Info.service.Negotiate!.responseSerialize({ version: calls++ === 0 ? 1 : 9, server: 'x' });
    const packed = gzipSync(msg);
    const head = Buffer.from([1, 0, 0, 0, 0]);
    head.writeUInt32BE(packed.length, 1);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-encoding': 'gzip' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.concat([head, packed]));
  });
  try {
    (await connectUnary({ socket: gz.path })).close();
    await assert.rejects(connectUnary({ socket: gz.path }), (e) => isVirtnodeError(e) && e.code === 'VN_PROTOCOL');
  } finally {
    await gz.close();
  }
});
