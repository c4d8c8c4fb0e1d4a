// native/sockopt's device-bound UDP socket, which the DHCP server listens on, against
// the real kernel on loopback (no namespace needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { openUdp4Socket, closeFd, NativeError } from '../../native/index.js';

const port = (): number => 20000 + Math.floor(Math.random() * 20000);

test('a socket bound to device lo receives through dgram.bind({ fd }) and shows as %lo in ss', async (t) => {
  const p = port();
  const sock = dgram.createSocket('udp4');
  t.after(() => sock.close());
  sock.bind({ fd: openUdp4Socket({ port: p, address: '127.0.0.1', device: 'lo', reuseAddr: true }) });
  assert.equal(sock.address().port, p);
  let ss = '';
  try { ss = execFileSync('ss', ['-uanH', `sport = :${p}`], { encoding: 'utf8' }); } catch { /* no ss: the receive below still counts */ }
  if (ss) assert.match(ss, new RegExp(`127\\.0\\.0\\.1%lo:${p}`));
  const sender = dgram.createSocket('udp4');
  t.after(() => sender.close());
  const got = once(sock, 'message');
  sender.send(Buffer.from('ping'), p, '127.0.0.1');
  const [msg] = await got;
  assert.equal(msg.toString(), 'ping');
});

test('SO_REUSEADDR decides whether a second socket may take the same port', (t) => {
  const p = port();
  const a = openUdp4Socket({ port: p, address: '127.0.0.1', reuseAddr: true });
  t.after(() => closeFd(a));
  const b = openUdp4Socket({ port: p, address: '127.0.0.1', reuseAddr: true });
  closeFd(b);
  assert.throws(() => openUdp4Socket({ port: p, address: '127.0.0.1' }), (e: unknown) => e instanceof NativeError && e.errnoName === 'EADDRINUSE' && /^bind\(/.test(e.message));
});

test('errors name the device, the address or the port, and leak no fd', () => {
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const before = fds();
  assert.throws(() => openUdp4Socket({ port: 0, device: 'vn-nodev0' }), /no network device "vn-nodev0" in this network namespace/);
  assert.throws(() => openUdp4Socket({ port: 0, device: 'x'.repeat(16) }), /interface name must be 1-15 bytes/);
  assert.throws(() => openUdp4Socket({ port: 0, address: '10.0.0' }), /dotted IPv4/);
  assert.throws(() => openUdp4Socket({ port: 70000 }), /port must be 0-65535/);
  for (let i = 0; i < 20; i++) assert.throws(() => openUdp4Socket({ port: 0, device: 'vn-nodev0' }), NativeError);
  assert.equal(fds(), before);
});
