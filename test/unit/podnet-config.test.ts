// The pure parts of pod networking: CIDR arithmetic, node config and request
// validation (field paths), the IPAM file, resolv.conf, and the nft scripts (checked
// by the real nft parser in a throwaway netns, never applied to the node).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidSpecError } from '../../proto/errors.js';
import { Ipam, IpamError, masqueradeRules, nodeRules, planPodNetwork, podNames, podNetworkRequest, resolveNodeNetwork, vmNetwork } from '../../handler/network/index.js';
import { formatCidr, overlaps, parseCidr, parseCidrLoose } from '../../handler/network/ipv4.js';
import { parseResolvConf, podDns, renderResolvConf } from '../../handler/network/resolv.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';

function fieldErrors(fn: () => unknown): Array<[string, string]> {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvalidSpecError) return e.fields.map((f) => [f.path, f.message]);
    throw e;
  }
  assert.fail('expected an InvalidSpecError');
}

test('CIDRs: strict and loose parsing, overlap', () => {
  assert.deepEqual(parseCidr('10.244.0.0/24'), { network: 0x0af40000, prefixLength: 24 });
  assert.equal(parseCidr('10.244.0.1/24'), undefined, 'host bits set');
  assert.equal(parseCidr('10.244.0.0/33'), undefined);
  assert.equal(parseCidr('10.244.0/24'), undefined);
  assert.equal(formatCidr(parseCidrLoose('10.0.2.7/24')!), '10.0.2.0/24');
  assert.ok(overlaps(parseCidr('10.0.0.0/8')!, parseCidr('10.0.2.0/24')!));
  assert.ok(overlaps(parseCidr('10.0.2.0/24')!, parseCidr('10.0.0.0/8')!));
  assert.ok(!overlaps(parseCidr('10.244.0.0/24')!, parseCidr('10.0.2.0/24')!));
  assert.ok(!overlaps(parseCidr('10.250.1.0/24')!, parseCidr('10.250.2.0/24')!));
});

test('node config: defaults, and every bad field named', () => {
  const d = resolveNodeNetwork();
  assert.deepEqual([d.bridge, d.podCIDRText, d.gateway, d.nftTable, d.namePrefix], ['vn-br0', '10.244.0.0/24', '10.244.0.1', 'virtnode', 'vn']);
  assert.deepEqual(fieldErrors(() => resolveNodeNetwork({
    bridge: 'a-bridge-name-too-long', podCIDR: '10.0.0.0/8', mtu: 100, nftTable: 'bad table', namePrefix: 'vnet',
    dns: { nameservers: ['dns.example'], searchDomains: ['bad domain'] },
  })).map(([p]) => p), ['network.bridge', 'network.podCIDR', 'network.mtu', 'network.nftTable', 'network.namePrefix', 'network.dns.nameservers[0]', 'network.dns.searchDomains[0]']);
  assert.match(fieldErrors(() => resolveNodeNetwork({ podCIDR: '10.0.0.0/8' }))[0]![1], /overlaps the default vmNetworkCIDR 10\.0\.2\.0\/24/);
  assert.match(fieldErrors(() => resolveNodeNetwork({ podCIDR: '10.244.0.1/24' }))[0]![1], /host bits clear/);
  assert.match(fieldErrors(() => resolveNodeNetwork({ podCIDR: '10.244.0.0/31' }))[0]![1], /too small/);
});

test('vmNetworkCIDR: gateway and guest addresses; too small or overlapping the pod CIDR is refused', () => {
  const node = resolveNodeNetwork({ podCIDR: '10.250.0.0/16' });
  assert.deepEqual({ ...vmNetwork(undefined, node, 'p'), cidr: undefined }, { cidr: undefined, gateway: '10.0.2.1', guest: '10.0.2.2' });
  assert.deepEqual({ ...vmNetwork('192.168.7.0/30', node, 'p'), cidr: undefined }, { cidr: undefined, gateway: '192.168.7.1', guest: '192.168.7.2' });
  assert.deepEqual(fieldErrors(() => vmNetwork('192.168.7.0/31', node, 'spec.networks[0].pod.vmNetworkCIDR')), [['spec.networks[0].pod.vmNetworkCIDR', 'VM CIDR subnet is too small, at least 2 host addresses are required: 192.168.7.0/31']]);
  assert.deepEqual(fieldErrors(() => vmNetwork('10.250.3.0/24', node, 'x')), [['x', "10.250.3.0/24 overlaps the node's pod CIDR 10.250.0.0/16"]]);
});

