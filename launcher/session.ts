// The launcher's side of its session with the handler.
//
// The launcher dials the handler (never the other way round) over the VMI's own
// socket and keeps dialling while the handler is away: a handler restart must not
// disturb the VM. Every domain event gets the next sequence number and stays in
// `#unacked` until the handler acknowledges it as stored; after a reconnect the
// launcher resends all of them in order, so no event is lost and the handler
// drops the ones it already applied.

import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CHANNEL_OPTIONS, PROTOCOL_VERSIONS, launcherPackage, pickVersion, protocolMetadata, unary } from '../proto/rpc.js';
import type { Command__Output } from '../proto/generated/virtnode/launcher/v1/Command.js';
import type { CommandResult } from '../proto/generated/virtnode/launcher/v1/CommandResult.js';
import type { DomainEvent } from '../proto/generated/virtnode/launcher/v1/DomainEvent.js';
import type { HandlerMessage__Output } from '../proto/generated/virtnode/launcher/v1/HandlerMessage.js';
import type { LauncherMessage } from '../proto/generated/virtnode/launcher/v1/LauncherMessage.js';
import type { NegotiateRequest } from '../proto/generated/virtnode/launcher/v1/NegotiateRequest.js';
import type { NegotiateResponse__Output } from '../proto/generated/virtnode/launcher/v1/NegotiateResponse.js';
import type { DomainState } from '../proto/generated/virtnode/launcher/v1/DomainState.js';
import type { GuestAgentStatus } from '../proto/generated/virtnode/launcher/v1/GuestAgentStatus.js';
import { VirtnodeError, errorMessage, isVirtnodeError } from '../proto/errors.js';
import { VERSION } from '../proto/version.js';

export interface DomainEventInput {
  state: DomainState;
  reason: string;
  message?: string;
  qemuPid?: number;
  accelerator?: string;
  final?: boolean;
  interfaces?: unknown[];
  resolved?: { machineType: string; guestMemoryBytes: number; volumes: { name: string; target: string; sizeBytes: number }[] };
}

export interface SessionCallbacks {
  /** Executes one command from the handler; throwing reports the error back. A query's answer rides with its result. */
  onCommand(cmd: Command__Output): Promise<void | CommandAnswer>;
  /** Whether a domain already runs (sent in Hello after a handler restart). */
  domainDefined(): boolean;
}

/** What a command's result may carry beside ok: a query's answer (stats, a screenshot, the agent's), where attach_volume put the disk, what was done. */
export type CommandAnswer = Pick<CommandResult, 'stats' | 'volume' | 'agentJson' | 'message' | 'screenshotPng'>;

type Stream = grpc.ClientDuplexStream<LauncherMessage, HandlerMessage__Output>;

/**
 * Readies a spare launcher's session before it has a VM: parses the launcher protocol
 * and takes one Negotiate through the whole gRPC client path (channel, HTTP/2
 * connection, call, trailers) against a throwaway in-process HTTP/2 server that
 * answers UNIMPLEMENTED. A process's first gRPC call costs ~16 ms of lazy loading and
 * cold code here, the next ~3 ms: this moves that cost out of the VM's start.
 */
