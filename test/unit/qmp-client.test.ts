// The QMP client against a scripted QMP server (qmp-fake.ts): framing, negotiation,
// ids, ordering, timeouts and closes. Real QEMU: test/e2e/qmp-real.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Qmp, QmpClosedError, QmpCommandError, QmpProtocolError, QmpTimeoutError, type QmpEvent, type ShutdownCause } from '../../launcher/qmp/index.js';
import { TimeoutError, VirtnodeError } from '../../proto/errors.js';
import { FakeQmp, eventLine, type FakeOptions } from './qmp-fake.js';

async function pair(opts: FakeOptions = {}): Promise<{ fake: FakeQmp; qmp: Qmp }> {
  const fake = await FakeQmp.start(opts);
  const qmp = await Qmp.connect(fake.path, { timeoutMs: 2000 });
  return { fake, qmp };
}

async function teardown(fake: FakeQmp, qmp: Qmp): Promise<void> {
  await qmp.close();
  await fake.stop();
}

test('connect reads the greeting and negotiates capabilities first, with an id', async () => {
  const { fake, qmp } = await pair();
  try {
    assert.deepEqual(qmp.version, { major: 7, minor: 2, micro: 22 });
    assert.deepEqual(qmp.greeting.QMP.capabilities, ['oob']);
    assert.equal(fake.received.length, 1);
    assert.equal(fake.received[0]!.msg.execute, 'qmp_capabilities');
    assert.equal(fake.received[0]!.msg.arguments, undefined);
    assert.equal(typeof fake.received[0]!.msg.id, 'number');
  } finally {
    await teardown(fake, qmp);
  }
});

test('commands go out one at a time, in call order, each with its own id', async () => {
  const { fake, qmp } = await pair();
  try {
    const a = qmp.execute('query-status');
    const b = qmp.execute('balloon', { value: 128 << 20 });
    const c = qmp.execute('query-kvm');
    const first = await fake.next();
    assert.equal(first.msg.execute, 'query-status');
    await sleep(30);
    assert.equal(fake.unclaimed, 0, 'the second command waits for the first reply');
    fake.reply(first.msg.id, { status: 'prelaunch', running: false, singlestep: false });
    assert.deepEqual(await a, { status: 'prelaunch', running: false, singlestep: false });
    const second = await fake.next();
    assert.equal(second.msg.execute, 'balloon');
    assert.deepEqual(second.msg.arguments, { value: 128 << 20 });
    fake.reply(second.msg.id);
    const third = await fake.next();
    fake.reply(third.msg.id, { enabled: false, present: true });
    assert.deepEqual(await b, {});
    assert.deepEqual(await c, { enabled: false, present: true });
    const ids = [first, second, third].map((r) => r.msg.id as number);
    assert.equal(new Set(ids).size, 3);
    assert.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!);
  } finally {
    await teardown(fake, qmp);
  }
});

test('events interleaved with replies are delivered in order, with timestamps', async () => {
  const { fake, qmp } = await pair();
  const seen: QmpEvent[] = [];
  qmp.on('event', (ev) => seen.push(ev));
  try {
    const p = qmp.execute('cont');
    const r = await fake.next();
    fake.write(`${eventLine('RESUME', undefined, 1_700_000_001, 500_000)}\r\n${JSON.stringify({ return: {}, id: r.msg.id })}\r\n${eventLine('SHUTDOWN', { guest: true, reason: 'guest-shutdown' }, 1_700_000_002, 1)}\r\n`);
    assert.deepEqual(await p, {});
    await sleep(10);
    assert.deepEqual(seen.map((e) => e.event), ['RESUME', 'SHUTDOWN']);
    assert.deepEqual(seen[0]!.data, {}, 'an event without data has {}');
    assert.deepEqual(seen[0]!.timestamp, { seconds: 1_700_000_001, microseconds: 500_000 });
    assert.equal(seen[0]!.time.getTime(), 1_700_000_001_500);
    const sd = seen[1]!;
    if (sd.event !== 'SHUTDOWN') throw new Error('expected SHUTDOWN');
    const reason: ShutdownCause = sd.data.reason; // narrowed by the event name
    assert.equal(reason, 'guest-shutdown');
    assert.equal(sd.data.guest, true);
  } finally {
    await teardown(fake, qmp);
  }
});

