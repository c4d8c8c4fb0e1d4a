// What KubeVirt's own functional tests assert of a running VMI, read where KubeVirt
// reads it: the status fields its handler sets, the SMBIOS a guest sees by default
// ("test default SMBios"), an emptyDisk's size inside the guest, and how a soft
// reboot is done (ACPI when no agent answers; refused when neither exists, or when
// the VMI is paused). The test guest runs qemu-ga: these tests stop it first
// (/run/no-qga keeps it from being respawned until the next boot); the agent's way
// is test/e2e/guest-agent.test.ts's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestHandler, cirrosVMI, useTestHandler, type ConsoleSession } from './harness.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

const agentConnected = (v: VirtualMachineInstance | undefined): boolean => v?.status?.conditions.some((c) => c.type === 'AgentConnected' && c.status === 'True') ?? false;

/** Plays a guest without an agent: qemu-ga stopped once it has answered, and not started again. */
async function stopAgent(name: string, con: ConsoleSession): Promise<void> {
  await h.waitVMI(name, agentConnected, 'AgentConnected', 120_000);
  await con.run('touch /run/no-qga; killall qemu-ga');
  await h.waitVMI(name, (x) => !agentConnected(x), 'AgentConnected gone', 30_000);
}

/** The test guest's VMI, with a 1G (or `emptyDisk`) scratch disk on request. */
function vmi(name: string, opts: { acpi?: boolean; emptyDisk?: string } = {}): string {
  return cirrosVMI(name, { acpi: opts.acpi, disks: opts.emptyDisk ? [{ name: 'scratch', source: `emptyDisk:\n  capacity: ${opts.emptyDisk}` }] : [] });
}

test('a running VMI: KubeVirt status fields, default SMBIOS, emptyDisk aligned to 1 MiB, soft reboot over ACPI', async () => {
  const r = await h.cli(['apply', '-f', '-'], vmi('fidelity', { emptyDisk: '1G' }));
  assert.equal(r.code, 0, r.stderr);
  const v = await h.waitPhase('fidelity', 'Running', 120_000);
  const st = v.status!;
  assert.match(st.machine?.type ?? '', /^pc-q35-\d+\.\d+$/, 'q35 resolved to its versioned machine');
  assert.deepEqual(st.currentCPUTopology, { sockets: 1, cores: 1, threads: 1 });
  assert.equal(st.memory?.guestRequested, '64M');
  assert.equal(st.memory?.guestAtBoot, '64M');
  assert.match(st.memory?.guestCurrent ?? '', /^\d+(Ki|Mi)?$/);
  assert.equal(st.qosClass, 'Burstable');
  assert.ok(st.nodeName, 'nodeName in standalone mode too');
  assert.deepEqual(st.volumeStatus?.map((s) => [s.name, s.target]), [['containerdisk', 'vda'], ['scratch', 'vdb']]);
  assert.equal(st.volumeStatus?.[1]?.size, 999_292_928, '1G aligned down to 1 MiB');
  assert.deepEqual(Object.keys(st).filter((k) => ['accelerator', 'launcherPid', 'qemuPid'].includes(k)), [], 'no status field KubeVirt lacks');
  // describe shows the same fields by KubeVirt's names, and the VMI's events.
  const described = await h.cli(['describe', 'vmi', 'fidelity']);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /^Machine: +pc-q35-\d+\.\d+$/m);
  assert.match(described.stdout, /^ {2}scratch: vdb, 999292928 bytes$/m);
  assert.match(described.stdout, /^Accelerator: +tcg$/m);
  assert.match(described.stdout, /Started +virtualmachineinstance\/fidelity/);

  const con = h.console('fidelity');
  await con.login('root');
  // KubeVirt's defaults, as its "test default SMBios" reads them.
  assert.equal((await con.run('cat /sys/class/dmi/id/sys_vendor')).trim(), 'KubeVirt');
  assert.equal((await con.run('cat /sys/class/dmi/id/product_name')).trim(), 'None');
  assert.equal((await con.run('cat /sys/class/dmi/id/product_family')).trim(), 'KubeVirt');
  assert.equal((await con.run('blockdev --getsize64 /dev/vdb')).trim(), '999292928');
  const bootId = (await con.run('cat /proc/sys/kernel/random/boot_id')).trim();
  assert.match(bootId, /^[0-9a-f-]{36}$/);

  // A paused VMI is not rebooted.
  assert.equal((await h.cli(['pause', 'fidelity'])).code, 0);
  await h.waitVMI('fidelity', (x) => x?.status?.conditions.some((c) => c.type === 'Paused' && c.status === 'True') ?? false, 'paused');
  const refused = await h.cli(['soft-reboot', 'fidelity']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /VMI is paused/);
  assert.equal((await h.cli(['unpause', 'fidelity'])).code, 0);
  await h.waitVMI('fidelity', (x) => !x?.status?.conditions.some((c) => c.type === 'Paused'), 'unpaused');

  // No agent, ACPI on: the power button, and the guest's poweroff turned into a reset.
  await stopAgent('fidelity', con);
  const from = con.output.length;
  const soft = await h.cli(['soft-reboot', 'fidelity']);
  assert.equal(soft.code, 0, soft.stderr);
  assert.match(soft.stdout, /with the ACPI power button \(no guest agent answers\)/);
  await con.expect(/virtnode test guest/, 120_000, from);
  await con.login('root');
  const bootId2 = (await con.run('cat /proc/sys/kernel/random/boot_id')).trim();
  assert.notEqual(bootId2, bootId, 'the guest booted again');
  con.close();
  const after = await h.getVMI('fidelity');
  assert.equal(after?.metadata.uid, v.metadata.uid, 'the same VMI');
  assert.equal(after?.status?.phase, 'Running', 'a soft reboot is not a power-off');
  assert.match((await h.cli(['events'])).stdout, /Rebooted.*soft reboot over ACPI/);

  const del = await h.cli(['delete', 'vmi', 'fidelity', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(v.metadata.uid!);
});

test('soft reboot with neither an agent nor ACPI is refused with KubeVirt\'s words; a tiny emptyDisk is refused at Apply', async () => {
  const small = await h.cli(['apply', '-f', '-'], vmi('tiny', { emptyDisk: '1000Ki' }));
  assert.equal(small.code, 1);
  assert.match(small.stderr, /spec\.volumes\[1\]\.emptyDisk\.capacity: '1000Ki' is smaller than 1Mi: volume 'scratch'/);
  assert.equal(await h.getVMI('tiny'), undefined);

  assert.equal((await h.cli(['apply', '-f', '-'], vmi('noacpi', { acpi: false }))).code, 0);
  const v = await h.waitPhase('noacpi', 'Running', 120_000);
  const con = h.console('noacpi');
  await con.login('root');
  await stopAgent('noacpi', con);
  con.close();
  const r = await h.cli(['soft-reboot', 'noacpi']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /VMI neither have the agent connected nor the ACPI feature enabled/);
  assert.equal((await h.getVMI('noacpi'))?.status?.phase, 'Running');
  const del = await h.cli(['delete', 'vmi', 'noacpi', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(v.metadata.uid!);
});
