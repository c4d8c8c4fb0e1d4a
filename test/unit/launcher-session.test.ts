// The handler ↔ launcher session over a real gRPC unix socket: events are kept by
// the launcher until acknowledged and resent after the handler comes back; commands
// complete exactly once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { pino } from 'pino';
import { until } from './helpers/until.js';
import { LauncherEndpoint } from '../../handler/controller/launcher-endpoint.js';
import { HandlerSession } from '../../launcher/session.js';
import { VirtnodeError } from '../../proto/errors.js';
import type { Command__Output } from '../../proto/generated/virtnode/launcher/v1/Command.js';
import type { DomainEvent__Output } from '../../proto/generated/virtnode/launcher/v1/DomainEvent.js';

const log = pino({ level: 'silent' });

function collect(ep: LauncherEndpoint): DomainEvent__Output[] {
  const got: DomainEvent__Output[] = [];
  ep.on('event', (e) => got.push(e));
  return got;
}

test('events survive a handler restart and commands complete once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-session-'));
  const sock = join(dir, 'handler.sock');
  const commands: Command__Output[] = [];
  const session = new HandlerSession({
    socketPath: sock,
    log,
    callbacks: {
      domainDefined: () => commands.length > 0,
      onCommand: async (c) => {
        commands.push(c);
        if (c.op === 'reset') throw new VirtnodeError('VN_ILLEGAL_TRANSITION', 'cannot reset now');
      },
    },
  });
  let ep = new LauncherEndpoint({ socketPath: sock, log });
  t.after(async () => {
    session.close();
    await ep.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The launcher may start before the handler listens: it keeps dialling.
  session.start();
  await new Promise((r) => setTimeout(r, 150));
  await ep.listen();
  let got = collect(ep);
  const [hello] = await once(ep, 'hello');
  assert.equal(hello.pid, process.pid);
  assert.equal(hello.domainDefined, false);

  session.emit({ state: 'RUNNING', reason: 'Unknown' });
  session.emit({ state: 'PAUSED', reason: 'User' });
  await until('two events', () => got.length === 2, 5000);
  assert.deepEqual(got.map((e) => [Number(e.seq), e.state, e.reason]), [[1, 'RUNNING', 'Unknown'], [2, 'PAUSED', 'User']]);

  await ep.command({ pause: {} });
  assert.equal(commands.at(-1)?.op, 'pause');
  await assert.rejects(ep.command({ reset: {} }), (e: unknown) => e instanceof VirtnodeError && e.code === 'VN_ILLEGAL_TRANSITION' && /cannot reset now/.test(e.message));

  ep.ack(2);
  assert.equal(await session.allAcked(2000), true);

  // Handler goes away; the launcher keeps its events.
  await ep.close();
  await until('the session to drop', () => !session.connected, 5000);
  session.emit({ state: 'RUNNING', reason: 'Unpaused' });
  session.emit({ state: 'SHUTOFF', reason: 'Shutdown', final: true });
  assert.equal(await session.allAcked(100), false);
  await assert.rejects(ep.command({ pause: {} }), (e: unknown) => e instanceof VirtnodeError && e.code === 'VN_UNAVAILABLE');

  ep = new LauncherEndpoint({ socketPath: sock, log });
  await ep.listen();
  got = collect(ep);
  const [hello2] = await once(ep, 'hello');
  assert.equal(hello2.domainDefined, true);
  assert.equal(Number(hello2.lastEventSeq), 4);
  await until('two events', () => got.length === 2, 5000);
  assert.deepEqual(got.map((e) => [Number(e.seq), e.state, e.final]), [[3, 'RUNNING', false], [4, 'SHUTOFF', true]]);

  // Only seq 3 acknowledged: after another restart seq 4 comes again, alone.
  ep.ack(3);
  await new Promise((r) => setTimeout(r, 50));
  await ep.close();
  ep = new LauncherEndpoint({ socketPath: sock, log });
  await ep.listen();
  got = collect(ep);
  await until('one event', () => got.length === 1, 5000);
  assert.equal(Number(got[0]!.seq), 4);
  ep.ack(4);
  assert.equal(await session.allAcked(2000), true);
});

