// DHCPv4 messages on the wire (RFC 2131 BOOTP header + RFC 2132 options) and the
// option encodings virt-launcher's server hands out: classless static routes
// (RFC 3442) and the domain search list (RFC 3397). Decoding never trusts a length
// byte: anything that does not fit is a DhcpDecodeError, which the server drops.
import { VirtnodeError } from '../../proto/errors.js';

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const HTYPE_ETHERNET = 1;
export const BROADCAST_FLAG = 0x8000;
export const MAGIC_COOKIE = 0x63825363;
/** Fixed BOOTP header up to and including the magic cookie. */
export const HEADER_SIZE = 240;
/** Old BOOTP relays and clients drop anything shorter (RFC 1542 §2.1). */
export const BOOTP_MIN_SIZE = 300;
/** What every client must accept (RFC 2131 §2: 576-byte IP datagram less IP and UDP headers). */
export const DEFAULT_MAX_MESSAGE_SIZE = 576 - 28;

export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type MessageTypeName = keyof typeof MessageType;

export const Option = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  INTERFACE_MTU: 26,
  BROADCAST: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  DOMAIN_SEARCH: 119,
  CLASSLESS_ROUTES: 121,
  END: 255,
} as const;

/** A packet (or option) that cannot be read; the server logs it at debug and drops it. */
export class DhcpDecodeError extends VirtnodeError {
  constructor(detail: string) {
    super('VN_PROTOCOL', `malformed DHCP message: ${detail}`);
  }
}

export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The 16-byte chaddr field; the hardware address is its first `hlen` bytes. */
  chaddr: Buffer;
  sname: string;
  file: string;
  /**
   * Options in wire order. A code that appears several times is one option split by
   * RFC 3396, so decoding concatenates it and encoding splits values over 255 bytes.
   */
  options: Map<number, Buffer>;
}

/** A message with zeroed header fields, for building requests and replies. */
export function emptyMessage(op: number): DhcpMessage {
  return {
    op, htype: HTYPE_ETHERNET, hlen: 6, hops: 0, xid: 0, secs: 0, flags: 0,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
    chaddr: Buffer.alloc(16), sname: '', file: '', options: new Map(),
  };
}

export function decodeMessage(buf: Buffer): DhcpMessage {
  if (buf.length < HEADER_SIZE) throw new DhcpDecodeError(`${buf.length} bytes, shorter than the ${HEADER_SIZE}-byte header`);
  if (buf.readUInt32BE(236) !== MAGIC_COOKIE) throw new DhcpDecodeError('no DHCP magic cookie (plain BOOTP or not DHCP at all)');
  const hlen = buf[2]!;
  if (hlen > 16) throw new DhcpDecodeError(`hlen ${hlen} exceeds the 16-byte chaddr field`);
  const options = decodeOptions(buf.subarray(HEADER_SIZE));
  // Option 52 would move more options into sname/file. A single-client server needs
  // none of them: those fields are simply not read (as text or as options).
  const overloaded = options.has(Option.OVERLOAD);
  return {
    op: buf[0]!,
    htype: buf[1]!,
    hlen,
    hops: buf[3]!,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: ipFrom(buf, 12),
    yiaddr: ipFrom(buf, 16),
    siaddr: ipFrom(buf, 20),
    giaddr: ipFrom(buf, 24),
    chaddr: Buffer.from(buf.subarray(28, 44)),
    sname: overloaded ? '' : cString(buf.subarray(44, 108)),
    file: overloaded ? '' : cString(buf.subarray(108, 236)),
    options,
  };
}

/** The options field after the cookie: pads skipped, stops at END, every length checked. */
export function decodeOptions(field: Buffer): Map<number, Buffer> {
  const options = new Map<number, Buffer>();
  let i = 0;
  while (i < field.length) {
    const code = field[i]!;
    if (code === Option.PAD) { i++; continue; }
    if (code === Option.END) return options;
    if (i + 1 >= field.length) throw new DhcpDecodeError(`option ${code} at offset ${HEADER_SIZE + i} has no length byte`);
    const len = field[i + 1]!;
    if (i + 2 + len > field.length) throw new DhcpDecodeError(`option ${code} says ${len} bytes, only ${field.length - i - 2} remain`);
    const value = Buffer.from(field.subarray(i + 2, i + 2 + len));
    const before = options.get(code);
    options.set(code, before ? Buffer.concat([before, value]) : value);
    i += 2 + len;
  }
  // No END: tolerated, since every option read was complete.
  return options;
}

