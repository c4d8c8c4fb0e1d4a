// The launcher's DHCP server against real DHCP clients on a real link. Netns "pod"
// holds the bridge k6t-eth0 (as virt-launcher's pod does) with one veth end as a port;
// the other end sits in netns "guest" with the VM NIC's MAC and plays the guest. The
// server runs in a child node process started with `ip netns exec pod`; the clients
// are Debian busybox's udhcpc and a hand-rolled one for what udhcpc never sends.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readlinkSync } from 'node:fs';
import { pino } from 'pino';
import { DhcpServer, type DhcpEvent } from '../../launcher/network/dhcp-server.js';

const HELPERS = resolve(import.meta.dirname, 'helpers');
const SERVER = join(HELPERS, 'dhcp-server.js');
const CLIENT = join(HELPERS, 'dhcp-client.js');
const GUEST_MAC = '02:00:00:00:00:02';
const TAG = `vn-dhcp-${process.pid}`;
let seq = 0;

function missing(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, port 67)';
  for (const [cmd, args] of [['ip', ['-V']], ['busybox', ['udhcpc', '--help']], ['ss', ['-V']]] as const) {
    try { execFileSync(cmd, args, { stdio: 'ignore' }); } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return `${cmd} is not installed`; }
  }
  return false;
}
const skip = missing();

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ip = (...args: string[]): string => run('ip', args);

interface Lab {
  pod: string;
  guest: string;
  /** Processes to kill before the namespaces go. */
  procs: ChildProcess[];
  dir: string;
}

/** Two fresh namespaces joined by a veth whose pod end is a port of k6t-eth0; all removed after the test. */
function lab(t: TestContext, bridgeAddrs: string[]): Lab {
  const n = ++seq;
  const l: Lab = { pod: `${TAG}-${n}-pod`, guest: `${TAG}-${n}-guest`, procs: [], dir: mkdtempSync(join(tmpdir(), 'vn-dhcp-')) };
  t.after(async () => {
    for (const p of l.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await Promise.all(l.procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
    for (const ns of [l.pod, l.guest]) try { ip('netns', 'del', ns); } catch { /* never made */ }
    rmSync(l.dir, { recursive: true, force: true });
  });
  ip('netns', 'add', l.pod);
  ip('netns', 'add', l.guest);
  ip('-n', l.pod, 'link', 'add', 'k6t-eth0', 'type', 'bridge');
  for (const a of bridgeAddrs) ip('-n', l.pod, 'addr', 'add', a, 'dev', 'k6t-eth0');
  ip('-n', l.pod, 'link', 'add', 'tap0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', l.guest);
  ip('-n', l.pod, 'link', 'set', 'tap0', 'master', 'k6t-eth0', 'up');
  ip('-n', l.pod, 'link', 'set', 'k6t-eth0', 'up');
  ip('-n', l.guest, 'link', 'set', 'eth0', 'address', GUEST_MAC, 'up');
  ip('-n', l.guest, 'link', 'set', 'lo', 'up');
  return l;
}

interface RunningServer {
  events: DhcpEvent[];
  log(): string;
  stop(): Promise<void>;
}

/** Starts the DhcpServer in the pod netns; resolves once it listens. */
async function startServer(l: Lab, config: object): Promise<RunningServer> {
  const child = spawn('ip', ['netns', 'exec', l.pod, process.execPath, SERVER, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  l.procs.push(child);
  const events: DhcpEvent[] = [];
  let log = '';
  let buf = '';
  child.stderr!.on('data', (d) => { log += d; });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`DHCP server did not start: ${log}`)), 10_000);
    child.stdout!.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (line.ready) { clearTimeout(timer); ready(); }
        if (line.error) { clearTimeout(timer); fail(new Error(`DHCP server failed: ${line.error}`)); }
        if (line.event) events.push(line.event);
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`DHCP server exited (${code}): ${log}`)); });
  });
  return {
    events,
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      await exited;
    },
  };
}

