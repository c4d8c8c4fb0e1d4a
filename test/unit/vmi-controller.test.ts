// The VMI controller on a fake node (test/unit/helpers/fake-node.ts): a real store
// on a temp directory, real launcher sessions over unix sockets, fake sandboxes,
// pod networks and images. Each case asserts what the store says (phases,
// conditions, Events) and what the node was asked to make and remove.

import { launcherPid, qemuPid, vmiAccelerator } from '../../proto/vmi/annotations.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { IllegalTransitionError, VirtnodeError } from '../../proto/errors.js';
import { applyDefaults, parseManifests, validate } from '../../proto/vmi/index.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import { Store, type Change } from '../../handler/store/store.js';
import { VmiController } from '../../handler/controller/vmi.js';
import { WorkQueue } from '../../handler/controller/queue.js';
import { setPhase } from '../../handler/controller/vmi-phase.js';
import { LauncherHandle } from '../../handler/controller/launcher-handle.js';
import { FakeNode, Gate, type FakeLauncher } from './helpers/fake-node.js';
import { GETTING_STARTED_VM } from './vmi-fixtures.js';
import { HostDisks } from '../../handler/hostdisk/host-disks.js';
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { until } from './helpers/until.js';

const KIND = 'VirtualMachineInstance';
const NS = 'default';

/** KubeVirt's getting-started VM's template as a VMI, validated and defaulted as the API does. */
function gettingStarted(name = 'vm-cirros'): VirtualMachineInstance {
  const vm = parseManifests(GETTING_STARTED_VM).objects[0] as VirtualMachine;
  const vmi = { apiVersion: 'kubevirt.io/v1', kind: KIND, metadata: { name, namespace: NS, labels: vm.spec.template.metadata?.labels }, spec: vm.spec.template.spec };
  validate(vmi, { podNetworking: true });
  return applyDefaults(vmi as VirtualMachineInstance, { podNetworking: true });
}

interface LogLine {
  level: number;
  msg: string;
  key?: string;
  retryInMs?: number;
  err?: string;
}

/** A controller on a fake node and a real store, and what it did, recorded. */
class Harness {
  readonly node: FakeNode;
  readonly storeDir: string;
  store!: Store;
  ctl!: VmiController;
  /** Phases each VMI (by uid) went through, "deleted" when it left the store. */
  readonly phases = new Map<string, string[]>();
  /** Node Events recorded for VMIs: "<uid> <reason>". */
  readonly events: string[] = [];
  /** The controller's warnings and errors. */
  readonly logs: LogLine[] = [];
  /** The node's hostDisk judge (none: hostDisk refused), kept across restarts like the node's files. */
  hostDisks: HostDisks | undefined;

  private constructor(node: FakeNode) {
    this.node = node;
    this.storeDir = join(node.root, 'store');
  }

  static async start(t: { after(fn: () => Promise<void>): void }, prepare?: (h: Harness) => Promise<void>): Promise<Harness> {
    const h = new Harness(await FakeNode.create());
    t.after(() => h.close());
    await h.open(prepare);
    return h;
  }

  /** Opens the store and starts a controller on it; `prepare` may fill the store first. */
  async open(prepare?: (h: Harness) => Promise<void>): Promise<void> {
    this.store = await Store.open(this.storeDir);
    this.store.on('change', (c: Change) => this.#record(c));
    await prepare?.(this);
    const log = pino({ level: 'warn' }, { write: (s: string) => void this.logs.push(JSON.parse(s) as LogLine) });
    this.ctl = new VmiController({
      store: this.store,
      log,
      nodeName: 'node-1',
      images: this.node.images,
      network: this.node.network,
      sandboxes: this.node.sandboxes,
      chooseAccelerator: this.node.chooseAccelerator,
      backoff: { baseMs: 20, maxMs: 200 },
      ...(this.hostDisks ? { hostDisks: this.hostDisks } : {}),
    });
    await this.ctl.start();
  }

  /** A handler restart: the controller stops (launchers keep running), a new one starts on the same store directory. */
  async restart(between?: () => Promise<void> | void): Promise<void> {
    await this.ctl.stop();
    await this.store.close();
    this.node.generation++; // the old handler process is gone, and its watch on its children
    await between?.();
    await this.open();
  }

  async close(): Promise<void> {
    // A test that failed may leave a pull or a launcher waiting: let them go, so
    // nothing in flight outlives the test.
    for (const g of [this.node.pullGate, this.node.launcherBehaviour.dialGate, this.node.launcherBehaviour.syncGate]) g?.open();
    await this.ctl?.stop();
    await this.ctl?.idle();
    await this.store?.close();
    await this.node.close();
  }

  create(vmi: VirtualMachineInstance): VirtualMachineInstance {
    return this.store.create(vmi).object;
  }

  get(name = 'vm-cirros'): VirtualMachineInstance | undefined {
    return this.store.get<VirtualMachineInstance>(KIND, NS, name);
  }

  phasesOf(uid: string): string[] {
    return this.phases.get(uid) ?? [];
  }

  eventsOf(uid: string): string[] {
    return this.events.filter((e) => e.startsWith(`${uid} `)).map((e) => e.slice(uid.length + 1));
  }

  async untilPhase(uid: string, phase: string, timeoutMs = 4000): Promise<void> {
    await until(`VMI ${uid} ${phase} (phases so far: ${this.phasesOf(uid).join(' → ')})`, () => this.phasesOf(uid).includes(phase), timeoutMs);
  }

  async untilGone(uid: string, timeoutMs = 4000): Promise<void> {
    await this.untilPhase(uid, 'deleted', timeoutMs);
  }

  #record(c: Change): void {
    if (c.type === 'EVENT') {
      const ev = c.object as { involvedObject: { kind: string; uid?: string }; reason: string };
      if (ev.involvedObject.kind === KIND) this.events.push(`${ev.involvedObject.uid} ${ev.reason}`);
      return;
    }
    if (c.kind !== KIND) return;
    const o = c.object as VirtualMachineInstance;
    const uid = o.metadata.uid!;
    const seen = this.phases.get(uid) ?? [];
    this.phases.set(uid, seen);
    const phase = c.type === 'DELETED' ? 'deleted' : (o.status?.phase ?? 'Pending');
    if (seen.at(-1) !== phase) seen.push(phase);
  }
}