export function encodeMessage(msg: DhcpMessage, minSize = BOOTP_MIN_SIZE): Buffer {
  const opts = encodeOptions(msg.options);
  const buf = Buffer.alloc(Math.max(HEADER_SIZE + opts.length, minSize));
  buf[0] = msg.op;
  buf[1] = msg.htype;
  buf[2] = msg.hlen;
  buf[3] = msg.hops;
  buf.writeUInt32BE(msg.xid >>> 0, 4);
  buf.writeUInt16BE(msg.secs, 8);
  buf.writeUInt16BE(msg.flags, 10);
  ipTo(msg.ciaddr, buf, 12);
  ipTo(msg.yiaddr, buf, 16);
  ipTo(msg.siaddr, buf, 20);
  ipTo(msg.giaddr, buf, 24);
  msg.chaddr.copy(buf, 28, 0, Math.min(16, msg.chaddr.length));
  Buffer.from(msg.sname, 'latin1').copy(buf, 44, 0, 63);
  Buffer.from(msg.file, 'latin1').copy(buf, 108, 0, 127);
  buf.writeUInt32BE(MAGIC_COOKIE, 236);
  opts.copy(buf, HEADER_SIZE);
  return buf; // the rest is already PAD (0)
}

/** Options then END; values longer than 255 bytes become consecutive instances (RFC 3396). */
export function encodeOptions(options: Map<number, Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [code, value] of options) {
    if (!Number.isInteger(code) || code <= Option.PAD || code >= Option.END) throw new RangeError(`option code ${code} is not 1-254`);
    if (value.length === 0) { parts.push(Buffer.from([code, 0])); continue; }
    for (let off = 0; off < value.length; off += 255) {
      const chunk = value.subarray(off, off + 255);
      parts.push(Buffer.from([code, chunk.length]), chunk);
    }
  }
  parts.push(Buffer.from([Option.END]));
  return Buffer.concat(parts);
}

/** Bytes one option takes on the wire, RFC 3396 splitting included. */
export function optionWireSize(value: Buffer): number {
  return value.length === 0 ? 2 : value.length + 2 * Math.ceil(value.length / 255);
}

// ---- reading a decoded message

export function messageTypeOf(msg: DhcpMessage): number | undefined {
  const v = msg.options.get(Option.MESSAGE_TYPE);
  return v && v.length === 1 ? v[0] : undefined;
}

export function messageTypeName(type: number | undefined): string {
  const entry = Object.entries(MessageType).find(([, v]) => v === type);
  return entry ? entry[0] : `type ${type ?? 'none'}`;
}

/** The client's hardware address as lower-case aa:bb:cc:dd:ee:ff. */
export function hardwareAddressOf(msg: DhcpMessage): string {
  return formatMac(msg.chaddr.subarray(0, Math.min(msg.hlen, 16)));
}

/** A 4-byte IP option (50, 54, ...) as dotted text; undefined when absent or not 4 bytes. */
export function ipOption(msg: DhcpMessage, code: number): string | undefined {
  const v = msg.options.get(code);
  return v && v.length === 4 ? ipFrom(v, 0) : undefined;
}

// ---- addresses

const DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return DOTTED.test(s);
}

export function ipToBytes(ip: string): Buffer {
  if (!isIPv4(ip)) throw new RangeError(`not a dotted IPv4 address: ${JSON.stringify(ip)}`);
  return Buffer.from(ip.split('.').map(Number));
}

export function ipToNumber(ip: string): number {
  return ipToBytes(ip).readUInt32BE(0);
}

export function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
}

export function prefixToMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

