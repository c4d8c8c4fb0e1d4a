// The DHCP codec against byte vectors from outside this code: a DHCPDISCOVER captured
// from busybox udhcpc 1.35 on a veth, and the worked examples of RFC 3442 and RFC 3397.
// Malformed input must come back as DhcpDecodeError and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  BOOTREPLY, BOOTREQUEST, BOOTP_MIN_SIZE, DhcpDecodeError, MessageType, Option,
  decodeMessage, encodeMessage, decodeOptions, encodeOptions, emptyMessage,
  encodeClasslessRoutes, decodeClasslessRoutes, encodeDomainSearch, decodeDomainSearch,
  encodeIpList, decodeIpList, hardwareAddressOf, messageTypeOf, ipOption, isSearchDomain, optionWireSize,
} from '../../launcher/network/dhcp-packet.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// `busybox udhcpc -i eth0 -x hostname:guest1 -O 121 -O 119 -O 26` on an interface with
// MAC 02:00:00:00:00:02, received by a UDP socket on the bridge: 300 bytes.
const UDHCPC_DISCOVER = hex(
  '01010600b642cf13000000000000000000000000000000000000000002000000' +
  '0002' + '00'.repeat(202) +
  '63825363' +
  '350101' + '39020240' + '370a0103060c0f1a1c2a7779' + '0c06677565737431' +
  '3c0c756468637020312e33352e30' + '3d0701020000000002' + 'ff' + '00'.repeat(9),
);

test('decodes a real udhcpc DHCPDISCOVER field by field', () => {
  assert.equal(UDHCPC_DISCOVER.length, 300);
  const m = decodeMessage(UDHCPC_DISCOVER);
  assert.equal(m.op, BOOTREQUEST);
  assert.equal(m.htype, 1);
  assert.equal(m.hlen, 6);
  assert.equal(m.xid, 0xb642cf13);
  assert.equal(m.flags, 0);
  assert.equal(m.ciaddr, '0.0.0.0');
  assert.equal(hardwareAddressOf(m), '02:00:00:00:00:02');
  assert.equal(messageTypeOf(m), MessageType.DISCOVER);
  assert.deepEqual([...m.options.keys()], [53, 57, 55, 12, 60, 61]);
  assert.equal(m.options.get(Option.MAX_MESSAGE_SIZE)!.readUInt16BE(0), 576);
  assert.deepEqual([...m.options.get(Option.PARAMETER_REQUEST_LIST)!], [1, 3, 6, 12, 15, 26, 28, 42, 119, 121]);
  assert.equal(m.options.get(Option.HOSTNAME)!.toString(), 'guest1');
  assert.equal(m.options.get(60)!.toString(), 'udhcp 1.35.0');
  assert.equal(m.options.get(Option.CLIENT_ID)!.toString('hex'), '01020000000002');
  assert.equal(ipOption(m, Option.REQUESTED_IP), undefined);
});

test('re-encoding the decoded udhcpc DISCOVER gives back the same 300 bytes', () => {
  assert.deepEqual(encodeMessage(decodeMessage(UDHCPC_DISCOVER)), UDHCPC_DISCOVER);
});

test('a reply round-trips through encode/decode with every header field and option intact', () => {
  const m = emptyMessage(BOOTREPLY);
  Object.assign(m, { hops: 1, xid: 0xfedcba98, secs: 7, flags: 0x8000, ciaddr: '10.0.2.2', yiaddr: '10.0.2.3', siaddr: '10.0.2.4', giaddr: '10.0.2.5', sname: 'srv', file: 'boot/pxe' });
  m.chaddr = Buffer.from('0200000000aa' + '00'.repeat(10), 'hex');
  m.options.set(Option.MESSAGE_TYPE, Buffer.from([MessageType.ACK]));
  m.options.set(Option.SERVER_ID, encodeIpList(['10.0.2.1']));
  m.options.set(Option.DNS, encodeIpList(['10.96.0.10', '8.8.8.8']));
  m.options.set(Option.HOSTNAME, Buffer.from('vmi'));
  m.options.set(80, Buffer.alloc(0)); // rapid commit: a zero-length option
  const wire = encodeMessage(m);
  assert.equal(wire.length, BOOTP_MIN_SIZE, 'short replies are padded to the BOOTP minimum');
  const back = decodeMessage(wire);
  assert.deepEqual({ ...back, options: undefined }, { ...m, options: undefined });
  assert.deepEqual([...back.options], [...m.options]);
  assert.deepEqual(decodeIpList(back.options.get(Option.DNS)!), ['10.96.0.10', '8.8.8.8']);
  assert.equal(wire[240 + 3 + 6 + 10 + 5 + 2], Option.END, 'END right after the last option');
});

