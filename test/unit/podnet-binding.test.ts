// The masquerade and bridge bindings against the real kernel. A "guest" netns joined
// to the pod's k6t-eth0 by a veth stands in for QEMU (a tap passes traffic only with
// a reader); tap0 itself is checked for its flags and opened by name the way the
// launcher will. Traffic stays on the test bridge: the node's HTTP server listens on
// the test bridge's address, nothing leaves the machine.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { closeFd, openTap, withNetns } from '../../native/index.js';
import { MASQUERADE_BRIDGE_MAC, netnsArgv, podNames, type PodNetwork } from '../../handler/network/index.js';
import { httpGet, kernelLeftovers, plugGuest, PREFIX, sh, tcpConnect, tcpServers, testNetns, testNode, type TestNode } from './podnet-support.js';

const OCTET = 2;
const GW = `10.250.${OCTET}.1`;

/** An HTTP server on the node, on the test bridge's address: answers with the peer address it saw. */
async function nodeHttp(t: TestContext): Promise<{ url: string; peers: string[] }> {
  const peers: string[] = [];
  const server = createServer((req, res) => {
    peers.push(req.socket.remoteAddress ?? '?');
    res.end(`from ${req.socket.remoteAddress}\n`);
  });
  server.listen(0, GW);
  await once(server, 'listening');
  t.after(() => { server.close(); server.closeAllConnections(); });
  return { url: `http://${GW}:${(server.address() as AddressInfo).port}/`, peers };
}