function launcherOf(h: Harness, uid: string): FakeLauncher {
  const ls = h.node.launchersOf(uid);
  assert.equal(ls.length, 1, `one launcher for ${uid}, got ${ls.length}`);
  return ls[0]!;
}

/** The index in the node's journal of "<what> <uid>"; fails when absent. */
function at(node: FakeNode, what: string, uid: string): number {
  const i = node.journal.findIndex((l) => l === `${what} ${uid}` || l.startsWith(`${what} ${uid} `));
  assert.ok(i >= 0, `${what} ${uid} not in the node journal:\n${node.journal.join('\n')}`);
  return i;
}

// ---- 1. the whole life of the getting-started VMI ----------------------------------

test('the getting-started VMI runs under TCG, and a delete shuts it down gracefully and leaves nothing', async (t) => {
  const h = await Harness.start(t);
  const { uid } = h.create(gettingStarted()).metadata;
  await h.untilPhase(uid!, 'Running');

  const vmi = h.get()!;
  const launcher = launcherOf(h, uid!);
  assert.equal(vmi.status?.nodeName, 'node-1');
  assert.equal(launcherPid(vmi), launcher.pid);
  assert.equal(qemuPid(vmi), launcher.pid + 1);
  assert.equal(vmiAccelerator(vmi), 'tcg');
  const cond = (type: string) => vmi.status?.conditions.find((c) => c.type === type);
  assert.equal(cond('SoftwareEmulation')?.status, 'True');
  assert.equal(cond('SoftwareEmulation')?.reason, 'KVMUnavailable');
  assert.equal(cond('Ready')?.status, 'True');
  // What the launcher was sent: the disk overlay in the sandbox, the pod's netns and tap.
  assert.equal(launcher.syncs, 1);
  const ctx = launcher.contexts[0]!;
  assert.equal(ctx.accelerator, 'tcg');
  assert.equal(ctx.netns, h.node.podNetworks.get(uid!)?.netnsPath);
  // The base is named too: QEMU opens it explicitly, and only what is named is visible to it.
  assert.deepEqual(ctx.volumes, { containerdisk: { path: join(h.node.paths(uid!).diskDir, 'containerdisk.qcow2'), format: 'qcow2', backing: { path: join(h.node.root, 'disk.img'), format: 'qcow2' } } });
  assert.equal(ctx.interfaces?.default?.tapName, 'tap0');
  assert.equal(ctx.interfaces?.default?.dhcp?.lease.ip, '10.0.2.2');
  // The pod network and the pull run side by side, after the sandbox; the launcher starts after both.
  const made = h.node.journalOf(uid!);
  assert.equal(made[0], 'sandbox.create');
  assert.deepEqual([...made.slice(1, 4)].sort(), ['image.pull', 'image.pulled', 'network.create']);
  assert.deepEqual(made.slice(4), ['launcher.spawn', 'launcher.start', 'sandbox.place']);
  assert.equal(h.node.holds.get(uid!)?.size, 1, 'the VMI holds its image');

  await h.ctl.requestDelete(NS, 'vm-cirros');
  await h.untilGone(uid!);
  assert.deepEqual(h.phasesOf(uid!), ['Pending', 'Scheduling', 'Scheduled', 'Running', 'Succeeded', 'deleted']);
  assert.deepEqual(launcher.commands, ['sync', 'shutdown'], 'a graceful shutdown, no kill');
  // The Deleted event is recorded after the VMI's removal is durable: it may trail the removal.
  await until('the Deleted event', () => h.eventsOf(uid!).includes('Deleted'));
  assert.deepEqual(h.eventsOf(uid!), ['Pulling', 'Pulled', 'Started', 'ShuttingDown', 'Stopped', 'Deleted']);
  assert.ok(h.node.journal.includes(`launcher.exit ${uid} exited with code 0`), 'the launcher exited by itself after its final event');
  assert.ok(at(h.node, 'launcher.exit', uid!) < at(h.node, 'sandbox.destroy', uid!), 'the sandbox went after the launcher ended');
  for (const what of ['sandbox.destroy', 'network.destroy', 'image.release']) at(h.node, what, uid!);
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);
  assert.deepEqual(h.logs.filter((l) => l.level >= 50), []);
});