interface UdhcpcResult {
  code: number | null;
  /** One record per script call: {event, ip, subnet, ...}. */
  calls: Record<string, string>[];
  stderr: string;
  ms: number;
}

const VARS = ['ip', 'subnet', 'router', 'dns', 'domain', 'search', 'mtu', 'staticroutes', 'hostname', 'broadcast', 'lease', 'serverid'];

/** busybox udhcpc in the guest netns, with a script that only prints what it was given. */
async function udhcpc(l: Lab, args: string[]): Promise<UdhcpcResult> {
  const script = join(l.dir, 'udhcpc.script');
  writeFileSync(script, `#!/bin/sh\necho "event=$1"\n${VARS.map((v) => `echo "${v}=\${${v}}"`).join('\n')}\n`, { mode: 0o755 });
  const started = Date.now();
  const child = spawn('ip', ['netns', 'exec', l.guest, 'busybox', 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-s', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  l.procs.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const calls: Record<string, string>[] = [];
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const [k, v] = [line.slice(0, eq), line.slice(eq + 1)];
    if (k === 'event') calls.push({ event: v });
    else if (calls.length > 0) calls.at(-1)![k] = v;
  }
  return { code, calls, stderr: err, ms: Date.now() - started };
}

/** The hand-rolled client in the guest netns. */
async function client(l: Lab, job: object): Promise<{ reply?: { op: number; type: number; yiaddr: string; ciaddr: string; options: Record<string, string> }; timeout?: boolean; from?: string }> {
  const child = spawn('ip', ['netns', 'exec', l.guest, process.execPath, CLIENT, JSON.stringify({ interface: 'eth0', mac: GUEST_MAC, timeoutMs: 1500, ...job })], { stdio: ['ignore', 'pipe', 'pipe'] });
  l.procs.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 0, `client failed: ${err}`);
  return JSON.parse(out.trim());
}

const masqueradeLease = {
  mac: GUEST_MAC,
  ip: '10.0.2.2',
  prefixLength: 24,
  gateway: '10.0.2.1',
  dns: ['10.96.0.10', '10.96.0.11'],
  searchDomains: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
  hostname: 'testvmi',
  mtu: 1400,
};

const bound = (r: UdhcpcResult): Record<string, string> => {
  const call = r.calls.find((c) => c.event === 'bound');
  assert.ok(call, `udhcpc got no lease (exit ${r.code}): ${r.stderr}`);
  return call;
};

test('masquerade lease: busybox udhcpc gets 10.0.2.2/24, router 10.0.2.1, the DNS servers, search list, domain, hostname and MTU', { skip, timeout: 30_000 }, async (t) => {
  const l = lab(t, ['10.0.2.1/24']);
  const server = await startServer(l, { interface: 'k6t-eth0', serverIp: '10.0.2.1', lease: masqueradeLease });

  // A second VM NIC's server in the same pod, on its own bridge, with a lease for the
  // same MAC: it must hear nothing from k6t-eth0, or SO_BINDTODEVICE is not working.
  ip('-n', l.pod, 'link', 'add', 'k6t-net1', 'type', 'bridge');
  ip('-n', l.pod, 'addr', 'add', '10.0.3.1/24', 'dev', 'k6t-net1');
  ip('-n', l.pod, 'link', 'set', 'k6t-net1', 'up');
  const other = await startServer(l, { interface: 'k6t-net1', serverIp: '10.0.3.1', lease: { ...masqueradeLease, ip: '10.0.3.2' } });
  const sockets = run('ip', ['netns', 'exec', l.pod, 'ss', '-uanH', 'sport = :67']);
  assert.match(sockets, /0\.0\.0\.0%k6t-eth0:67/);
  assert.match(sockets, /0\.0\.0\.0%k6t-net1:67/);

  const r = await udhcpc(l, ['-t', '3', '-T', '2']);
  assert.equal(r.code, 0, r.stderr);
  const lease = bound(r);
  assert.equal(lease.ip, '10.0.2.2');
  assert.equal(lease.subnet, '255.255.255.0');
  assert.equal(lease.router, '10.0.2.1');
  assert.equal(lease.dns, '10.96.0.10 10.96.0.11');
  // Option 119 went out compressed (RFC 1035 pointers); busybox's decoder expands it.
  assert.equal(lease.search, 'default.svc.cluster.local svc.cluster.local cluster.local');
  assert.equal(lease.domain, 'default.svc.cluster.local');
  assert.equal(lease.hostname, 'testvmi');
  assert.equal(lease.mtu, '1400');
  assert.equal(lease.broadcast, '10.0.2.255');
  assert.equal(lease.serverid, '10.0.2.1');
  assert.equal(lease.lease, String(999 * 24 * 3600));
  assert.equal(lease.staticroutes, '', 'no option 121 when the gateway is on the subnet and no routes are given');
  assert.deepEqual(server.events.map((e) => [e.type, e.mac, e.ip]), [['offer', GUEST_MAC, '10.0.2.2'], ['ack', GUEST_MAC, '10.0.2.2']]);
  assert.deepEqual(other.events, [], 'the server on k6t-net1 saw the DHCPDISCOVER from k6t-eth0');

  // The lease works on the link: the guest configured with it reaches its gateway.
  ip('-n', l.guest, 'addr', 'add', `${lease.ip}/24`, 'dev', 'eth0');
  run('ip', ['netns', 'exec', l.guest, 'busybox', 'ping', '-c', '1', '-W', '2', lease.router!]);
  await server.stop();
  await other.stop();
});