test('waitEvent resolves on the matching event only; events() iterates until close', async () => {
  const { fake, qmp } = await pair();
  try {
    const others: string[] = [];
    qmp.on('otherEvent', (ev) => others.push(`${ev.event} ${JSON.stringify(ev.data)}`));
    const it = qmp.events();
    const collected = (async () => {
      const out: string[] = [];
      for await (const ev of it) out.push(ev.event);
      return out;
    })();
    const waiting = qmp.waitEvent('BALLOON_CHANGE', { timeoutMs: 2000, filter: (e) => e.data.actual === 2 });
    fake.event('BALLOON_CHANGE', { actual: 1 });
    fake.event('STOP');
    fake.event('BALLOON_CHANGE', { actual: 2 });
    fake.event('SOMETHING_NEW', { x: 1 });
    const got = await waiting;
    assert.equal(got.data.actual, 2);
    await sleep(20);
    fake.dropConnection();
    assert.deepEqual(await collected, ['BALLOON_CHANGE', 'STOP', 'BALLOON_CHANGE']);
    assert.deepEqual(others, ['SOMETHING_NEW {"x":1}'], 'an event the map does not know goes to otherEvent');
    await assert.rejects(qmp.waitEvent('STOP'), QmpClosedError);
  } finally {
    await teardown(fake, qmp);
  }
});

test('waitEvent times out when the event never comes', async () => {
  const { fake, qmp } = await pair();
  try {
    const t0 = Date.now();
    await assert.rejects(qmp.waitEvent('RESET', { timeoutMs: 50 }), (e) => e instanceof TimeoutError && e.code === 'VN_TIMEOUT');
    assert.ok(Date.now() - t0 < 1000);
  } finally {
    await teardown(fake, qmp);
  }
});

test('events that arrive with the negotiation reply are not lost', async () => {
  const fake = await FakeQmp.start({ afterNegotiate: `${eventLine('RESUME')}\r\n${eventLine('STOP')}\r\n` });
  const qmp = await Qmp.connect(fake.path, { timeoutMs: 2000 });
  const seen: string[] = [];
  qmp.on('event', (ev) => seen.push(ev.event));
  try {
    await sleep(20);
    assert.deepEqual(seen, ['RESUME', 'STOP']);
  } finally {
    await teardown(fake, qmp);
  }
});

test('an error reply rejects with VN_QMP "<command>: <class>: <desc>"', async () => {
  const { fake, qmp } = await pair();
  try {
    const p = qmp.execute('device_del', { id: 'nope' });
    const r = await fake.next();
    fake.error(r.msg.id, 'DeviceNotFound', "Device 'nope' not found");
    await assert.rejects(p, (e) => {
      assert.ok(e instanceof QmpCommandError);
      assert.ok(e instanceof VirtnodeError);
      assert.equal(e.code, 'VN_QMP');
      assert.equal(e.message, "device_del: DeviceNotFound: Device 'nope' not found");
      assert.equal(e.errorClass, 'DeviceNotFound');
      return true;
    });
    // The client goes on normally afterwards.
    const q = qmp.execute('query-name');
    fake.reply((await fake.next()).msg.id, { name: 'vm' });
    assert.deepEqual(await q, { name: 'vm' });
  } finally {
    await teardown(fake, qmp);
  }
});

test('a timed-out command fails once; its late reply is dropped and the next command waits for it', async () => {
  const { fake, qmp } = await pair();
  try {
    const slow = qmp.execute('query-status', undefined, { timeoutMs: 60 });
    const r1 = await fake.next();
    const after = qmp.execute('query-kvm', undefined, { timeoutMs: 2000 });
    await assert.rejects(slow, (e) => {
      assert.ok(e instanceof QmpTimeoutError);
      assert.equal(e.code, 'VN_TIMEOUT');
      assert.equal(e.sent, true);
      assert.match(e.message, /query-status/);
      return true;
    });
    await sleep(30);
    assert.equal(fake.unclaimed, 0, 'nothing else is written while the timed-out command is on the wire');
    // The late reply: it must not resolve `after`.
    fake.reply(r1.msg.id, { status: 'running', running: true, singlestep: false });
    const r2 = await fake.next();
    assert.equal(r2.msg.execute, 'query-kvm');
    fake.reply(r2.msg.id, { enabled: true, present: true });
    assert.deepEqual(await after, { enabled: true, present: true });
  } finally {
    await teardown(fake, qmp);
  }
});

