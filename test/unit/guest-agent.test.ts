// The guest agent above the client: qemu-ga's replies in kubevirt.io/v1's words,
// status.interfaces merged as KubeVirt's netstat merges them, the VMI status the
// handler makes of a launcher's report, and the launcher's poller against a fake
// channel (asked nothing while the port is closed or the guest paused, freeze with
// its automatic thaw, guest-shutdown).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { mergeInterfaces, missingCommands, parseAgentInfo, parseFsInfo, parseGuestInterfaces, parseOSInfo, parseUsers, formatTimezone, REQUIRED_COMMANDS } from '../../launcher/agent/guest-info.js';
import { GuestAgent, type AgentStatus } from '../../launcher/agent/agent.js';
import { applyAgentStatus } from '../../handler/controller/agent-status.js';
import { applyDomainEvent } from '../../handler/controller/status.js';
import { parseDuration } from '../../handler/cli/agent.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { GuestAgentStatus__Output } from '../../proto/generated/virtnode/launcher/v1/GuestAgentStatus.js';
import { FakeAgent, defaultAnswer } from './helpers/fake-agent.js';
import { until } from './helpers/until.js';

/** qemu-ga 7.2's answers in the test guest, as read from it (trimmed). */
const OSINFO = { 'kernel-release': '6.1.0-57-cloud-amd64', 'kernel-version': '#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3', machine: 'x86_64', id: 'cirros', name: 'virtnode test guest', 'pretty-name': 'virtnode test guest', 'version-id': '1' };
const IFACES = [
  { name: 'lo', 'hardware-address': '00:00:00:00:00:00', 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 }] },
  {
    name: 'eth0',
    'hardware-address': '02:AA:BB:CC:DD:EE',
    'ip-addresses': [
      { 'ip-address-type': 'ipv6', 'ip-address': 'fe80::aa:bbff:fecc:ddee', prefix: 64 },
      { 'ip-address-type': 'ipv4', 'ip-address': '10.0.2.2', prefix: 24 },
    ],
  },
  { name: 'eth1', 'hardware-address': '02:00:00:00:00:01' },
];
const INFO = { version: '7.2.18', supported_commands: REQUIRED_COMMANDS.map((name) => ({ name, enabled: true, 'success-response': name !== 'guest-shutdown' })) };

