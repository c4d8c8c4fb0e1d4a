// Pod networking end to end: the getting-started VM as KubeVirt's guide prints it
// (masquerade on the pod network), a VM with `ports:`, and a bridge-binding VM.
// Every address involved is the test's own: the node side is this handler's test
// bridge and CIDR, the guests are the test's guests.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TestHandler, cirrosVM, netnsList, sleep, useTestHandler } from './harness.js';
import { podNames } from '../../handler/network/index.js';

let h: TestHandler;
let http: Server;
let httpPort = 0;
const httpClients: string[] = [];

useTestHandler((x) => (h = x), {
  // A page on the node, on the test bridge's own address (the pods' gateway).
  started: async (handler) => {
    http = createHttpServer((req, res) => {
      httpClients.push(req.socket.remoteAddress ?? '');
      res.end('hello from the node\n');
    });
    await new Promise<void>((r) => http.listen(0, handler.net.gateway, () => r()));
    httpPort = (http.address() as { port: number }).port;
  },
});

after(() => {
  http?.close();
});

/** One HTTP GET from this process, with a short timeout; the body or the error code. */
function get(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let body = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve('TIMEOUT');
    }, 4000);
    s.on('connect', () => s.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    s.on('data', (b) => (body += b));
    s.on('end', () => {
      clearTimeout(t);
      resolve(body.split('\r\n\r\n')[1] ?? body);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve(e.code ?? 'ERROR');
    });
  });
}

function vm(name: string, iface: string, grace = 0): string {
  return cirrosVM(name, { grace, interfaces: iface });
}

/** Applies `yaml`, waits for Running, and logs in as root on the console. */
async function startAndLogIn(name: string, yaml: string) {
  assert.equal((await h.cli(['apply', '-f', '-'], yaml)).code, 0);
  const v = await h.waitPhase(name, 'Running', 120_000);
  const podIP = v.status!.interfaces![0]!.ipAddress!;
  const con = h.console(name);
  await con.login('root');
  return { v, podIP, con };
}

/** `ip -4 addr show eth0` in the guest once it holds `addr` (its udhcpc runs in the background), or after 10 s. */
async function eth0Once(con: ReturnType<TestHandler['console']>, addr: string): Promise<string> {
  let out = '';
  for (let i = 0; i < 20 && !out.includes(addr); i++) {
    out = await con.run('ip -4 addr show eth0');
    if (!out.includes(addr)) await sleep(500);
  }
  return out;
}