test('a command that times out while queued is never sent', async () => {
  const { fake, qmp } = await pair();
  try {
    const first = qmp.execute('query-status', undefined, { timeoutMs: 2000 });
    const r1 = await fake.next();
    const queued = qmp.execute('system_reset', undefined, { timeoutMs: 40 });
    await assert.rejects(queued, (e) => e instanceof QmpTimeoutError && e.sent === false && /never sent/.test(e.message));
    fake.reply(r1.msg.id, { status: 'running', running: true, singlestep: false });
    await first;
    const next = qmp.execute('query-name');
    const r = await fake.next();
    assert.equal(r.msg.execute, 'query-name', 'system_reset was dropped, not sent late');
    fake.reply(r.msg.id, {});
    await next;
    assert.ok(!fake.received.some((x) => x.msg.execute === 'system_reset'));
  } finally {
    await teardown(fake, qmp);
  }
});

test('a closed socket fails the command on the wire and every queued one, once', async () => {
  const { fake, qmp } = await pair();
  let closeEvents = 0;
  qmp.on('close', () => closeEvents++);
  try {
    const inflight = qmp.execute('quit');
    const queued = [qmp.execute('query-status'), qmp.execute('cont')];
    await fake.next();
    fake.dropConnection();
    for (const p of [inflight, ...queued]) {
      await assert.rejects(p, (e) => e instanceof QmpClosedError && e.code === 'VN_UNAVAILABLE' && /QMP connection closed/.test(e.message));
    }
    assert.equal(qmp.closed, true);
    await assert.rejects(qmp.execute('query-status'), QmpClosedError);
    await qmp.whenClosed();
    assert.equal(closeEvents, 1);
  } finally {
    await teardown(fake, qmp);
  }
});

test('close() by the client fails pending commands and is idempotent', async () => {
  const { fake, qmp } = await pair();
  try {
    const p = qmp.execute('query-status');
    await fake.next();
    await qmp.close();
    await qmp.close();
    await assert.rejects(p, (e) => e instanceof QmpClosedError && /closed by the client/.test(e.message));
  } finally {
    await teardown(fake, qmp);
  }
});

test('split and merged lines, CRLF and a UTF-8 character cut between reads', async () => {
  const { fake, qmp } = await pair();
  const seen: QmpEvent[] = [];
  qmp.on('event', (ev) => seen.push(ev));
  try {
    const a = qmp.execute('human-monitor-command', { 'command-line': 'info name' });
    const r1 = await fake.next();
    const bytes = Buffer.from(`${JSON.stringify({ return: 'gäst ✓\r\n', id: r1.msg.id })}\r\n`);
    for (let i = 0; i < bytes.length; i++) {
      fake.write(bytes.subarray(i, i + 1));
      if (i % 7 === 0) await sleep(1);
    }
    assert.equal(await a, 'gäst ✓\r\n');
    // Two replies and an event in one write, the second reply's end in the next.
    const b = qmp.execute('query-name');
    const rb = await fake.next();
    const c = qmp.execute('query-uuid');
    const tail = `${JSON.stringify({ return: { UUID: 'u' }, id: (rb.msg.id as number) + 1 })}\r\n`;
    fake.write(`${JSON.stringify({ return: { name: 'n' }, id: rb.msg.id })}\r\n${eventLine('STOP')}\n${tail.slice(0, 10)}`);
    await fake.next();
    fake.write(tail.slice(10));
    assert.deepEqual(await b, { name: 'n' });
    assert.deepEqual(await c, { UUID: 'u' });
    assert.deepEqual(seen.map((e) => e.event), ['STOP']);
  } finally {
    await teardown(fake, qmp);
  }
});

test('a reply without an id belongs to the command on the wire; one with a foreign id is dropped', async () => {
  const { fake, qmp } = await pair();
  try {
    const a = qmp.execute('query-name', undefined, { timeoutMs: 2000 });
    const r = await fake.next();
    fake.write(`${JSON.stringify({ return: { name: 'wrong' }, id: 99999 })}\r\n`);
    fake.write(`${JSON.stringify({ error: { class: 'GenericError', desc: 'JSON parse error, expecting value' } })}\r\n`);
    await assert.rejects(a, (e) => e instanceof QmpCommandError && e.desc === 'JSON parse error, expecting value');
    void r;
  } finally {
    await teardown(fake, qmp);
  }
});

