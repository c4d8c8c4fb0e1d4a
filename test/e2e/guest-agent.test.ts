// The guest agent end to end, on the real qemu-ga of the test guest (Debian's
// qemu-guest-agent 7.2): AgentConnected, status.guestOSInfo with the guest kernel's
// release, the guest's interfaces from the agent, fslist / userlist / guestosinfo,
// freeze and unfreeze (and the automatic thaw), a soft reboot through the agent and
// the agent found again after it, the ACPI way where no agent answers, and a
// graceful stop of a guest that ignores the power button, done by its agent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_IMAGE, TestHandler, sleep, useTestHandler, type ConsoleSession } from './harness.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

const NAME = 'qga';

/** The test guest on the pod network with bridge binding (the guest holds the pod IP), ACPI on. */
function vmi(grace: number): string {
  return `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: ${NAME}
spec:
  terminationGracePeriodSeconds: ${grace}
  domain:
    devices:
      disks:
      - name: containerdisk
        disk:
          bus: virtio
      interfaces:
      - name: default
        bridge: {}
    resources:
      requests:
        memory: 64M
  networks:
  - name: default
    pod: {}
  volumes:
  - name: containerdisk
    containerDisk:
      image: ${DEMO_IMAGE}
`;
}

const agentConnected = (v: VirtualMachineInstance | undefined): boolean => v?.status?.conditions.some((c) => c.type === 'AgentConnected' && c.status === 'True') ?? false;

