// virt-launcher's in-process DHCPv4 server: one per VM NIC, listening on the pod-side
// bridge (k6t-eth0) and answering only that NIC's MAC with its one lease. The launcher
// runs inside the pod's network namespace, so the socket is made there; it is bound
// to the bridge with SO_BINDTODEVICE before bind(), so the pod's own eth0 never sees
// it answer and two VM NICs' servers can share 0.0.0.0:67.
import * as dgram from 'node:dgram';
import { openUdp4Socket, closeFd, withNetns } from '../../native/index.js';
import { IllegalTransitionError, errorMessage } from '../../proto/errors.js';
import type { Logger } from '../log.js';
import { DhcpDecodeError, decodeMessage, encodeMessage, hardwareAddressOf, messageTypeName, messageTypeOf, type DhcpMessage } from './dhcp-packet.js';
import { prepareLease, type DhcpLease, type PreparedLease } from './dhcp-lease.js';
import { answer, SERVER_PORT } from './dhcp-reply.js';

export type { DhcpLease } from './dhcp-lease.js';
export type { ClasslessRoute } from './dhcp-packet.js';

export type DhcpLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** What happened with the guest, for the launcher (e.g. to note that the guest took its address). */
export interface DhcpEvent {
  type: 'offer' | 'ack' | 'nak' | 'inform' | 'release' | 'decline';
  mac: string;
  /** The address offered/acknowledged, released or declined. */
  ip: string | undefined;
  xid: number;
}

export interface DhcpServerOptions {
  /** The bridge the guest's tap is on (k6t-eth0 for the pod network). */
  interface: string;
  /** Our address on that link, sent as the server identifier (option 54). */
  serverIp: string;
  lease: DhcpLease;
  log: DhcpLog;
  onEvent?: (event: DhcpEvent) => void;
  /**
   * A network namespace to open the socket in (/run/netns/<name>, /proc/<pid>/ns/net)
   * for a caller outside the pod; the socket stays there. Default: the caller's own.
   */
  netns?: string;
}

type State = 'stopped' | 'starting' | 'running' | 'stopping';

export class DhcpServer {
  #state: State = 'stopped';
  #socket: dgram.Socket | undefined;
  #lease: PreparedLease | undefined;
  #log: DhcpLog | undefined;
  #onEvent: ((event: DhcpEvent) => void) | undefined;

  get running(): boolean {
    return this.#state === 'running';
  }

  /** Checks the lease, opens 0.0.0.0:67 on `interface` and answers until stop(). */
  async start(options: DhcpServerOptions): Promise<void> {
    if (this.#state !== 'stopped') throw new IllegalTransitionError(this.#state, 'starting', 'the DHCP server is already started');
    const lease = prepareLease(options.serverIp, options.lease);
    this.#state = 'starting';
    try {
      const open = (): number => openUdp4Socket({ port: SERVER_PORT, device: options.interface, reuseAddr: true, broadcast: true });
      const fd = options.netns ? withNetns(options.netns, open) : open();
      const socket = dgram.createSocket({ type: 'udp4' });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind({ fd }, () => { socket.off('error', reject); resolve(); });
        });
      } catch (e) {
        try { closeFd(fd); } catch { /* dgram may already own and have closed it */ }
        throw e;
      }
      socket.on('error', (e) => options.log.error({ err: e }, 'DHCP socket error'));
      socket.on('message', (buf, from) => this.#receive(buf, from));
      this.#socket = socket;
      this.#lease = lease;
      this.#log = options.log;
      this.#onEvent = options.onEvent;
      this.#state = 'running';
    } catch (e) {
      this.#state = 'stopped';
      throw e;
    }
    options.log.info({
      interface: options.interface, netns: options.netns, serverIp: lease.serverIp, mac: lease.mac, ip: lease.ip,
      options: [...lease.options.keys()], routes: lease.routes, leaseSeconds: lease.leaseSeconds,
    }, 'DHCP server started');
  }

  /** Closes the socket; safe to call when not running. */
  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    const socket = this.#socket!;
    this.#socket = undefined;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    this.#state = 'stopped';
    this.#log?.info({}, 'DHCP server stopped');
  }

  #receive(buf: Buffer, from: dgram.RemoteInfo): void {
    const log = this.#log!;
    const lease = this.#lease!;
    let req: DhcpMessage;
    try {
      req = decodeMessage(buf);
    } catch (e) {
      if (e instanceof DhcpDecodeError) {
        log.debug({ from: `${from.address}:${from.port}`, bytes: buf.length, reason: e.message }, 'dropping a malformed DHCP packet');
        return;
      }
      log.error({ err: e }, 'decoding a DHCP packet failed unexpectedly');
      return;
    }
    // Whatever goes wrong with one packet stays with that packet.
    try {
      const ans = answer(req, lease);
      const mac = hardwareAddressOf(req);
      const what = messageTypeName(messageTypeOf(req));
      if (ans.kind === 'ignore') {
        log.debug({ type: what, mac, xid: req.xid, reason: ans.reason }, 'DHCP request ignored');
        return;
      }
      if (ans.kind === 'note') {
        const level = ans.event === 'decline' ? 'warn' : 'info';
        log[level]({ type: what, mac, ip: ans.ip, xid: req.xid }, ans.event === 'decline' ? 'the guest declined its address: something else on the link holds it' : 'the guest released its address');
        this.#emit({ type: ans.event, mac, ip: ans.ip, xid: req.xid });
        return;
      }
      if (ans.dropped.length > 0) log.warn({ mac, dropped: ans.dropped }, 'options left out of the reply: the client takes no larger messages');
      const bytes = encodeMessage(ans.message);
      const ip = ans.event === 'nak' ? undefined : ans.event === 'inform' ? req.ciaddr : ans.message.yiaddr;
      const level = ans.event === 'ack' || ans.event === 'nak' ? 'info' : 'debug';
      log[level]({ type: what, reply: ans.event, mac, ip, xid: req.xid, to: `${ans.to.address}:${ans.to.port}`, reason: ans.reason }, `DHCP ${what} answered with ${ans.event.toUpperCase()}`);
      this.#socket?.send(bytes, ans.to.port, ans.to.address, (err) => {
        if (err) log.warn({ err, to: `${ans.to.address}:${ans.to.port}`, reply: ans.event }, 'sending a DHCP reply failed');
      });
      this.#emit({ type: ans.event, mac, ip, xid: req.xid });
    } catch (e) {
      log.error({ err: e, message: errorMessage(e) }, 'answering a DHCP request failed');
    }
  }

  #emit(event: DhcpEvent): void {
    try {
      this.#onEvent?.(event);
    } catch (e) {
      this.#log?.warn({ err: e }, 'a DHCP event listener threw');
    }
  }
}
