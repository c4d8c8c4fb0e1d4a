// The API server against peers that vanish or take too much: keepalive pings end the
// calls of a peer gone without a FIN, idle sessions are closed, the connections of a
// listener and the streams of a session are capped. Real unix sockets and real HTTP/2
// (grpc-js clients and node:http2 ones); small timeouts keep the file to a few seconds.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import http2 from 'node:http2';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { GrpcServer, type GrpcServerOptions } from '../../handler/api/grpc-server.js';
import { MessageReader, grpcFrame } from '../../handler/api/grpc-wire.js';
import type { StreamCall, UnaryCall } from '../../handler/api/grpc-call.js';
import { handlerPackage } from '../../proto/rpc.js';
import { until } from './helpers/until.js';

const node = handlerPackage().Node;
const def = node.service;
const dir = mkdtempSync(join(tmpdir(), 'vn-grpc-keepalive-'));
const cleanups: (() => unknown)[] = [];

after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

interface Served {
  server: GrpcServer;
  path: string;
  /** Stands in for the store: each Watch subscribes to its 'change' and must unsubscribe when its call ends. */
  store: EventEmitter;
  /** When each Watch saw 'cancelled', by the name it asked for. */
  cancelledAt: Map<string, number>;
}

/** A server whose Watch follows `store` as the real Watch follows the desired-state store. */
async function serve(name: string, opts: Partial<GrpcServerOptions>): Promise<Served> {
  const server = new GrpcServer({ maxReceiveMessageBytes: 1 << 20, compressMinBytes: 1 << 20, ...opts });
  const store = new EventEmitter();
  const cancelledAt = new Map<string, number>();
  const unimplemented = (_c: unknown, cb: (e: unknown) => void) => cb({ code: grpc.status.UNIMPLEMENTED });
  server.addService(def, {
    ...Object.fromEntries(Object.keys(def).map((m) => [m, unimplemented])),
    Get: (call: UnaryCall<{ name: string }>, cb: (e: unknown, r?: unknown) => void) => cb(null, { kind: 'x', json: JSON.stringify({ name: call.request.name }), resourceVersion: 1 }),
    Watch: (call: StreamCall<{ name: string }, unknown>) => {
      let seq = 0;
      const onChange = (): void => void call.write({ seq: ++seq, type: 'MODIFIED', kind: 'VirtualMachine', json: '{}' });
      store.on('change', onChange);
      const stop = (): void => void store.off('change', onChange);
      call.on('cancelled', () => cancelledAt.set(call.request.name, Date.now()));
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
      onChange(); // the first event: the client knows it is subscribed
    },
  } as never);
  const path = join(dir, `${name}.sock`);
  await server.listenUnix(path);
  cleanups.push(() => server.close(50));
  return { server, path, store, cancelledAt };
}

/**
 * A unix socket proxy that can become a black hole: from `blackHole()` on it forwards
 * nothing in either direction and closes neither socket, so no FIN and no RST reach
 * either end — what the server sees when a client's host loses power or its network.
 */
class BlackHoleProxy {
  readonly path: string;
  readonly #server: Server;
  readonly #sockets: Socket[] = [];

  constructor(path: string, target: string) {
    this.path = path;
    this.#server = createServer((client) => {
      const upstream = connect(target);
      this.#sockets.push(client, upstream);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    cleanups.push(() => this.close());
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.#server.listen(this.path, resolve));
  }

  blackHole(): void {
    for (const s of this.#sockets) {
      s.unpipe();
      s.pause(); // nothing read: what arrives stays in the kernel, as on a dead link
    }
  }