interface LinkJson {
  ifname: string;
  address: string;
  mtu: number;
  master?: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

function link(netns: string, name: string): LinkJson {
  return (JSON.parse(sh('ip', ['-n', netns, '-j', '-d', 'addr', 'show', 'dev', name])) as LinkJson[])[0]!;
}

function masqueradePod(tn: TestNode, name: string, ports?: Array<{ port: number; protocol?: 'TCP' | 'UDP' }>, multiQueue = false): Promise<PodNetwork> {
  const uid = randomUUID();
  tn.uids.add(uid);
  return tn.pn.createPodNetwork({
    uid, namespace: 'ns', name, runDir: tn.runDir, multiQueue,
    interfaces: [{ name: 'default', masquerade: {}, ...(ports ? { ports } : {}) }],
    networks: [{ name: 'default', pod: {} }],
  });
}

test('masquerade: tap0 and k6t-eth0 as virt-handler makes them; guest NATed out with the pod IP; DNAT of listed ports or of all', { timeout: 60_000 }, async (t) => {
  const started = Date.now();
  const tn = await testNode(t, OCTET);
  await tn.pn.ensureNode();
  const http = await nodeHttp(t);
  const only8080 = await masqueradePod(tn, 'm1', [{ port: 8080 }], true);
  const all = await masqueradePod(tn, 'm2');

  // --- the pod's links
  const br = link(only8080.netnsName, 'k6t-eth0');
  assert.equal(br.linkinfo?.info_kind, 'bridge');
  assert.equal(br.address, MASQUERADE_BRIDGE_MAC);
  assert.deepEqual(br.addr_info?.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), ['10.0.2.1/24']);
  const tap = link(only8080.netnsName, 'tap0');
  assert.equal(tap.linkinfo?.info_kind, 'tun');
  assert.deepEqual(
    { type: tap.linkinfo?.info_data?.type, pi: tap.linkinfo?.info_data?.pi, vnet_hdr: tap.linkinfo?.info_data?.vnet_hdr, multi_queue: tap.linkinfo?.info_data?.multi_queue, persist: tap.linkinfo?.info_data?.persist },
    { type: 'tap', pi: false, vnet_hdr: true, multi_queue: true, persist: true },
  );
  assert.equal(tap.master, 'k6t-eth0');
  assert.ok(tap.flags.includes('UP'));
  const eth0 = link(only8080.netnsName, 'eth0');
  assert.equal(tap.mtu, eth0.mtu);
  assert.equal(br.mtu, eth0.mtu);
  assert.equal(link(all.netnsName, 'tap0').linkinfo?.info_data?.multi_queue, false, 'multiQueue off → single-queue tap');
  assert.equal(sh('ip', ['netns', 'exec', only8080.netnsName, 'cat', '/proc/sys/net/ipv4/ip_forward']).trim(), '1');
  assert.deepEqual(only8080.interfaces.map((i) => ({ ...i, guest: { ...i.guest, mac: i.guest.mac.slice(0, 9) } })), [{
    name: 'default', binding: 'masquerade', tapName: 'tap0', multiQueue: true, bridgeName: 'k6t-eth0',
    guest: {
      ip: '10.0.2.2', prefixLength: 24, gateway: '10.0.2.1', mac: '52:54:00:', dhcpServerIP: '10.0.2.1',
      dns: ['10.250.0.53'], searchDomains: ['ns.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], hostname: 'm1', mtu: eth0.mtu, routes: [],
    },
  }]);
  // The launcher's view: tap0 opens by name inside the pod, one fd per queue; a single-queue open of a multi-queue tap is refused.
  const fds = withNetns(only8080.netnsPath, () => [openTap('tap0', { multiQueue: true, vnetHdr: true }), openTap('tap0', { multiQueue: true, vnetHdr: true })]);
  fds.forEach(closeFd);
  assert.throws(() => withNetns(only8080.netnsPath, () => openTap('tap0')), /EINVAL|multi-queue/);
  assert.equal(link(only8080.netnsName, 'tap0').linkinfo?.info_data?.persist, true, 'the tap outlives the fds closing');
  // A process started with netnsArgv (how the launcher is meant to start) sees the pod's links.
  const [cmd, ...args] = netnsArgv(only8080.netnsPath, ['ip', '-o', 'link', 'show', 'tap0']);
  assert.match(sh(cmd!, args), /tap0: .* master k6t-eth0/);

  // --- traffic, for each pod: a guest on 10.0.2.2 behind k6t-eth0
  for (const [pod, tag] of [[only8080, 'g1'], [all, 'g2']] as const) {
    const guest = testNetns(t, tag);
    plugGuest(pod.netnsName, guest, { ip: '10.0.2.2', prefixLength: 24, gateway: '10.0.2.1' });
    const srv = await tcpServers(t, guest, [8080, 9090], tag);

    // Out: the node sees the pod IP, not 10.0.2.2.
    assert.equal(await httpGet(guest, http.url), `from ${pod.podIP}`);
    assert.equal(http.peers.at(-1), pod.podIP);

    // In: node → podIP:8080 reaches the guest, with the client's address intact (DNAT only).
    assert.equal(await tcpConnect(undefined, pod.podIP, 8080), `${tag}:8080`);
    assert.equal(srv.peers.at(-1), GW);
    // Inside the pod, 127.0.0.1:8080 reaches the guest too (KubeVirt's probe path), from the gateway address.
    assert.equal(await tcpConnect(pod.netnsName, '127.0.0.1', 8080), `${tag}:8080`);
    assert.equal(srv.peers.at(-1), '10.0.2.1');
    const other = await tcpConnect(undefined, pod.podIP, 9090);
    if (pod === only8080) assert.equal(other, 'ERR ECONNREFUSED', 'a port not listed must not be forwarded');
    else assert.equal(other, `${tag}:9090`, 'without ports every port is forwarded');
  }
  // Pod to pod: the second guest reaches the first through both pods' NAT.
  assert.equal(await tcpConnect('vtx-g2-' + process.pid, only8080.podIP, 8080), 'g1:8080');

  const counters = sh('nsenter', [`--net=${only8080.netnsPath}`, 'nft', 'list', 'table', 'inet', 'virtnode']);
  assert.match(counters, /tcp dport 8080 counter packets [1-9]\d* bytes \d+ dnat ip to 10\.0\.2\.2/);

  const ids = [only8080, all].map((p) => podNames(p.uid, PREFIX).id);
  for (const p of [only8080, all]) await tn.pn.destroyPodNetwork(p.uid);
  assert.deepEqual(kernelLeftovers({ bridge: 'none', nftTable: 'none' }, ids), { netns: [], links: [], tables: [] });
  t.diagnostic(`took ${Date.now() - started} ms`);
});

test('bridge: eth0 gives up the pod IP to the guest, MACs swapped; the guest owns the pod IP on the node network', { timeout: 60_000 }, async (t) => {
  const started = Date.now();
  const tn = await testNode(t, OCTET);
  await tn.pn.ensureNode();
  const http = await nodeHttp(t);
  const uid = randomUUID();
  tn.uids.add(uid);
  const pod = await tn.pn.createPodNetwork({
    uid, namespace: 'ns', name: 'b1', runDir: tn.runDir,
    interfaces: [{ name: 'default', bridge: {} }], networks: [{ name: 'default', pod: {} }],
  });
  const [iface] = pod.interfaces;
  assert.equal(iface!.binding, 'bridge');
  assert.deepEqual(
    { ip: iface!.guest.ip, prefixLength: iface!.guest.prefixLength, gateway: iface!.guest.gateway, mac: iface!.guest.mac, dhcpServerIP: iface!.guest.dhcpServerIP },
    { ip: pod.podIP, prefixLength: 24, gateway: GW, mac: pod.podMac, dhcpServerIP: '169.254.75.10' },
  );

  const eth0 = link(pod.netnsName, 'eth0');
  assert.deepEqual(eth0.addr_info?.filter((a) => a.family === 'inet'), [], 'eth0 keeps no IPv4 address');
  assert.equal(eth0.master, 'k6t-eth0');
  assert.notEqual(eth0.address, pod.podMac, 'eth0 gave its MAC to the guest');
  const br = link(pod.netnsName, 'k6t-eth0');
  assert.deepEqual(br.addr_info?.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), ['169.254.75.10/32']);
  assert.equal(link(pod.netnsName, 'tap0').master, 'k6t-eth0');
  assert.equal(sh('ip', ['netns', 'exec', pod.netnsName, 'cat', '/proc/sys/net/ipv4/conf/all/arp_ignore']).trim(), '1');

  // The guest, configured as the DHCP server would: pod IP, the pod's MAC, the node gateway.
  const guest = testNetns(t, 'gb');
  plugGuest(pod.netnsName, guest, { ip: iface!.guest.ip, prefixLength: iface!.guest.prefixLength, gateway: iface!.guest.gateway, mac: iface!.guest.mac });
  assert.equal(await httpGet(guest, http.url), `from ${pod.podIP}`, 'the node sees the guest as the pod IP');
  const srv = await tcpServers(t, guest, [7070], 'gb');
  assert.equal(await tcpConnect(undefined, pod.podIP, 7070), 'gb:7070');
  assert.equal(srv.peers.at(-1), GW);
  // The node's neighbour entry for the pod IP is the guest's (= the pod's original) MAC.
  assert.match(sh('ip', ['neigh', 'show', pod.podIP, 'dev', tn.cfg.bridge!]), new RegExp(`lladdr ${pod.podMac}`));

  await tn.pn.destroyPodNetwork(uid);
  assert.deepEqual(kernelLeftovers({ bridge: 'none', nftTable: 'none' }, [podNames(uid, PREFIX).id]), { netns: [], links: [], tables: [] });
  t.diagnostic(`took ${Date.now() - started} ms`);
});