test('a spare launcher is handed the VM at once and runs it the same way', async (t) => {
  const h = await Harness.start(t);
  h.node.spares = 1;
  const { uid } = h.create(gettingStarted()).metadata;
  await h.untilPhase(uid!, 'Running');
  const launcher = launcherOf(h, uid!);
  assert.equal(launcher.spare, true);
  assert.equal(launcher.syncs, 1);
  assert.equal(launcherPid(h.get()!), launcher.pid);
  assert.ok(!h.node.journalOf(uid!).includes('launcher.spawn'), 'no second launcher started');
  assert.ok(!h.node.journalOf(uid!).includes('sandbox.place'), 'a spare joins its cgroup itself');
  assert.ok(at(h.node, 'launcher.start', uid!) < at(h.node, 'network.create', uid!), 'the spare was handed the VM before the pod network was made');
  await h.ctl.requestDelete(NS, 'vm-cirros');
  await h.untilGone(uid!);
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);
});

// ---- 2. a new object under an old name -----------------------------------------------

test('a VMI deleted and made again under its name: the old sandbox goes before the new one is made', async (t) => {
  const h = await Harness.start(t);
  const old = h.create(gettingStarted()).metadata.uid!;
  await h.untilPhase(old, 'Running');

  // Made again the moment the old object leaves the store, as the VM controller does.
  let fresh: string | undefined;
  h.store.on('change', (c: Change) => {
    if (c.type === 'DELETED' && c.kind === KIND && (c.object as VirtualMachineInstance).metadata.uid === old) fresh = h.create(gettingStarted()).metadata.uid;
  });
  await h.ctl.requestDelete(NS, 'vm-cirros');
  await until('the new VMI', () => fresh !== undefined);
  assert.notEqual(fresh, old);
  await h.untilPhase(fresh!, 'Running');

  assert.ok(at(h.node, 'sandbox.destroy', old) < at(h.node, 'sandbox.create', fresh!), h.node.journal.join('\n'));
  assert.deepEqual(launcherOf(h, old).commands, ['sync', 'shutdown'], 'the old one was shut down gracefully');
  assert.deepEqual(h.node.leftovers(old, { deleted: true }), []);
  assert.equal(launcherOf(h, fresh!).syncs, 1);
  assert.equal(h.get()!.metadata.uid, fresh);
  assert.equal(h.get()!.status?.phase, 'Running');
});

test('a VMI replaced in the store before the controller looks: the old one is torn down first', async (t) => {
  // The listener that replaces the object runs before the controller's, so the
  // controller's first look finds the new uid where its runtime has the old one.
  let replace: ((h: Harness) => void) | undefined;
  const h = await Harness.start(t, async (h) => {
    h.store.on('change', (c: Change) => {
      if (c.type === 'DELETED' && c.kind === KIND) replace?.(h);
    });
  });
  const old = h.create(gettingStarted()).metadata.uid!;
  await h.untilPhase(old, 'Running');
  let fresh: string | undefined;
  replace = (h) => {
    replace = undefined;
    fresh = h.create(gettingStarted()).metadata.uid;
  };
  await h.store.delete(KIND, NS, 'vm-cirros');
  assert.ok(fresh);
  await h.untilPhase(fresh!, 'Running');

  assert.ok(at(h.node, 'sandbox.destroy', old) < at(h.node, 'sandbox.create', fresh!), h.node.journal.join('\n'));
  assert.ok(at(h.node, 'network.destroy', old) < at(h.node, 'sandbox.create', fresh!));
  // Not `deleted`: the object left the store behind the controller's back, so only
  // the teardown ran, which keeps the launcher log (the next restart's sweep takes it).
  assert.deepEqual(h.node.leftovers(old), []);
  assert.equal(launcherOf(h, old).alive, false);
  assert.equal(launcherOf(h, fresh!).syncs, 1);
  assert.equal(h.get()!.status?.phase, 'Running');
});

// ---- 3. delete during an image pull ----------------------------------------------------

