// The lease's option set and the server's answer to each kind of request (RFC 2131
// §4.3), as pure functions. Requests are the real udhcpc DISCOVER captured for
// dhcp-packet.test.ts, changed field by field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidSpecError } from '../../proto/errors.js';
import {
  BROADCAST_FLAG, MessageType, Option, decodeMessage, encodeMessage, decodeClasslessRoutes, decodeDomainSearch,
  decodeIpList, encodeIpList, encodeUint16, messageTypeOf, ipOption, type DhcpMessage,
} from '../../launcher/network/dhcp-packet.js';
import { prepareLease, classlessRoutes, DEFAULT_LEASE_SECONDS, type DhcpLease } from '../../launcher/network/dhcp-lease.js';
import { answer, destination } from '../../launcher/network/dhcp-reply.js';

const DISCOVER = Buffer.from(
  '01010600b642cf13000000000000000000000000000000000000000002000000' +
  '0002' + '00'.repeat(202) + '63825363' +
  '350101' + '39020240' + '370a0103060c0f1a1c2a7779' + '0c06677565737431' +
  '3c0c756468637020312e33352e30' + '3d0701020000000002' + 'ff' + '00'.repeat(9), 'hex');

const LEASE: DhcpLease = {
  mac: '02:00:00:00:00:02', ip: '10.0.2.2', prefixLength: 24, gateway: '10.0.2.1',
  dns: ['10.96.0.10'], searchDomains: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
  hostname: 'testvmi', mtu: 1400,
};
const prepared = prepareLease('10.0.2.1', LEASE);

function request(type: number, edit: (m: DhcpMessage) => void = () => {}): DhcpMessage {
  const m = decodeMessage(DISCOVER);
  m.options.set(Option.MESSAGE_TYPE, Buffer.from([type]));
  edit(m);
  return m;
}

function reply(req: DhcpMessage) {
  const a = answer(req, prepared);
  assert.equal(a.kind, 'reply', JSON.stringify(a));
  if (a.kind !== 'reply') throw new Error('unreachable');
  // Whatever is answered must survive the wire.
  return { ...a, message: decodeMessage(encodeMessage(a.message)) };
}

test('prepareLease: the masquerade option set, in KubeVirt\'s terms', () => {
  const o = prepared.options;
  assert.deepEqual([...o.keys()], [Option.SUBNET_MASK, Option.BROADCAST, Option.ROUTER, Option.DNS, Option.HOSTNAME, Option.DOMAIN_NAME, Option.DOMAIN_SEARCH, Option.INTERFACE_MTU]);
  assert.equal(o.get(Option.SUBNET_MASK)!.toString('hex'), 'ffffff00');
  assert.deepEqual(decodeIpList(o.get(Option.BROADCAST)!), ['10.0.2.255']);
  assert.deepEqual(decodeIpList(o.get(Option.ROUTER)!), ['10.0.2.1']);
  assert.equal(o.get(Option.DOMAIN_NAME)!.toString(), 'default.svc.cluster.local', 'the longest search domain');
  assert.deepEqual(decodeDomainSearch(o.get(Option.DOMAIN_SEARCH)!), LEASE.searchDomains);
  assert.equal(o.get(Option.INTERFACE_MTU)!.readUInt16BE(0), 1400);
  assert.equal(prepared.leaseSeconds, DEFAULT_LEASE_SECONDS);
  assert.equal(DEFAULT_LEASE_SECONDS, 86_313_600);
  assert.equal(prepared.routes, undefined);
});

test('prepareLease: a /32 has no broadcast option; empty DNS and search lists send no option', () => {
  const p = prepareLease('169.254.75.10', { ...LEASE, prefixLength: 32, dns: [], searchDomains: [], hostname: undefined, mtu: undefined, gateway: undefined });
  assert.deepEqual([...p.options.keys()], [Option.SUBNET_MASK]);
  assert.equal(p.options.get(Option.SUBNET_MASK)!.toString('hex'), 'ffffffff');
});