test('requests: the admission rules (reused from proto/vmi) plus what the node adds, in one error', () => {
  const node = resolveNodeNetwork({ podCIDR: '10.250.0.0/16' });
  const base = { uid: 'u', namespace: 'ns', name: 'n', runDir: '/run/x' };
  const errs = fieldErrors(() => planPodNetwork({
    ...base,
    interfaces: [
      { name: 'default', masquerade: {}, ports: [{ port: 0 }, { port: 80, protocol: 'SCTP' as never }] },
      { name: 'other', bridge: {} },
      { name: 'p', passtBinding: {} } as never,
    ],
    networks: [{ name: 'default', pod: {} }, { name: 'other', pod: {} }, { name: 'p', multus: { networkName: 'x' } }],
  }, node));
  const paths = errs.map(([p]) => p);
  for (const p of [
    'spec.domain.devices.interfaces[0].ports[0].port', // "Port field is mandatory." (proto)
    'spec.domain.devices.interfaces[0].ports[1].protocol', // proto
    'spec.networks[1]', // "more than one interface is connected to a pod network" (proto)
    'spec.domain.devices.interfaces[2].passtBinding', // node: unsupported binding
    'spec.networks[2]', // node: multus unsupported
  ]) assert.ok(paths.includes(p), `${p} missing from ${JSON.stringify(errs)}`);
  assert.ok(errs.some(([, m]) => /more than one interface is connected to a pod network/.test(m)));
  assert.ok(errs.some(([, m]) => /passtBinding.*not supported by virtnode/.test(m)));
  // Out of range and a missing binding.
  assert.deepEqual(fieldErrors(() => planPodNetwork({ ...base, interfaces: [{ name: 'default', ports: [{ port: 65536 }] }], networks: [{ name: 'default', pod: {} }] }, node)), [
    ['spec.domain.devices.interfaces[0]', 'logical default interface must have exactly one binding method or binding plugin'],
    ['spec.domain.devices.interfaces[0].ports[0].port', 'Port field must be in range 0 < x < 65536.'],
  ]);
  assert.deepEqual(fieldErrors(() => planPodNetwork({ ...base, uid: '', runDir: 'rel' }, node)).map(([p]) => p), ['metadata.uid', 'runDir']);
  // A good one: ports default to TCP; multiqueue only for virtio.
  const plan = planPodNetwork({ ...base, multiQueue: true, interfaces: [{ name: 'default', masquerade: {}, model: 'e1000', ports: [{ port: 22 }], macAddress: 'DE-AD-BE-EF-00-01' }], networks: [{ name: 'default', pod: { vmNetworkCIDR: '10.1.0.0/16' } }] }, node);
  assert.deepEqual(plan, [{ name: 'default', binding: 'masquerade', ports: [{ port: 22 }], macAddress: 'de:ad:be:ef:00:01', multiQueue: false, vm: { cidrText: '10.1.0.0/16', prefixLength: 16, gateway: '10.1.0.1', guest: '10.1.0.2' } }]);
});

test('podNetworkRequest: a VMI after defaults becomes a request', () => {
  const vmi = {
    apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance',
    metadata: { name: 'vm1', namespace: 'prod', uid: '3f2a9c1b-7d04-4e5f-8a9b-0c1d2e3f4a5b' },
    spec: { domain: { devices: { interfaces: [{ name: 'default', masquerade: {} }], networkInterfaceMultiqueue: true } }, networks: [{ name: 'default', pod: {} }] },
  } as VirtualMachineInstance;
  assert.deepEqual(podNetworkRequest(vmi, '/run/virtnode/vmis/x'), {
    uid: '3f2a9c1b-7d04-4e5f-8a9b-0c1d2e3f4a5b', namespace: 'prod', name: 'vm1', runDir: '/run/virtnode/vmis/x', hostname: 'vm1',
    interfaces: [{ name: 'default', masquerade: {} }], networks: [{ name: 'default', pod: {} }], multiQueue: true,
  });
  // Names come from the uid: the first 12 hex digits of a UUID, a hash otherwise; always ≤ 15 bytes.
  assert.deepEqual(podNames(vmi.metadata.uid!, 'vn'), { id: '3f2a9c1b7d04', netns: 'vn-3f2a9c1b7d04', netnsPath: '/run/netns/vn-3f2a9c1b7d04', hostVeth: 'vn3f2a9c1b7d04' });
  const odd = podNames('not a uuid / at all', 'abc');
  assert.match(odd.id, /^[0-9a-f]{12}$/);
  assert.equal(odd.hostVeth.length, 15);
});