export async function preloadSession(): Promise<void> {
  const pkg = launcherPackage();
  const dir = mkdtempSync(join(tmpdir(), 'virtnode-warmup-'));
  const server = http2.createServer((req) => req.stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(grpc.status.UNIMPLEMENTED) }, { endStream: true }));
  try {
    const socket = join(dir, 's');
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, resolve));
    const info = new pkg.Info(`unix:${socket}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    await unary(info.Negotiate, info, { supportedVersions: [...PROTOCOL_VERSIONS], client: 'warm-up' }, new grpc.Metadata(), { deadline: Date.now() + 2000 }).catch(() => undefined);
    info.close();
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export class HandlerSession {
  #socket: string;
  #log: Logger;
  #cb: SessionCallbacks;
  #seq = 0;
  #unacked: DomainEvent[] = [];
  #stream: Stream | undefined;
  #client: grpc.Client | undefined;
  #closed = false;
  #retryMs = 50;
  #ackWaiters: (() => void)[] = [];
  #connectedWaiters: (() => void)[] = [];
  /** The guest agent's latest status: replaces the one before, sent again after a reconnect. */
  #agent: GuestAgentStatus | undefined;

  constructor(opts: { socketPath: string; log: Logger; callbacks: SessionCallbacks }) {
    this.#socket = opts.socketPath;
    this.#log = opts.log;
    this.#cb = opts.callbacks;
  }

  get connected(): boolean {
    return this.#stream !== undefined;
  }

  get lastSeq(): number {
    return this.#seq;
  }

  start(): void {
    void this.#connect();
  }

  /** Resolves once a session is up (the first Sync can only arrive after that). */
  whenConnected(): Promise<void> {
    if (this.#stream) return Promise.resolve();
    return new Promise((r) => this.#connectedWaiters.push(r));
  }

  /** Queues a domain event for the handler; it is resent until acknowledged. */
  emit(e: DomainEventInput): number {
    const seq = ++this.#seq;
    const ev: DomainEvent = {
      seq,
      timestampMs: Date.now(),
      state: e.state,
      reason: e.reason,
      message: e.message ?? '',
      qemuPid: e.qemuPid ?? 0,
      accelerator: e.accelerator ?? '',
      final: e.final ?? false,
      interfacesJson: e.interfaces ? JSON.stringify(e.interfaces) : '',
      machineType: e.resolved?.machineType ?? '',
      guestMemoryBytes: e.resolved?.guestMemoryBytes ?? 0,
      volumes: e.resolved?.volumes ?? [],
    };
    this.#unacked.push(ev);
    this.#send({ event: ev });
    return seq;
  }

  /** Hands the handler the guest agent's current status (not numbered: the latest wins). */
  setAgentStatus(s: GuestAgentStatus): void {
    this.#agent = s;
    this.#send({ agent: s });
  }

  /** Resolves true once the handler has stored every event, false on timeout. */
  async allAcked(timeoutMs: number): Promise<boolean> {
    if (this.#unacked.length === 0) return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#ackWaiters = this.#ackWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      this.#ackWaiters.push(done);
    });
  }

  close(): void {
    this.#closed = true;
    this.#stream?.end();
    this.#stream = undefined;
    this.#client?.close();
  }

  #send(msg: LauncherMessage): void {
    // Without a stream the event waits in #unacked and goes out after reconnecting.
    this.#stream?.write(msg);
  }

  async #connect(): Promise<void> {
    while (!this.#closed) {
      try {
        await this.#open();
        return;
      } catch (e) {
        this.#log.debug({ err: errorMessage(e) }, 'handler not reachable yet');
        await new Promise((r) => setTimeout(r, this.#retryMs));
        this.#retryMs = Math.min(this.#retryMs * 2, 1000);
      }
    }
  }

  async #open(): Promise<void> {
    const pkg = launcherPackage();
    const target = `unix:${this.#socket}`;
    // One connection for the handshake and the session.
    const client = new pkg.Launcher(target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    const info = new pkg.Info(target, grpc.credentials.createInsecure(), { channelOverride: client.getChannel() });
    let version: number | undefined;
    try {
      const res = await unary<NegotiateRequest, NegotiateResponse__Output>(info.Negotiate, info, { supportedVersions: [...PROTOCOL_VERSIONS], client: `virtnode-launcher/${VERSION}` }, new grpc.Metadata(), {
        deadline: Date.now() + 2000,
      });
      version = pickVersion(PROTOCOL_VERSIONS, [res.version]);
    } catch (e) {
      client.close();
      throw e;
    }
    if (version === undefined) {
      client.close();
      throw new VirtnodeError('VN_PROTOCOL', 'handler speaks no protocol version this launcher knows');
    }

    const stream: Stream = client.Session(protocolMetadata(version));
    this.#client = client;
    this.#stream = stream;
    this.#retryMs = 50;

    stream.on('data', (m: HandlerMessage__Output) => this.#onMessage(m));
    const lost = (why: string): void => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      client.close();
      if (this.#closed) return;
      this.#log.warn({ why }, 'session with handler lost; reconnecting');
      setTimeout(() => void this.#connect(), this.#retryMs);
    };
    stream.on('error', (e) => lost(errorMessage(e)));
    stream.on('end', () => lost('handler ended the session'));

    stream.write({ hello: { pid: process.pid, version: VERSION, domainDefined: this.#cb.domainDefined(), lastEventSeq: this.#seq } });
    for (const ev of this.#unacked) stream.write({ event: ev });
    if (this.#agent) stream.write({ agent: this.#agent });
    this.#log.info({ resent: this.#unacked.length, protocol: version }, 'session with handler established');
    for (const w of this.#connectedWaiters.splice(0)) w();
  }

  #onMessage(m: HandlerMessage__Output): void {
    if (m.ack) {
      const seq = Number(m.ack.seq);
      this.#unacked = this.#unacked.filter((e) => Number(e.seq) > seq);
      if (this.#unacked.length === 0) for (const w of this.#ackWaiters.splice(0)) w();
      return;
    }
    if (m.command) void this.#run(m.command);
  }

  async #run(cmd: Command__Output): Promise<void> {
    const id = cmd.id;
    try {
      const answer = await this.#cb.onCommand(cmd);
      this.#send({ result: { commandId: id, ok: true, ...(answer ?? {}) } });
    } catch (e) {
      this.#log.warn({ command: cmd.op, err: errorMessage(e) }, 'command failed');
      this.#send({
        result: { commandId: id, ok: false, errorCode: isVirtnodeError(e) ? e.code : 'VN_INTERNAL', errorMessage: errorMessage(e) },
      });
    }
  }
}
