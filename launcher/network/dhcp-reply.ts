// What the server answers to one decoded request (RFC 2131 §4.3), as a pure function
// so every branch is testable without sockets. There is one client (the VM's NIC) and
// one address for it: anything else is ignored, and a REQUEST for another address is
// refused with a NAK so the client starts over and is offered the right one.
import {
  BOOTREPLY, BOOTREQUEST, BROADCAST_FLAG, DEFAULT_MAX_MESSAGE_SIZE, HEADER_SIZE, MessageType, Option,
  emptyMessage, encodeUint32, hardwareAddressOf, ipOption, ipToBytes, messageTypeName, messageTypeOf,
  optionWireSize, type DhcpMessage,
} from './dhcp-packet.js';
import type { PreparedLease } from './dhcp-lease.js';

export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;
export const LIMITED_BROADCAST = '255.255.255.255';

export interface Destination {
  address: string;
  port: number;
}

export type Answer =
  | {
    kind: 'reply';
    event: 'offer' | 'ack' | 'nak' | 'inform';
    message: DhcpMessage;
    to: Destination;
    /** Configuration options left out because the client's size limit had no room for them. */
    dropped: number[];
    reason?: string;
  }
  | { kind: 'note'; event: 'release' | 'decline'; ip: string | undefined }
  | { kind: 'ignore'; reason: string };

export function answer(req: DhcpMessage, lease: PreparedLease): Answer {
  if (req.op !== BOOTREQUEST) return { kind: 'ignore', reason: `op ${req.op} is not BOOTREQUEST` };
  const mac = hardwareAddressOf(req);
  if (req.htype !== 1 || req.hlen !== 6 || mac !== lease.mac) return { kind: 'ignore', reason: `client ${mac} is not this VM's NIC (${lease.mac})` };
  const type = messageTypeOf(req);
  const serverId = ipOption(req, Option.SERVER_ID);
  const requested = ipOption(req, Option.REQUESTED_IP);

  switch (type) {
    case MessageType.DISCOVER:
      return reply(req, lease, 'offer');
    case MessageType.REQUEST: {
      if (serverId !== undefined) {
        // SELECTING: the client names the server whose OFFER it took.
        if (serverId !== lease.serverIp) return { kind: 'ignore', reason: `REQUEST is for server ${serverId}` };
        if (requested !== lease.ip) return nak(req, lease, `SELECTING REQUEST for ${requested ?? 'no address'}, the lease is ${lease.ip}`);
        return reply(req, lease, 'ack');
      }
      if (requested !== undefined) {
        // INIT-REBOOT: the client wants to keep an address it remembers.
        if (requested !== lease.ip) return nak(req, lease, `INIT-REBOOT REQUEST for ${requested}, the lease is ${lease.ip}`);
        return reply(req, lease, 'ack');
      }
      if (req.ciaddr !== '0.0.0.0') {
        // RENEWING (unicast) or REBINDING (broadcast): the address is in ciaddr.
        if (req.ciaddr !== lease.ip) return nak(req, lease, `RENEW/REBIND of ${req.ciaddr}, the lease is ${lease.ip}`);
        return reply(req, lease, 'ack');
      }
      return { kind: 'ignore', reason: 'REQUEST names no address (no server id, requested address or ciaddr)' };
    }
    case MessageType.INFORM:
      return reply(req, lease, 'inform');
    case MessageType.RELEASE:
    case MessageType.DECLINE:
      if (serverId !== undefined && serverId !== lease.serverIp) return { kind: 'ignore', reason: `${messageTypeName(type)} is for server ${serverId}` };
      // Nothing to free or to mark: the VM's address is fixed. Both are reported; a
      // DECLINE means the guest found its address already in use on the link.
      return type === MessageType.RELEASE ? { kind: 'note', event: 'release', ip: req.ciaddr } : { kind: 'note', event: 'decline', ip: requested };
    default:
      return { kind: 'ignore', reason: `${messageTypeName(type)} is not a client message this server answers` };
  }
}