test('options longer than 255 bytes are split into consecutive instances and joined again (RFC 3396)', () => {
  const long = randomBytes(600);
  const wire = encodeOptions(new Map([[Option.DOMAIN_SEARCH, long]]));
  assert.deepEqual([wire[0], wire[1]], [119, 255]);
  assert.deepEqual([wire[257], wire[258]], [119, 255]);
  assert.deepEqual([wire[514], wire[515]], [119, 90]);
  assert.equal(wire.at(-1), Option.END);
  assert.equal(wire.length, optionWireSize(long) + 1);
  assert.deepEqual(decodeOptions(wire).get(Option.DOMAIN_SEARCH), long);
});

test('RFC 3442 §2: each example destination is encoded with only its significant octets', () => {
  // The RFC's table, each followed by router 10.0.0.1 (0a000001).
  const cases: Array<[string, number, string]> = [
    ['0.0.0.0', 0, '00'],
    ['10.0.0.0', 8, '080a'],
    ['10.17.0.0', 16, '100a11'],
    ['10.27.129.0', 24, '180a1b81'],
    ['10.229.0.128', 25, '190ae50080'],
    ['10.198.122.47', 32, '200ac67a2f'],
  ];
  for (const [dest, prefixLen, bytes] of cases) {
    const route = { dest, prefixLen, gateway: '10.0.0.1' };
    assert.equal(encodeClasslessRoutes([route]).toString('hex'), `${bytes}0a000001`, `${dest}/${prefixLen}`);
    assert.deepEqual(decodeClasslessRoutes(hex(`${bytes}0a000001`)), [route]);
  }
  const all = cases.map(([dest, prefixLen]) => ({ dest, prefixLen, gateway: '10.0.0.1' }));
  assert.deepEqual(decodeClasslessRoutes(encodeClasslessRoutes(all)), all);
});

test('RFC 3442: KubeVirt\'s own example (10.0.0.0/8 via 10.1.2.3, 192.168.1.0/24 via 192.168.2.3)', () => {
  const wire = encodeClasslessRoutes([{ dest: '10.0.0.0', prefixLen: 8, gateway: '10.1.2.3' }, { dest: '192.168.1.0', prefixLen: 24, gateway: '192.168.2.3' }]);
  assert.deepEqual([...wire], [8, 10, 10, 1, 2, 3, 24, 192, 168, 1, 192, 168, 2, 3]);
});

test('RFC 3442: a destination with host bits set, or a width over 32, is refused', () => {
  assert.throws(() => encodeClasslessRoutes([{ dest: '10.0.0.1', prefixLen: 8, gateway: '0.0.0.0' }]), /host bits/);
  assert.throws(() => encodeClasslessRoutes([{ dest: '10.0.0.0', prefixLen: 33, gateway: '0.0.0.0' }]), RangeError);
  assert.throws(() => decodeClasslessRoutes(hex('210a0000010a000001')), DhcpDecodeError);
  assert.throws(() => decodeClasslessRoutes(hex('180a1b810a0000')), /runs past/);
});

test('RFC 3397 §3: the search list eng.apple.com, marketing.apple.com encodes to the RFC\'s 27 bytes', () => {
  // The RFC shows it as three option-119 instances of 9 bytes each.
  const rfc = hex(
    '7709' + '03656e6705617070' + '6c' +
    '7709' + '6503636f6d00096d61' +
    '7709' + '726b6574696e67c004' + 'ff',
  );
  const data = decodeOptions(rfc).get(Option.DOMAIN_SEARCH)!;
  assert.equal(data.length, 27);
  assert.deepEqual(encodeDomainSearch(['eng.apple.com', 'marketing.apple.com']), data);
  assert.deepEqual(decodeDomainSearch(data), ['eng.apple.com', 'marketing.apple.com']);
});

test('RFC 1035 §3.1 uncompressed: example.com is 7 example 3 com 0; compression can be turned off', () => {
  assert.equal(encodeDomainSearch(['example.com']).toString('hex'), '076578616d706c6503636f6d00');
  const plain = encodeDomainSearch(['eng.apple.com', 'marketing.apple.com'], { compress: false });
  assert.equal(plain.length, 15 + 21);
  assert.equal(plain.includes(0xc0), false);
  assert.deepEqual(decodeDomainSearch(plain), ['eng.apple.com', 'marketing.apple.com']);
});

test('Kubernetes\' nested search domains compress to a third of their plain size', () => {
  const k8s = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
  const packed = encodeDomainSearch(k8s);
  // default.svc.cluster.local in full (27), then a pointer each for the two suffixes.
  assert.equal(packed.toString('hex'), '0764656661756c74037376630763' + '6c7573746572056c6f63616c00' + 'c008' + 'c00c');
  assert.equal(packed.length, 31);
  assert.equal(encodeDomainSearch(k8s, { compress: false }).length, 27 + 19 + 15);
  assert.deepEqual(decodeDomainSearch(packed), k8s);
});

