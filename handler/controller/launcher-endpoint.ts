// The handler's end of one launcher's session, on a unix socket made for that one
// VMI. Which VMI a launcher acts for is decided here, never by anything it sends: by
// the socket it reached (root-only, in the VM's run directory), and by the kernel's
// word on who connected (SO_PEERCRED, judged by `admitPeer` before a byte of the
// connection is read). One session at a time: a second is refused while the first
// lives.
//
// Commands carry ids and complete exactly once: with the launcher's result, when
// the session drops, or on timeout. Domain events are surfaced in order and
// acknowledged only after the caller has stored them (see VmiController), which is
// what lets the launcher drop them.

import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import type { Socket } from 'node:net';
import { getPeerCredentials, type PeerCredentials } from '../../native/index.js';
import { GrpcServer } from '../api/grpc-server.js';
import type { Logger } from 'pino';
import { infoService, launcherPackage, requireProtocol } from '../../proto/rpc.js';
import type { Command } from '../../proto/generated/virtnode/launcher/v1/Command.js';
import type { CommandResult__Output } from '../../proto/generated/virtnode/launcher/v1/CommandResult.js';
import type { DomainEvent__Output } from '../../proto/generated/virtnode/launcher/v1/DomainEvent.js';
import type { Hello__Output } from '../../proto/generated/virtnode/launcher/v1/Hello.js';
import type { GuestAgentStatus__Output } from '../../proto/generated/virtnode/launcher/v1/GuestAgentStatus.js';
import type { HandlerMessage } from '../../proto/generated/virtnode/launcher/v1/HandlerMessage.js';
import type { LauncherMessage__Output } from '../../proto/generated/virtnode/launcher/v1/LauncherMessage.js';
import { isErrorCode, TimeoutError, VirtnodeError } from '../../proto/errors.js';

export type CommandOp = Omit<Command, 'id' | 'op'>;

type SessionCall = grpc.ServerDuplexStream<LauncherMessage__Output, HandlerMessage>;

/** Judges who connected: undefined admits, a reason refuses (and is logged). */
export type PeerCheck = (peer: PeerCredentials) => string | undefined;

/** A launcher's messages are small: Hello, events, results. */
const MAX_MESSAGE_BYTES = 4 << 20;

interface Pending {
  resolve(r: CommandResult__Output): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  op: string;
}

export interface LauncherEndpointEvents {
  hello: [Hello__Output];
  event: [DomainEvent__Output];
  agent: [GuestAgentStatus__Output];
  disconnect: [string];
}

export class LauncherEndpoint extends EventEmitter<LauncherEndpointEvents> {
  readonly socketPath: string;
  #log: Logger;
  #server: GrpcServer | undefined;
  #admitPeer: PeerCheck | undefined;
  #call: SessionCall | undefined;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #hello: Hello__Output | undefined;

  constructor(opts: { socketPath: string; log: Logger; admitPeer?: PeerCheck }) {
    super();
    this.socketPath = opts.socketPath;
    this.#log = opts.log;
    this.#admitPeer = opts.admitPeer;
  }

  get connected(): boolean {
    return this.#call !== undefined;
  }

  /** The Hello of the current session (its pid, whether a domain already runs), once it came. */
  get hello(): Hello__Output | undefined {
    return this.#hello;
  }