test('prepareLease: every bad field is named at once', () => {
  try {
    prepareLease('10.0.2', { ...LEASE, mac: '03:00:00:00:00:02', ip: '10.0.2.256', prefixLength: 33, dns: ['fd00::10'], searchDomains: ['ok.local', 'not ok'], mtu: 40, leaseSeconds: 0, routes: [{ dest: '10.1.0.1', prefixLen: 16, gateway: 'x' }] });
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof InvalidSpecError);
    assert.equal(e.code, 'VN_INVALID_SPEC');
    assert.deepEqual(e.fields.map((f) => f.path), [
      'serverIp', 'lease.mac', 'lease.prefixLength', 'lease.ip', 'lease.dns[0]', 'lease.searchDomains[1]', 'lease.mtu', 'lease.leaseSeconds',
      'lease.routes[0].gateway', 'lease.routes[0].dest',
    ]);
  }
});

test('classlessRoutes: none when option 3 suffices; default route appended and moved last; on-link route to an off-subnet gateway', () => {
  assert.equal(classlessRoutes({ ip: '10.0.2.2', prefixLength: 24, gateway: '10.0.2.1' }), undefined);
  assert.deepEqual(classlessRoutes({ ip: '10.244.1.7', prefixLength: 24, gateway: '10.244.1.1', routes: [{ dest: '0.0.0.0', prefixLen: 0, gateway: '10.244.1.1' }, { dest: '10.96.0.0', prefixLen: 12, gateway: '10.244.1.1' }] }), [
    { dest: '10.96.0.0', prefixLen: 12, gateway: '10.244.1.1' }, { dest: '0.0.0.0', prefixLen: 0, gateway: '10.244.1.1' },
  ]);
  assert.deepEqual(classlessRoutes({ ip: '10.244.1.7', prefixLength: 24, gateway: '10.244.1.1', routes: [{ dest: '10.96.0.0', prefixLen: 12, gateway: '10.244.1.1' }] })?.at(-1), { dest: '0.0.0.0', prefixLen: 0, gateway: '10.244.1.1' });
  // Calico: /32 pod address, gateway 169.254.1.1.
  assert.deepEqual(classlessRoutes({ ip: '10.244.1.7', prefixLength: 32, gateway: '169.254.1.1' }), [
    { dest: '169.254.1.1', prefixLen: 32, gateway: '0.0.0.0' }, { dest: '0.0.0.0', prefixLen: 0, gateway: '169.254.1.1' },
  ]);
  // The pod's own routes already reach the gateway on-link: nothing is added but the default.
  assert.deepEqual(classlessRoutes({ ip: '10.244.1.7', prefixLength: 32, gateway: '169.254.1.1', routes: [{ dest: '169.254.0.0', prefixLen: 16, gateway: '0.0.0.0' }] }), [
    { dest: '169.254.0.0', prefixLen: 16, gateway: '0.0.0.0' }, { dest: '0.0.0.0', prefixLen: 0, gateway: '169.254.1.1' },
  ]);
  const p = prepareLease('169.254.75.10', { ...LEASE, ip: '10.244.1.7', prefixLength: 32, gateway: '169.254.1.1' });
  assert.deepEqual(decodeClasslessRoutes(p.options.get(Option.CLASSLESS_ROUTES)!), p.routes);
});

test('DISCOVER → OFFER of the lease, broadcast, with lease/T1/T2, the requested options first and the client id echoed', () => {
  const a = reply(request(MessageType.DISCOVER));
  assert.equal(a.event, 'offer');
  assert.deepEqual(a.to, { address: '255.255.255.255', port: 68 });
  const m = a.message;
  assert.equal(m.op, 2);
  assert.equal(m.xid, 0xb642cf13);
  assert.equal(m.yiaddr, '10.0.2.2');
  assert.equal(m.ciaddr, '0.0.0.0');
  assert.equal(messageTypeOf(m), MessageType.OFFER);
  assert.equal(ipOption(m, Option.SERVER_ID), '10.0.2.1');
  assert.equal(m.options.get(Option.LEASE_TIME)!.readUInt32BE(0), 86_313_600);
  assert.equal(m.options.get(Option.RENEWAL_TIME)!.readUInt32BE(0), 43_156_800);
  assert.equal(m.options.get(Option.REBINDING_TIME)!.readUInt32BE(0), 75_524_400);
  assert.equal(m.options.get(Option.CLIENT_ID)!.toString('hex'), '01020000000002');
  // udhcpc asked for 1 3 6 12 15 26 28 42 119 121: those we have come in its order.
  assert.deepEqual([...m.options.keys()].slice(6), [1, 3, 6, 12, 15, 26, 28, 119]);
  assert.deepEqual(a.dropped, []);
});