test('the guide\'s VM, unchanged: DHCP from the launcher, out through masquerade, in on every port', async () => {
  const yaml = readFileSync(join(ROOT, 'examples', 'vm-cirros.yaml'), 'utf8');
  assert.match(yaml, /masquerade: \{\}/);
  assert.equal((await h.cli(['apply', '-f', join(ROOT, 'examples', 'vm-cirros.yaml')])).code, 0);
  const v = await h.waitPhase('vm-cirros', 'Running', 120_000);
  const podIP = v.status!.interfaces![0]!.ipAddress!;
  assert.ok(podIP.startsWith(h.net.gateway.replace(/\.1$/, '.')), `status shows the pod IP (${podIP}) from ${h.net.cidr}`);
  assert.equal(v.status!.interfaces![0]!.name, 'default');
  assert.match(v.status!.interfaces![0]!.mac!, /^52:54:00:/);

  const con = h.console('vm-cirros');
  await con.login('root');
  // The guest's udhcpc ran at boot against the launcher's DHCP server.
  assert.match(await eth0Once(con, '10.0.2.2/24'), /inet 10\.0\.2\.2\/24/);
  assert.match(await con.run('ip route'), /default via 10\.0\.2\.1 dev eth0/);
  assert.match(await con.run('cat /run/resolv.conf'), /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
  assert.equal((await con.run('ip link show eth0 | grep -o "mtu [0-9]*"')).trim(), `mtu ${readFileSync(`/sys/class/net/${h.net.bridge}/mtu`, 'utf8').trim()}`);

  // Out: the guest fetches a page from the node; it arrives from the pod's address.
  const page = await con.run(`wget -qO- http://${h.net.gateway}:${httpPort}/`);
  assert.equal(page.trim(), 'hello from the node');
  assert.equal(httpClients.at(-1)?.replace(/^::ffff:/, ''), podIP, 'masqueraded to the pod IP');

  // In: with no `ports:` every port of the pod IP reaches the guest.
  await con.run('mkdir -p /tmp/www && echo guest-page > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && httpd -p 9090 -h /tmp/www');
  con.close();
  assert.equal((await get(podIP, 8080)).trim(), 'guest-page');
  assert.equal((await get(podIP, 9090)).trim(), 'guest-page');

  const del = await h.cli(['delete', 'vm', 'vm-cirros', '--grace-period', '0', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(v.metadata.uid!);
});

test('masquerade with ports: only the listed port is forwarded', async () => {
  const { v, podIP, con } = await startAndLogIn('ports', vm('ports', '          - name: default\n            masquerade: {}\n            ports:\n            - port: 8080'));
  await con.run('mkdir -p /tmp/www && echo only-8080 > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && httpd -p 9090 -h /tmp/www');
  con.close();
  assert.equal((await get(podIP, 8080)).trim(), 'only-8080');
  assert.match(await get(podIP, 9090), /ECONNREFUSED|TIMEOUT/, 'port 9090 is not forwarded');
  await h.cli(['delete', 'vm', 'ports', '--grace-period', '0', '--wait']);
  await h.nothingLeft(v.metadata.uid!);
});

test('bridge binding: the guest holds the pod IP and MAC', async () => {
  const { v, podIP, con } = await startAndLogIn('bridged', vm('bridged', '          - name: default\n            bridge: {}'));
  const addr = await eth0Once(con, podIP);
  assert.ok(addr.includes(`inet ${podIP}/`), `guest eth0 holds the pod IP ${podIP}:\n${addr}`);
  assert.match(await con.run('ip route'), new RegExp(`default via ${h.net.gateway.replace(/\./g, '\\.')}`));
  await con.run('mkdir -p /tmp/www && echo bridged-guest > /tmp/www/index.html && httpd -p 8080 -h /tmp/www');
  const page = await con.run(`wget -qO- http://${h.net.gateway}:${httpPort}/`);
  con.close();
  assert.equal(page.trim(), 'hello from the node');
  assert.equal(httpClients.at(-1)?.replace(/^::ffff:/, ''), podIP, 'the node sees the guest as the pod IP itself');
  assert.equal((await get(podIP, 8080)).trim(), 'bridged-guest');
  await h.cli(['delete', 'vm', 'bridged', '--grace-period', '0', '--wait']);
  await h.nothingLeft(v.metadata.uid!);
  assert.ok(!netnsList().includes(podNames(v.metadata.uid!, h.net.prefix).netns));
});

test('bad network specs are refused with their field paths, nothing made', async () => {
  const cases: [string, RegExp][] = [
    [vm('bad-port', '          - name: default\n            masquerade: {}\n            ports:\n            - port: 70000'), /interfaces\[0\]\.ports\[0\]\.port/],
    [vm('bad-binding', '          - name: default\n            sriov: {}'), /interfaces\[0\]/],
    [vm('two-ifaces', '          - name: default\n            masquerade: {}\n          - name: default\n            masquerade: {}'), /interfaces\[1\]\.name/],
    [vm('two-pod-nets', '          - name: default\n            masquerade: {}\n          - name: second\n            masquerade: {}').replace('        pod: {}\n', '        pod: {}\n      - name: second\n        pod: {}\n'), /networks\[1\]/],
    [vm('bad-cidr', '          - name: default\n            masquerade: {}').replace('pod: {}', `pod:\n          vmNetworkCIDR: ${h.net.cidr}`), /vmNetworkCIDR/],
  ];
  for (const [yaml, path] of cases) {
    const r = await h.cli(['apply', '-f', '-'], yaml);
    assert.equal(r.code, 1, yaml);
    assert.match(r.stderr, path);
  }
  for (const n of ['bad-port', 'bad-binding', 'two-ifaces', 'two-pod-nets', 'bad-cidr']) assert.equal(await h.getVM(n), undefined);
  assert.deepEqual(netnsList().filter((n) => n.startsWith(`${h.net.prefix}-`)), [], 'no pod network namespace');
});

test('interface model e1000, and autoattachPodInterface: false gives a VM with no NIC', async () => {
  assert.equal((await h.cli(['apply', '-f', '-'], vm('e1000', '          - name: default\n            masquerade: {}\n            model: e1000\n            macAddress: 02:aa:bb:cc:dd:ee'))).code, 0);
  const nonic = vm('no-nic', '          []').replace('          interfaces:\n          []\n', '          autoattachPodInterface: false\n').replace(/      networks:\n      - name: default\n        pod: \{\}\n/, '');
  const r = await h.cli(['apply', '-f', '-'], nonic);
  assert.equal(r.code, 0, r.stderr);
  const e = await h.waitPhase('e1000', 'Running', 120_000);
  assert.equal(e.status!.interfaces![0]!.mac, '02:aa:bb:cc:dd:ee', 'the spec MAC is the NIC MAC');
  const n = await h.waitPhase('no-nic', 'Running', 120_000);
  assert.equal(n.status!.interfaces?.length ?? 0, 0);
  const c1 = h.console('e1000');
  await c1.login('root');
  // This guest's kernel has no e1000 driver, so the proof is the device itself: Intel 82540EM.
  assert.match(await c1.run('cat /sys/bus/pci/devices/*/device'), /0x100e/);
  c1.close();
  const c2 = h.console('no-nic');
  await c2.login('root');
  assert.equal((await c2.run('ls /sys/class/net')).trim(), 'lo');
  c2.close();
  for (const name of ['e1000', 'no-nic']) await h.cli(['delete', 'vm', name, '--grace-period', '0', '--wait']);
  await h.nothingLeft(e.metadata.uid!);
  await h.nothingLeft(n.metadata.uid!);
});
