// A node for the VMI controller's unit tests, without QEMU, cgroups or netns: fakes
// of every part VmiControllerDeps names, each recording what it was asked in one
// ordered journal (`node.journal`), so a test can say what was made, what was
// removed, in which order, and that nothing is left.
//
// The launcher is the one real piece: an in-process HandlerSession (the launcher's
// own session code) dialling the handler socket of the sandbox it was started for,
// so Hello, Sync, numbered domain events, acknowledgements and resends all cross a
// real gRPC unix socket. Its domain is a small state machine standing in for QEMU.

import { existsSync, promises as fs, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { AlreadyExistsError, IllegalTransitionError, VirtnodeError } from '../../../proto/errors.js';
import { decodeLaunchContext, type LaunchContext } from '../../../proto/launch.js';
import type { AcceleratorChoice } from '../../../proto/accelerator.js';
import type { Command__Output } from '../../../proto/generated/virtnode/launcher/v1/Command.js';
import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import { HandlerSession, type CommandAnswer, type DomainEventInput } from '../../../launcher/session.js';
import type { VmiImages, VmiNetwork } from '../../../handler/controller/vmi-runtime.js';
import type { ContainerDiskPull, KernelBootPull } from '../../../handler/images/index.js';
import { planPodNetwork, podNames, resolveNodeNetwork, type PodNetwork, type PodNetworkEntry, type PodNetworkRequest } from '../../../handler/network/index.js';
import type { LauncherProcess, SandboxProvider, VmSandbox } from '../../../handler/sandbox/provider.js';
import type { PeerCredentials } from '../../../native/index.js';
import { sandboxPaths, type RuntimeRecord, type SandboxPaths } from '../../../handler/sandbox/sandbox.js';

const quiet = pino({ level: 'silent' });

/** A promise a test opens when it likes. */
export class Gate {
  readonly promise: Promise<void>;
  open!: () => void;
  constructor() {
    this.promise = new Promise((r) => (this.open = r));
  }
}

/** How the fake launchers started from now on behave. */
export interface LauncherBehaviour {
  /** Sync is refused with this error; the launcher lives on (a launcher that refuses before QEMU starts). */
  syncError?: VirtnodeError;
  /** QEMU fails to start: STARTING, then SHUTOFF Failed (final), then Sync is refused with VN_QMP. */
  syncCrash?: boolean;
  /** The launcher ignores shutdown and kill (a hung launcher: the handler's backstop must act). */
  ignoreStop?: boolean;
  /** The launcher dials the handler only once this opens (a slow start). */
  dialGate?: Gate;
  /** Sync waits for this before the domain starts (QEMU slow to come up). */
  syncGate?: Gate;
  /** attach_volume is refused with this error (QEMU said no to a step). */
  attachError?: VirtnodeError;
}

let nextPid = 4_000_001; // above any pid_max: never a real process

/** One launcher: a real HandlerSession whose domain is a small state machine. */
export class FakeLauncher {
  readonly pid = nextPid++;
  readonly uid: string;
  readonly spare: boolean;
  readonly session: HandlerSession;
  /** Every command received, by op, in order. */
  readonly commands: string[] = [];
  /** What each Sync brought. */
  readonly contexts: LaunchContext[] = [];
  domain: 'NO_STATE' | 'STARTING' | 'RUNNING' | 'PAUSED' | 'SHUTTING_DOWN' | 'SHUTOFF' = 'NO_STATE';
  alive = true;
  #exitWatchers: { generation: number; resolve(how: string): void }[] = [];
  #behaviour: LauncherBehaviour;
  #node: FakeNode;

  constructor(node: FakeNode, uid: string, socketPath: string, spare: boolean) {
    this.#node = node;
    this.uid = uid;
    this.spare = spare;
    this.#behaviour = { ...node.launcherBehaviour };
    this.session = new HandlerSession({
      socketPath,
      log: quiet,
      callbacks: { domainDefined: () => this.domain !== 'NO_STATE', onCommand: (c) => this.#onCommand(c) },
    });
    const dial = this.#behaviour.dialGate?.promise ?? Promise.resolve();
    void dial.then(() => {
      if (this.alive) this.session.start();
    });
  }

  /**
   * Resolves, in words, when the launcher ends: what the handler that started it
   * hears (a child's exit). Only that handler: after a restart (`node.generation`
   * moved on) the old handler's watch is gone with its process.
   */
  exited(): Promise<string> {
    return new Promise((resolve) => {
      if (!this.alive) resolve('exited');
      else this.#exitWatchers.push({ generation: this.#node.generation, resolve });
    });
  }

  #ended(how: string): void {
    this.#node.note('launcher.exit', this.uid, how);
    for (const w of this.#exitWatchers.splice(0)) if (w.generation === this.#node.generation) w.resolve(how);
  }

  get syncs(): number {
    return this.commands.filter((c) => c === 'sync').length;
  }

  /** The launcher process ends without a word (killed, crashed): its session drops, it is not alive. */
  die(how = 'killed by signal SIGKILL'): void {
    if (!this.alive) return;
    this.alive = false;
    this.session.close();
    this.#ended(how);
  }

  emit(e: DomainEventInput): number {
    return this.session.emit(e);
  }

  /** Volumes hot-plugged into the fake domain, by name → target. */
  readonly volumes = new Map<string, string>();

  async #onCommand(cmd: Command__Output): Promise<CommandAnswer | void> {
    const op = cmd.op ?? 'unknown';
    this.commands.push(op);
    switch (op) {
      case 'sync': {
        if (this.domain !== 'NO_STATE') return; // a resend after a reconnect: already running it
        const vmi = JSON.parse(cmd.sync!.vmiJson) as VirtualMachineInstance;
        if (vmi.metadata.uid !== this.uid) throw new VirtnodeError('VN_PROTOCOL', `this launcher runs VMI ${this.uid}, not ${vmi.metadata.uid}`);
        const ctx = decodeLaunchContext(cmd.sync!.context);
        this.contexts.push(ctx);
        if (this.#behaviour.syncError) throw this.#behaviour.syncError;
        await this.#behaviour.syncGate?.promise;
        if (!this.alive) throw new VirtnodeError('VN_UNAVAILABLE', 'launcher killed during Sync');
        this.#set('STARTING', 'StartingUp', { accelerator: ctx.accelerator });
        if (this.#behaviour.syncCrash) {
          this.#set('SHUTOFF', 'Failed', { message: 'QEMU failed to start: qemu-system-x86_64: -blockdev: Could not open disk' });
          throw new VirtnodeError('VN_QMP', 'starting the domain: qemu-system-x86_64: -blockdev: Could not open disk');
        }
        this.#set('RUNNING', 'Unknown', { accelerator: ctx.accelerator, qemuPid: this.pid + 1 });
        return;
      }
      case 'shutdown':
        if (this.#behaviour.ignoreStop) return;
        if (this.domain === 'NO_STATE') throw new IllegalTransitionError('NO_STATE', 'SHUTTING_DOWN', 'shutdown is not possible while the domain is NO_STATE');
        if ((cmd.shutdown?.gracePeriodSeconds ?? 0) <= 0) return this.#kill();
        if (this.domain !== 'SHUTTING_DOWN') this.#set('SHUTTING_DOWN', 'User', { message: 'Signaled graceful shutdown' });
        // The guest powers off a moment later.
        setTimeout(() => this.#set('SHUTOFF', 'Shutdown', { message: 'The VirtualMachineInstance was shut down' }), 5);
        return;
      case 'kill':
        if (this.#behaviour.ignoreStop) return;
        return this.#kill();
      case 'pause':
        return this.#set('PAUSED', 'User');
      case 'unpause':
        return this.#set('RUNNING', 'Unpaused');
      case 'attachVolume': {
        const name = (JSON.parse(cmd.attachVolume!.diskJson) as { name: string }).name;
        if (this.#behaviour.attachError) throw this.#behaviour.attachError;
        const target = this.volumes.get(name) ?? `sd${String.fromCharCode(97 + this.volumes.size)}`;
        this.volumes.set(name, target);
        return { volume: { name, target, sizeBytes: 1 << 20 } };
      }
      case 'detachVolume':
        this.volumes.delete(cmd.detachVolume!.name);
        return;
      default:
        return;
    }
  }

  #kill(): void {
    if (this.domain !== 'SHUTOFF') this.#set('SHUTOFF', 'Destroyed', { message: 'The VirtualMachineInstance was killed' });
  }

  #set(state: FakeLauncher['domain'], reason: string, extra: Partial<DomainEventInput> = {}): void {
    if (!this.alive || this.domain === 'SHUTOFF') return;
    this.domain = state;
    const final = state === 'SHUTOFF';
    this.emit({ state, reason, final, ...extra });
    if (final) void this.#finish();
  }

  /** As the real launcher: once the handler has stored the final event, it exits. */
  async #finish(): Promise<void> {
    // Polled rather than allAcked(2000): a launcher killed meanwhile must leave no timer behind.
    for (let waited = 0; this.alive && waited < 2000; waited += 10) {
      if (await this.session.allAcked(0)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!this.alive) return;
    this.alive = false;
    this.session.close();
    this.#ended('exited with code 0');
  }
}

class FakeSandbox implements VmSandbox {
  readonly paths: SandboxPaths;
  readonly runtime: RuntimeRecord;
  #node: FakeNode;

  constructor(node: FakeNode, paths: SandboxPaths, runtime: RuntimeRecord) {
    this.#node = node;
    this.paths = paths;
    this.runtime = runtime;
  }

  save(): Promise<void> {
    return fs.writeFile(this.paths.runtimeFile, JSON.stringify(this.runtime));
  }

  launcherAlive(): boolean {
    return this.#node.launcherByPid(this.runtime.launcherPid)?.alive ?? false;
  }

  /** Fake launchers run in this process: the kernel names this process's pid. */
  admitsLauncher(peer: PeerCredentials): string | undefined {
    return peer.pid === process.pid ? undefined : `pid ${peer.pid} is not this test's process`;
  }

  adoptSpare(): LauncherProcess | undefined {
    if (this.#node.spares <= 0) return undefined;
    this.#node.spares--;
    const l = this.#node.startLauncher(this.runtime.uid, this.paths.handlerSocket, true);
    this.runtime.launcherPid = l.pid;
    this.runtime.launcherStartTime = 'fake';
    this.runtime.launcherJoinsCgroup = true;
    return { pid: l.pid, exited: l.exited() };
  }

  async spawnLauncher(netnsPath: string): Promise<LauncherProcess> {
    this.#node.note('launcher.spawn', this.runtime.uid, netnsPath);
    const l = this.#node.startLauncher(this.runtime.uid, this.paths.handlerSocket, false);
    this.runtime.launcherPid = l.pid;
    this.runtime.launcherStartTime = 'fake';
    await this.save();
    return { pid: l.pid, exited: l.exited() };
  }

  async ensurePlaced(pid: number): Promise<void> {
    this.#node.note('sandbox.place', this.runtime.uid, String(pid));
  }

  async destroy(opts: { all?: boolean } = {}): Promise<void> {
    this.#node.note('sandbox.destroy', this.runtime.uid);
    await this.#node.removeSandbox(this.runtime.uid, opts.all);
  }
}

/** One fake node: sandboxes under a temp directory, pod networks, images, launchers. */
export class FakeNode {
  /** The temp directory everything lives under (short: unix socket paths must fit 108 bytes). */
  readonly root: string;
  /** What was asked of the node, in order: "<what> <uid>[ <detail>]". */
  readonly journal: string[] = [];
  readonly launchers: FakeLauncher[] = [];
  launcherBehaviour: LauncherBehaviour = {};
  /** Moves on at each handler restart: a launcher's end is heard only by the handler that started it. */
  generation = 0;
  /** Spare launchers ready to be adopted. */
  spares = 0;
  /** The next pulls wait for this gate (a slow registry). */
  pullGate: Gate | undefined;
  /** The next pulls fail with this. */
  pullError: Error | undefined;
  /** Image holds by holder (a VMI uid), taken when a pull completes, as the image service does. */
  readonly holds = new Map<string, Set<string>>();
  /** Pulls that have not settled yet. */
  pullsInFlight = 0;
  /** uid → the pod network made for it. */
  readonly podNetworks = new Map<string, PodNetwork>();
  readonly log: Logger;

  readonly sandboxes: SandboxProvider;
  readonly network: VmiNetwork;
  readonly images: VmiImages;
  readonly chooseAccelerator = async (): Promise<AcceleratorChoice> => ({ accelerator: 'tcg', softwareEmulation: true });
  #liveSandboxes = new Set<string>();

  private constructor(root: string) {
    this.root = root;
    this.log = quiet;
    this.sandboxes = {
      create: async ({ vmi }) => {
        this.note('sandbox.create', vmi.uid);
        if (this.#liveSandboxes.has(vmi.uid)) throw new VirtnodeError('VN_SANDBOX', `a sandbox of ${vmi.uid} exists already (fake node: a leak)`);
        const paths = this.paths(vmi.uid);
        await fs.mkdir(paths.runDir, { recursive: true, mode: 0o700 });
        await fs.mkdir(paths.diskDir, { recursive: true, mode: 0o700 });
        this.#liveSandboxes.add(vmi.uid);
        const sb = new FakeSandbox(this, paths, { uid: vmi.uid, namespace: vmi.namespace, name: vmi.name, lastEventSeq: 0, synced: false });
        await sb.save();
        return sb;
      },
      open: async (uid) => {
        const paths = this.paths(uid);
        let runtime: RuntimeRecord;
        try {
          runtime = JSON.parse(await fs.readFile(paths.runtimeFile, 'utf8')) as RuntimeRecord;
        } catch {
          return undefined;
        }
        this.#liveSandboxes.add(uid);
        return new FakeSandbox(this, paths, runtime);
      },
      destroyLeftovers: async (uid, o) => {
        this.note('sandbox.destroyLeftovers', uid);
        await this.removeSandbox(uid, o?.all);
      },
      list: async () => {
        try {
          return readdirSync(join(this.root, 's'));
        } catch {
          return [];
        }
      },
    };
    const node = resolveNodeNetwork();
    this.network = {
      createPodNetwork: async (req: PodNetworkRequest) => {
        this.note('network.create', req.uid);
        const plan = planPodNetwork(req, node);
        if (this.podNetworks.has(req.uid)) throw new AlreadyExistsError(`pod network of ${req.uid}`);
        const names = podNames(req.uid, node.namePrefix);
        const resolvConfPath = join(req.runDir, 'resolv.conf');
        await fs.writeFile(resolvConfPath, 'nameserver 10.96.0.10\n');
        const pod: PodNetwork = {
          uid: req.uid,
          namespace: req.namespace,
          name: req.name,
          netnsName: names.netns,
          netnsPath: names.netnsPath,
          hostVeth: names.hostVeth,
          podIP: '10.244.0.2',
          podPrefixLength: 24,
          podGateway: '10.244.0.1',
          podMac: '02:42:0a:f4:00:02',
          mtu: 1500,
          resolvConfPath,
          interfaces: plan.map((p, i) => ({
            name: p.name,
            binding: p.binding,
            tapName: `tap${i}`,
            multiQueue: p.multiQueue,
            bridgeName: `k6t-eth${i}`,
            guest: {
              ip: p.vm!.guest,
              prefixLength: p.vm!.prefixLength,
              gateway: p.vm!.gateway,
              mac: p.macAddress ?? '02:00:00:00:00:01',
              dhcpServerIP: p.vm!.gateway,
              dns: ['10.96.0.10'],
              searchDomains: [`${req.namespace}.svc.cluster.local`],
              hostname: req.hostname ?? req.name,
              mtu: 1500,
              routes: [],
            },
          })),
        };
        this.podNetworks.set(req.uid, pod);
        return pod;
      },
      destroyPodNetwork: async (uid: string) => {
        this.note('network.destroy', uid);
        this.podNetworks.delete(uid);
      },
      listPodNetworks: async (): Promise<PodNetworkEntry[]> =>
        [...this.podNetworks.values()].map((p) => ({
          uid: p.uid,
          id: podNames(p.uid, node.namePrefix).id,
          netnsName: p.netnsName,
          hostVeth: p.hostVeth,
          state: 'ready',
          podIP: p.podIP,
          netnsExists: true,
          hostVethExists: true,
        })),
      removeLeftover: async (id: string) => {
        this.note('network.removeLeftover', id);
      },
    };
    this.images = {
      pullContainerDisk: async (image, _policy, opts = {}): Promise<ContainerDiskPull> => {
        const holder = opts.holder ?? '';
        this.note('image.pull', holder, image);
        this.pullsInFlight++;
        try {
          await this.pullGate?.promise;
          if (this.pullError) throw this.pullError;
          const digest = 'sha256:c1c0a5a8a7e1b5e0b0f1b7c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809';
          this.#hold(holder, digest);
          this.note('image.pulled', holder, image);
          return { reference: image, digest, diskPath: join(this.root, 'disk.img'), format: 'qcow2', virtualSize: 117_440_512 };
        } finally {
          this.pullsInFlight--;
        }
      },
      pullKernelBoot: async (image, _policy, kernelPath, initrdPath, opts = {}): Promise<KernelBootPull> => {
        this.note('image.pull', opts.holder ?? '', image);
        const digest = 'sha256:0d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80910a1b2';
        this.#hold(opts.holder ?? '', digest);
        return { reference: image, digest, kernel: kernelPath && join(this.root, 'vmlinuz'), initrd: initrdPath && join(this.root, 'initrd') };
      },
      createOverlay: async (disk, path) => {
        await fs.writeFile(path, 'qcow2 overlay');
        return { path, format: 'qcow2' as const, backing: { path: disk.diskPath, format: disk.format } };
      },
      createEmptyDisk: async (path, sizeBytes) => {
        await fs.writeFile(path, 'qcow2 empty');
        return { path, format: 'qcow2' as const, sizeBytes };
      },
      release: async (digest, holder) => {
        this.note('image.release', holder);
        if (digest === undefined) this.holds.delete(holder);
        else this.holds.get(holder)?.delete(digest);
      },
    };
  }

  static async create(): Promise<FakeNode> {
    return new FakeNode(await fs.mkdtemp(join(tmpdir(), 'vnc-')));
  }

  note(what: string, uid: string, detail?: string): void {
    this.journal.push(detail === undefined ? `${what} ${uid}` : `${what} ${uid} ${detail}`);
  }

  /** The journal entries of one uid, without it: ["sandbox.create", "network.create", ...]. */
  journalOf(uid: string): string[] {
    return this.journal.filter((l) => l.split(' ')[1] === uid).map((l) => l.split(' ')[0]!);
  }

  paths(uid: string): SandboxPaths {
    return sandboxPaths(join(this.root, 'r'), join(this.root, 's'), uid);
  }

  startLauncher(uid: string, socketPath: string, spare: boolean): FakeLauncher {
    const l = new FakeLauncher(this, uid, socketPath, spare);
    this.launchers.push(l);
    this.note('launcher.start', uid, spare ? 'spare' : 'spawned');
    return l;
  }

  launcherByPid(pid: number | undefined): FakeLauncher | undefined {
    return this.launchers.find((l) => l.pid === pid);
  }

  /** The launchers of `uid`, oldest first. */
  launchersOf(uid: string): FakeLauncher[] {
    return this.launchers.filter((l) => l.uid === uid);
  }

  /** What a sandbox's destroy does: kill what runs in it (the cgroup's job), remove its files. */
  async removeSandbox(uid: string, all?: boolean): Promise<void> {
    for (const l of this.launchersOf(uid)) l.die();
    const p = this.paths(uid);
    await fs.rm(p.runDir, { recursive: true, force: true });
    await fs.rm(p.diskDir, { recursive: true, force: true });
    if (all) await fs.rm(p.stateDir, { recursive: true, force: true });
    else await fs.rm(p.runtimeFile, { force: true });
    this.#liveSandboxes.delete(uid);
  }

  /**
   * Everything of `uid` is gone: no sandbox (run directory, disks, runtime record; and
   * with `deleted` the state directory too), no pod network, no image hold, no
   * launcher alive. Returns what is left, in words (empty when nothing).
   */
  leftovers(uid: string, opts: { deleted?: boolean } = {}): string[] {
    const out: string[] = [];
    const p = this.paths(uid);
    if (this.#liveSandboxes.has(uid)) out.push('sandbox');
    for (const [what, path] of [['run directory', p.runDir], ['disk directory', p.diskDir], ['runtime record', p.runtimeFile]] as const) {
      if (existsSync(path)) out.push(what);
    }
    if (opts.deleted && existsSync(p.stateDir)) out.push('state directory');
    if (this.podNetworks.has(uid)) out.push('pod network');
    if (this.holds.get(uid)?.size) out.push('image hold');
    if (this.launchersOf(uid).some((l) => l.alive)) out.push('launcher');
    return out;
  }

  async close(): Promise<void> {
    for (const l of this.launchers) l.die('test over');
    // A runtime record may still be being written (a save in flight when the test ended).
    await fs.rm(this.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }

  #hold(holder: string, digest: string): void {
    if (!holder) return;
    let s = this.holds.get(holder);
    if (!s) this.holds.set(holder, (s = new Set()));
    s.add(digest);
  }
}