function ipFrom(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

function ipTo(ip: string, buf: Buffer, off: number): void {
  ipToBytes(ip).copy(buf, off);
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function macToBytes(mac: string): Buffer {
  if (!MAC.test(mac)) throw new RangeError(`not a MAC address: ${JSON.stringify(mac)}`);
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function cString(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('latin1');
}

// ---- option values

export function encodeIpList(ips: readonly string[]): Buffer {
  return Buffer.concat(ips.map(ipToBytes));
}

export function decodeIpList(value: Buffer): string[] {
  if (value.length === 0 || value.length % 4 !== 0) throw new DhcpDecodeError(`an address list of ${value.length} bytes is not a multiple of 4`);
  const out: string[] = [];
  for (let i = 0; i < value.length; i += 4) out.push(ipFrom(value, i));
  return out;
}

export function encodeUint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function encodeUint16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** A classless route: `dest`/`prefixLen` via `gateway` (0.0.0.0 = on-link, no gateway). */
export interface ClasslessRoute {
  dest: string;
  prefixLen: number;
  gateway: string;
}

/**
 * Option 121 (RFC 3442 §2): per route, the prefix width, then only the significant
 * octets of the destination (ceil(width/8)), then the 4-byte router.
 */
export function encodeClasslessRoutes(routes: readonly ClasslessRoute[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of routes) {
    if (!Number.isInteger(r.prefixLen) || r.prefixLen < 0 || r.prefixLen > 32) throw new RangeError(`route prefix length ${r.prefixLen} is not 0-32`);
    const dest = ipToNumber(r.dest);
    if ((dest & ~prefixToMask(r.prefixLen)) !== 0) throw new RangeError(`route ${r.dest}/${r.prefixLen} has host bits set`);
    const significant = Math.ceil(r.prefixLen / 8);
    parts.push(Buffer.from([r.prefixLen]), ipToBytes(r.dest).subarray(0, significant), ipToBytes(r.gateway));
  }
  return Buffer.concat(parts);
}

export function decodeClasslessRoutes(value: Buffer): ClasslessRoute[] {
  const routes: ClasslessRoute[] = [];
  let i = 0;
  while (i < value.length) {
    const width = value[i]!;
    if (width > 32) throw new DhcpDecodeError(`classless route width ${width} exceeds 32`);
    const significant = Math.ceil(width / 8);
    if (i + 1 + significant + 4 > value.length) throw new DhcpDecodeError(`classless route at byte ${i} runs past the option's ${value.length} bytes`);
    const dest = Buffer.alloc(4);
    value.copy(dest, 0, i + 1, i + 1 + significant);
    const masked = dest.readUInt32BE(0) & prefixToMask(width);
    routes.push({ dest: numberToIp(masked >>> 0), prefixLen: width, gateway: ipFrom(value, i + 1 + significant) });
    i += 1 + significant + 4;
  }
  return routes;
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;

/**
 * Whether `domain` is a DNS name a search list can carry: dot-separated labels of
 * letters, digits, '-' and '_' (Kubernetes' own names), 1-63 bytes each, 253 in all;
 * one trailing dot allowed.
 */
export function isSearchDomain(domain: string): boolean {
  const name = domain.endsWith('.') ? domain.slice(0, -1) : domain;
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

/**
 * Option 119 (RFC 3397): each domain in RFC 1035 §3.1 label form. With `compress`
 * (the default), a suffix already written becomes a 2-byte pointer to its offset in
 * the option's data (RFC 1035 §4.1.4), which Kubernetes' nested search domains
 * (ns.svc.cluster.local, svc.cluster.local, cluster.local) shrink a lot.
 */
export function encodeDomainSearch(domains: readonly string[], options: { compress?: boolean } = {}): Buffer {
  const compress = options.compress ?? true;
  const seen = new Map<string, number>();
  const parts: Buffer[] = [];
  let length = 0;
  const push = (b: Buffer): void => { parts.push(b); length += b.length; };
  for (const domain of domains) {
    if (!isSearchDomain(domain)) throw new RangeError(`not a valid search domain: ${JSON.stringify(domain)}`);
    const labels = domain.replace(/\.$/, '').toLowerCase().split('.');
    let pointed = false;
    for (let k = 0; k < labels.length; k++) {
      const suffix = labels.slice(k).join('.');
      const at = seen.get(suffix);
      if (compress && at !== undefined) {
        push(Buffer.from([0xc0 | (at >> 8), at & 0xff]));
        pointed = true;
        break;
      }
      if (length <= 0x3fff) seen.set(suffix, length);
      const label = Buffer.from(labels[k]!, 'latin1');
      push(Buffer.concat([Buffer.from([label.length]), label]));
    }
    if (!pointed) push(Buffer.from([0]));
  }
  return Buffer.concat(parts);
}

/** Reads option 119, following compression pointers, which may only point backwards. */
export function decodeDomainSearch(value: Buffer): string[] {
  const domains: string[] = [];
  let i = 0;
  while (i < value.length) {
    const { name, next } = readName(value, i);
    domains.push(name);
    i = next;
  }
  return domains;
}

function readName(data: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = start;
  let next = -1; // where the caller continues: after the first pointer, or after the root label
  let wireLength = 1; // the root label
  // Each pointer must go before itself and before the previous pointer's target, so
  // the targets strictly decrease and a crafted loop cannot spin.
  let lastTarget = Number.POSITIVE_INFINITY;
  for (;;) {
    if (pos >= data.length) throw new DhcpDecodeError(`domain name at byte ${start} runs past the option's end`);
    const len = data[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= data.length) throw new DhcpDecodeError(`compression pointer at byte ${pos} is cut off`);
      const target = ((len & 0x3f) << 8) | data[pos + 1]!;
      if (next < 0) next = pos + 2;
      if (target >= pos || target >= lastTarget) throw new DhcpDecodeError(`compression pointer at byte ${pos} to ${target} does not point backwards`);
      lastTarget = target;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new DhcpDecodeError(`label type 0x${kind.toString(16)} at byte ${pos} is reserved`);
    if (pos + 1 + len > data.length) throw new DhcpDecodeError(`label at byte ${pos} says ${len} bytes, past the option's end`);
    labels.push(data.subarray(pos + 1, pos + 1 + len).toString('latin1'));
    wireLength += 1 + len;
    if (wireLength > 255) throw new DhcpDecodeError(`domain name at byte ${start} is longer than 255 bytes`);
    pos += 1 + len;
  }
  return { name: labels.join('.'), next };
}