test('search domain names are checked (labels, lengths, characters)', () => {
  for (const ok of ['cluster.local', 'a', 'my_ns.svc.cluster.local', 'x-1.example.', 'a'.repeat(63) + '.com']) assert.equal(isSearchDomain(ok), true, ok);
  for (const bad of ['', '.', 'a..b', '-a.com', 'a-.com', 'bad domain', 'a'.repeat(64) + '.com', 'é.com', `${'a.'.repeat(127)}aa`]) assert.equal(isSearchDomain(bad), false, bad);
  assert.throws(() => encodeDomainSearch(['bad domain']), RangeError);
});

test('malformed option 119 is a DhcpDecodeError: forward and self pointers, reserved label types, overruns, names over 255 bytes', () => {
  const bad = {
    'pointer to itself': '03616263c003',
    'pointer forwards': 'c00203616263' + '00',
    'pointer loop between two names': '0161c004' + '0162c000',
    'reserved label type 0x40': '4161' + '00',
    'label past the end': '0561626300',
    'no root label': '03616263',
    'cut pointer': '03616263c0',
    'name over 255 bytes': ('3f' + '61'.repeat(63)).repeat(5) + '00',
  };
  for (const [what, h] of Object.entries(bad)) assert.throws(() => decodeDomainSearch(hex(h)), DhcpDecodeError, what);
});

test('malformed messages are DhcpDecodeError: short, no cookie, hlen > 16, option overruns', () => {
  const good = Buffer.from(UDHCPC_DISCOVER);
  const cases: Record<string, Buffer> = {
    empty: Buffer.alloc(0),
    'header only': good.subarray(0, 239),
    'plain BOOTP (no cookie)': Buffer.concat([good.subarray(0, 236), hex('00000000ff')]),
    'hlen 17': (() => { const b = Buffer.from(good); b[2] = 17; return b; })(),
    'length past the end': Buffer.concat([good.subarray(0, 240), hex('0c10414243')]),
    'code without length': Buffer.concat([good.subarray(0, 240), hex('350101' + '0c')]),
  };
  for (const [what, buf] of Object.entries(cases)) assert.throws(() => decodeMessage(buf), DhcpDecodeError, what);
  assert.throws(() => decodeIpList(hex('0a0000')), DhcpDecodeError);
});

test('tolerated: options without END, pads anywhere; option overload (52) leaves sname/file unread', () => {
  const noEnd = decodeMessage(Buffer.concat([UDHCPC_DISCOVER.subarray(0, 240), hex('00 350101 00 00 3204 0a000202')]));
  assert.equal(messageTypeOf(noEnd), MessageType.DISCOVER);
  assert.equal(ipOption(noEnd, Option.REQUESTED_IP), '10.0.2.2');
  const overloaded = Buffer.from(UDHCPC_DISCOVER);
  overloaded.write('ZZZZ', 44, 'latin1'); // sname holding what would be options
  overloaded.write('YYYY', 108, 'latin1');
  const withOverload = Buffer.concat([overloaded.subarray(0, 240), hex('350101 340103 ff')]);
  const m = decodeMessage(withOverload);
  assert.equal(m.sname, '');
  assert.equal(m.file, '');
  assert.equal(messageTypeOf(m), MessageType.DISCOVER);
  assert.equal(decodeMessage(Buffer.concat([overloaded.subarray(0, 240), hex('350101ff')])).sname, 'ZZZZ');
});

test('20 000 random corruptions of a real DISCOVER never throw anything but DhcpDecodeError', () => {
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.from(UDHCPC_DISCOVER.subarray(0, 240 + (i % 70)));
    const flips = 1 + (i % 6);
    for (let k = 0; k < flips; k++) b[240 + Math.floor(Math.random() * (b.length - 240))] = Math.floor(Math.random() * 256);
    if (i % 7 === 0) b[2] = Math.floor(Math.random() * 256);
    try {
      const m = decodeMessage(b);
      decoded++;
      for (const [code, v] of m.options) {
        if (code === Option.DOMAIN_SEARCH) decodeDomainSearch(v);
        if (code === Option.CLASSLESS_ROUTES) decodeClasslessRoutes(v);
        if (code === Option.DNS) decodeIpList(v);
      }
    } catch (e) {
      if (!(e instanceof DhcpDecodeError)) throw e;
    }
  }
  assert.ok(decoded > 0, 'some corruptions must still decode, or the test proves nothing');
  for (let i = 0; i < 5000; i++) {
    const v = randomBytes(i % 40);
    for (const fn of [decodeDomainSearch, decodeClasslessRoutes]) {
      try { fn(v); } catch (e) { if (!(e instanceof DhcpDecodeError)) throw e; }
    }
  }
});