test('a delete during an image pull does not wait for the pull, and leaves nothing', async (t) => {
  const h = await Harness.start(t);
  const gate = (h.node.pullGate = new Gate());
  const { uid } = h.create(gettingStarted()).metadata;
  await until('the pull to start', () => h.node.pullsInFlight === 1);
  await h.untilPhase(uid!, 'Scheduling');

  await h.ctl.requestDelete(NS, 'vm-cirros');
  await h.untilGone(uid!, 3000);
  assert.equal(h.node.pullsInFlight, 1, 'the pull is still running: the delete did not wait for it');
  assert.deepEqual(h.phasesOf(uid!), ['Pending', 'Scheduling', 'Succeeded', 'deleted']);
  assert.equal(h.node.launchersOf(uid!).length, 0, 'no launcher was started');
  for (const what of ['sandbox.destroy', 'network.destroy']) at(h.node, what, uid!);
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);

  // The pull ends later and takes its hold then: that hold must not outlive the VMI.
  gate.open();
  await until('the pull to end', () => h.node.pullsInFlight === 0);
  await until('the late image hold to be released', () => h.node.leftovers(uid!, { deleted: true }).length === 0);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);
});

test('a delete while the launcher starts, before it dialled in, does not wait for it', async (t) => {
  const h = await Harness.start(t);
  const dial = new Gate();
  h.node.launcherBehaviour = { dialGate: dial };
  const { uid } = h.create(gettingStarted()).metadata;
  await until('the launcher to be started', () => h.node.launchersOf(uid!).length === 1);
  await h.ctl.requestDelete(NS, 'vm-cirros');
  await h.untilGone(uid!, 3000);
  assert.deepEqual(h.phasesOf(uid!), ['Pending', 'Scheduling', 'Succeeded', 'deleted']);
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);
  assert.equal(h.node.launchersOf(uid!)[0]!.syncs, 0);
});

test('a delete while Sync is in flight (the guest not resumed yet) tears the VMI down at once', async (t) => {
  const h = await Harness.start(t);
  const sync = new Gate();
  h.node.launcherBehaviour = { syncGate: sync };
  const { uid } = h.create(gettingStarted()).metadata;
  await until('Sync to reach the launcher', () => h.node.launchersOf(uid!)[0]?.syncs === 1);
  await h.ctl.requestDelete(NS, 'vm-cirros');
  await h.untilGone(uid!, 3000);
  assert.deepEqual(h.phasesOf(uid!), ['Pending', 'Scheduling', 'Succeeded', 'deleted']);
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);
});

// ---- 4. recovery after a handler restart -------------------------------------------------

test('recovery: a preparation a handler restart interrupted is torn down and started over', async (t) => {
  let uid = '';
  const h = await Harness.start(t, async (h) => {
    // What a handler that died mid-prepare left: a VMI in Scheduling, its sandbox
    // without a launch context, its pod network.
    const vmi = gettingStarted();
    vmi.status = { phase: 'Scheduling', conditions: [], nodeName: 'node-1' };
    uid = h.store.create(vmi).object.metadata.uid!;
    await h.store.flush();
    await h.node.sandboxes.create({ vmi: { uid, namespace: NS, name: 'vm-cirros' }, limits: { memoryBytes: 1 << 28, cpuRequestMillis: 100, pidsMax: 4096 }, log: h.node.log });
    await h.node.network.createPodNetwork({ uid, namespace: NS, name: 'vm-cirros', interfaces: [{ name: 'default', masquerade: {} }], networks: [{ name: 'default', pod: {} }], runDir: h.node.paths(uid).runDir });
  });
  await h.untilPhase(uid, 'Running');
  // Scheduling as the old handler left it, Pending again, then the start.
  assert.deepEqual(h.phasesOf(uid), ['Scheduling', 'Pending', 'Scheduling', 'Scheduled', 'Running']);
  assert.deepEqual(h.node.journalOf(uid).slice(0, 6), ['sandbox.create', 'network.create', 'sandbox.destroy', 'network.destroy', 'image.release', 'sandbox.create']);
  assert.equal(launcherOf(h, uid).syncs, 1);
  assert.equal(h.get()!.status?.phase, 'Running');
});