test('a different MAC gets no answer: udhcpc gives up, the server reports nothing', { skip, timeout: 30_000 }, async (t) => {
  const l = lab(t, ['10.0.2.1/24']);
  const server = await startServer(l, { interface: 'k6t-eth0', serverIp: '10.0.2.1', lease: masqueradeLease });
  ip('-n', l.guest, 'link', 'set', 'eth0', 'address', '02:00:00:00:00:99');
  const r = await udhcpc(l, ['-t', '2', '-T', '1']);
  assert.notEqual(r.code, 0);
  assert.equal(r.calls.find((c) => c.event === 'bound'), undefined);
  assert.match(r.stderr, /no lease/);
  assert.deepEqual(server.events, []);
  assert.match(server.log(), /02:00:00:00:00:99 is not this VM's NIC/);

  // The right MAC on the same link still gets its lease from the same server.
  ip('-n', l.guest, 'link', 'set', 'eth0', 'address', GUEST_MAC);
  assert.equal(bound(await udhcpc(l, ['-t', '3', '-T', '1'])).ip, '10.0.2.2');
  await server.stop();
});

test('REQUEST: another address gets a broadcast NAK, another server id gets silence, the leased address gets an ACK', { skip, timeout: 30_000 }, async (t) => {
  const l = lab(t, ['10.0.2.1/24']);
  const server = await startServer(l, { interface: 'k6t-eth0', serverIp: '10.0.2.1', lease: masqueradeLease });

  const nak = await client(l, { messageType: 3, requestedIp: '10.0.2.99', serverId: '10.0.2.1', clientId: '01020000000002' });
  assert.equal(nak.reply?.op, 2);
  assert.equal(nak.reply?.type, 6, 'DHCPNAK');
  assert.equal(nak.reply?.yiaddr, '0.0.0.0');
  assert.equal(nak.reply?.options['54'], '0a000201', 'server id 10.0.2.1');
  assert.equal(nak.reply?.options['61'], '01020000000002', 'client id echoed (RFC 6842)');
  assert.equal(nak.reply?.options['51'], undefined, 'a NAK carries no lease');

  const rebootNak = await client(l, { messageType: 3, requestedIp: '192.168.7.7' });
  assert.equal(rebootNak.reply?.type, 6, 'INIT-REBOOT REQUEST for a foreign address');

  const elsewhere = await client(l, { messageType: 3, requestedIp: '10.0.2.2', serverId: '10.0.2.254', timeoutMs: 1000 });
  assert.deepEqual(elsewhere, { timeout: true }, 'a REQUEST that chose another server is not ours to answer');

  const ack = await client(l, { messageType: 3, requestedIp: '10.0.2.2', serverId: '10.0.2.1' });
  assert.equal(ack.reply?.type, 5, 'DHCPACK');
  assert.equal(ack.reply?.yiaddr, '10.0.2.2');
  assert.equal(ack.reply?.options['1'], 'ffffff00');
  assert.equal(ack.reply?.options['51'], (999 * 24 * 3600).toString(16).padStart(8, '0'));
  assert.equal(ack.from, '10.0.2.1');

  assert.deepEqual(server.events.map((e) => e.type), ['nak', 'nak', 'ack']);
  await server.stop();
});

test('INFORM from the configured guest gets a unicast ACK without a lease; RELEASE is reported; garbage is dropped and the server answers on', { skip, timeout: 30_000 }, async (t) => {
  const l = lab(t, ['10.0.2.1/24']);
  const server = await startServer(l, { interface: 'k6t-eth0', serverIp: '10.0.2.1', lease: masqueradeLease });
  ip('-n', l.guest, 'addr', 'add', '10.0.2.2/24', 'dev', 'eth0');

  // Bound to 10.0.2.2, the client socket only receives what is sent to 10.0.2.2 itself.
  const inform = await client(l, { messageType: 8, ciaddr: '10.0.2.2', bindAddress: '10.0.2.2', to: '10.0.2.1' });
  assert.equal(inform.reply?.type, 5);
  assert.equal(inform.reply?.yiaddr, '0.0.0.0');
  assert.equal(inform.reply?.ciaddr, '10.0.2.2');
  assert.equal(inform.reply?.options['51'], undefined, 'no lease time in an INFORM answer (RFC 2131 §4.3.5)');
  assert.equal(inform.reply?.options['6'], '0a60000a0a60000b');
  assert.equal(inform.reply?.options['3'], '0a000201');

  const release = await client(l, { messageType: 7, ciaddr: '10.0.2.2', serverId: '10.0.2.1', bindAddress: '10.0.2.2', to: '10.0.2.1', timeoutMs: 500 });
  assert.deepEqual(release, { timeout: true }, 'RELEASE has no answer');

  const cookie = '63825363';
  const header = (n: number): string => '01010600' + '00'.repeat(n - 4);
  const garbage = [
    '', // empty datagram
    'ff'.repeat(10), // far too short
    header(236) + 'deadbeef' + '350101ff', // no magic cookie
    header(236) + cookie + '3504', // option length past the end
    header(236) + cookie + '35', // option without a length byte
    '0101ff00' + '00'.repeat(232) + cookie + '350101ff', // hlen 255
    // From the guest's own MAC, a REQUEST whose last option runs past the datagram.
    '01010600' + '00'.repeat(24) + '020000000002' + '00'.repeat(202) + cookie + '350103' + '3204' + '0a00',
  ];
  const after = await client(l, { messageType: 3, requestedIp: '10.0.2.2', garbage });
  assert.equal(after.reply?.type, 5, 'the server still answers after the garbage');
  assert.equal(after.reply?.yiaddr, '10.0.2.2');

  const log = server.log();
  assert.equal((log.match(/dropping a malformed DHCP packet/g) ?? []).length, garbage.length, log);
  assert.doesNotMatch(log, /"level":50/, 'no error-level line: malformed input is not an internal failure');
  assert.deepEqual(server.events.map((e) => [e.type, e.ip]), [['inform', '10.0.2.2'], ['release', '10.0.2.2'], ['ack', '10.0.2.2']]);
  await server.stop();
});

test('bridge binding lease: the pod address, gateway and classless static routes reach udhcpc, also for an off-subnet gateway', { skip, timeout: 30_000 }, async (t) => {
  // The bridge holds only KubeVirt's fake link-local server address, as in bridge binding.
  const l = lab(t, ['169.254.75.10/32']);
  const podLease = { mac: GUEST_MAC, ip: '10.244.1.7', prefixLength: 24, gateway: '10.244.1.1', dns: ['10.96.0.10'], searchDomains: ['ns1.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], hostname: 'vmi-bridge', mtu: 1450, routes: [{ dest: '10.96.0.0', prefixLen: 12, gateway: '10.244.1.1' }] };
  let server = await startServer(l, { interface: 'k6t-eth0', serverIp: '169.254.75.10', lease: podLease });
  let lease = bound(await udhcpc(l, ['-t', '3', '-T', '1']));
  assert.equal(lease.ip, '10.244.1.7');
  assert.equal(lease.subnet, '255.255.255.0');
  assert.equal(lease.router, '10.244.1.1');
  assert.equal(lease.serverid, '169.254.75.10');
  assert.equal(lease.mtu, '1450');
  // Option 121 (RFC 3442) overrides option 3 in the client, so the default route is in it, last.
  assert.equal(lease.staticroutes, '10.96.0.0/12 10.244.1.1 0.0.0.0/0 10.244.1.1');
  await server.stop();

  // Calico style: a /32 pod address behind a gateway no subnet contains.
  server = await startServer(l, { interface: 'k6t-eth0', serverIp: '169.254.75.10', lease: { ...podLease, prefixLength: 32, gateway: '169.254.1.1', routes: undefined } });
  lease = bound(await udhcpc(l, ['-t', '3', '-T', '1']));
  assert.equal(lease.ip, '10.244.1.7');
  assert.equal(lease.subnet, '255.255.255.255');
  assert.equal(lease.broadcast, '', 'a /32 has no broadcast address');
  assert.equal(lease.router, '169.254.1.1');
  assert.equal(lease.staticroutes, '169.254.1.1/32 0.0.0.0 0.0.0.0/0 169.254.1.1');
  await server.stop();
});

test('in-process with the netns option: a server opened from outside the pod answers, and this thread stays in its own namespace', { skip, timeout: 30_000 }, async (t) => {
  const l = lab(t, ['10.0.2.1/24']);
  const home = readlinkSync('/proc/thread-self/ns/net');
  const events: DhcpEvent[] = [];
  const server = new DhcpServer();
  t.after(() => server.stop());
  await server.start({
    interface: 'k6t-eth0', serverIp: '10.0.2.1', lease: masqueradeLease, netns: `/run/netns/${l.pod}`,
    log: pino({ level: 'silent' }), onEvent: (e) => events.push(e),
  });
  assert.equal(readlinkSync('/proc/thread-self/ns/net'), home);
  assert.equal(server.running, true);
  await assert.rejects(server.start({ interface: 'k6t-eth0', serverIp: '10.0.2.1', lease: masqueradeLease, log: pino({ level: 'silent' }) }), { code: 'VN_ILLEGAL_TRANSITION' });
  assert.equal(bound(await udhcpc(l, ['-t', '3', '-T', '1'])).ip, '10.0.2.2');
  assert.deepEqual(events.map((e) => e.type), ['offer', 'ack']);
  await server.stop();
  assert.equal(server.running, false);
  assert.doesNotMatch(run('ip', ['netns', 'exec', l.pod, 'ss', '-uanH', 'sport = :67']), /:67/, 'stop() closed the socket');
});

test('a bad lease or a missing bridge fails start() with a clear error, in the child and not as a crash', { skip, timeout: 30_000 }, async (t) => {
  const l = lab(t, ['10.0.2.1/24']);
  await assert.rejects(startServer(l, { interface: 'k6t-nope', serverIp: '10.0.2.1', lease: masqueradeLease }), /no network device "k6t-nope"/);
  await assert.rejects(startServer(l, { interface: 'k6t-eth0', serverIp: '10.0.2.1', lease: { ...masqueradeLease, ip: '10.0.2.300', searchDomains: ['bad domain'] } }), /lease\.ip: .*lease\.searchDomains\[0\]/);
});

test('nothing is left: no namespace of these tests remains', { skip }, () => {
  const left = ip('netns', 'list').split('\n').filter((n) => n.includes(TAG));
  assert.deepEqual(left, []);
});
