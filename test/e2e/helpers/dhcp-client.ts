// A hand-rolled DHCP client for what busybox udhcpc cannot be made to send: a REQUEST
// for an address the server never offered, a REQUEST naming another server, an INFORM,
// a RELEASE, garbage. Its packets are written byte by byte here, not with the codec
// under test. Run inside the guest's netns; argv[2] is a JSON ClientJob. Prints one
// JSON line: {"reply":{...}} or {"timeout":true}.
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { openUdp4Socket } from '../../../native/index.js';

interface ClientJob {
  interface: string;
  mac: string;
  /** 3 REQUEST, 7 RELEASE, 8 INFORM; 0 sends only `garbage`. */
  messageType: number;
  requestedIp?: string;
  serverId?: string;
  ciaddr?: string;
  clientId?: string;
  /** Where to bind (a configured address receives unicast only); default 0.0.0.0. */
  bindAddress?: string;
  to?: string;
  garbage?: string[];
  timeoutMs: number;
}

const job = JSON.parse(process.argv[2]!) as ClientJob;
const ip = (s: string): number[] => s.split('.').map(Number);
const xid = randomBytes(4).readUInt32BE(0);

function message(): Buffer {
  const b = Buffer.alloc(300);
  b[0] = 1; b[1] = 1; b[2] = 6; // BOOTREQUEST, Ethernet, 6-byte MAC
  b.writeUInt32BE(xid, 4);
  if (job.ciaddr) Buffer.from(ip(job.ciaddr)).copy(b, 12);
  Buffer.from(job.mac.split(':').map((h) => parseInt(h, 16))).copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  const opts = [53, 1, job.messageType];
  if (job.requestedIp) opts.push(50, 4, ...ip(job.requestedIp));
  if (job.serverId) opts.push(54, 4, ...ip(job.serverId));
  if (job.clientId) { const id = Buffer.from(job.clientId, 'hex'); opts.push(61, id.length, ...id); }
  opts.push(55, 3, 1, 3, 6, 255);
  Buffer.from(opts).copy(b, 240);
  return b;
}

function parse(b: Buffer): Record<string, unknown> {
  const options: Record<string, string> = {};
  for (let i = 240; i < b.length && b[i] !== 255;) {
    if (b[i] === 0) { i++; continue; }
    const code = b[i]!;
    const len = b[i + 1]!;
    options[code] = b.subarray(i + 2, i + 2 + len).toString('hex');
    i += 2 + len;
  }
  const dotted = (o: number): string => [...b.subarray(o, o + 4)].join('.');
  return { op: b[0], xid: b.readUInt32BE(4), ciaddr: dotted(12), yiaddr: dotted(16), flags: b.readUInt16BE(10), type: parseInt(options[53] ?? 'ff', 16), options };
}

const fd = openUdp4Socket({ port: 68, address: job.bindAddress ?? '0.0.0.0', device: job.interface, reuseAddr: true, broadcast: true });
const sock = dgram.createSocket('udp4');
const timer = setTimeout(() => { console.log(JSON.stringify({ timeout: true })); sock.close(); }, job.timeoutMs);
sock.on('message', (buf, from) => {
  if (buf.length < 240 || buf.readUInt32BE(4) !== xid) return;
  clearTimeout(timer);
  console.log(JSON.stringify({ reply: parse(buf), from: from.address, bytes: buf.length }));
  sock.close();
});
sock.on('listening', () => {
  const to = job.to ?? '255.255.255.255';
  // Garbage goes first, so an answer to the message after it shows the server lived on.
  const packets = [...(job.garbage ?? []).map((h) => Buffer.from(h, 'hex')), ...(job.messageType ? [message()] : [])];
  for (const p of packets) sock.send(p, 67, to);
});
// After the handlers: with an fd, bind() emits 'listening' before it returns.
sock.bind({ fd });