test('recovery: a running VMI whose launcher lives is re-attached without a second Sync', async (t) => {
  const h = await Harness.start(t);
  const { uid } = h.create(gettingStarted()).metadata;
  await h.untilPhase(uid!, 'Running');
  const launcher = launcherOf(h, uid!);

  await h.restart(async () => {
    await until('the launcher to notice the handler is gone', () => !launcher.session.connected);
    // An event while the handler is away is kept and resent.
    launcher.emit({ state: 'PAUSED', reason: 'User' });
  });
  await until('the launcher to dial the new handler', () => launcher.session.connected, 4000);
  await until('the paused condition', () => h.get()!.status?.conditions.some((c) => c.type === 'Paused' && c.status === 'True') ?? false);
  assert.equal(launcher.syncs, 1, 'no second Sync');
  assert.equal(launcher.alive, true);
  assert.equal(h.get()!.status?.phase, 'Running');
  assert.equal(h.node.launchersOf(uid!).length, 1);
  assert.equal(h.node.journalOf(uid!).filter((w) => w === 'sandbox.create').length, 1);

  // The new controller drives it: unpause, then a graceful delete.
  await h.ctl.verb(NS, 'vm-cirros', 'unpause');
  await until('unpaused', () => !(h.get()!.status?.conditions.some((c) => c.type === 'Paused') ?? true));
  await h.ctl.requestDelete(NS, 'vm-cirros');
  await h.untilGone(uid!);
  assert.deepEqual(launcher.commands, ['sync', 'unpause', 'shutdown']);
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);
});

test('recovery: a running VMI whose launcher died meanwhile fails with LauncherExited and is torn down', async (t) => {
  const h = await Harness.start(t);
  const { uid } = h.create(gettingStarted()).metadata;
  await h.untilPhase(uid!, 'Running');
  const launcher = launcherOf(h, uid!);

  await h.restart(() => launcher.die());
  await h.untilPhase(uid!, 'Failed');
  const vmi = h.get()!;
  assert.equal(vmi.status?.reason, 'LauncherExited');
  assert.equal(vmi.status?.conditions.find((c) => c.type === 'Ready')?.reason, 'LauncherExited');
  assert.equal(qemuPid(vmi), undefined);
  await until('the teardown', () => h.node.leftovers(uid!).length === 0);
  assert.ok(h.eventsOf(uid!).includes('LauncherExited'));
  assert.equal(launcher.syncs, 1);

  await h.ctl.requestDelete(NS, 'vm-cirros');
  await h.untilGone(uid!);
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);
});

test('recovery: a VMI that ended before its teardown was done is torn down, image holds and pod network too', async (t) => {
  let uid = '';
  const h = await Harness.start(t, async (h) => {
    // A handler that stored the guest's poweroff and stopped before its teardown.
    const vmi = gettingStarted();
    vmi.status = { phase: 'Succeeded', conditions: [], nodeName: 'node-1' };
    uid = h.store.create(vmi).object.metadata.uid!;
    await h.store.flush();
    const sb = await h.node.sandboxes.create({ vmi: { uid, namespace: NS, name: 'vm-cirros' }, limits: { memoryBytes: 1 << 28, cpuRequestMillis: 100, pidsMax: 4096 }, log: h.node.log });
    sb.runtime.synced = true;
    await sb.save();
    await h.node.network.createPodNetwork({ uid, namespace: NS, name: 'vm-cirros', interfaces: [{ name: 'default', masquerade: {} }], networks: [{ name: 'default', pod: {} }], runDir: sb.paths.runDir });
    await h.node.images.pullContainerDisk('quay.io/kubevirt/cirros-container-disk-demo', 'Always', { holder: uid });
  });
  await h.ctl.idle();
  assert.deepEqual(h.node.leftovers(uid), []);
  assert.equal(h.get()!.status?.phase, 'Succeeded', 'the VMI itself is kept');
  assert.equal(h.node.launchers.length, 0);
});

// ---- 5. Sync refused ---------------------------------------------------------------------

test('a launcher that refuses Sync fails the VMI (SyncFailed) and its sandbox is torn down', async (t) => {
  const h = await Harness.start(t);
  h.node.launcherBehaviour = { syncError: new VirtnodeError('VN_SANDBOX', 'could not join the VM cgroup (/sys/fs/cgroup/x/cgroup.procs)') };
  const { uid } = h.create(gettingStarted()).metadata;
  await h.untilPhase(uid!, 'Failed');
  const vmi = h.get()!;
  assert.equal(vmi.status?.reason, 'SyncFailed');
  assert.match(vmi.status?.conditions.find((c) => c.type === 'Ready')?.message ?? '', /could not join the VM cgroup/);
  assert.deepEqual(h.phasesOf(uid!), ['Pending', 'Scheduling', 'Failed']);
  await until('the teardown', () => h.node.leftovers(uid!).length === 0);
  assert.equal(launcherOf(h, uid!).alive, false, 'the launcher went with its sandbox');
  assert.ok(h.eventsOf(uid!).includes('SyncFailed'));
});

test('QEMU failing to start fails the VMI, by its SHUTOFF event or the refused Sync, and leaves nothing', async (t) => {
  const h = await Harness.start(t);
  h.node.launcherBehaviour = { syncCrash: true };
  const { uid } = h.create(gettingStarted()).metadata;
  await h.untilPhase(uid!, 'Failed');
  const vmi = h.get()!;
  assert.ok(['Failed', 'SyncFailed'].includes(vmi.status?.reason ?? ''), `reason ${vmi.status?.reason}`);
  assert.ok(!h.phasesOf(uid!).includes('Running'));
  await until('the teardown', () => h.node.leftovers(uid!).length === 0);
  await h.ctl.requestDelete(NS, 'vm-cirros');
  await h.untilGone(uid!);
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);
});