  close(): void {
    this.#server.close();
    for (const s of this.#sockets) s.destroy();
  }
}

function h2(path: string): http2.ClientHttp2Session {
  const s = http2.connect('http://localhost', { createConnection: () => connect(path) });
  s.on('error', () => undefined); // tests look at 'close' and the streams
  cleanups.push(() => s.destroy());
  return s;
}

/** A Watch on a raw HTTP/2 session: how many messages came, and how the stream ended. */
function rawWatch(session: http2.ClientHttp2Session, name: string) {
  const req = session.request({ ':method': 'POST', ':path': def.Watch!.path, 'content-type': 'application/grpc', te: 'trailers' });
  const reader = new MessageReader(1 << 20);
  const w = {
    req,
    messages: 0,
    responded: new Promise<void>((resolve) => req.once('response', () => resolve())),
    closed: new Promise<number>((resolve) => req.once('close', () => resolve(req.rstCode ?? 0))),
  };
  req.on('data', (chunk: Buffer) => (w.messages += reader.push(chunk).length));
  req.on('error', () => undefined); // a refused or reset stream: `closed` tells its code
  req.end(grpcFrame(def.Watch!.requestSerialize({ name })));
  return w;
}

/** One Get on a raw HTTP/2 session; resolves to the grpc-status. */
function rawGet(session: http2.ClientHttp2Session, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': def.Get!.path, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('trailers', (t) => resolve(String(t['grpc-status'])));
    req.on('error', reject);
    req.on('close', () => reject(new Error(`Get ${name} closed without a status (rst ${req.rstCode})`)));
    req.resume();
    req.end(grpcFrame(def.Get!.requestSerialize({ name })));
  });
}

/** Whether `session` closes within `ms`, and when. */
function closesWithin(session: http2.ClientHttp2Session, ms: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    if (session.closed || session.destroyed) return resolve(Date.now());
    const timer = setTimeout(() => resolve(undefined), ms);
    session.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now());
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const KEEPALIVE_MS = 200;
const KEEPALIVE_TIMEOUT_MS = 200;
/** Timers on a shared 2-core machine run late; more than this would be a real miss. */
const SLACK_MS = 400;

/** A grpc-js Watch through a proxy that then turns into a black hole; when the server ended it, if it did within `waitMs`. */
async function blackHoledWatch(t: { diagnostic(m: string): void }, name: string, opts: Partial<GrpcServerOptions>, waitMs: number) {
  const s = await serve(name, { maxConnectionIdleMs: 60_000, ...opts });
  const proxy = new BlackHoleProxy(join(dir, `${name}-proxy.sock`), s.path);
  await proxy.listen();
  const client = new node(`unix:${proxy.path}`, grpc.credentials.createInsecure());
  cleanups.push(() => client.close());
  const watch = client.Watch({ name });
  watch.on('error', () => undefined);
  let got = 0;
  watch.on('data', () => got++);
  await until('the first watch event', () => got === 1);
  assert.equal(s.store.listenerCount('change'), 1, 'the watch subscribed');

  // Healthy for several ping periods: answered pings keep the session.
  await sleep(3 * KEEPALIVE_MS + KEEPALIVE_TIMEOUT_MS);
  s.store.emit('change');
  await until('an event after the pings', () => got === 2);
  assert.equal(s.store.listenerCount('change'), 1, 'still subscribed while the peer answers');

  proxy.blackHole();
  const t0 = Date.now();
  // The store goes on changing: the server writes into the void meanwhile.
  const changes = setInterval(() => s.store.emit('change'), 20);
  try {
    await until('the watch to be released', () => s.store.listenerCount('change') === 0, waitMs);
  } catch {
    return { served: s, releasedAfter: undefined, eventsAfterHole: got - 2 };
  } finally {
    clearInterval(changes);
  }
  const releasedAfter = Date.now() - t0;
  t.diagnostic(`black-holed watch released after ${releasedAfter} ms (keepalive ${opts.keepaliveTimeMs} ms + timeout ${opts.keepaliveTimeoutMs} ms)`);
  return { served: s, releasedAfter, eventsAfterHole: got - 2 };
}