test('a session without the negotiated protocol header is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-session-'));
  const sock = join(dir, 'handler.sock');
  const ep = new LauncherEndpoint({ socketPath: sock, log });
  t.after(async () => {
    await ep.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await ep.listen();
  const grpc = await import('@grpc/grpc-js');
  const { launcherPackage } = await import('../../proto/rpc.js');
  const pkg = launcherPackage();
  const client = new pkg.Launcher(`unix:${sock}`, grpc.credentials.createInsecure());
  const call = client.Session();
  const [err] = await once(call, 'error');
  assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
  assert.match(err.details, /Negotiate/);
  assert.equal(ep.connected, false);
  client.close();
});

test('a spare launcher that could not join its VM cgroup says hello but refuses Sync, and starts no QEMU', { timeout: 30_000 }, async (t) => {
  const { spawn, execFileSync } = await import('node:child_process');
  const { readdirSync } = await import('node:fs');
  const { ROOT } = await import('../e2e/harness.js');
  const warmups = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('virtnode-warmup-'));
  const warmupsBefore = warmups().length;
  const dir = mkdtempSync(join(tmpdir(), 'vn-session-'));
  const sock = join(dir, 'handler.sock');
  const ep = new LauncherEndpoint({ socketPath: sock, log });
  const spare = spawn(process.execPath, [join(ROOT, 'dist', 'launcher', 'main.js'), '--spare'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(async () => {
    spare.kill('SIGKILL');
    await ep.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await ep.listen();
  const [ready] = await once(spare.stdout!, 'data');
  assert.equal(String(ready), 'ready\n');
  assert.equal(warmups().length, warmupsBefore, 'the warm-up server left its directory behind');
  const uid = '6f9a43c1-0d3e-4a57-9c1e-2b7f5f7f1a10';
  const hello = once(ep, 'hello');
  spare.stdin!.end(`${JSON.stringify({
    namespace: 'default', name: 'spare', uid, runDir: dir, handlerSocket: sock,
    logFile: join(dir, 'launcher.log'), cgroupProcs: [join(dir, 'no-such-cgroup', 'cgroup.procs')],
  })}\n`);
  // Hello does not wait for the join; QEMU does.
  const [h] = await hello;
  assert.equal(h.pid, spare.pid);
  await assert.rejects(
    ep.command({ sync: { vmiJson: JSON.stringify({ metadata: { uid, name: 'spare', namespace: 'default' }, spec: { domain: { devices: {} } } }), context: { runDir: dir, accelerator: 'tcg' } } }),
    (e: VirtnodeError) => e.code === 'VN_SANDBOX' && e.message.includes('could not join the VM cgroup') && e.message.includes('no-such-cgroup'),
  );
  let children = '';
  try {
    children = execFileSync('pgrep', ['-P', String(spare.pid)], { encoding: 'utf8' });
  } catch {
    // pgrep exits 1 when nothing matches
  }
  assert.equal(children.trim(), '', 'the launcher started a child after refusing Sync');
});

test('closing an endpoint cuts the connection of a launcher that stays connected (no fd left in the handler)', async (t) => {
  const http2 = await import('node:http2');
  const { connect } = await import('node:net');
  const dir = mkdtempSync(join(tmpdir(), 'vn-session-'));
  const sock = join(dir, 'handler.sock');
  const ep = new LauncherEndpoint({ socketPath: sock, log });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await ep.listen();
  // A peer that never closes its side: only the handler can end this connection.
  const session = http2.connect('http://localhost', { createConnection: () => connect(sock) });
  session.on('error', () => undefined);
  await once(session, 'remoteSettings');
  // (Not events.once: the server's GOAWAY CANCEL comes as an 'error' first, which would reject it.)
  const closed = new Promise<void>((r) => session.once('close', () => r()));
  await ep.close();
  const cut = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
  if (!cut) session.destroy();
  assert.ok(cut, 'the connection outlived the endpoint');
});