// ---- 6. retries with backoff ----------------------------------------------------------------

test('a reconcile that fails is retried after growing delays and succeeds once the cause is gone', async (t) => {
  const h = await Harness.start(t);
  // A VMI that ended (its image could not be pulled) and sits torn down: its delete
  // is the only thing left to do, so each reconcile below is a retry.
  h.node.pullError = new VirtnodeError('VN_IMAGE', 'pulling quay.io/kubevirt/cirros-container-disk-demo: manifest unknown');
  const { uid } = h.create(gettingStarted()).metadata;
  await h.untilPhase(uid!, 'Failed');
  assert.equal(h.get()!.status?.reason, 'ErrImagePull');
  await until('the teardown', () => h.node.leftovers(uid!).length === 0);
  await new Promise((r) => setTimeout(r, 60)); // the preparation's own retry (20 ms) finds nothing to do
  await h.ctl.idle();
  h.logs.length = 0;

  // The store cannot remove the object three times in a row (a full disk, say).
  const attempts: number[] = [];
  const realDelete = h.store.delete.bind(h.store);
  h.store.delete = (kind, ns, name) => {
    attempts.push(performance.now());
    if (attempts.length <= 3) return Promise.reject(new Error('ENOSPC: no space left on device'));
    return realDelete(kind, ns, name);
  };
  await h.ctl.requestDelete(NS, 'vm-cirros');
  await h.untilGone(uid!, 4000);

  assert.equal(attempts.length, 4);
  const retries = h.logs.filter((l) => l.msg === 'VMI reconcile failed; retrying');
  assert.deepEqual(retries.map((l) => [l.key, l.retryInMs, l.err]), [20, 40, 80].map((ms) => [`${NS}/vm-cirros`, ms, 'ENOSPC: no space left on device']));
  const gaps = attempts.slice(1).map((a, i) => a - attempts[i]!);
  [20, 40, 80].forEach((ms, i) => assert.ok(gaps[i]! >= ms - 2, `retry ${i + 1} after ${gaps[i]} ms, expected ≥ ${ms}`));
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);
});

test('WorkQueue: delays double per failure of a key, are capped, reset after a success, and keys back off alone', async () => {
  const fails = new Map<string, number>([['a', 5], ['b', 1]]);
  const runs: { key: string; at: number }[] = [];
  const errors: [string, number][] = [];
  const q = new WorkQueue(
    async (key) => {
      runs.push({ key, at: performance.now() });
      const left = fails.get(key) ?? 0;
      if (left > 0) {
        fails.set(key, left - 1);
        throw new Error(`${key} not yet`);
      }
    },
    { backoff: { baseMs: 10, maxMs: 40 }, onError: (key, _e, ms) => errors.push([key, ms]) },
  );
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => q.retryDelay(n)), [10, 20, 40, 40, 40]);
  q.add('a');
  q.add('b');
  await until('a to succeed', () => runs.filter((r) => r.key === 'a').length === 6, 3000);
  assert.deepEqual(errors.filter(([k]) => k === 'a').map(([, ms]) => ms), [10, 20, 40, 40, 40]);
  assert.deepEqual(errors.filter(([k]) => k === 'b').map(([, ms]) => ms), [10]);
  const a = runs.filter((r) => r.key === 'a').map((r) => r.at);
  a.slice(1).forEach((t, i) => assert.ok(t - a[i]! >= [10, 20, 40, 40, 40][i]! - 2, `retry ${i + 1} of a after ${t - a[i]!} ms`));

  // After a success the count starts again at the base delay.
  fails.set('a', 1);
  q.add('a');
  await until('a to succeed again', () => runs.filter((r) => r.key === 'a').length === 8, 3000);
  assert.deepEqual(errors.filter(([k]) => k === 'a').map(([, ms]) => ms), [10, 20, 40, 40, 40, 10]);
  await q.idle();
  q.stop();
});

// ---- 7. the launcher dies while the VM runs -----------------------------------------------

test('a launcher that dies while its VM runs fails the VMI with LauncherExited, and its sandbox is torn down', async (t) => {
  const h = await Harness.start(t);
  const { uid } = h.create(gettingStarted()).metadata;
  await h.untilPhase(uid!, 'Running');
  const launcher = launcherOf(h, uid!);
  launcher.die('killed by signal SIGKILL');
  await h.untilPhase(uid!, 'Failed');
  const vmi = h.get()!;
  assert.equal(vmi.status?.reason, 'LauncherExited');
  assert.match(vmi.status?.conditions.find((c) => c.type === 'Ready')?.message ?? '', new RegExp(`virt-launcher process ${launcher.pid} killed by signal SIGKILL unexpectedly`));
  await until('the teardown', () => h.node.leftovers(uid!).length === 0);
  for (const what of ['sandbox.destroy', 'network.destroy', 'image.release']) assert.ok(at(h.node, what, uid!) > at(h.node, 'launcher.exit', uid!));
  assert.deepEqual(h.phasesOf(uid!), ['Pending', 'Scheduling', 'Scheduled', 'Running', 'Failed']);
});