test('a line that is not JSON ends the connection with a protocol error', async () => {
  const { fake, qmp } = await pair();
  try {
    const p = qmp.execute('query-status');
    await fake.next();
    fake.write('{"return": {}, "id": \r\n');
    await assert.rejects(p, (e) => e instanceof QmpClosedError && e.cause instanceof QmpProtocolError && /not JSON/.test(e.message));
    assert.equal(qmp.closed, true);
  } finally {
    await teardown(fake, qmp);
  }
});

test('connect retries until the socket appears', async () => {
  const fake = await FakeQmp.start({ deferListen: true });
  const t0 = Date.now();
  const connecting = Qmp.connect(fake.path, { timeoutMs: 3000, retryIntervalMs: 5 });
  await sleep(150);
  await fake.listen();
  const qmp = await connecting;
  try {
    assert.ok(Date.now() - t0 >= 150);
    assert.deepEqual(qmp.version, { major: 7, minor: 2, micro: 22 });
  } finally {
    await teardown(fake, qmp);
  }
});

test('connect is bounded: no socket, a socket that refuses, an accepted connection that never greets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-qmp-'));
  try {
    let t0 = Date.now();
    await assert.rejects(Qmp.connect(join(dir, 'absent.sock'), { timeoutMs: 150 }), (e) => e instanceof TimeoutError && /ENOENT/.test(e.message));
    assert.ok(Date.now() - t0 < 1000);

    // A stale socket file with no listener: ECONNREFUSED, retried, then the budget.
    const stale = join(dir, 'stale.sock');
    const s = net.createServer();
    const bound = join(dir, 'bound.sock');
    await new Promise<void>((r) => s.listen(bound, r));
    // Closing a server unlinks its path; a hard link to it stays behind, listened to by nobody.
    linkSync(bound, stale);
    await new Promise<void>((r) => s.close(() => r()));
    t0 = Date.now();
    await assert.rejects(Qmp.connect(stale, { timeoutMs: 150 }), (e) => e instanceof TimeoutError && /ECONNREFUSED/.test(e.message));
    assert.ok(Date.now() - t0 < 1000);

    const mute = await FakeQmp.start({ greet: false });
    t0 = Date.now();
    await assert.rejects(Qmp.connect(mute.path, { timeoutMs: 150 }), (e) => e instanceof TimeoutError && /greeting/.test(e.message));
    assert.ok(Date.now() - t0 < 1000);
    await mute.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connect gives up at once when `until` settles (QEMU exited)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-qmp-'));
  try {
    const t0 = Date.now();
    await assert.rejects(
      Qmp.connect(join(dir, 'never.sock'), { timeoutMs: 5000, until: sleep(60) }),
      (e) => e instanceof VirtnodeError && e.code === 'VN_UNAVAILABLE' && /went away/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 1000, `gave up after ${Date.now() - t0} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a negotiation refused by QEMU fails connect with the error reply', async () => {
  const fake = await FakeQmp.start({ negotiate: false });
  const connecting = Qmp.connect(fake.path, { timeoutMs: 2000 });
  const r = await fake.next();
  fake.error(r.msg.id, 'CommandNotFound', 'Capabilities negotiation is already complete, command ignored');
  await assert.rejects(connecting, (e) => e instanceof QmpCommandError && e.message.startsWith('qmp_capabilities: CommandNotFound'));
  await fake.stop();
});

test('types: arguments and replies are checked against the command map', () => {
  // Compile-time checks: this file does not build if the map loses its shapes.
  const typed = async (q: Qmp) => {
    const s = await q.execute('query-status');
    const running: boolean = s.running;
    const blocks = await q.execute('query-block');
    const file: string | undefined = blocks[0]?.inserted?.image.filename;
    // @ts-expect-error balloon needs its value
    await q.execute('balloon');
    // @ts-expect-error value is a number of bytes
    await q.execute('balloon', { value: '1G' });
    // @ts-expect-error no such command in the map
    await q.execute('migrate-everything');
    return [running, file];
  };
  assert.equal(typeof typed, 'function');
});
