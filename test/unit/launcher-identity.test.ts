// Who may speak for a VMI on its launcher socket: the kernel's word on the peer
// (SO_PEERCRED, judged before a byte is read), one session at a time, and events in
// sequence — a rogue that connects, or a launcher that skips ahead, changes nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { LauncherEndpoint } from '../../handler/controller/launcher-endpoint.js';
import { LauncherHandle } from '../../handler/controller/launcher-handle.js';
import { HandlerSession } from '../../launcher/session.js';
import { CHANNEL_OPTIONS, launcherPackage, protocolMetadata } from '../../proto/rpc.js';
import type { PeerCredentials } from '../../native/index.js';
import type { DomainEvent__Output } from '../../proto/generated/virtnode/launcher/v1/DomainEvent.js';
import { until } from './helpers/until.js';

const log = pino({ level: 'silent' });

function session(socketPath: string): HandlerSession {
  return new HandlerSession({ socketPath, log, callbacks: { domainDefined: () => false, onCommand: async () => undefined } });
}

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'vn-ident-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('the kernel names the peer before anything is read; a refused peer never gets a session', async (t) => {
  const sock = join(dir(t), 'handler.sock');
  const seen: PeerCredentials[] = [];
  let admit = false;
  const ep = new LauncherEndpoint({ socketPath: sock, log, admitPeer: (p) => (seen.push(p), admit ? undefined : `pid ${p.pid} is not the launcher`) });
  await ep.listen();
  const s = session(sock);
  t.after(async () => {
    s.close();
    await ep.close();
  });
  let hellos = 0;
  ep.on('hello', () => hellos++);
  s.start();
  await until('a refused attempt', () => seen.length >= 2, 5000);
  assert.equal(seen[0]!.pid, process.pid, 'SO_PEERCRED names this process');
  assert.equal(seen[0]!.uid, process.getuid!());
  assert.equal(ep.connected, false);
  assert.equal(hellos, 0, 'no Hello reached the handler');
  admit = true;
  await once(ep, 'hello');
  assert.equal(ep.connected, true);
});

test('a second session for the same VMI is refused while the first lives', async (t) => {
  const sock = join(dir(t), 'handler.sock');
  const ep = new LauncherEndpoint({ socketPath: sock, log });
  await ep.listen();
  const first = session(sock);
  const second = session(sock);
  t.after(async () => {
    first.close();
    second.close();
    await ep.close();
  });
  first.start();
  await once(ep, 'hello');
  let hellos = 0;
  ep.on('hello', () => hellos++);
  second.start();
  await new Promise((r) => setTimeout(r, 400));
  // The handler's view: the second's stream opens on each retry and is refused soon
  // after, so its own `connected` may be true for a moment on a loaded machine.
  assert.equal(first.connected, true);
  assert.equal(hellos, 0, 'the second session was not let in');
  // The first one goes: the second gets in on its next try.
  first.close();
  await until('the second session', () => hellos === 1 && second.connected, 5000);
});

test('an event that skips ahead of the last applied one ends the session and is not applied', async (t) => {
  const sock = join(dir(t), 'handler.sock');
  let applied = 0;
  const got: number[] = [];
  const handle = new LauncherHandle({
    key: 'default/x',
    socketPath: sock,
    log,
    alive: () => true,
    appliedSeq: () => applied,
    onEvent: async (ev: DomainEvent__Output) => {
      got.push(Number(ev.seq));
      applied = Number(ev.seq);
    },
    onExit: () => undefined,
  });
  await handle.listen();
  t.after(() => handle.close());
  const pkg = launcherPackage();
  const client = new pkg.Launcher(`unix:${sock}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  t.after(() => client.close());
  const stream = client.Session(protocolMetadata(1));
  const ended = new Promise<void>((resolve) => {
    stream.on('error', () => resolve());
    stream.on('end', () => resolve());
  });
  stream.on('data', () => undefined);
  const event = (seq: number) => ({ event: { seq, timestampMs: 0, state: 'RUNNING' as const, reason: 'Booted', message: '', qemuPid: 1, accelerator: 'tcg', final: false, interfacesJson: '' } });
  stream.write({ hello: { pid: process.pid, version: 'x', domainDefined: true, lastEventSeq: 0 } });
  stream.write(event(1));
  stream.write(event(1_000_000_000_000));
  stream.write(event(2));
  await ended;
  assert.deepEqual(got, [1], 'only the event in sequence was applied');
});