test('a Watch whose peer vanished without a FIN is cancelled within keepalive + timeout, and unsubscribes', async (t) => {
  const window = KEEPALIVE_MS + KEEPALIVE_TIMEOUT_MS + SLACK_MS;
  const r = await blackHoledWatch(t, 'vanished', { keepaliveTimeMs: KEEPALIVE_MS, keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS }, window);
  assert.ok(r.releasedAfter !== undefined, `the watch was still subscribed ${window} ms after its peer vanished`);
  assert.ok(r.releasedAfter >= KEEPALIVE_TIMEOUT_MS - 20, `released after ${r.releasedAfter} ms: sooner than a ping can time out, so not by keepalive`);
  assert.equal(r.eventsAfterHole, 0, 'the black hole let nothing through');
  assert.ok(r.served.cancelledAt.has('vanished'), "the call saw 'cancelled'");
  await until('the session to go', () => r.served.server.sessionCount === 0);
});

test('the same black hole without keepalive holds the watch: the proxy leaks no FIN or RST', async (t) => {
  const window = KEEPALIVE_MS + KEEPALIVE_TIMEOUT_MS + SLACK_MS;
  const r = await blackHoledWatch(t, 'held', { keepaliveTimeMs: 3_600_000, keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS }, window);
  assert.equal(r.releasedAfter, undefined, 'released without pings: something else told the server');
  assert.equal(r.served.store.listenerCount('change'), 1);
  assert.equal(r.served.server.sessionCount, 1);
});

test('a ping answered while the server itself was stalled past the timeout does not end the session', async () => {
  const s = await serve('stalled', { keepaliveTimeMs: 100, keepaliveTimeoutMs: 50 });
  // The client in another process, so it answers while this one is busy.
  const client = fork(new URL('./helpers/grpc-watch-client.js', import.meta.url), [s.path], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  cleanups.push(() => client.kill());
  await until('the child to watch', () => s.store.listenerCount('change') === 1, 5000);
  // Busy spells of three ping timeouts, one loop turn apart: a ping sent in a turn is
  // answered during the next spell, and its timer runs out before the answer is read.
  const end = Date.now() + 1200;
  while (Date.now() < end) {
    const spell = Date.now() + 150;
    while (Date.now() < spell);
    await yieldLoop();
  }
  await sleep(20);
  assert.equal(s.store.listenerCount('change'), 1, 'the watch survived stalls that made its pings look late');
  assert.equal(s.cancelledAt.size, 0);
  assert.equal(s.server.sessionCount, 1);
});

test('a session with no open stream is closed after the idle timeout; one with a stream open is not', async () => {
  const IDLE_MS = 250;
  const s = await serve('idle', { maxConnectionIdleMs: IDLE_MS });
  const idle = h2(s.path);
  const busy = h2(s.path);
  let busyGoaway = false;
  busy.once('goaway', () => (busyGoaway = true));
  const w = rawWatch(busy, 'busy');
  await w.responded;
  assert.equal(await rawGet(idle, 'a'), '0');
  const t0 = Date.now();
  const goaway = new Promise<number>((resolve) => idle.once('goaway', (code) => resolve(code)));
  const closedAt = await closesWithin(idle, IDLE_MS + SLACK_MS);
  assert.ok(closedAt !== undefined, `an idle session still open ${IDLE_MS + SLACK_MS} ms after its last call`);
  assert.ok(closedAt - t0 >= IDLE_MS - 20, `closed ${closedAt - t0} ms after its last call, before the idle timeout`);
  assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR, 'a graceful GOAWAY');

  // The busy session's watch has been open for longer than the idle timeout by now.
  assert.equal(await closesWithin(busy, IDLE_MS), undefined, 'a session with an open stream is not idle');
  assert.equal(busyGoaway, false, 'nor told to go away');
  s.store.emit('change');
  await until('an event on the busy session', () => w.messages === 2);
  // Its idle time starts when its last stream ends.
  w.req.close(http2.constants.NGHTTP2_CANCEL);
  const t1 = Date.now();
  const busyClosedAt = await closesWithin(busy, IDLE_MS + SLACK_MS);
  assert.ok(busyClosedAt !== undefined, 'idle once its last stream ended');
  assert.ok(busyClosedAt - t1 >= IDLE_MS - 20, `closed ${busyClosedAt - t1} ms after its last stream ended, before the idle timeout`);
});

