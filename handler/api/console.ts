// Console and VNC: a running VMI's byte streams through the API (the Console and
// VNC calls), as virt-handler's console handler serves them to virt-api. The handler
// connects to the socket the VM's launcher serves in its run directory (console.sock,
// vnc.sock: root's, in a directory QEMU cannot write) and copies bytes both ways,
// with backpressure each way, so a slow reader holds at most a few messages here.
//
// One client per VMI and stream at a time (AttachedStreams): another is refused as
// "already attached" unless it asks for force, which ends the first client's call,
// as `virtctl console` and `virtctl vnc` take a VMI over.

import { connect, type Socket } from 'node:net';
import { InvalidSpecError, VirtnodeError } from '../../proto/errors.js';
import { requireProtocol } from '../../proto/rpc.js';
import type { ConsoleInput__Output } from '../../proto/generated/virtnode/handler/v1/ConsoleInput.js';
import type { ConsoleOutput } from '../../proto/generated/virtnode/handler/v1/ConsoleOutput.js';
import type { StreamCall } from './grpc-call.js';
import { toServiceError } from './status.js';

export type StreamKind = 'console' | 'vnc';

/** Who holds each VMI's console and VNC display: key → how to end that client's call. */
export class AttachedStreams {
  #holders = new Map<string, (why: string) => void>();

  /**
   * Attaches a client to `key` (e.g. "console default/vm1"): refused while another
   * holds it, unless `force`, which detaches that one first. Returns the release,
   * which lets go only if this client still holds the key.
   */
  attach(key: string, force: boolean, detach: (why: string) => void): () => void {
    const holder = this.#holders.get(key);
    if (holder) {
      if (!force) throw new VirtnodeError('VN_ALREADY_EXISTS', `${key}: already attached by another client (use --force to take it over)`);
      this.#holders.delete(key);
      holder(`${key}: taken over by another client`);
    }
    this.#holders.set(key, detach);
    return () => {
      if (this.#holders.get(key) === detach) this.#holders.delete(key);
    };
  }

  get size(): number {
    return this.#holders.size;
  }
}

/** Resolves the VMI a stream's first message names to the socket its launcher serves (or throws why not). */
export type StreamTarget = (namespace: string, name: string) => { namespace: string; name: string; socket: string };

/** The Console or VNC call: the first message names the VMI (and may force), the rest are the client's bytes. */
export function byteStreamCall(kind: StreamKind, streams: AttachedStreams, target: StreamTarget): (call: StreamCall<undefined, ConsoleOutput>) => void {
  return (call) => {
    const refused = requireProtocol(call.metadata);
    if (refused) {
      call.emit('error', refused);
      return;
    }
    let sock: Socket | undefined;
    let release: (() => void) | undefined;
    let done = false;
    const finish = (e?: unknown): void => {
      if (done) return;
      done = true;
      release?.();
      sock?.destroy();
      if (e === undefined) call.end();
      else call.emit('error', toServiceError(e));
    };
    const open = (m: ConsoleInput__Output): void => {
      if (!m.open) throw new InvalidSpecError([{ path: 'open', message: `the first ${kind} message must name the VMI` }]);
      const t = target(m.open.namespace, m.open.name);
      const what = kind === 'console' ? 'console' : 'VNC display';
      release = streams.attach(`${what} of ${t.namespace}/${t.name}`, m.force, (why) => finish(new VirtnodeError('VN_UNAVAILABLE', why)));
      const s = connect(t.socket);
      sock = s;
      s.on('data', (b: Buffer) => {
        if (!call.write({ data: b })) {
          s.pause();
          call.once('drain', () => s.resume());
        }
      });
      s.on('error', (e) => finish(new VirtnodeError('VN_UNAVAILABLE', `${what} of ${t.namespace}/${t.name}: ${e.message}`)));
      s.on('close', () => finish());
    };
    call.on('data', (m: ConsoleInput__Output) => {
      if (done) return;
      if (!sock) {
        try {
          open(m);
        } catch (e) {
          finish(e);
        }
        return;
      }
      if (m.data?.length && !sock.write(m.data)) {
        call.pause();
        sock.once('drain', () => call.resume());
      }
    });
    // The client half-closed: what it sent still reaches the VMI, then the socket ends.
    call.on('end', () => (sock ? sock.end() : finish()));
    call.on('cancelled', () => {
      done = true;
      release?.();
      sock?.destroy();
    });
    call.on('error', () => {
      done = true;
      release?.();
      sock?.destroy();
    });
  };
}