test('options the client did not ask for are still sent (as KubeVirt does), after the asked ones', () => {
  const a = reply(request(MessageType.DISCOVER, (m) => m.options.set(Option.PARAMETER_REQUEST_LIST, Buffer.from([6, 1]))));
  assert.deepEqual([...a.message.options.keys()].slice(6), [6, 1, 28, 3, 12, 15, 119, 26]);
});

test('REQUEST in each RFC 2131 state: SELECTING, INIT-REBOOT, RENEWING/REBINDING', () => {
  const selecting = reply(request(MessageType.REQUEST, (m) => { m.options.set(Option.SERVER_ID, encodeIpList(['10.0.2.1'])); m.options.set(Option.REQUESTED_IP, encodeIpList(['10.0.2.2'])); }));
  assert.equal(selecting.event, 'ack');
  assert.equal(selecting.message.yiaddr, '10.0.2.2');
  assert.equal(messageTypeOf(selecting.message), MessageType.ACK);

  const wrong = reply(request(MessageType.REQUEST, (m) => { m.options.set(Option.SERVER_ID, encodeIpList(['10.0.2.1'])); m.options.set(Option.REQUESTED_IP, encodeIpList(['10.0.2.9'])); }));
  assert.equal(wrong.event, 'nak');
  assert.equal(messageTypeOf(wrong.message), MessageType.NAK);
  assert.equal(wrong.message.yiaddr, '0.0.0.0');
  assert.equal(wrong.message.options.has(Option.LEASE_TIME), false);
  assert.equal(wrong.message.options.has(Option.SUBNET_MASK), false);
  assert.equal(ipOption(wrong.message, Option.SERVER_ID), '10.0.2.1');
  assert.match(wrong.reason!, /10\.0\.2\.9/);

  const otherServer = answer(request(MessageType.REQUEST, (m) => { m.options.set(Option.SERVER_ID, encodeIpList(['10.0.2.254'])); m.options.set(Option.REQUESTED_IP, encodeIpList(['10.0.2.2'])); }), prepared);
  assert.equal(otherServer.kind, 'ignore');

  assert.equal(reply(request(MessageType.REQUEST, (m) => m.options.set(Option.REQUESTED_IP, encodeIpList(['10.0.2.2'])))).event, 'ack');
  assert.equal(reply(request(MessageType.REQUEST, (m) => m.options.set(Option.REQUESTED_IP, encodeIpList(['192.168.1.5'])))).event, 'nak');

  const renew = reply(request(MessageType.REQUEST, (m) => { m.ciaddr = '10.0.2.2'; }));
  assert.equal(renew.event, 'ack');
  assert.deepEqual(renew.to, { address: '10.0.2.2', port: 68 }, 'a client with an address gets a unicast');
  assert.equal(renew.message.ciaddr, '10.0.2.2');
  const renewOther = reply(request(MessageType.REQUEST, (m) => { m.ciaddr = '10.0.2.77'; }));
  assert.equal(renewOther.event, 'nak');
  assert.deepEqual(renewOther.to, { address: '255.255.255.255', port: 68 }, 'NAKs are broadcast');

  assert.equal(answer(request(MessageType.REQUEST), prepared).kind, 'ignore', 'a REQUEST naming no address');
});

test('INFORM → ACK with configuration but no address and no lease times, unicast to ciaddr', () => {
  const a = reply(request(MessageType.INFORM, (m) => { m.ciaddr = '10.0.2.2'; }));
  assert.equal(a.event, 'inform');
  assert.equal(messageTypeOf(a.message), MessageType.ACK);
  assert.equal(a.message.yiaddr, '0.0.0.0');
  assert.equal(a.message.ciaddr, '10.0.2.2');
  for (const code of [Option.LEASE_TIME, Option.RENEWAL_TIME, Option.REBINDING_TIME]) assert.equal(a.message.options.has(code), false, `option ${code}`);
  assert.deepEqual(decodeIpList(a.message.options.get(Option.DNS)!), ['10.96.0.10']);
  assert.deepEqual(a.to, { address: '10.0.2.2', port: 68 });
});