test('IPAM: skips network, gateway and broadcast; round-robin; one lease per owner; survives a reopen; never the same address twice', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-ipam-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ipam.json');
  const cidr = parseCidr('10.250.5.0/29')!; // .1 gateway, .2-.6 leasable, .7 broadcast
  const ipam = await Ipam.open(file, cidr, ['10.250.5.1']);
  assert.equal(await ipam.allocate('a'), '10.250.5.2');
  assert.equal(await ipam.allocate('b'), '10.250.5.3');
  assert.equal(await ipam.allocate('a'), '10.250.5.2', 'same owner, same lease');
  assert.equal(await ipam.release('a'), true);
  assert.equal(await ipam.release('a'), false);
  assert.equal(await ipam.allocate('c'), '10.250.5.4', 'a freed address is not reused first');

  // A second instance (a restarted handler) sees every lease and continues after the last.
  const again = await Ipam.open(file, cidr, ['10.250.5.1']);
  assert.deepEqual([...(await again.leases())].map(([ip, l]) => [ip, l.owner]), [['10.250.5.3', 'b'], ['10.250.5.4', 'c']]);
  const more = await Promise.all(['d', 'e', 'f'].map((o) => again.allocate(o)));
  assert.deepEqual(more.sort(), ['10.250.5.2', '10.250.5.5', '10.250.5.6']);
  await assert.rejects(again.allocate('g'), (e: unknown) => e instanceof IpamError && /no free address left in the pod CIDR 10\.250\.5\.0\/29 \(5 leased\)/.test(e.message));
  // The first instance re-reads the file too: it does not hand out what the second gave.
  await assert.rejects(ipam.allocate('h'), IpamError);
  assert.deepEqual(readdirSync(dir), ['ipam.json'], 'no temp files left behind');

  await assert.rejects(Ipam.open(file, parseCidr('10.250.6.0/24')!), /holds 5 lease\(s\) in 10\.250\.5\.0\/29, but the pod CIDR is now 10\.250\.6\.0\/24/);
  for (const o of ['b', 'c', 'd', 'e', 'f']) await again.release(o);
  const moved = await Ipam.open(file, parseCidr('10.250.6.0/24')!);
  assert.equal(await moved.allocate('x'), '10.250.6.1', 'an empty book follows a new CIDR (no gateway reserved here)');

  writeFileSync(file, '{"version":1,"cidr":"10.250.6.0/24","leases":');
  await assert.rejects(moved.allocate('y'), /not valid JSON/);
});

test('IPAM: 40 concurrent allocations get 40 different addresses', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-ipam-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ipam = await Ipam.open(join(dir, 'ipam.json'), parseCidr('10.250.8.0/24')!, ['10.250.8.1']);
  const got = await Promise.all(Array.from({ length: 40 }, (_, i) => ipam.allocate(`o${i}`)));
  assert.equal(new Set(got).size, 40);
  const onDisk = JSON.parse(readFileSync(join(dir, 'ipam.json'), 'utf8')) as { leases: Record<string, unknown> };
  assert.equal(Object.keys(onDisk.leases).length, 40);
});

test('resolv.conf: host nameservers and search, the pod\'s search list', async () => {
  assert.deepEqual(parseResolvConf('# c\nnameserver 10.0.0.1\nnameserver 127.0.0.53 # stub\nsearch a.example b.example\noptions edns0\n'), { nameservers: ['10.0.0.1', '127.0.0.53'], search: ['a.example', 'b.example'] });
  const dns = await podDns({ nameservers: ['10.0.0.10'], options: ['ndots:5'] }, 'prod');
  assert.equal(renderResolvConf(dns), 'nameserver 10.0.0.10\nsearch prod.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
  assert.deepEqual((await podDns({ searchDomains: [] }, 'x')).searchDomains, []);
  // Default: the host's, loopback stubs dropped.
  const host = parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8')).nameservers.filter((n) => !n.startsWith('127.') && !n.includes(':'));
  if (host.length > 0) assert.deepEqual((await podDns({}, 'x')).nameservers, host.slice(0, 3));
});

test('nft scripts parse with the real nft (checked in a throwaway netns, never applied)', (t) => {
  const ns = `vtx-nftc-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.after(() => execFileSync('ip', ['netns', 'del', ns]));
  const check = (script: string): void => void execFileSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
  check(nodeRules(resolveNodeNetwork()));
  check(masqueradeRules({ gateway: '10.0.2.1', guest: '10.0.2.2', ports: [] }));
  const withPorts = masqueradeRules({ gateway: '10.0.2.1', guest: '10.0.2.2', ports: [{ port: 80 }, { port: 443, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }, { port: 80 }] });
  check(withPorts);
  assert.match(withPorts, /tcp dport \{ 80, 443 \} counter dnat ip to 10\.0\.2\.2/);
  assert.match(withPorts, /udp dport \{ 53 \} counter dnat ip to 10\.0\.2\.2/);
  assert.match(withPorts, /iifname "eth0" counter jump inbound/);
  assert.throws(() => check('table inet x { chain y { nonsense } }'), 'the check is real: nonsense fails');
});
