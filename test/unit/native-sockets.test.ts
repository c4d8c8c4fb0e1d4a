// SCM_RIGHTS fd passing and SO_PEERCRED over real unix sockets, within one process and
// across two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync, openSync, readSync, rmSync, fstatSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendFds, recvFds, socketPair, socketFd, getPeerCredentials, closeFd, cmsgLen, cmsgSpace, NativeError } from '../../native/index.js';
import { NATIVE_URL, nodeScript, killQuietly } from './native-support.js';

function tempFile(t: import('node:test').TestContext, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vn-native-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'payload');
  writeFileSync(path, content);
  return path;
}

test('CMSG_LEN/CMSG_SPACE follow the LP64 layout (16-byte header, 8-byte alignment)', () => {
  assert.equal(cmsgLen(4), 20);
  assert.equal(cmsgSpace(4), 24);
  assert.equal(cmsgSpace(8), 24);
  assert.equal(cmsgSpace(12), 32);
});

test('sendFds/recvFds: a file fd crosses a socketpair to another process, which reads the file through it', { timeout: 30_000 }, async (t) => {
  const path = tempFile(t, 'through SCM_RIGHTS\n');
  const [mine, theirs] = socketPair();
  t.after(() => { closeFd(mine); });
  // The child gets its end as fd 3 and reads the file only through the fd it receives.
  const child = nodeScript(`
    import * as n from ${JSON.stringify(NATIVE_URL)};
    import { readSync, fstatSync } from 'node:fs';
    const m = n.recvFds(3, 4, 64);
    const buf = Buffer.alloc(64);
    const len = readSync(m.fds[0], buf, 0, 64, 0);
    const cred = n.getPeerCredentials(3);
    console.log(JSON.stringify({ data: m.data.toString(), nfds: m.fds.length, text: buf.subarray(0, len).toString(), ino: fstatSync(m.fds[0]).ino, peerPid: cred.pid }));`,
  { stdio: ['ignore', 'pipe', 'pipe', theirs] });
  t.after(() => killQuietly(child.pid));
  closeFd(theirs);
  const fileFd = openSync(path, 'r');
  t.after(() => closeSync(fileFd));
  assert.equal(sendFds(mine, [fileFd], Buffer.from('getfd')), 5);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, err);
  const r = JSON.parse(out);
  assert.equal(r.data, 'getfd');
  assert.equal(r.nfds, 1);
  assert.equal(r.text, 'through SCM_RIGHTS\n');
  assert.equal(r.ino, fstatSync(fileFd).ino);
  assert.equal(r.peerPid, process.pid, 'a socketpair records its creator as the peer');
});

test('sendFds over a net.Socket (the QMP case) and recvFds on the accepted, paused server socket', { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-native-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = tempFile(t, 'tap stand-in');
  const server = net.createServer({ pauseOnConnect: true });
  server.listen(join(dir, 'qmp.sock'));
  await once(server, 'listening');
  t.after(() => server.close());
  assert.equal(typeof socketFd(server), 'number');
  const accepted = once(server, 'connection');
  const client = net.connect(join(dir, 'qmp.sock'));
  await once(client, 'connect');
  t.after(() => client.destroy());
  const [conn] = (await accepted) as [net.Socket];
  t.after(() => conn.destroy());

  const a = openSync(path, 'r');
  const b = openSync(path, 'r');
  t.after(() => { closeSync(a); closeSync(b); });
  assert.equal(client.writableLength, 0);
  const cmd = Buffer.from('{"execute":"getfd","arguments":{"fdname":"tap0"}}');
  assert.equal(sendFds(socketFd(client), [a, b], cmd), cmd.length);

  const m = recvFds(socketFd(conn), 4, 4096);
  t.after(() => { for (const fd of m.fds) closeFd(fd); });
  assert.equal(m.data.toString(), cmd.toString());
  assert.equal(m.fds.length, 2);
  for (const fd of m.fds) {
    assert.ok(fd !== a && fd !== b, 'received fds are new descriptors');
    const buf = Buffer.alloc(32);
    assert.equal(buf.subarray(0, readSync(fd, buf, 0, 32, 0)).toString(), 'tap stand-in');
  }
  // Peer credentials of a connected net.Socket pair: both ends are this process.
  assert.deepEqual(getPeerCredentials(socketFd(conn)), { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  assert.deepEqual(getPeerCredentials(socketFd(client)), { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  // Nothing more queued: a non-blocking socket says EAGAIN rather than blocking.
  assert.throws(() => recvFds(socketFd(conn), 1, 16), (e: unknown) => e instanceof NativeError && e.errnoName === 'EAGAIN');
});

test('getPeerCredentials: the peer of a socket accepted from another process is that process', { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-native-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sockPath = join(dir, 'handler.sock');
  const server = net.createServer();
  server.listen(sockPath);
  await once(server, 'listening');
  t.after(() => server.close());
  const accepted = once(server, 'connection');
  const child = nodeScript(`import * as net from 'node:net'; const s = net.connect(${JSON.stringify(sockPath)}); s.on('connect', () => console.log('connected')); setTimeout(() => {}, 10000);`);
  t.after(() => killQuietly(child.pid));
  const [conn] = (await accepted) as [net.Socket];
  t.after(() => conn.destroy());
  assert.deepEqual(getPeerCredentials(socketFd(conn)), { pid: child.pid, uid: 0, gid: 0 });
  assert.notEqual(child.pid, process.pid);
});

test('recvFds: more fds than room is an error (MSG_CTRUNC), not a silent loss; bad input is named', (t) => {
  const [a, b] = socketPair();
  t.after(() => { closeFd(a); closeFd(b); });
  const f1 = openSync('/dev/null', 'r');
  const f2 = openSync('/dev/null', 'r');
  const f3 = openSync('/dev/null', 'r');
  t.after(() => { closeSync(f1); closeSync(f2); closeSync(f3); });
  sendFds(a, [f1, f2, f3], Buffer.from('x'));
  assert.throws(() => recvFds(b, 1, 16), /MSG_CTRUNC/);
  assert.throws(() => sendFds(a, [f1], Buffer.alloc(0)), /must not be empty/);
  assert.throws(() => sendFds(a, [], Buffer.from('x')), /between 1 and 253 fds/);
  assert.throws(() => sendFds(a, [987654], Buffer.from('x')), (e: unknown) => e instanceof NativeError && e.errnoName === 'EBADF' && /^sendmsg\(fd \d+, SCM_RIGHTS 1\)/.test(e.message));
  assert.throws(() => getPeerCredentials(f1), (e: unknown) => e instanceof NativeError && e.errnoName === 'ENOTSOCK');
  assert.throws(() => socketFd(new net.Socket()), /cannot get the fd of this net.Socket: it has no handle/);
});