  async listen(): Promise<void> {
    const pkg = launcherPackage();
    const server = new GrpcServer({ maxReceiveMessageBytes: MAX_MESSAGE_BYTES, compressMinBytes: Number.MAX_SAFE_INTEGER });
    server.addService(pkg.Info.service, infoService('virtnode-handler'));
    server.addService(pkg.Launcher.service, { Session: (call: SessionCall) => this.#onSession(call) });
    await fs.rm(this.socketPath, { force: true });
    const admit = this.#admitPeer;
    await server.listenUnix(
      this.socketPath,
      admit && ((socket: Socket) => admit(peerOf(socket))),
      (reason) => this.#log.warn({ socket: this.socketPath, reason }, 'refused a connection to the launcher socket'),
    );
    await fs.chmod(this.socketPath, 0o600);
    this.#server = server;
  }

  /** Sends a command and resolves with the launcher's result (and its answer, for a query) when it is done. */
  command(op: CommandOp, timeoutMs = 30_000): Promise<CommandResult__Output> {
    const call = this.#call;
    const name = Object.keys(op)[0] ?? 'unknown';
    if (!call) return Promise.reject(new VirtnodeError('VN_UNAVAILABLE', `launcher not connected (${name})`));
    const id = this.#nextId++;
    return new Promise<CommandResult__Output>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TimeoutError(`launcher command ${name}`, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, op: name });
      call.write({ command: { id, ...op } });
    });
  }

  /** Tells the launcher every event up to `seq` is stored. */
  ack(seq: number): void {
    this.#call?.write({ ack: { seq } });
  }

  async close(): Promise<void> {
    this.#drop('handler closed the endpoint');
    const server = this.#server;
    this.#server = undefined;
    // No grace: a running launcher never ends its session by itself. Its session
    // just drops; it will dial again.
    await server?.close(0);
    await fs.rm(this.socketPath, { force: true });
  }

  #onSession(call: SessionCall): void {
    const refused = requireProtocol(call.metadata);
    if (refused) {
      call.emit('error', refused);
      return;
    }
    // One session per VMI: a launcher that dials again finds its old session gone (a
    // unix socket's end is seen at once); anyone else must not take it over.
    if (this.#call) {
      this.#log.warn('refused a second launcher session while the first is open');
      call.emit('error', { code: grpc.status.ALREADY_EXISTS, details: 'a launcher session for this VMI is open' });
      return;
    }
    this.#call = call;
    call.on('data', (m: LauncherMessage__Output) => this.#onMessage(m));
    const gone = (why: string): void => {
      if (this.#call !== call) return;
      this.#drop(why);
    };
    call.on('end', () => {
      gone('launcher ended the session');
      call.end();
    });
    call.on('error', (e) => gone(e.message));
    call.on('cancelled', () => gone('session cancelled'));
  }

  #onMessage(m: LauncherMessage__Output): void {
    if (m.hello) {
      this.#hello = m.hello;
      this.emit('hello', m.hello);
    } else if (m.event) {
      this.emit('event', m.event);
    } else if (m.agent) {
      this.emit('agent', m.agent);
    } else if (m.result) {
      const p = this.#pending.get(Number(m.result.commandId));
      if (!p) return; // timed out already
      this.#pending.delete(Number(m.result.commandId));
      clearTimeout(p.timer);
      if (m.result.ok) p.resolve(m.result);
      else {
        // A code this build does not know (a newer launcher's) is reported, not trusted.
        const code = isErrorCode(m.result.errorCode) ? m.result.errorCode : 'VN_INTERNAL';
        const detail = code === m.result.errorCode ? '' : ` (launcher error code ${JSON.stringify(m.result.errorCode)})`;
        p.reject(new VirtnodeError(code, `${m.result.errorMessage || `${p.op} failed`}${detail}`));
      }
    }
  }

  /** Ends the current session, failing its pending commands; the launcher may dial again. */
  drop(why: string): void {
    this.#drop(why);
  }

  #drop(why: string): void {
    const call = this.#call;
    if (!call) return;
    this.#call = undefined;
    this.#hello = undefined;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new VirtnodeError('VN_UNAVAILABLE', `launcher session lost before ${p.op} completed: ${why}`));
      this.#pending.delete(id);
    }
    try {
      call.end();
    } catch {
      /* already closed */
    }
    this.#log.info({ why }, 'launcher session ended');
    this.emit('disconnect', why);
  }
}

/** SO_PEERCRED of an accepted unix socket (its libuv handle holds the fd). */
function peerOf(socket: Socket): PeerCredentials {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the connection has no file descriptor to ask the kernel about');
  return getPeerCredentials(fd);
}