test('replies in kubevirt.io/v1 words: osinfo, fsinfo, users, timezone, agent info; untrusted shapes are dropped', () => {
  assert.deepEqual(parseOSInfo(OSINFO), { name: 'virtnode test guest', kernelRelease: '6.1.0-57-cloud-amd64', prettyName: 'virtnode test guest', versionId: '1', kernelVersion: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3', machine: 'x86_64', id: 'cirros' });
  assert.deepEqual(parseOSInfo('nonsense'), {});
  assert.deepEqual(parseFsInfo([{ name: 'vda1', mountpoint: '/', type: 'ext4', 'used-bytes': 1024, 'total-bytes': 4096, disk: [{ 'bus-type': 'virtio', serial: 'abc', bus: 0 }] }, { name: 7 }]), [
    { diskName: 'vda1', mountPoint: '/', fileSystemType: 'ext4', usedBytes: 1024, totalBytes: 4096, disk: [{ serial: 'abc', busType: 'virtio' }] },
    { diskName: '', mountPoint: '', fileSystemType: '', usedBytes: 0, totalBytes: 0 },
  ]);
  assert.deepEqual(parseUsers([{ user: 'root', 'login-time': 1700000000.5 }, { user: '' }, { domain: 'x' }]), [{ userName: 'root', loginTime: 1700000000.5 }]);
  assert.equal(formatTimezone({ zone: 'UTC', offset: 0 }), 'UTC, 0');
  assert.equal(formatTimezone({}), undefined);
  assert.deepEqual(missingCommands(parseAgentInfo(INFO)), []);
  const old = parseAgentInfo({ version: '2.5', supported_commands: [{ name: 'guest-ping', enabled: true }, { name: 'guest-get-osinfo', enabled: false }] });
  assert.ok(missingCommands(old).includes('guest-get-osinfo'), 'a disabled command is missing');
  assert.equal(missingCommands(old).length, REQUIRED_COMMANDS.length - 1);
});

test('interfaces merged as KubeVirt: the guest\'s name and addresses by MAC, the pod IP kept, guest-only ones after, loopback never', () => {
  const guest = parseGuestInterfaces(IFACES);
  assert.deepEqual(guest.map((g) => g.name), ['eth0', 'eth1']);
  assert.deepEqual(guest[0]!.ips, ['10.0.2.2', 'fe80::aa:bbff:fecc:ddee'], 'IPv4 first');
  const domain = [{ name: 'default', mac: '02:aa:bb:cc:dd:ee', ipAddress: '10.244.0.9', ipAddresses: ['10.244.0.9'], infoSource: 'domain' }];
  // Bridge binding: the pod IP stays for IPv4; the guest's IPv6 comes from the agent.
  assert.deepEqual(mergeInterfaces(domain, guest), [
    { name: 'default', mac: '02:aa:bb:cc:dd:ee', ipAddress: '10.244.0.9', ipAddresses: ['10.244.0.9', 'fe80::aa:bbff:fecc:ddee'], infoSource: 'domain, guest-agent', interfaceName: 'eth0' },
    { interfaceName: 'eth1', mac: '02:00:00:00:00:01', infoSource: 'guest-agent' },
  ]);
  // Masquerade: link-local addresses cannot be reached through NAT.
  assert.deepEqual(mergeInterfaces(domain, guest, new Set(['default']))[0]!.ipAddresses, ['10.244.0.9']);
  // No address known to the domain: the agent's.
  assert.deepEqual(mergeInterfaces([{ name: 'default', mac: '02:aa:bb:cc:dd:ee', infoSource: 'domain' }], guest)[0]!.ipAddresses, ['10.0.2.2', 'fe80::aa:bbff:fecc:ddee']);
  // Without the agent: the domain's as they were.
  assert.deepEqual(mergeInterfaces(domain, undefined), domain);
  const many = Array.from({ length: 30 }, (_, i) => ({ name: `x${i}`, mac: `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`, ips: [] }));
  assert.equal(mergeInterfaces(domain, many).length, 11, 'at most 10 guest-only interfaces');
});

function runningVmi(): VirtualMachineInstance {
  return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'v', namespace: 'default', uid: 'u' }, spec: { domain: { devices: {} } }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } } as VirtualMachineInstance;
}

function report(o: Partial<GuestAgentStatus__Output>): GuestAgentStatus__Output {
  return { connected: true, version: '7.2.18', missingCommands: [], guestOsInfoJson: '', interfacesJson: '', fsFreezeStatus: '', ...o };
}