function reply(req: DhcpMessage, lease: PreparedLease, event: 'offer' | 'ack' | 'inform'): Answer {
  const msg = replyFrame(req);
  const inform = event === 'inform';
  // An INFORM client already has its address: no yiaddr and no lease times (§4.3.5).
  if (!inform) msg.yiaddr = lease.ip;
  if (event !== 'offer') msg.ciaddr = req.ciaddr;
  const fixed = new Map<number, Buffer>();
  fixed.set(Option.MESSAGE_TYPE, Buffer.from([event === 'offer' ? MessageType.OFFER : MessageType.ACK]));
  fixed.set(Option.SERVER_ID, ipToBytes(lease.serverIp));
  if (!inform) {
    fixed.set(Option.LEASE_TIME, encodeUint32(lease.leaseSeconds));
    fixed.set(Option.RENEWAL_TIME, encodeUint32(Math.floor(lease.leaseSeconds / 2)));
    fixed.set(Option.REBINDING_TIME, encodeUint32(Math.floor(lease.leaseSeconds * 7 / 8)));
  }
  echoClientId(req, fixed);
  const { options, dropped } = fit(fixed, ordered(req, lease.options), maxMessageSize(req));
  msg.options = options;
  return { kind: 'reply', event, message: msg, to: destination(req, false), dropped };
}

function nak(req: DhcpMessage, lease: PreparedLease, reason: string): Answer {
  const msg = replyFrame(req);
  msg.options.set(Option.MESSAGE_TYPE, Buffer.from([MessageType.NAK]));
  msg.options.set(Option.SERVER_ID, ipToBytes(lease.serverIp));
  msg.options.set(Option.MESSAGE, Buffer.from('requested address is not this client\'s lease', 'latin1'));
  echoClientId(req, msg.options);
  return { kind: 'reply', event: 'nak', message: msg, to: destination(req, true), dropped: [], reason };
}

function replyFrame(req: DhcpMessage): DhcpMessage {
  const msg = emptyMessage(BOOTREPLY);
  msg.htype = req.htype;
  msg.hlen = req.hlen;
  msg.xid = req.xid;
  msg.flags = req.flags & BROADCAST_FLAG;
  msg.giaddr = req.giaddr;
  msg.chaddr = Buffer.from(req.chaddr);
  return msg;
}

/** RFC 6842: a client identifier sent is a client identifier returned. */
function echoClientId(req: DhcpMessage, into: Map<number, Buffer>): void {
  const id = req.options.get(Option.CLIENT_ID);
  if (id) into.set(Option.CLIENT_ID, id);
}

/**
 * Where the answer goes (§4.1). A client without an address cannot take a unicast:
 * the kernel would have to ARP for an address nobody holds yet, and a UDP socket
 * cannot write the neighbour entry by hand, so such replies are broadcast whatever
 * the broadcast flag says (KubeVirt's server does the same). NAKs are always broadcast.
 */
export function destination(req: DhcpMessage, isNak: boolean): Destination {
  if (req.giaddr !== '0.0.0.0') return { address: req.giaddr, port: SERVER_PORT };
  if (!isNak && req.ciaddr !== '0.0.0.0') return { address: req.ciaddr, port: CLIENT_PORT };
  return { address: LIMITED_BROADCAST, port: CLIENT_PORT };
}

/** Configuration options with the ones the client asked for (option 55) first, in its order. */
function ordered(req: DhcpMessage, config: Map<number, Buffer>): Map<number, Buffer> {
  const asked = req.options.get(Option.PARAMETER_REQUEST_LIST) ?? Buffer.alloc(0);
  const out = new Map<number, Buffer>();
  for (const code of asked) {
    const v = config.get(code);
    if (v) out.set(code, v);
  }
  // KubeVirt sends its whole set whatever was asked: a guest that did not ask for the
  // MTU or the search list still gets them, and clients ignore what they do not know.
  for (const [code, v] of config) if (!out.has(code)) out.set(code, v);
  return out;
}

/** The largest DHCP message (UDP payload) the client takes: option 57 less IP and UDP headers, never below RFC 2131's 548. */
function maxMessageSize(req: DhcpMessage): number {
  const v = req.options.get(Option.MAX_MESSAGE_SIZE);
  if (!v || v.length !== 2) return DEFAULT_MAX_MESSAGE_SIZE;
  return Math.max(DEFAULT_MAX_MESSAGE_SIZE, v.readUInt16BE(0) - 28);
}

/** Keeps the fixed options and as many configuration options, in order, as fit in `limit`. */
function fit(fixed: Map<number, Buffer>, config: Map<number, Buffer>, limit: number): { options: Map<number, Buffer>; dropped: number[] } {
  let size = HEADER_SIZE + 1; // END
  for (const v of fixed.values()) size += optionWireSize(v);
  const options = new Map(fixed);
  const dropped: number[] = [];
  for (const [code, v] of config) {
    const need = optionWireSize(v);
    if (size + need <= limit) {
      options.set(code, v);
      size += need;
    } else {
      dropped.push(code);
    }
  }
  return { options, dropped };
}