test('RELEASE and DECLINE are reported, never answered; for another server they are ignored', () => {
  assert.deepEqual(answer(request(MessageType.RELEASE, (m) => { m.ciaddr = '10.0.2.2'; m.options.set(Option.SERVER_ID, encodeIpList(['10.0.2.1'])); }), prepared), { kind: 'note', event: 'release', ip: '10.0.2.2' });
  assert.deepEqual(answer(request(MessageType.DECLINE, (m) => { m.options.set(Option.REQUESTED_IP, encodeIpList(['10.0.2.2'])); m.options.set(Option.SERVER_ID, encodeIpList(['10.0.2.1'])); }), prepared), { kind: 'note', event: 'decline', ip: '10.0.2.2' });
  assert.equal(answer(request(MessageType.RELEASE, (m) => { m.ciaddr = '10.0.2.2'; m.options.set(Option.SERVER_ID, encodeIpList(['10.9.9.9'])); }), prepared).kind, 'ignore');
});

test('ignored: other MACs, non-Ethernet hardware, replies from other servers, unknown message types', () => {
  const ignored = (m: DhcpMessage): string => {
    const a = answer(m, prepared);
    assert.equal(a.kind, 'ignore');
    return a.kind === 'ignore' ? a.reason : '';
  };
  assert.match(ignored(request(MessageType.DISCOVER, (m) => { m.chaddr[5] = 0x99; })), /02:00:00:00:00:99 is not this VM's NIC/);
  ignored(request(MessageType.DISCOVER, (m) => { m.htype = 6; }));
  ignored(request(MessageType.DISCOVER, (m) => { m.hlen = 8; }));
  ignored(request(MessageType.OFFER, (m) => { m.op = 2; }));
  ignored(request(MessageType.ACK));
  ignored(request(42));
  ignored(request(MessageType.DISCOVER, (m) => m.options.delete(Option.MESSAGE_TYPE)));
  // MAC matching ignores case in the configured lease.
  assert.equal(answer(request(MessageType.DISCOVER), prepareLease('10.0.2.1', { ...LEASE, mac: '02:00:00:00:00:02'.toUpperCase() })).kind, 'reply');
});

test('replies keep the broadcast flag and go to a relay (giaddr) when there is one', () => {
  const a = reply(request(MessageType.DISCOVER, (m) => { m.flags = BROADCAST_FLAG | 0x1; m.giaddr = '10.0.2.254'; }));
  assert.equal(a.message.flags, BROADCAST_FLAG, 'only the broadcast bit is defined');
  assert.equal(a.message.giaddr, '10.0.2.254');
  assert.deepEqual(a.to, { address: '10.0.2.254', port: 67 });
  assert.deepEqual(destination(request(MessageType.REQUEST, (m) => { m.giaddr = '10.0.2.254'; }), true), { address: '10.0.2.254', port: 67 });
});

test('a reply larger than the client takes drops configuration options, unasked ones first; option 57 raises the limit', () => {
  const many = Array.from({ length: 12 }, (_, i) => `ns${i}.svc.cluster.local`);
  const big = prepareLease('10.0.2.1', { ...LEASE, searchDomains: many, compressSearch: false, dns: Array.from({ length: 20 }, (_, i) => `10.96.0.${i + 1}`) });
  const small = answer(request(MessageType.DISCOVER, (m) => { m.options.delete(Option.MAX_MESSAGE_SIZE); m.options.set(Option.PARAMETER_REQUEST_LIST, Buffer.from([1, 3, 6])); }), big);
  assert.equal(small.kind, 'reply');
  if (small.kind !== 'reply') return;
  assert.ok(encodeMessage(small.message).length <= 548, `${encodeMessage(small.message).length} bytes`);
  assert.ok(small.dropped.includes(Option.DOMAIN_SEARCH));
  for (const code of [Option.MESSAGE_TYPE, Option.SERVER_ID, Option.LEASE_TIME, Option.SUBNET_MASK, Option.ROUTER, Option.DNS]) assert.ok(small.message.options.has(code), `option ${code} kept`);

  const large = answer(request(MessageType.DISCOVER, (m) => m.options.set(Option.MAX_MESSAGE_SIZE, encodeUint16(1500))), big);
  assert.ok(large.kind === 'reply' && large.dropped.length === 0);
  assert.ok(large.kind === 'reply' && encodeMessage(large.message).length > 548);
});
