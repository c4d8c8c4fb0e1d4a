#!/usr/bin/env node
// Launcher-protocol clients for the scale benchmark: one process that speaks the
// real launcher protocol (launcher/session.ts HandlerSession over the VMI's own
// handler socket: Negotiate, Session, Hello, numbered events, acks, command results)
// for many VMIs at once, and reports each domain RUNNING without a QEMU.
//
// The handler starts a "launcher" per VMI as usual, inside the VM's cgroup; the
// scale benchmark's launcher command (see scale.ts) makes that process register
// here through a FIFO (`<pid> <uid> <namespace> <name> <handler socket>`) and then
// idle. When the domain ends, this process acknowledges like a launcher and ends
// the placeholder, so the handler sees its launcher exit after the final event.
// The handler admits these sessions only because the scale benchmark's config sets
// insecureLauncherSocket: they come from this process, not the placeholder's.
//
//   node protocol-clients.js <fifo>

import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import type { Command__Output } from '../../proto/generated/virtnode/launcher/v1/Command.js';
import { HandlerSession } from '../../launcher/session.js';

const log = pino({ level: 'error' }, pino.destination(2));

interface Client {
  pid: number;
  uid: string;
  name: string;
  session: HandlerSession;
  state: 'NO_STATE' | 'STARTING' | 'RUNNING' | 'PAUSED' | 'SHUTTING_DOWN' | 'SHUTOFF';
}

const clients = new Map<string, Client>();
let ended = 0;

function emit(c: Client, state: Client['state'], reason: string, message = '', final = false): void {
  c.state = state;
  c.session.emit({ state, reason, message, qemuPid: c.pid, accelerator: 'tcg', final });
  if (final) void finish(c);
}

/** Like the launcher: wait until the handler stored the final event, then go. */
async function finish(c: Client): Promise<void> {
  await c.session.allAcked(60_000);
  c.session.close();
  clients.delete(c.uid);
  ended++;
  try {
    process.kill(c.pid, 'SIGTERM');
  } catch {
    /* the handler removed the cgroup already */
  }
}

async function onCommand(c: Client, cmd: Command__Output): Promise<void> {
  switch (cmd.op) {
    case 'sync':
      if (c.state !== 'NO_STATE') return;
      emit(c, 'STARTING', 'StartingUp');
      // The launcher reports RUNNING when QMP's RESUME arrives, after `cont` returned.
      setImmediate(() => emit(c, 'RUNNING', 'Booted'));
      return;
    case 'pause':
      return emit(c, 'PAUSED', 'User', 'paused by user');
    case 'unpause':
      return emit(c, 'RUNNING', 'Unpaused');
    case 'softReboot':
      return emit(c, 'RUNNING', 'Rebooted', 'The guest rebooted');
    case 'reset':
      return emit(c, 'RUNNING', 'Reset', 'The VirtualMachineInstance was reset');
    case 'shutdown':
      emit(c, 'SHUTTING_DOWN', 'User', 'Signaled graceful shutdown');
      setTimeout(() => emit(c, 'SHUTOFF', 'Shutdown', 'The VirtualMachineInstance was shut down', true), 10);
      return;
    case 'kill':
      return emit(c, 'SHUTOFF', 'Destroyed', 'The VirtualMachineInstance was killed', true);
    default:
      throw new Error(`unknown command ${String(cmd.op)}`);
  }
}

function register(line: string): void {
  const [pid, uid, , name, socketPath] = line.trim().split(' ');
  if (!pid || !uid || !name || !socketPath) return;
  const c = { pid: Number(pid), uid, name, state: 'NO_STATE' } as Client;
  c.session = new HandlerSession({
    socketPath,
    log: log.child({ name }),
    callbacks: { domainDefined: () => c.state !== 'NO_STATE', onCommand: (cmd) => onCommand(c, cmd) },
  });
  clients.set(uid, c);
  c.session.start();
}

async function main(): Promise<void> {
  const fifo = process.argv[2];
  if (!fifo) throw new Error('usage: protocol-clients.js <fifo>');
  // Opened read-write so the FIFO never reports end-of-file between writers.
  const fh = await open(fifo, 'r+');
  const lines = createInterface({ input: fh.createReadStream() });
  lines.on('line', register);
  process.on('SIGUSR2', () => process.stderr.write(`${JSON.stringify({ clients: clients.size, ended })}\n`));
  process.on('SIGTERM', () => {
    for (const c of clients.values()) c.session.close();
    process.exit(0);
  });
  process.stdout.write('ready\n');
}

main().catch((e) => {
  process.stderr.write(`protocol-clients: ${(e as Error).message}\n`);
  process.exit(1);
});
