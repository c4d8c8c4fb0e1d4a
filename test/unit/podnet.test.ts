// The node half of pod networking against the real kernel: a test bridge, named
// netns, veths, the node's nft table, the IPAM file. Two pods reach the node and
// each other; their traffic to a fake uplink leaves masqueraded; a second
// PodNetworking over the same state dir (a restarted handler) keeps the leases, hands
// out no address twice and destroys what the first made; nothing is left after.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { InvalidSpecError } from '../../proto/errors.js';
import { PodNetworking, podNames, NetworkError } from '../../handler/network/index.js';
import { kernelLeftovers, ping, PREFIX, sh, tcpConnect, tcpServers, testNetns, testNode } from './podnet-support.js';

const OCTET = 1;

test('node + two pods: reachability, node masquerade, IPAM across a restart, nothing left after destroy', { timeout: 60_000 }, async (t) => {
  const started = Date.now();
  const tablesBefore = sh('nft', ['list', 'tables']);
  const tn = await testNode(t, OCTET);
  const { pn } = tn;
  const gw = `10.250.${OCTET}.1`;

  const status = await pn.ensureNode();
  assert.equal(status.gateway, gw);
  assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '1');
  assert.match(sh('ip', ['-o', '-4', 'addr', 'show', 'dev', tn.cfg.bridge!]), new RegExp(`inet ${gw.replaceAll('.', '\\.')}/24`));
  // Idempotent: a second run changes nothing and does not fail.
  await pn.ensureNode();
  const table = sh('nft', ['list', 'table', 'inet', tn.cfg.nftTable!]);
  assert.match(table, /ip saddr 10\.250\.1\.0\/24 ip daddr != 10\.250\.1\.0\/24 .*masquerade/);
  assert.equal(table.match(/masquerade/g)?.length, 1, 'ensureNode twice must not duplicate rules');

  const uidA = randomUUID();
  const uidB = randomUUID();
  tn.uids.add(uidA).add(uidB);
  const a = await pn.createPodNetwork({ uid: uidA, namespace: 'ns1', name: 'a', runDir: tn.runDir });
  const b = await pn.createPodNetwork({
    uid: uidB, namespace: 'ns1', name: 'b', runDir: tn.runDir,
    interfaces: [{ name: 'default', masquerade: {}, ports: [{ port: 8080 }] }], networks: [{ name: 'default', pod: {} }],
  });
  assert.notEqual(a.podIP, b.podIP);
  for (const p of [a, b]) {
    assert.ok(p.podIP.startsWith(`10.250.${OCTET}.`), p.podIP);
    assert.equal(p.podGateway, gw);
    assert.equal(p.netnsPath, `/run/netns/${p.netnsName}`);
    assert.ok(existsSync(p.netnsPath));
    assert.ok(p.hostVeth.length <= 15 && p.hostVeth.startsWith(PREFIX), p.hostVeth);
    const eth0 = sh('ip', ['-n', p.netnsName, '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    assert.match(eth0, new RegExp(`inet ${p.podIP.replaceAll('.', '\\.')}/24`));
    assert.match(sh('ip', ['-n', p.netnsName, 'route', 'show', 'default']), new RegExp(`default via ${gw.replaceAll('.', '\\.')} dev eth0`));
    assert.match(sh('ip', ['-n', p.netnsName, '-o', 'link', 'show', 'lo']), /UP/);
    assert.match(sh('ip', ['-o', 'link', 'show', p.hostVeth]), new RegExp(`master ${tn.cfg.bridge}`));
  }
  assert.equal(a.interfaces.length, 0);
  // The node's ruleset gained our one table and nothing else (pod rules live in the pods).
  // Only what this test added counts: other work on the machine may add or drop its own tables.
  const lines = (t: string): string[] => t.split('\n').filter(Boolean);
  const added = lines(sh('nft', ['list', 'tables'])).filter((l) => !lines(tablesBefore).includes(l));
  assert.deepEqual(added, [`table inet ${tn.cfg.nftTable}`]);
  assert.match(sh('nsenter', [`--net=${b.netnsPath}`, 'nft', 'list', 'tables']), /^table inet virtnode\n$/);
  assert.equal(b.interfaces[0]!.guest.ip, '10.0.2.2');
  assert.equal(readFileSync(join(tn.runDir, 'resolv.conf'), 'utf8'), 'nameserver 10.250.0.53\nsearch ns1.svc.cluster.local svc.cluster.local cluster.local\n');

  // Node → pods, pod → pod (b forwards only 8080 to its guest, so ICMP to it is answered by the pod itself).
  assert.ok(await ping(undefined, a.podIP), 'node pings pod a');
  assert.ok(await ping(undefined, b.podIP), 'node pings pod b');
  assert.ok(await ping(a.netnsName, b.podIP), 'pod a pings pod b');
  const srvA = await tcpServers(t, a.netnsName, [7001], 'pod-a');
  assert.equal(await tcpConnect(undefined, a.podIP, 7001), 'pod-a:7001');
  assert.equal(await tcpConnect(b.netnsName, a.podIP, 7001), 'pod-a:7001');
  assert.deepEqual(srvA.peers, [gw, b.podIP], 'pod-to-pod traffic keeps the pod IP (no masquerade inside the pod CIDR)');

  // A fake uplink: a netns that knows no route back to the pod CIDR; only the node's masquerade makes the reply come back.
  const up = testNetns(t, 'up');
  const upHost = `vtup${process.pid % 100000}`;
  sh('ip', ['link', 'add', upHost, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', up]);
  t.after(() => { try { sh('ip', ['link', 'del', upHost]); } catch { /* gone with the netns */ } });
  sh('ip', ['addr', 'add', '10.250.9.1/24', 'dev', upHost]);
  sh('ip', ['link', 'set', upHost, 'up']);
  sh('ip', ['-n', up, 'addr', 'add', '10.250.9.2/24', 'dev', 'eth0']);
  sh('ip', ['-n', up, 'link', 'set', 'eth0', 'up']);
  const outside = await tcpServers(t, up, [7002], 'outside');
  assert.equal(await tcpConnect(a.netnsName, '10.250.9.2', 7002), 'outside:7002');
  assert.deepEqual(outside.peers, ['10.250.9.1'], 'pod traffic leaving the node must carry the node address');

  // A restarted handler: same state dir, new instance.
  const pn2 = await PodNetworking.open({ stateDir: tn.stateDir, node: tn.cfg });
  const leases = await readLeases(tn.stateDir);
  assert.deepEqual(new Set(Object.values(leases)), new Set([uidA, uidB]));
  assert.deepEqual(await pn2.getPodNetwork(uidA), a);
  const listed = await pn2.listPodNetworks();
  assert.deepEqual(listed.map((e) => [e.uid, e.state, e.podIP, e.netnsExists, e.hostVethExists]).sort(), [[uidA, 'ready', a.podIP, true, true], [uidB, 'ready', b.podIP, true, true]].sort());
  await assert.rejects(pn2.createPodNetwork({ uid: uidA, namespace: 'ns1', name: 'a', runDir: tn.runDir }), { code: 'VN_ALREADY_EXISTS' });
  const uidC = randomUUID();
  tn.uids.add(uidC);
  const c = await pn2.createPodNetwork({ uid: uidC, namespace: 'ns2', name: 'c', runDir: join(tn.runDir) });
  assert.ok(![a.podIP, b.podIP].includes(c.podIP), `new instance handed out ${c.podIP} again`);
  assert.ok(await ping(c.netnsName, a.podIP), 'pod made by the new instance reaches the old one');

  // Destroy through the new instance; then again (idempotent).
  for (const uid of [uidA, uidB, uidC]) await pn2.destroyPodNetwork(uid);
  await pn2.destroyPodNetwork(uidA);
  const ids = [a, b, c].map((p) => podNames(p.uid, PREFIX).id);
  const left = kernelLeftovers({ bridge: 'none', nftTable: 'none' }, ids);
  assert.deepEqual(left, { netns: [], links: [], tables: [] });
  assert.deepEqual(await readLeases(tn.stateDir), {}, 'leases freed');
  assert.deepEqual(await pn2.listPodNetworks(), []);
  assert.equal(existsSync(join(tn.runDir, 'resolv.conf')), false);
  // Freed addresses come back last (round-robin), so a new pod gets the next one.
  const uidD = randomUUID();
  tn.uids.add(uidD);
  const d = await pn2.createPodNetwork({ uid: uidD, namespace: 'ns2', name: 'd', runDir: tn.runDir });
  assert.ok(![a.podIP, b.podIP, c.podIP].includes(d.podIP), d.podIP);
  await pn2.destroyPodNetwork(uidD);

  await (await import('../../handler/network/index.js')).removeNode(pn2.node);
  const after = kernelLeftovers(tn.cfg as { bridge: string; nftTable: string }, ids);
  assert.deepEqual(after, { netns: [], links: [], tables: [] });
  t.diagnostic(`took ${Date.now() - started} ms`);
});

test('a create that fails half-way leaves nothing: no netns, no veth, no lease, no record', { timeout: 30_000 }, async (t) => {
  const tn = await testNode(t, OCTET);
  const uid = randomUUID();
  tn.uids.add(uid);
  // The run dir does not exist: resolv.conf fails after the netns, veth and lease were made.
  await assert.rejects(
    tn.pn.createPodNetwork({ uid, namespace: 'ns', name: 'x', runDir: '/nonexistent/vn-podnet', interfaces: [{ name: 'default', masquerade: {} }], networks: [{ name: 'default', pod: {} }] }),
    (e: unknown) => e instanceof NetworkError && /creating the pod network of ns\/x/.test(e.message),
  );
  const id = podNames(uid, PREFIX).id;
  assert.deepEqual(kernelLeftovers({ bridge: 'none', nftTable: 'none' }, [id]), { netns: [], links: [], tables: [] });
  assert.deepEqual(await readLeases(tn.stateDir), {});
  assert.deepEqual(await tn.pn.listPodNetworks(), []);
  // And the same uid then works.
  const ok = await tn.pn.createPodNetwork({ uid, namespace: 'ns', name: 'x', runDir: tn.runDir });
  assert.ok(existsSync(ok.netnsPath));
});

test('destroy while a process still holds the netns (a launcher not dead yet): its links go anyway', { timeout: 30_000 }, async (t) => {
  const tn = await testNode(t, OCTET);
  const uid = randomUUID();
  tn.uids.add(uid);
  const p = await tn.pn.createPodNetwork({ uid, namespace: 'ns', name: 'h', runDir: tn.runDir, interfaces: [{ name: 'default', masquerade: {} }], networks: [{ name: 'default', pod: {} }] });
  const holder = spawn('nsenter', [`--net=${p.netnsPath}`, 'sleep', '30'], { stdio: 'ignore' });
  t.after(() => { holder.kill('SIGKILL'); });
  await new Promise((r) => holder.once('spawn', r));
  // Wait until sleep has entered the netns (nsenter execs it).
  const inode = statSync(p.netnsPath).ino;
  for (let i = 0; i < 100 && statSync(`/proc/${holder.pid}/ns/net`).ino !== inode; i++) await new Promise((r) => setTimeout(r, 10));
  await tn.pn.destroyPodNetwork(uid);
  assert.equal(existsSync(p.netnsPath), false);
  assert.equal(sh('ip', ['-o', 'link']).includes(p.hostVeth), false);
  const inside = sh('nsenter', [`--net=/proc/${holder.pid}/ns/net`, 'ip', '-o', 'link']);
  assert.deepEqual(inside.trim().split('\n').map((l) => l.split(':')[1]!.trim().split('@')[0]), ['lo'], 'only lo remains in the held namespace');
});

/** A test node with one pod network made, and the path of that pod's record. */
async function onePod(t: TestContext, name: string) {
  const tn = await testNode(t, OCTET);
  const uid = randomUUID();
  tn.uids.add(uid);
  const p = await tn.pn.createPodNetwork({ uid, namespace: 'ns', name, runDir: tn.runDir });
  return { tn, uid, p, rec: join(tn.stateDir, 'pods', `${uid}.json`) };
}

test('leftovers: an unfinished record and an unrecorded netns are listed, and removed', { timeout: 30_000 }, async (t) => {
  const { tn, uid, p, rec } = await onePod(t, 'y');
  // Simulate a crash mid-create: mark the record unfinished.
  const r = JSON.parse(readFileSync(rec, 'utf8'));
  writeFileSync(rec, JSON.stringify({ ...r, state: 'creating', network: undefined }));
  // A netns named like ours that no record knows.
  const stray = `${PREFIX}-${'ab'.repeat(6)}`;
  sh('ip', ['netns', 'add', stray]);
  t.after(() => { try { sh('ip', ['netns', 'del', stray]); } catch { /* removed */ } });

  const list = await tn.pn.listPodNetworks();
  assert.deepEqual(list.map((e) => [e.uid, e.state, e.netnsExists]).sort(), [[uid, 'creating', true], [undefined, 'leftover', true]].sort());
  assert.equal(await tn.pn.getPodNetwork(uid), undefined, 'an unfinished pod network is not handed out');
  // createPodNetwork on an unfinished one cleans it and makes it again.
  const again = await tn.pn.createPodNetwork({ uid, namespace: 'ns', name: 'y', runDir: tn.runDir });
  assert.equal(again.podIP, p.podIP, 'the lease of the same uid is kept');
  await tn.pn.removeLeftover('ab'.repeat(6));
  assert.equal(existsSync(`/run/netns/${stray}`), false);
  await tn.pn.destroyPodNetwork(uid);
  assert.deepEqual(await tn.pn.listPodNetworks(), []);
});

test('a record torn by a power cut counts as missing: listed by its lease, made again with the same address, removed', { timeout: 30_000 }, async (t) => {
  const { tn, uid, p, rec } = await onePod(t, 't');
  // Records are written without fsync: after a power cut one may hold a prefix of its JSON.
  writeFileSync(rec, readFileSync(rec, 'utf8').slice(0, 40));
  const fresh = await PodNetworking.open({ stateDir: tn.stateDir, node: tn.cfg });
  const list = await fresh.listPodNetworks();
  assert.deepEqual(list.map((e) => [e.uid, e.state, e.podIP]), [[uid, 'leftover', p.podIP]]);
  assert.equal(await fresh.getPodNetwork(uid), undefined);
  const again = await fresh.createPodNetwork({ uid, namespace: 'ns', name: 't', runDir: tn.runDir });
  assert.equal(again.podIP, p.podIP, 'the lease of the same uid is kept');
  assert.equal(JSON.parse(readFileSync(rec, 'utf8')).state, 'ready', 'the torn record is overwritten');
  await fresh.destroyPodNetwork(uid);
  assert.deepEqual(await fresh.listPodNetworks(), []);
  assert.equal(existsSync(p.netnsPath), false);
});

test('bad requests are refused with field paths before anything is made', { timeout: 30_000 }, async (t) => {
  const tn = await testNode(t, OCTET);
  const uid = randomUUID();
  tn.uids.add(uid);
  const err = await tn.pn.createPodNetwork({
    uid, namespace: 'ns', name: 'z', runDir: tn.runDir,
    interfaces: [
      { name: 'default', masquerade: {}, ports: [{ port: 70000 }] },
      { name: 'default', bridge: {} },
      { name: 'x', sriov: {} } as never,
    ],
    networks: [{ name: 'default', pod: { vmNetworkCIDR: '10.250.1.0/24' } }, { name: 'x', multus: { networkName: 'n' } }],
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof InvalidSpecError, String(err));
  const paths = err.fields.map((f) => f.path);
  for (const p of [
    'spec.domain.devices.interfaces[0].ports[0].port',
    'spec.domain.devices.interfaces[1].name',
    'spec.domain.devices.interfaces[2].sriov',
    'spec.networks[1]',
    'spec.networks[0].pod.vmNetworkCIDR',
  ]) assert.ok(paths.includes(p), `${p} not in ${paths.join(', ')}`);
  assert.match(err.message, /overlaps the node's pod CIDR 10\.250\.1\.0\/24/);
  assert.deepEqual(kernelLeftovers({ bridge: 'none', nftTable: 'none' }, [podNames(uid, PREFIX).id]), { netns: [], links: [], tables: [] });
  assert.deepEqual(await readLeases(tn.stateDir), {});
});

test('ensureNode refuses a pod CIDR that overlaps an address on another node link', { timeout: 30_000 }, async (t) => {
  // A veth with both ends on the node stands in for any other link (no dummy module here).
  const dummy = `vtdum${process.pid % 100000}`;
  sh('ip', ['link', 'add', dummy, 'type', 'veth', 'peer', 'name', `${dummy}b`]);
  t.after(() => { try { sh('ip', ['link', 'del', dummy]); } catch { /* gone */ } });
  sh('ip', ['addr', 'add', '10.250.7.9/16', 'dev', dummy]);
  const tn = await testNode(t, 7);
  await assert.rejects(tn.pn.ensureNode(), (e: unknown) =>
    e instanceof InvalidSpecError && e.fields[0]!.path === 'network.podCIDR' && /overlaps 10\.250\.7\.9\/16 on the node's vtdum/.test(e.message));
  assert.equal(sh('ip', ['-o', 'link']).includes(tn.cfg.bridge!), false, 'no bridge made');
});

async function readLeases(stateDir: string): Promise<Record<string, string>> {
  const data = JSON.parse(readFileSync(join(stateDir, 'ipam.json'), 'utf8')) as { leases: Record<string, { owner: string }> };
  return Object.fromEntries(Object.entries(data.leases).map(([ip, l]) => [ip, l.owner]));
}
