// setns/unshare and tap creation against real network namespaces. Entering a namespace
// moves only the calling thread, so each test that enters one does it in a child node
// process and this process never changes namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, closeSync, statSync, readlinkSync } from 'node:fs';
import { setns, unshare, openTap, CLONE_NEWNET, CLONE_NEWUTS, NativeError } from '../../native/index.js';
import { NATIVE_URL, nodeScript, readLines, runScript, killQuietly } from './native-support.js';

const TUN = '/dev/net/tun';
const tunMissing = existsSync(TUN) ? false : `${TUN} is missing on this machine`;

/** A fresh named netns (ip netns add), deleted after the test whatever happens. */
function netns(t: import('node:test').TestContext, tag: string): string {
  const name = `vn-${tag}-${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.after(() => { try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }); } catch { /* already gone */ } });
  return name;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const nsInode = (path: string): number => statSync(path).ino;
const ownNetInode = (): number => Number(/\[(\d+)\]/.exec(readlinkSync('/proc/thread-self/ns/net'))![1]);

test('setns: a child enters a netns made by `ip netns add`; its thread namespace becomes that one, ours does not', { timeout: 30_000 }, async (t) => {
  const name = netns(t, 'setns');
  const before = ownNetInode();
  const out = await runScript(`
    import * as n from ${JSON.stringify(NATIVE_URL)};
    import { openSync, readlinkSync } from 'node:fs';
    const fd = openSync('/run/netns/${name}', 'r');
    n.setns(fd, n.CLONE_NEWNET);
    console.log(readlinkSync('/proc/thread-self/ns/net'));`);
  assert.equal(out.trim(), `net:[${nsInode(`/run/netns/${name}`)}]`);
  assert.equal(ownNetInode(), before, 'this process must stay where it was');
  assert.notEqual(before, nsInode(`/run/netns/${name}`));
});

test('withNetns: a child makes a tap inside a netns and comes back to its own namespace', { skip: tunMissing, timeout: 30_000 }, async (t) => {
  const name = netns(t, 'with');
  const out = await runScript(`
    import * as n from ${JSON.stringify(NATIVE_URL)};
    import { readlinkSync } from 'node:fs';
    import { execFileSync } from 'node:child_process';
    const home = readlinkSync('/proc/thread-self/ns/net');
    let inside;
    const fd = n.withNetns('/run/netns/${name}', () => { inside = readlinkSync('/proc/thread-self/ns/net'); return n.openTap('vnwith0'); });
    const back = readlinkSync('/proc/thread-self/ns/net');
    const seen = execFileSync('ip', ['-n', '${name}', '-o', 'link', 'show', 'vnwith0'], { encoding: 'utf8' });
    let thrown;
    try { n.withNetns('/run/netns/${name}', () => { throw new Error('boom'); }); } catch (e) { thrown = e.message; }
    const afterThrow = readlinkSync('/proc/thread-self/ns/net');
    n.closeFd(fd);
    console.log(JSON.stringify({ home, inside, back, seen, thrown, afterThrow }));`);
  const r = JSON.parse(out);
  assert.equal(r.inside, `net:[${nsInode(`/run/netns/${name}`)}]`);
  assert.equal(r.back, r.home);
  assert.match(r.seen, /vnwith0/);
  assert.equal(r.thrown, 'boom');
  assert.equal(r.afterThrow, r.home, 'withNetns must move back even when fn throws');
  assert.doesNotMatch(ip('-o', 'link', 'show'), /vnwith0/, 'the tap must not appear in the host namespace');
});

test('unshare(CLONE_NEWNET): a child gets a namespace of its own', { timeout: 30_000 }, async () => {
  const out = await runScript(`
    import * as n from ${JSON.stringify(NATIVE_URL)};
    import { readlinkSync } from 'node:fs';
    const a = readlinkSync('/proc/thread-self/ns/net');
    n.unshare(n.CLONE_NEWNET);
    console.log(JSON.stringify([a, readlinkSync('/proc/thread-self/ns/net')]));`);
  const [before, after] = JSON.parse(out) as [string, string];
  assert.equal(before, `net:[${ownNetInode()}]`);
  assert.notEqual(after, before);
  assert.match(after, /^net:\[\d+\]$/);
});

test('setns/unshare: failures name the call, the flags and errno, and change nothing', (t) => {
  const name = netns(t, 'err');
  const before = ownNetInode();
  const fd = openSync(`/run/netns/${name}`, 'r');
  t.after(() => closeSync(fd));
  assert.throws(() => setns(fd, CLONE_NEWUTS), (e: unknown) =>
    e instanceof NativeError && e.errnoName === 'EINVAL' && /^setns\(fd \d+, CLONE_NEWUTS\): invalid argument \(EINVAL\)/.test(e.message));
  const notNs = openSync('/etc/hostname', 'r');
  t.after(() => closeSync(notNs));
  assert.throws(() => setns(notNs, CLONE_NEWNET), (e: unknown) => e instanceof NativeError && e.errnoName === 'EINVAL');
  assert.throws(() => unshare(0x1), (e: unknown) => e instanceof NativeError && /^unshare\(0x1\)/.test(e.message) && e.errnoName === 'EINVAL');
  assert.equal(ownNetInode(), before);
});

test('openTap: a child under `ip netns exec` makes a multi-queue vnet_hdr tap that `ip link` sees, gone when its fds close unless persistent', { skip: tunMissing, timeout: 30_000 }, async (t) => {
  const name = netns(t, 'tap');
  const child = nodeScript(`
    import * as n from ${JSON.stringify(NATIVE_URL)};
    const q0 = n.openTap('vntap0', { multiQueue: true, vnetHdr: true });
    const q1 = n.openTap('vntap0', { multiQueue: true, vnetHdr: true });
    const plain = n.openTap('vntap1');
    console.log('ready');
    process.stdin.once('data', () => { n.setTapPersist(plain, true); n.closeFd(q0); n.closeFd(q1); n.closeFd(plain); console.log('closed'); process.stdin.once('data', () => process.exit(0)); });`,
  { argv0: ['ip', 'netns', 'exec', name], stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => killQuietly(child.pid));
  const lines = readLines(child, 2);
  await new Promise((r) => child.stdout!.once('data', r));
  const mq = ip('-n', name, '-d', 'link', 'show', 'vntap0');
  assert.match(mq, /tun type tap pi off vnet_hdr on multi_queue numqueues 2/);
  const plain = ip('-n', name, '-d', 'link', 'show', 'vntap1');
  assert.match(plain, /tun type tap pi off vnet_hdr off persist off/);
  assert.doesNotMatch(ip('-o', 'link', 'show'), /vntap[01]/, 'taps must be made in the child\'s netns only');
  child.stdin!.write('close\n');
  assert.deepEqual((await lines)[1], 'closed');
  assert.doesNotMatch(ip('-n', name, '-o', 'link', 'show'), /vntap0/, 'a non-persistent tap goes with its last fd');
  assert.match(ip('-n', name, '-d', 'link', 'show', 'vntap1'), /persist on/, 'a persistent tap outlives its fd (removed with the netns)');
  child.stdin!.write('exit\n');
});

test('openTap: a bad name or a clash with a non-tap device is a clear error', { skip: tunMissing }, () => {
  assert.throws(() => openTap('a-much-too-long-name'), /interface name must be 1-15 bytes/);
  assert.throws(() => openTap('bad/name'), /interface name/);
  // "lo" exists in every namespace and is not a tap: refused, and the host keeps its loopback.
  assert.throws(() => openTap('lo'), (e: unknown) => e instanceof NativeError && e.errnoName === 'EINVAL' && /^TUNSETIFF\("lo"\)/.test(e.message));
});

test('openTap: without /dev/net/tun the error says the device is missing (child in a private mount namespace)', { timeout: 30_000 }, async () => {
  // A tmpfs over /dev/net hides the device only inside `unshare -m`.
  const out = await runScript(`
    import * as n from ${JSON.stringify(NATIVE_URL)};
    try { n.openTap('vntap0'); console.log('opened?!'); } catch (e) { console.log(e.code + ' ' + e.message); }`,
  ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /dev/net && exec "$@"', 'sh']);
  assert.match(out.trim(), /^VN_NATIVE TUNSETIFF\("vntap0"\): cannot open \/dev\/net\/tun: ENOENT: \/dev\/net\/tun is missing/);
});