// ---- 8. illegal moves ----------------------------------------------------------------------------

test('an illegal VMI phase move is an error naming both phases', () => {
  const vmi = gettingStarted();
  setPhase(vmi, 'Scheduling');
  setPhase(vmi, 'Scheduled');
  setPhase(vmi, 'Running');
  assert.throws(
    () => setPhase(vmi, 'Scheduling'),
    (e: unknown) => e instanceof IllegalTransitionError && e.from === 'Running' && e.to === 'Scheduling' && /"Running" to "Scheduling"/.test(e.message) && e.message.includes('default/vm-cirros'),
  );
  setPhase(vmi, 'Succeeded');
  assert.throws(() => setPhase(vmi, 'Running'), /invalid state transition "Succeeded" to "Running"/);
  assert.equal(vmi.status?.phase, 'Succeeded');
});

test('LauncherHandle refuses an illegal state move, naming both states', async (t) => {
  const node = await FakeNode.create();
  const handle = new LauncherHandle({
    key: 'default/x',
    socketPath: join(node.root, 'h.sock'),
    log: pino({ level: 'silent' }),
    appliedSeq: () => 0,
    alive: () => true,
    onEvent: async () => undefined,
    onExit: () => undefined,
  });
  t.after(async () => {
    await handle.close();
    await node.close();
  });
  handle.adoptRunning();
  assert.equal(handle.state, 'running');
  assert.throws(
    () => handle.attach(undefined),
    (e: unknown) => e instanceof IllegalTransitionError && e.from === 'running' && e.to === 'starting' && e.message.includes('launcher of default/x'),
  );
  handle.exited('exited with code 0');
  assert.equal(handle.state, 'gone');
  assert.throws(() => handle.adoptRunning(), /invalid state transition "gone" to "running"/);
});

test('a LauncherHandle closed by a handler stop neither polls its launcher nor reports its end', async (t) => {
  const node = await FakeNode.create();
  t.after(() => node.close());
  const socketPath = join(node.root, 'h.sock');
  let alive = true;
  let polls = 0;
  const exits: string[] = [];
  const handle = new LauncherHandle({
    key: 'default/x',
    socketPath,
    log: pino({ level: 'silent' }),
    appliedSeq: () => 0,
    alive: () => (polls++, alive),
    onEvent: async () => undefined,
    onExit: (how) => exits.push(how),
  });
  await handle.listen();
  const launcher = node.startLauncher('6f1f0a3e-5d0c-4a8e-9a51-1b2c3d4e5f60', socketPath, false);
  let exit!: (how: string) => void;
  handle.attach({ pid: launcher.pid, exited: new Promise((r) => (exit = r)) });
  await until('the launcher to dial in', () => handle.connected);

  await handle.close(); // the handler stops; the launcher runs on, and later ends
  polls = 0;
  alive = false;
  exit('exited with code 1');
  await new Promise((r) => setTimeout(r, 500)); // more than two liveness periods
  assert.equal(polls, 0, 'the closed handle still polls its launcher');
  assert.deepEqual(exits, [], 'the closed handle reported the end of a launcher it let go of');
  assert.equal(handle.state, 'starting');
});

// ---- volume hotplug -------------------------------------------------------------------

function hotplugSetup(t: { after(fn: () => void): void }): { root: string; path: string } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'vn-ctl-hotplug-')));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const path = join(root, 'hot.img');
  writeFileSync(path, Buffer.alloc(1 << 20));
  return { root, path };
}

const hotRequest = (path: string) => ({ disk: { name: 'hot', disk: { bus: 'scsi' as const } }, volume: { name: 'hot', hostDisk: { path, type: 'Disk' as const } } });

