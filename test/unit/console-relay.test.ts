// The serial console relay over real unix sockets: it serves console.sock before QEMU
// exists (the launcher listens as soon as it knows its run directory), relays what
// the serial socket says to the connected client, replays its ring to a client that
// comes late, and forwards keystrokes back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { pino } from 'pino';
import { until } from './helpers/until.js';
import { ConsoleRelay } from '../../launcher/console.js';

function collect(s: Socket): { text: () => string } {
  let text = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => (text += d));
  return { text: () => text };
}

test('console relay: served before QEMU, listen twice is one server, output relayed and replayed, input forwarded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-console-'));
  const relay = new ConsoleRelay(pino({ level: 'silent' }));
  t.after(async () => {
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const consoleSock = join(dir, 'console.sock');
  const first = relay.listen(consoleSock);
  assert.equal(relay.listen(consoleSock), first, 'a second listen on the same path waits for the first');
  await first;
  assert.equal(statSync(consoleSock).mode & 0o777, 0o600);

  // A client that connects before QEMU runs sees nothing yet, and is not refused.
  const early = connect(consoleSock);
  await once(early, 'connect');
  const earlyOut = collect(early);

  // QEMU's serial chardev is the server; the relay dials it.
  const serialSock = join(dir, 'serial0.sock');
  let guest: Socket | undefined;
  const qemu = createServer((c) => (guest = c));
  await new Promise<void>((r) => qemu.listen(serialSock, () => r()));
  t.after(() => {
    guest?.destroy();
    qemu.close();
  });
  await relay.attach(serialSock);
  await until('the relay to dial the serial socket', () => guest !== undefined);
  const typed = collect(guest!);

  guest!.write('Linux booting\r\nlogin: ');
  await until('the output at the early client', () => earlyOut.text().includes('login: '));
  assert.equal(earlyOut.text(), 'Linux booting\r\nlogin: ');

  early.write('root\r');
  await until('the input at the serial socket', () => typed.text() === 'root\r');

  // A later client takes over and first gets the recent output.
  const late = connect(consoleSock);
  const lateOut = collect(late);
  await until('the replay at the late client', () => lateOut.text().startsWith('Linux booting\r\nlogin: '));
  await until('the early client to be told', () => earlyOut.text().includes('console taken over'));
  assert.equal(relay.recent().toString('latin1'), 'Linux booting\r\nlogin: ');
  late.destroy();
  early.destroy();
});