test('the VMI status of a report: AgentConnected, AgentVersionNotSupported, guestOSInfo, interfaces, fsFreezeStatus; the same report writes nothing', () => {
  const vmi = runningVmi();
  const r1 = applyAgentStatus(vmi, report({ guestOsInfoJson: JSON.stringify({ kernelRelease: '6.1.0', prettyName: 'x', evil: { deep: 1 } }), interfacesJson: JSON.stringify([{ name: 'default', interfaceName: 'eth0', ipAddresses: ['10.0.2.2', 7], infoSource: 'domain, guest-agent', junk: 'x' }]), fsFreezeStatus: 'frozen' }));
  assert.equal(r1.changed, true);
  assert.equal(r1.notes[0]?.reason, 'AgentConnected');
  const st = vmi.status!;
  assert.equal(st.conditions.find((c) => c.type === 'AgentConnected')?.status, 'True');
  assert.equal(st.conditions.some((c) => c.type === 'AgentVersionNotSupported'), false);
  assert.deepEqual(st.guestOSInfo, { kernelRelease: '6.1.0', prettyName: 'x' });
  assert.deepEqual(st.interfaces, [{ name: 'default', interfaceName: 'eth0', infoSource: 'domain, guest-agent', ipAddresses: ['10.0.2.2'] }]);
  assert.equal(st.fsFreezeStatus, 'frozen');
  const again = applyAgentStatus(vmi, report({ guestOsInfoJson: JSON.stringify({ kernelRelease: '6.1.0', prettyName: 'x' }), interfacesJson: JSON.stringify(st.interfaces), fsFreezeStatus: 'frozen' }));
  assert.deepEqual(again, { changed: false, notes: [] });

  const old = applyAgentStatus(vmi, report({ missingCommands: ['guest-get-osinfo'] }));
  assert.equal(old.changed, true);
  const unsupported = st.conditions.find((c) => c.type === 'AgentVersionNotSupported');
  assert.equal(unsupported?.reason, "This guest agent doesn't support required basic commands");
  assert.match(unsupported?.message ?? '', /guest-get-osinfo/);
  assert.equal(st.fsFreezeStatus, undefined, 'thawed');

  applyAgentStatus(vmi, report({ connected: false }));
  assert.equal(st.conditions.some((c) => c.type === 'AgentConnected' || c.type === 'AgentVersionNotSupported'), false);
  assert.deepEqual(st.guestOSInfo, { kernelRelease: '6.1.0', prettyName: 'x' }, 'the last known OS stays');

  // A domain's end takes the agent's conditions along; a late report changes nothing.
  applyAgentStatus(vmi, report({ fsFreezeStatus: 'frozen' }));
  applyDomainEvent(vmi, { seq: 1, timestampMs: 0, state: 'SHUTOFF', reason: 'Shutdown', message: '', qemuPid: 0, accelerator: '', final: true, interfacesJson: '', machineType: '', guestMemoryBytes: 0, volumes: [] });
  assert.equal(st.phase, 'Succeeded');
  assert.equal(st.conditions.some((c) => c.type === 'AgentConnected'), false);
  assert.equal(st.fsFreezeStatus, undefined);
  assert.equal(applyAgentStatus(vmi, report({})).changed, false);
});

test('--unfreeze-timeout takes Go durations', () => {
  assert.equal(parseDuration('5m'), 300);
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('1.5s'), 2);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['', '5', 'm', '5x', '-5m', '5m ']) assert.throws(() => parseDuration(bad), /invalid duration/, bad);
});

async function poller(t: { after(fn: () => Promise<void> | void): void }): Promise<{ fake: FakeAgent; agent: GuestAgent; reports: AgentStatus[] }> {
  const fake = await FakeAgent.start();
  fake.script = (c) => {
    switch (c.execute) {
      case 'guest-info':
        return { return: INFO, id: c.id };
      case 'guest-get-osinfo':
        return { return: OSINFO, id: c.id };
      case 'guest-network-get-interfaces':
        return { return: IFACES, id: c.id };
      case 'guest-fsfreeze-status':
        return { return: frozen ? 'frozen' : 'thawed', id: c.id };
      case 'guest-fsfreeze-freeze':
        frozen = true;
        return { return: 1, id: c.id };
      case 'guest-fsfreeze-thaw':
        frozen = false;
        return { return: 1, id: c.id };
      case 'guest-get-fsinfo':
      case 'guest-get-users':
        return { return: [], id: c.id };
      default:
        return defaultAnswer(c);
    }
  };
  let frozen = false;
  const reports: AgentStatus[] = [];
  const agent = new GuestAgent({
    socket: fake.path,
    log: pino({ level: 'silent' }),
    domainInterfaces: () => ({ interfaces: [{ name: 'default', mac: '02:aa:bb:cc:dd:ee', infoSource: 'domain' }], masquerade: new Set() }),
    onStatus: (s) => reports.push(s),
    pollIntervalsMs: [50, 100],
  });
  await agent.attach();
  t.after(async () => {
    agent.close();
    await fake.stop();
  });
  return { fake, agent, reports };
}