test('hotplug: Pending → AttachedToNode → Ready; a handler restart keeps the volume and its hold; removal detaches and lets go', async (t) => {
  const { root, path } = hotplugSetup(t);
  const h = await Harness.start(t, async (x) => {
    x.hostDisks = new HostDisks([root]);
  });
  const { uid } = h.create(gettingStarted()).metadata;
  await h.untilPhase(uid!, 'Running');
  const launcher = launcherOf(h, uid!);
  const phases: string[] = [];
  const watchPhases = (): void => {
    h.store.on('change', (c: Change) => {
      const p = (c.object as VirtualMachineInstance).status?.volumeStatus?.find((v) => v.name === 'hot')?.phase;
      if (c.kind === KIND && p && phases.at(-1) !== p) phases.push(p);
    });
  };
  watchPhases();

  const outcome = await h.ctl.addVolume(NS, 'vm-cirros', hotRequest(path));
  assert.ok(outcome.ok);
  assert.deepEqual(phases, ['Pending', 'AttachedToNode', 'Ready']);
  const vs = h.get()!.status!.volumeStatus!.find((v) => v.name === 'hot');
  assert.deepEqual(vs, { name: 'hot', target: 'sda', size: 1 << 20, phase: 'Ready', reason: 'VolumeReady', message: 'Successfully attach hotplugged volume hot to VM', hotplugVolume: {} });
  assert.deepEqual(h.get()!.spec.volumes!.at(-1), { name: 'hot', hostDisk: { path, type: 'Disk' } });
  const file = { dev: BigInt(statSync(path).dev), ino: BigInt(statSync(path).ino) };
  assert.equal(h.hostDisks!.holders(file).length, 1);
  assert.deepEqual([...launcher.volumes], [['hot', 'sda']]);
  await until('the VolumeReady event', () => h.eventsOf(uid!).includes('VolumeReady'));

  // A new handler (and a new judge, as after a process restart) takes the hold back from the runtime record.
  h.hostDisks = new HostDisks([root]);
  await h.restart();
  await until('the launcher to dial the new handler', () => launcher.session.connected, 4000);
  assert.deepEqual(h.hostDisks.holders(file).map((x) => x.name), ['vm-cirros'], 'held again after the restart');
  assert.equal(h.get()!.status!.volumeStatus!.find((v) => v.name === 'hot')?.phase, 'Ready');
  assert.equal(launcher.commands.filter((c) => c === 'attachVolume').length, 1, 'not attached twice');
  watchPhases();

  await h.ctl.removeVolume(NS, 'vm-cirros', 'hot');
  assert.deepEqual(launcher.commands.filter((c) => c.endsWith('Volume')), ['attachVolume', 'detachVolume']);
  assert.equal(h.get()!.status!.volumeStatus!.find((v) => v.name === 'hot'), undefined);
  assert.ok(!h.get()!.spec.volumes!.some((v) => v.name === 'hot'));
  assert.deepEqual(h.hostDisks.holders(file), [], 'the hold is dropped');
  assert.equal(launcher.volumes.size, 0);
  assert.ok(phases.includes('Detaching'));
  await h.ctl.requestDelete(NS, 'vm-cirros');
  await h.untilGone(uid!);
  assert.deepEqual(h.node.leftovers(uid!, { deleted: true }), []);
});

test('hotplug: an attach the launcher refuses is undone whole: spec, status, hold, with a Warning event', async (t) => {
  const { root, path } = hotplugSetup(t);
  const h = await Harness.start(t, async (x) => {
    x.hostDisks = new HostDisks([root]);
  });
  h.node.launcherBehaviour.attachError = new VirtnodeError('VN_QMP', 'device_add: GenericError: no free LUN');
  const { uid } = h.create(gettingStarted()).metadata;
  await h.untilPhase(uid!, 'Running');
  const specBefore = JSON.stringify(h.get()!.spec);
  await assert.rejects(h.ctl.addVolume(NS, 'vm-cirros', hotRequest(path)), (e: unknown) => e instanceof VirtnodeError && e.code === 'VN_INVALID_SPEC' && e.message === 'attaching volume hot failed: device_add: GenericError: no free LUN');
  await until('the rollback to be stored', () => JSON.stringify(h.get()!.spec) === specBefore);
  assert.equal(h.get()!.status!.volumeStatus?.find((v) => v.name === 'hot'), undefined);
  assert.deepEqual(h.hostDisks!.holders({ dev: BigInt(statSync(path).dev), ino: BigInt(statSync(path).ino) }), []);
  await until('the VolumeAttachFailed event', () => h.eventsOf(uid!).includes('VolumeAttachFailed'));
  assert.equal(h.get()!.status!.phase, 'Running', 'the VMI runs on');
  assert.ok(existsSync(path), 'the user\'s existing file is kept');

  // A DiskOrCreate file the handler made for the refused hot-plug goes with it; no other file does.
  const made = join(root, 'made.img');
  await assert.rejects(h.ctl.addVolume(NS, 'vm-cirros', { disk: { name: 'made', disk: { bus: 'scsi' } }, volume: { name: 'made', hostDisk: { path: made, type: 'DiskOrCreate', capacity: '1Mi' } } }), /attaching volume made failed/);
  await until('the made file to be removed', () => !existsSync(made));
  assert.deepEqual(readdirSync(root), ['hot.img']);
  assert.equal(h.hostDisks!.discardMade({ root, path: 'hot.img', dev: String(statSync(path).dev), ino: String(statSync(path).ino) }), false, 'a file the handler did not make is never removed');
  assert.ok(existsSync(path));
});