test('a listener holds at most maxConnections: one more is closed at once and reported, and its place frees when one closes', async () => {
  const reports: [number, string][] = [];
  const s = await serve('cap', { maxConnections: 2, onConnectionsRefused: (n, listener) => reports.push([n, listener]) });
  const a = h2(s.path);
  const b = h2(s.path);
  assert.equal(await rawGet(a, 'a'), '0');
  assert.equal(await rawGet(b, 'b'), '0');

  const c = h2(s.path);
  let spoke = false;
  c.once('remoteSettings', () => (spoke = true));
  assert.ok((await closesWithin(c, 1000)) !== undefined, 'the connection past the cap is closed');
  assert.equal(spoke, false, 'the server never spoke HTTP/2 on it');
  assert.equal(s.server.refusedConnections, 1);
  await until('the refusal to be reported', () => reports.length === 1);
  assert.deepEqual(reports, [[1, s.path]]);
  // More refusals within REFUSALS_REPORT_MS wait for the next report: a flood is not a flood of log lines.
  const more = [h2(s.path), h2(s.path)];
  for (const m of more) assert.ok((await closesWithin(m, 1000)) !== undefined);
  assert.equal(s.server.refusedConnections, 3);
  await sleep(50);
  assert.equal(reports.length, 1);
  assert.equal(await rawGet(a, 'a2'), '0', 'the connections under the cap go on');
  assert.equal(await rawGet(b, 'b2'), '0');

  a.close();
  await until('the closed session to go', () => s.server.sessionCount === 1);
  const d = h2(s.path);
  assert.equal(await rawGet(d, 'd'), '0', 'a closed connection frees its place');
  assert.equal(s.server.refusedConnections, 3);
});

test('a stream past maxConcurrentStreams is refused with REFUSED_STREAM; the earlier ones go on', async () => {
  const s = await serve('streams', { maxConcurrentStreams: 3 });
  const session = h2(s.path);
  const settings = new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
  // Asked for before the server's SETTINGS arrive, as a client that ignores them would.
  const watches = [0, 1, 2, 3].map((i) => rawWatch(session, `w${i}`));
  assert.equal((await settings).maxConcurrentStreams, 3, 'the limit is announced in SETTINGS');
  assert.equal(await watches[3]!.closed, http2.constants.NGHTTP2_REFUSED_STREAM);
  await Promise.all(watches.slice(0, 3).map((w) => w.responded));
  assert.equal(s.store.listenerCount('change'), 3, 'the refused stream never reached the service');

  s.store.emit('change');
  await until('an event on each earlier stream', () => watches.slice(0, 3).every((w) => w.messages === 2));
  // A place freed is a place taken again, on the same session.
  watches[0]!.req.close(http2.constants.NGHTTP2_CANCEL);
  await until('the cancelled watch to unsubscribe', () => s.store.listenerCount('change') === 2);
  const again = rawWatch(session, 'again');
  await again.responded;
  assert.equal(s.store.listenerCount('change'), 3);
});

test('a limit setTimeout cannot keep (Infinity, 0, past 2^31-1 ms) is refused by name, not turned into 1 ms pings', () => {
  for (const bad of [{ keepaliveTimeMs: Infinity }, { keepaliveTimeoutMs: 0 }, { maxConnectionIdleMs: 2 ** 31 }, { maxConnections: 1.5 }]) {
    const [name] = Object.keys(bad);
    assert.throws(() => new GrpcServer({ maxReceiveMessageBytes: 1, compressMinBytes: 1, ...bad }), (e: Error & { code?: string }) => e.code === 'VN_INVALID_SPEC' && e.message.includes(`GrpcServerOptions.${name}:`));
  }
});