async function json(args: string[]): Promise<Record<string, any>> {
  const r = await h.cli(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
}

/** Events of the VMI with `reason`, as `virtnode events` lists them. */
async function eventCount(re: RegExp): Promise<number> {
  const r = await h.cli(['events', NAME]);
  return r.stdout.split('\n').filter((l) => re.test(l)).length;
}

/** The guest rebooted: its banner again on the console, a new boot id after logging in. */
async function rebooted(con: ConsoleSession, from: number, bootId: string): Promise<string> {
  await con.expect(/virtnode test guest/, 180_000, from);
  await con.login('root');
  const id = (await con.run('cat /proc/sys/kernel/random/boot_id')).trim();
  assert.notEqual(id, bootId, 'the guest booted again');
  return id;
}

test('the real qemu-ga: connected, guest OS and interfaces in status, fslist, userlist, guestosinfo, freeze/thaw, reboots, stop', async () => {
  const t0 = Date.now();
  assert.equal((await h.cli(['apply', '-f', '-'], vmi(60))).code, 0);
  const running = await h.waitPhase(NAME, 'Running', 120_000);
  const uid = running.metadata.uid!;
  const podIP = running.status!.interfaces![0]!.ipAddress!;
  const v = (await h.waitVMI(NAME, agentConnected, 'AgentConnected', 120_000))!;
  const connectedAfterMs = Date.now() - t0;
  assert.equal(v.status!.conditions.some((c) => c.type === 'AgentVersionNotSupported'), false, 'qemu-ga 7.2 has every command KubeVirt requires');

  const con = h.console(NAME);
  await con.login('root');
  const release = (await con.run('uname -r')).trim();
  assert.match(release, /^\d+\.\d+\.\d+-\d+-cloud-amd64$/);
  // status.guestOSInfo: the guest kernel's release, /etc/os-release's names.
  const withOs = (await h.waitVMI(NAME, (x) => x?.status?.guestOSInfo?.kernelRelease !== undefined, 'guestOSInfo'))!;
  assert.equal(withOs.status!.guestOSInfo!.kernelRelease, release);
  assert.equal(withOs.status!.guestOSInfo!.prettyName, 'virtnode test guest (cirros-compatible)');
  assert.equal(withOs.status!.guestOSInfo!.id, 'cirros');
  assert.equal(withOs.status!.guestOSInfo!.machine, 'x86_64');

  // status.interfaces: the guest's name for the NIC and its addresses, IPv6 included (the
  // domain never knows those), merged with the domain's entry by MAC.
  const lla = (await con.run("ip -6 addr show dev eth0 scope link | awk '/inet6/ { print $2 }'")).trim().split('/')[0]!;
  assert.match(lla, /^fe80::/, 'the guest has a link-local IPv6 address');
  const withIfaces = (await h.waitVMI(NAME, (x) => x?.status?.interfaces?.[0]?.ipAddresses?.includes(lla) ?? false, 'the guest\'s IPv6 address from the agent', 60_000))!;
  const iface = withIfaces.status!.interfaces![0]!;
  assert.equal(iface.name, 'default');
  assert.equal(iface.interfaceName, 'eth0');
  assert.equal(iface.infoSource, 'domain, guest-agent');
  assert.equal(iface.ipAddress, podIP, 'the pod IP stays first');
  assert.deepEqual(iface.ipAddresses, [podIP, lla]);
  assert.equal(withIfaces.status!.interfaces!.length, 1, 'no loopback');

  // virtctl guestosinfo, fslist, userlist: asked now, kubevirt.io/v1 shapes.
  const info = await json(['guestosinfo', NAME]);
  assert.match(info.guestAgentVersion, /^7\.2\./);
  assert.equal(info.hostname, (await con.run('hostname')).trim());
  assert.equal(info.os.kernelRelease, release);
  assert.ok(info.supportedCommands.some((c: { name: string; enabled: boolean }) => c.name === 'guest-fsfreeze-freeze' && c.enabled));
  assert.ok(info.fsInfo.disks.some((d: { mountPoint: string }) => d.mountPoint === '/'));
  const fs = await json(['fslist', NAME]);
  assert.equal(fs.kind, 'VirtualMachineInstanceFileSystemList');
  const root = fs.items.find((f: { mountPoint: string }) => f.mountPoint === '/');
  assert.ok(root, JSON.stringify(fs.items));
  assert.equal(root.fileSystemType, 'ext4');
  assert.equal(root.diskName, 'vda1');
  assert.ok(root.totalBytes > root.usedBytes && root.usedBytes > 0, JSON.stringify(root));
  assert.deepEqual(root.disk?.map((d: { busType: string }) => d.busType), ['virtio']);
  const users = await json(['userlist', NAME]);
  assert.equal(users.kind, 'VirtualMachineInstanceGuestOSUserList');
  assert.ok(users.items.some((u: { userName: string; loginTime: number }) => u.userName === 'root' && u.loginTime > 1e9), JSON.stringify(users.items));

  // Freeze: the root filesystem takes no write until the thaw; status says frozen.
  const frozen = await h.cli(['freeze', NAME, '--unfreeze-timeout', '0']);
  assert.equal(frozen.code, 0, frozen.stderr);
  await h.waitVMI(NAME, (x) => x?.status?.fsFreezeStatus === 'frozen', 'fsFreezeStatus frozen', 10_000);
  await con.run('(echo thawed > /root/write-test) &');
  await sleep(2000);
  assert.match(await con.run('cat /root/write-test 2>&1'), /No such file/, 'a write waits while frozen');
  assert.equal((await h.cli(['unfreeze', NAME])).code, 0);
  await h.waitVMI(NAME, (x) => x?.status?.fsFreezeStatus === undefined, 'thawed', 10_000);
  let written = '';
  for (let i = 0; i < 20 && written !== 'thawed'; i++, await sleep(250)) written = (await con.run('cat /root/write-test 2>/dev/null')).trim();
  assert.equal(written, 'thawed', 'the write went through after the thaw');
  // A freeze with a timeout thaws by itself.
  const tFreeze = Date.now();
  assert.equal((await h.cli(['freeze', NAME, '--unfreeze-timeout', '3s'])).code, 0);
  await h.waitVMI(NAME, (x) => x?.status?.fsFreezeStatus === 'frozen', 'frozen again', 10_000);
  await h.waitVMI(NAME, (x) => x?.status?.fsFreezeStatus === undefined, 'the automatic thaw', 20_000);
  const autoThawMs = Date.now() - tFreeze;
  assert.ok(autoThawMs >= 3000, `thawed after ${autoThawMs} ms`);
  assert.equal((await con.run('echo ok > /root/write-test2 && cat /root/write-test2')).trim(), 'ok');
  assert.match((await h.cli(['freeze', NAME, '--unfreeze-timeout', 'soon'])).stderr, /invalid duration "soon"/);

  // Soft reboot through the agent; the agent is found again after the reboot.
  const bootId = (await con.run('cat /proc/sys/kernel/random/boot_id')).trim();
  const connectedEvents = await eventCount(/AgentConnected/);
  let from = con.output.length;
  const soft = await h.cli(['soft-reboot', NAME]);
  assert.equal(soft.code, 0, soft.stderr);
  assert.match(soft.stdout, /soft reboot through the guest agent/);
  const bootId2 = await rebooted(con, from, bootId);
  await h.waitVMI(NAME, agentConnected, 'AgentConnected after the reboot', 120_000);
  for (let i = 0; i < 40 && (await eventCount(/AgentConnected/)) <= connectedEvents; i++) await sleep(250);
  assert.ok((await eventCount(/AgentConnected/)) > connectedEvents, 'the agent answered again after the reboot');
  assert.ok((await eventCount(/soft reboot through the guest agent/)) >= 1);

  // No agent answers: the ACPI power button, and the answer says so.
  await con.run('touch /run/no-qga; killall qemu-ga');
  await h.waitVMI(NAME, (x) => !agentConnected(x), 'AgentConnected gone', 30_000);
  from = con.output.length;
  const acpi = await h.cli(['soft-reboot', NAME]);
  assert.equal(acpi.code, 0, acpi.stderr);
  assert.match(acpi.stdout, /with the ACPI power button \(no guest agent answers\)/);
  await rebooted(con, from, bootId2);
  assert.ok((await eventCount(/soft reboot over ACPI/)) >= 1);
  await h.waitVMI(NAME, agentConnected, 'AgentConnected after the ACPI reboot (/run/no-qga is gone)', 120_000);

  // A graceful stop of a guest that ignores the power button: its agent powers it off.
  await con.run('killall acpid');
  con.close();
  const tStop = Date.now();
  const del = await h.cli(['delete', 'vmi', NAME, '--wait', '--timeout', '120']);
  assert.equal(del.code, 0, del.stderr);
  const stopMs = Date.now() - tStop;
  assert.ok(stopMs < 50_000, `stopped in ${stopMs} ms, well within the 60 s grace period`);
  const events = (await h.cli(['events'])).stdout;
  assert.doesNotMatch(events, /did not shut down within 60s and was killed/);
  assert.match(events, /Stopped.*virtualmachineinstance\/qga/);
  await h.nothingLeft(uid);
  console.log(`# AgentConnected ${connectedAfterMs} ms after apply; auto-thaw after ${autoThawMs} ms (timeout 3 s); ACPI-ignoring guest stopped via the agent in ${stopMs} ms`);
});