test('the poller: nothing asked until the port opens and the guest runs; then it answers, and its status says so', async (t) => {
  const { fake, agent, reports } = await poller(t);
  agent.domainRunning(true);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(fake.received.length, 0, 'the port is closed: not a byte');
  await assert.rejects(agent.freeze(0), /not connected/);
  agent.portChanged(true);
  await until('the agent to answer', () => reports.some((r) => r.connected && r.interfaces[0]?.interfaceName === 'eth0'));
  const s = reports.at(-1)!;
  assert.equal(s.version, '7.2.18');
  assert.deepEqual(s.missingCommands, []);
  assert.equal(s.guestOSInfo?.kernelRelease, '6.1.0-57-cloud-amd64');
  assert.deepEqual(s.interfaces[0]!.ipAddresses, ['10.0.2.2', 'fe80::aa:bbff:fecc:ddee']);
  assert.equal(fake.received[0]!.execute, 'guest-sync-delimited');
  // Paused: the poll stops; the agent still counts as connected.
  agent.domainRunning(false);
  await new Promise((r) => setTimeout(r, 30));
  const asked = fake.received.length;
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(fake.received.length, asked, 'a paused guest is not polled');
  assert.equal(agent.connected, true);
  agent.domainRunning(true);
  // The port closes (guest reboot): disconnected at once, the agent's interfaces gone, nothing asked.
  agent.portChanged(false);
  assert.equal(reports.at(-1)!.connected, false);
  assert.equal(reports.at(-1)!.interfaces[0]!.interfaceName, undefined);
  const afterClose = fake.received.length;
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(fake.received.length, afterClose);
  await assert.rejects(agent.query('userlist'), /not connected/);
  // Open again: a new agent, synced again before anything else.
  agent.portChanged(true);
  await until('the agent to answer again', () => reports.at(-1)!.connected);
  assert.equal(fake.received[afterClose]!.execute, 'guest-sync-delimited');
});

test('the poller: an open port whose agent is silent is not connected, and one sync per poll is all it gets', async (t) => {
  const { fake, agent, reports } = await poller(t);
  fake.script = () => undefined;
  agent.domainRunning(true);
  agent.portChanged(true);
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(reports.some((r) => r.connected), false);
  assert.ok(fake.received.every((c) => c.execute === 'guest-sync-delimited'));
  assert.ok(fake.received.length <= 2, `syncs: ${fake.received.length}`);
});

test('freeze and unfreeze; a freeze thaws by itself after its timeout; queries answer on demand', async (t) => {
  const { fake, agent, reports } = await poller(t);
  agent.domainRunning(true);
  agent.portChanged(true);
  await until('connected', () => agent.connected);
  await agent.freeze(0);
  assert.equal(reports.at(-1)!.fsFreezeStatus, 'frozen');
  await agent.freeze(0); // frozen already: no second freeze
  assert.equal(fake.received.filter((c) => c.execute === 'guest-fsfreeze-freeze').length, 1);
  await agent.unfreeze();
  assert.equal(reports.at(-1)!.fsFreezeStatus, '');
  await agent.freeze(1);
  await until('the automatic thaw', () => reports.at(-1)!.fsFreezeStatus === '', 3000);
  assert.equal(fake.received.filter((c) => c.execute === 'guest-fsfreeze-thaw').length, 2);
  const info = await agent.query('guestosinfo');
  assert.equal(info.guestAgentVersion, '7.2.18');
  assert.equal((info.os as { kernelRelease: string }).kernelRelease, '6.1.0-57-cloud-amd64');
  assert.deepEqual((await agent.query('fslist')).items, []);
  await agent.shutdown('reboot');
  assert.deepEqual(fake.received.at(-1)!.arguments, { mode: 'reboot' });
});
