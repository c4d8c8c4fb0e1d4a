// The VMI controller: virt-handler's job for the VMIs of this node, plus, in
// standalone mode, kubelet's part of making and removing their sandboxes.
//
// Level-triggered: reconcile(key) reads the stored VMI and what runs for it and
// closes the gap. Domain events from launchers flow the other way: applied to the
// stored status, made durable, then acknowledged, so the launcher can forget them.
//
//   Pending ─prepare→ Scheduling ─launcher started→ Scheduled ─domain running→ Running
//   Running ─guest poweroff / stop→ Succeeded        ─crash, panic, launcher died→ Failed
//
// Every way a VMI ends goes through #teardown, which removes the whole sandbox.

import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { errorMessage, IllegalTransitionError, InvalidSpecError, NotFoundError, VirtnodeError } from '../../proto/errors.js';
import type { DomainEvent__Output } from '../../proto/generated/virtnode/launcher/v1/DomainEvent.js';
import type { Hello__Output } from '../../proto/generated/virtnode/launcher/v1/Hello.js';
import { guestMemoryBytes, quantityToBytes, quantityToMillis, vcpuCount } from '../../proto/vmi/index.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { LaunchContext } from '../../launcher/domain/context.js';
import { LauncherEndpoint, type CommandOp } from '../api/launcher-endpoint.js';
import type { HandlerConfig } from '../config.js';
import type { ImageService } from '../images/index.js';
import { netnsArgv, podNetworkRequest, type PodNetwork, type PodNetworking } from '../network/index.js';
import { Sandbox } from '../sandbox/sandbox.js';
import type { LauncherPool } from '../sandbox/pool.js';
import type { CgroupLayout } from '../sandbox/cgroup.js';
import { memoryLimitBytes } from '../sandbox/overhead.js';
import type { Change, Store } from '../store/store.js';
import { WorkQueue } from './queue.js';
import { applyDomainEvent, failVmi, isFinalPhase, setCondition, setPhase, type EventNote } from './status.js';

const KIND = 'VirtualMachineInstance';

export interface AcceleratorChoice {
  accelerator: 'kvm' | 'tcg';
  softwareEmulation: boolean;
}

export interface VmiControllerDeps {
  store: Store;
  log: Logger;
  cfg: HandlerConfig;
  images: ImageService;
  cgroups: CgroupLayout | undefined;
  network: PodNetworking;
  /** Started-ahead launchers; without one (or when empty) a launcher is spawned. */
  pool?: LauncherPool;
  /** The node's accelerator decision for a new VMI; throws when none is usable. */
  chooseAccelerator(): Promise<AcceleratorChoice>;
  /** Progress of image pulls, for watchers (not stored). */
  onPullProgress?(vmi: VirtualMachineInstance, p: { image: string; bytesDone: number; bytesTotal: number }): void;
}

/** What runs for one VMI on this node. */
interface Runtime {
  uid: string;
  key: string;
  namespace: string;
  name: string;
  sandbox?: Sandbox;
  endpoint?: LauncherEndpoint;
  child?: ChildProcess;
  launchContext?: LaunchContext;
  domainFinal: boolean;
  launcherGone?: string;
  shutdownSentAt?: number;
  forceTimer?: NodeJS.Timeout;
  liveness?: NodeJS.Timeout;
  abort: AbortController;
  /** Domain events are applied one at a time, in order. */
  chain: Promise<void>;
  imageDigests: string[];
  tornDown: boolean;
  /** Hellos that came before the launch context was complete. */
  pendingHello: Hello__Output[];
}

function keyOf(ns: string, name: string): string {
  return `${ns}/${name}`;
}

function newRuntime(vmi: VirtualMachineInstance, sandbox?: Sandbox): Runtime {
  return {
    uid: vmi.metadata.uid!,
    key: keyOf(vmi.metadata.namespace!, vmi.metadata.name),
    namespace: vmi.metadata.namespace!,
    name: vmi.metadata.name,
    sandbox,
    launchContext: sandbox?.runtime.launchContext,
    domainFinal: false,
    abort: new AbortController(),
    chain: Promise.resolve(),
    imageDigests: [],
    tornDown: false,
    pendingHello: [],
  };
}

export class VmiController {
  #d: VmiControllerDeps;
  #queue: WorkQueue;
  #rt = new Map<string, Runtime>(); // by key
  #stopped = false;

  constructor(deps: VmiControllerDeps) {
    this.#d = deps;
    this.#queue = new WorkQueue((k) => this.#reconcile(k), {
      concurrency: 8,
      onError: (k, e) => {
        this.#d.log.error({ key: k, err: errorMessage(e) }, 'VMI reconcile failed; retrying');
        this.#queue.addAfter(k, 1000);
      },
    });
  }

  /** Rebuilds runtimes from sandboxes left by a previous handler, then starts reconciling. */
  async start(): Promise<void> {
    const { store } = this.#d;
    store.on('change', (c: Change) => {
      if (c.kind !== KIND) return;
      const o = c.object as VirtualMachineInstance;
      const key = keyOf(o.metadata.namespace!, o.metadata.name);
      // A delete during an image pull must not wait for the pull to end.
      if (o.metadata.deletionTimestamp) this.#rt.get(key)?.abort.abort();
      this.#queue.add(key);
    });
    const known = new Set<string>();
    for (const vmi of store.list<VirtualMachineInstance>(KIND)) {
      known.add(vmi.metadata.uid!);
      try {
        await this.#recover(vmi);
      } catch (e) {
        // One VMI whose sandbox cannot be taken back must not keep the node down.
        this.#d.log.error({ uid: vmi.metadata.uid, name: vmi.metadata.name, err: errorMessage(e) }, 'recovering the VMI failed');
        this.#fail(vmi, 'RecoveryFailed', `the handler could not take the VMI back after a restart: ${errorMessage(e)}`);
      }
      this.#queue.add(keyOf(vmi.metadata.namespace!, vmi.metadata.name));
    }
    // Sandboxes whose VMI is gone from the store (deleted while the handler was down
    // mid-teardown): remove them entirely.
    for (const uid of await Sandbox.list(this.#d.cfg.stateDir)) {
      if (known.has(uid)) continue;
      await this.#release(uid, undefined, { all: true, onError: (what, e) => this.#d.log.error({ uid, err: errorMessage(e) }, `removing a leftover ${what} failed`) });
    }
    const live = new Set(
      this.#d.store
        .list<VirtualMachineInstance>(KIND)
        .filter((v) => !isFinalPhase(v.status?.phase))
        .map((v) => v.metadata.uid!),
    );
    for (const e of await this.#d.network.listPodNetworks()) {
      if (e.uid && live.has(e.uid)) continue;
      this.#d.log.info({ uid: e.uid, netns: e.netnsName, state: e.state }, 'removing a leftover pod network');
      await (e.uid ? this.#d.network.destroyPodNetwork(e.uid) : this.#d.network.removeLeftover(e.id)).catch((err) =>
        this.#d.log.error({ netns: e.netnsName, err: errorMessage(err) }, 'removing a leftover pod network failed'),
      );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.stop();
    // Launchers keep running: a handler stop or upgrade must not disturb VMs.
    for (const rt of this.#rt.values()) {
      rt.abort.abort();
      clearTimeout(rt.forceTimer);
      clearInterval(rt.liveness);
      await rt.endpoint?.close();
    }
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  // ---- lifecycle commands (API) ------------------------------------------

  pause(ns: string, name: string): Promise<void> {
    return this.#command(ns, name, { pause: {} }, 'pause', (vmi) => {
      if (vmi.status?.conditions.some((c) => c.type === 'Paused' && c.status === 'True')) throw new IllegalTransitionError('Paused', 'Paused', 'VMI is already paused');
    });
  }

  unpause(ns: string, name: string): Promise<void> {
    return this.#command(ns, name, { unpause: {} }, 'unpause', (vmi) => {
      if (!vmi.status?.conditions.some((c) => c.type === 'Paused' && c.status === 'True')) throw new IllegalTransitionError('Running', 'Running', 'VMI is not paused');
    });
  }

  softReboot(ns: string, name: string): Promise<void> {
    return this.#command(ns, name, { softReboot: {} }, 'soft reboot');
  }

  reset(ns: string, name: string): Promise<void> {
    return this.#command(ns, name, { reset: {} }, 'reset');
  }

  /**
   * Marks a VMI for deletion; the reconciler shuts the guest down within the grace
   * period, tears the sandbox down and removes the object.
   */
  async requestDelete(ns: string, name: string, gracePeriodSeconds?: number): Promise<void> {
    const { durable } = this.#d.store.mutate<VirtualMachineInstance>(KIND, ns, name, (vmi) => {
      const grace = gracePeriodSeconds ?? vmi.spec.terminationGracePeriodSeconds ?? 30;
      if (vmi.metadata.deletionTimestamp) {
        // A second delete may only shorten the grace period, as in Kubernetes.
        if (grace >= (vmi.metadata.deletionGracePeriodSeconds ?? Infinity)) return false;
      } else {
        vmi.metadata.deletionTimestamp = new Date().toISOString();
      }
      vmi.metadata.deletionGracePeriodSeconds = grace;
    });
    await durable;
  }

  /** The console socket of a running VMI. */
  consoleSocket(ns: string, name: string): string {
    const vmi = this.#d.store.mustGet<VirtualMachineInstance>(KIND, ns, name);
    const rt = this.#rt.get(keyOf(ns, name));
    if (vmi.status?.phase !== 'Running' || !rt?.sandbox) {
      throw new VirtnodeError('VN_UNAVAILABLE', `VMI ${ns}/${name} is not running (phase ${vmi.status?.phase ?? 'Pending'})`);
    }
    return rt.sandbox.paths.consoleSocket;
  }

  /** Where the launcher's log is, while the VMI exists. */
  launcherLog(ns: string, name: string): string {
    const vmi = this.#d.store.mustGet<VirtualMachineInstance>(KIND, ns, name);
    return `${this.#d.cfg.stateDir}/vmis/${vmi.metadata.uid}/launcher.log`;
  }

  async #command(ns: string, name: string, op: CommandOp, what: string, check?: (vmi: VirtualMachineInstance) => void): Promise<void> {
    const vmi = this.#d.store.mustGet<VirtualMachineInstance>(KIND, ns, name);
    if (vmi.status?.phase !== 'Running' || vmi.metadata.deletionTimestamp) {
      throw new IllegalTransitionError(vmi.metadata.deletionTimestamp ? 'Terminating' : (vmi.status?.phase ?? 'Pending'), what, `VMI ${ns}/${name} is not running`);
    }
    check?.(vmi);
    const rt = this.#rt.get(keyOf(ns, name));
    if (!rt?.endpoint?.connected) throw new VirtnodeError('VN_UNAVAILABLE', `the launcher of ${ns}/${name} is not connected; try again`);
    await rt.endpoint.command(op);
  }

  // ---- reconcile -----------------------------------------------------------

  async #reconcile(key: string): Promise<void> {
    if (this.#stopped) return;
    const [ns, name] = key.split('/') as [string, string];
    const vmi = this.#d.store.get<VirtualMachineInstance>(KIND, ns, name);
    let rt = this.#rt.get(key);
    if (rt && vmi && rt.uid !== vmi.metadata.uid) {
      // Same name, new object (deleted and re-created): the old one must go first.
      await this.#teardown(rt);
      rt = undefined;
    }
    if (!vmi) {
      if (rt) await this.#teardown(rt);
      return;
    }
    const phase = vmi.status?.phase ?? 'Pending';

    if (isFinalPhase(phase)) {
      if (rt && !rt.tornDown) await this.#teardown(rt);
      if (vmi.metadata.deletionTimestamp) await this.#remove(vmi);
      return;
    }

    if (vmi.metadata.deletionTimestamp) {
      await this.#terminate(vmi, rt);
      return;
    }

    if (phase === 'Pending') {
      await this.#prepare(vmi);
      return;
    }
    // Scheduling/Scheduled/Running: events drive these. A runtime must exist.
    if (!rt) {
      this.#fail(vmi, 'LauncherExited', 'no launcher runs for this VMI');
    }
  }

  /** Deletion requested: graceful shutdown, then force, then remove. */
  async #terminate(vmi: VirtualMachineInstance, rt: Runtime | undefined): Promise<void> {
    const grace = vmi.metadata.deletionGracePeriodSeconds ?? vmi.spec.terminationGracePeriodSeconds ?? 30;
    const launcherUp = rt?.endpoint?.connected && !rt.domainFinal;
    if (!rt || (!launcherUp && (rt.launcherGone !== undefined || !rt.sandbox?.launcherAlive()))) {
      if (rt) await this.#teardown(rt);
      // Nothing runs: the VMI ends here.
      this.#d.store.mutate<VirtualMachineInstance>(KIND, vmi.metadata.namespace!, vmi.metadata.name, (o) => {
        if (isFinalPhase(o.status?.phase)) return false;
        setPhase(o, 'Succeeded', 'Deleted');
      });
      await this.#remove(vmi);
      return;
    }
    if (rt.shutdownSentAt !== undefined && !launcherUp) return; // wait for the launcher to come back or die
    if (rt.shutdownSentAt === undefined || (grace === 0 && !rt.forceTimer)) {
      rt.shutdownSentAt = Date.now();
      const op: CommandOp = grace === 0 ? { kill: {} } : { shutdown: { gracePeriodSeconds: grace } };
      rt.endpoint!.command(op, (grace + 10) * 1000).catch((e) => this.#d.log.warn({ key: rt.key, err: errorMessage(e) }, 'shutdown command failed'));
      clearTimeout(rt.forceTimer);
      // The launcher kills QEMU itself after the grace period; this is the backstop
      // for a launcher that does not answer.
      rt.forceTimer = setTimeout(() => void this.#forceKill(rt), (grace + 15) * 1000);
      rt.forceTimer.unref();
    }
  }

  async #forceKill(rt: Runtime): Promise<void> {
    if (rt.tornDown) return;
    this.#d.log.warn({ key: rt.key }, 'launcher did not finish the shutdown in time; killing the sandbox');
    rt.launcherGone = 'killed after the grace period';
    await this.#teardown(rt);
    this.#queue.add(rt.key);
  }

  async #remove(vmi: VirtualMachineInstance): Promise<void> {
    const cur = this.#d.store.get<VirtualMachineInstance>(KIND, vmi.metadata.namespace!, vmi.metadata.name);
    if (!cur || cur.metadata.uid !== vmi.metadata.uid) return;
    const rt = this.#rt.get(keyOf(vmi.metadata.namespace!, vmi.metadata.name));
    if (rt?.sandbox) await rt.sandbox.destroy({ all: true }).catch(() => undefined);
    else await this.#release(vmi.metadata.uid!, undefined, { all: true });
    this.#rt.delete(keyOf(vmi.metadata.namespace!, vmi.metadata.name));
    this.#d.store.recordEvent({ reason: 'Deleted', message: 'VirtualMachineInstance deleted', object: vmi });
    await this.#d.store.delete(KIND, vmi.metadata.namespace!, vmi.metadata.name);
  }

  // ---- preparation: sandbox, images, launcher ----------------------------------

  async #prepare(vmi: VirtualMachineInstance): Promise<void> {
    const ns = vmi.metadata.namespace!;
    const name = vmi.metadata.name;
    const uid = vmi.metadata.uid!;
    const key = keyOf(ns, name);
    const log = this.#d.log.child({ kind: KIND, namespace: ns, name, uid });
    const rt = newRuntime(vmi);
    this.#rt.set(key, rt);
    this.#status(vmi, (o) => {
      setPhase(o, 'Scheduling');
      o.status!.nodeName = this.#d.cfg.nodeName;
    });

    // Milliseconds after the start of preparation each step settled (debug log): where a slow start went.
    const t0 = performance.now();
    const took: Record<string, number> = {};
    const timed = <T>(step: string, p: Promise<T>): Promise<T> =>
      p.finally(() => {
        took[step] = Math.round(performance.now() - t0);
      });
    try {
      const accel = await timed('accelerator', this.#d.chooseAccelerator());
      const memory = Number(guestMemoryBytes(vmi.spec));
      const vcpus = vcpuCount(vmi.spec);
      const res = vmi.spec.domain.resources;
      rt.sandbox = await timed('sandbox', Sandbox.create({
        runRoot: this.#d.cfg.runDir,
        stateRoot: this.#d.cfg.stateDir,
        cgroups: this.#d.cgroups,
        vmi: { uid, namespace: ns, name },
        limits: {
          memoryBytes: memoryLimitBytes({ guestBytes: memory, vcpus, accelerator: accel.accelerator, limitBytes: res?.limits?.memory !== undefined ? Number(quantityToBytes(res.limits.memory, 'spec.domain.resources.limits.memory')) : undefined }),
          cpuRequestMillis: res?.requests?.cpu !== undefined ? quantityToMillis(res.requests.cpu, 'spec.domain.resources.requests.cpu') : 100 * vcpus,
          cpuLimitMillis: res?.limits?.cpu !== undefined ? quantityToMillis(res.limits.cpu, 'spec.domain.resources.limits.cpu') : undefined,
          pidsMax: 4096,
        },
        log,
      }));
      const sandbox = rt.sandbox;
      // The launcher's socket first: a spare launcher is handed the VM at once and
      // dials in, joins the cgroup and finishes its handshake while the rest is made;
      // it enters the pod's network namespace when Sync brings the launch context.
      await timed('endpoint', this.#attachEndpoint(rt, log));
      const assignment = { namespace: ns, name, uid, runDir: sandbox.paths.runDir, handlerSocket: sandbox.paths.handlerSocket };
      const spare = this.#d.pool?.take();
      if (spare) this.#watchLauncher(rt, sandbox.adoptSpare(spare, assignment));
      // Independent steps run side by side: the pod's network namespace with its
      // binding (what a CNI plugin and virt-handler make for a virt-launcher pod),
      // the disks and the kernel. All of them settle before anything is judged, so a
      // failure never races a step still making things.
      const steps = await Promise.allSettled([
        timed('network', this.#d.network.createPodNetwork(podNetworkRequest(vmi, sandbox.paths.runDir))),
        timed('volumes', this.#prepareVolumes(vmi, rt)),
        timed('kernel', this.#prepareKernel(vmi, rt)),
      ] as const);
      for (const st of steps) if (st.status === 'rejected') throw st.reason;
      const [pod, volumes, kernelBoot] = steps.map((st) => (st as PromiseFulfilledResult<unknown>).value) as [PodNetwork, LaunchContext['volumes'], LaunchContext['kernelBoot']];
      rt.abort.signal.throwIfAborted();
      // The launcher (and so QEMU and its DHCP server) lives in the pod's network
      // namespace: a spare enters it on Sync, a new one is started in it.
      const launchContext: LaunchContext = { runDir: sandbox.paths.runDir, accelerator: accel.accelerator, volumes, kernelBoot, interfaces: preparedInterfaces(pod), netns: pod.netnsPath };
      sandbox.runtime.launchContext = launchContext;
      if (!spare) {
        const started = await sandbox.spawnLauncher(
          netnsArgv(pod.netnsPath, this.#d.cfg.launcherCommand),
          ['--namespace', ns, '--name', name, '--uid', uid, '--run-dir', assignment.runDir, '--handler-socket', assignment.handlerSocket],
          { ...process.env, VIRTNODE_LOG_LEVEL: this.#d.cfg.logLevel },
        );
        this.#watchLauncher(rt, started);
      } else {
        await sandbox.save();
      }
      // Only now may a Sync go out (see #onHello).
      rt.launchContext = launchContext;
      const child = rt.child!;
      for (const h of rt.pendingHello.splice(0)) this.#onHello(rt, h);
      this.#status(vmi, (o) => {
        o.status!.launcherPid = child.pid;
        if (accel.softwareEmulation) {
          o.status!.conditions = setCondition(o.status!.conditions, {
            type: 'SoftwareEmulation',
            status: 'True',
            reason: 'KVMUnavailable',
            message: 'KVM is not usable on this node; the guest runs under QEMU TCG software emulation (useEmulation)',
          });
        }
      });
      log.debug({ ms: took, spare: spare !== undefined }, 'preparation timings');
      log.info({ launcherPid: child.pid, accelerator: accel.accelerator }, 'launcher started');
    } catch (e) {
      if (rt.abort.signal.aborted) {
        log.info('preparation aborted: VMI is being deleted');
        await this.#teardown(rt);
        this.#queue.add(key);
        return;
      }
      log.error({ err: errorMessage(e) }, 'preparing the VMI failed');
      const reason = e instanceof VirtnodeError && e.code === 'VN_IMAGE' ? 'ErrImagePull' : e instanceof VirtnodeError && e.code === 'VN_UNSUPPORTED' ? 'Unschedulable' : 'FailedCreate';
      this.#fail(vmi, reason, errorMessage(e));
      await this.#teardown(rt);
      if (e instanceof InvalidSpecError || e instanceof NotFoundError) return;
    }
  }

  /** Pulls each containerDisk and makes the VM's overlay over it; empty disks too. */
  async #prepareVolumes(vmi: VirtualMachineInstance, rt: Runtime): Promise<LaunchContext['volumes']> {
    const volumes: LaunchContext['volumes'] = {};
    const diskDir = rt.sandbox!.paths.diskDir;
    for (const v of vmi.spec.volumes ?? []) {
      rt.abort.signal.throwIfAborted();
      if (v.containerDisk) {
        const started = Date.now();
        this.#event(vmi, 'Normal', 'Pulling', `Pulling image "${v.containerDisk.image}"`);
        const pulled = await this.#d.images.pullContainerDisk(v.containerDisk.image, v.containerDisk.imagePullPolicy, {
          path: v.containerDisk.path,
          holder: rt.uid,
          onProgress: (p) => this.#d.onPullProgress?.(vmi, p),
        });
        rt.imageDigests.push(pulled.digest);
        this.#event(vmi, 'Normal', 'Pulled', `Successfully pulled image "${v.containerDisk.image}" (${pulled.digest}) in ${Date.now() - started} ms`);
        rt.abort.signal.throwIfAborted();
        const overlay = await this.#d.images.createOverlay(pulled, `${diskDir}/${v.name}.qcow2`);
        volumes[v.name] = { path: overlay.path, format: 'qcow2' };
      } else if (v.emptyDisk) {
        const size = Number(quantityToBytes(v.emptyDisk.capacity, `spec.volumes[${v.name}].emptyDisk.capacity`));
        const disk = await this.#d.images.createEmptyDisk(`${diskDir}/${v.name}.qcow2`, size);
        volumes[v.name] = { path: disk.path, format: 'qcow2' };
      }
    }
    return volumes;
  }

  /** firmware.kernelBoot: the kernel and initrd out of their container image. */
  async #prepareKernel(vmi: VirtualMachineInstance, rt: Runtime): Promise<LaunchContext['kernelBoot']> {
    const kb = vmi.spec.domain.firmware?.kernelBoot;
    if (!kb?.container) return undefined;
    this.#event(vmi, 'Normal', 'Pulling', `Pulling image "${kb.container.image}"`);
    const pulled = await this.#d.images.pullKernelBoot(kb.container.image, kb.container.imagePullPolicy, kb.container.kernelPath, kb.container.initrdPath, { holder: rt.uid });
    rt.imageDigests.push(pulled.digest);
    this.#event(vmi, 'Normal', 'Pulled', `Successfully pulled image "${kb.container.image}" (${pulled.digest})`);
    return { kernel: pulled.kernel, initrd: pulled.initrd };
  }

  /** Remembers the launcher process; its exit is judged by #onLauncherExit. */
  #watchLauncher(rt: Runtime, child: ChildProcess): void {
    rt.child = child;
    child.once('exit', (code, signal) => this.#onLauncherExit(rt, signal ? `killed by signal ${signal}` : `exited with code ${code}`));
  }

  async #attachEndpoint(rt: Runtime, log: Logger): Promise<void> {
    const ep = new LauncherEndpoint({ socketPath: rt.sandbox!.paths.handlerSocket, log });
    ep.on('hello', (h) => this.#onHello(rt, h));
    ep.on('event', (ev) => {
      // Each link handles its own failure: the chain never rejects, so one bad event
      // neither stops the ones after it nor takes the handler down.
      rt.chain = rt.chain
        .then(() => this.#onDomainEvent(rt, ev))
        .catch((e) => this.#d.log.error({ key: rt.key, seq: Number(ev.seq), err: errorMessage(e) }, 'applying a domain event failed'));
    });
    ep.on('disconnect', () => this.#watchLiveness(rt));
    rt.endpoint = ep;
    await ep.listen();
  }

  #onHello(rt: Runtime, h: Hello__Output): void {
    clearInterval(rt.liveness);
    rt.liveness = undefined;
    if (h.domainDefined || rt.domainFinal) return;
    // A spare launcher says hello while its VM is still being prepared: Sync once the
    // launch context is complete (#prepare replays it).
    if (!rt.launchContext) {
      rt.pendingHello.push(h);
      return;
    }
    const ctx = rt.launchContext;
    const vmi = this.#d.store.get<VirtualMachineInstance>(KIND, rt.namespace, rt.name);
    const endpoint = rt.endpoint;
    if (!vmi || vmi.metadata.uid !== rt.uid || !endpoint) return;
    // QEMU is born where its launcher is: in the VM's cgroup. A launcher the handler
    // started is checked (and fixed) here; a spare joins by itself and waits for that
    // before it starts QEMU (checking it here would race its join).
    const runtime = rt.sandbox?.runtime;
    (runtime?.launcherPid && !runtime.launcherJoinsCgroup ? rt.sandbox!.ensurePlaced(runtime.launcherPid) : Promise.resolve())
      .then(() => endpoint.command({ sync: { vmiJson: JSON.stringify(vmi), launchContextJson: JSON.stringify(ctx) } }, 60_000))
      .then(async () => {
        rt.sandbox!.runtime.synced = true;
        await rt.sandbox!.save();
      })
      .catch((e) => {
        // The launcher reports why the domain did not start as a SHUTOFF event too;
        // this covers a launcher that cannot even take the spec.
        this.#d.log.error({ key: rt.key, err: errorMessage(e) }, 'Sync failed');
        if (e instanceof VirtnodeError && e.code !== 'VN_UNAVAILABLE' && e.code !== 'VN_TIMEOUT') {
          const cur = this.#d.store.get<VirtualMachineInstance>(KIND, rt.namespace, rt.name);
          if (cur) this.#fail(cur, 'SyncFailed', errorMessage(e));
        }
      });
  }

  async #onDomainEvent(rt: Runtime, ev: DomainEvent__Output): Promise<void> {
    const seq = Number(ev.seq);
    const sb = rt.sandbox;
    if (!sb) return;
    if (seq <= sb.runtime.lastEventSeq) {
      rt.endpoint?.ack(seq); // a resend of something already applied
      return;
    }
    const vmi = this.#d.store.get<VirtualMachineInstance>(KIND, rt.namespace, rt.name);
    if (vmi && vmi.metadata.uid === rt.uid) {
      let notes: EventNote[] = [];
      const { durable } = this.#d.store.mutate<VirtualMachineInstance>(KIND, rt.namespace, rt.name, (o) => {
        if (ev.state === 'STARTING' && o.status?.phase === 'Scheduling') setPhase(o, 'Scheduled');
        notes = applyDomainEvent(o, ev);
      });
      await durable;
      for (const n of notes) this.#event(vmi, n.type, n.reason, n.message);
    }
    sb.runtime.lastEventSeq = seq;
    // The runtime record only spares a restarted handler from re-applying resends;
    // once the sandbox is torn down there is nothing left to record it in.
    if (!rt.tornDown) await sb.save().catch((e) => this.#d.log.warn({ key: rt.key, err: errorMessage(e) }, 'saving the runtime record failed'));
    rt.endpoint?.ack(seq);
    if (ev.final || ev.state === 'SHUTOFF' || ev.state === 'CRASHED') {
      rt.domainFinal = true;
      this.#queue.add(rt.key);
    }
  }

  /** The launcher's session dropped: find out whether it died or will reconnect. */
  #watchLiveness(rt: Runtime): void {
    if (rt.tornDown || rt.liveness) return;
    rt.liveness = setInterval(() => {
        if (rt.endpoint?.connected) {
          clearInterval(rt.liveness);
          rt.liveness = undefined;
          return;
        }
        if (!rt.sandbox?.launcherAlive()) {
          clearInterval(rt.liveness);
          rt.liveness = undefined;
          this.#onLauncherExit(rt, 'exited');
        }
    }, 200);
    rt.liveness.unref();
  }

  #onLauncherExit(rt: Runtime, how: string): void {
    if (rt.launcherGone !== undefined) return;
    rt.launcherGone = how;
    // Let in-flight events land first: a launcher that exits after its final event
    // is a normal end, not a failure.
    void rt.chain.then(() => {
      const vmi = this.#d.store.get<VirtualMachineInstance>(KIND, rt.namespace, rt.name);
      if (vmi && vmi.metadata.uid === rt.uid && !isFinalPhase(vmi.status?.phase) && !rt.domainFinal) {
        this.#fail(vmi, 'LauncherExited', `virt-launcher process ${rt.sandbox?.runtime.launcherPid ?? ''} ${how} unexpectedly`);
      }
      this.#queue.add(rt.key);
    }).catch((e) => this.#d.log.error({ key: rt.key, err: errorMessage(e) }, 'handling the launcher exit failed'));
  }

  /** After a handler restart: find the sandbox and the launcher of a VMI again. */
  async #recover(vmi: VirtualMachineInstance): Promise<void> {
    const phase = vmi.status?.phase ?? 'Pending';
    const ns = vmi.metadata.namespace!;
    const name = vmi.metadata.name;
    const key = keyOf(ns, name);
    const log = this.#d.log.child({ kind: KIND, namespace: ns, name, uid: vmi.metadata.uid });
    const sb = await Sandbox.open({ runRoot: this.#d.cfg.runDir, stateRoot: this.#d.cfg.stateDir, cgroups: this.#d.cgroups, uid: vmi.metadata.uid!, log });
    if (phase === 'Pending' || isFinalPhase(phase)) {
      if (sb && isFinalPhase(phase)) await sb.destroy().catch(() => undefined);
      return;
    }
    const rt = newRuntime(vmi, sb);
    this.#rt.set(key, rt);
    if (!sb?.runtime.launchContext && (sb || phase === 'Scheduling')) {
      // Interrupted while preparing, before the launcher was told what to run: start over.
      await this.#teardown(rt);
      this.#rt.delete(key);
      this.#status(vmi, (o) => setPhase(o, 'Pending'));
      return;
    }
    if (!sb || !sb.launcherAlive()) {
      this.#fail(vmi, 'LauncherExited', 'the launcher is gone (found after a handler restart)');
      return;
    }
    await this.#attachEndpoint(rt, log);
    this.#watchLiveness(rt);
    log.info({ launcherPid: sb.runtime.launcherPid }, 're-attached to a running launcher');
  }

  /** Removes the sandbox and everything in it; idempotent. */
  async #teardown(rt: Runtime): Promise<void> {
    if (rt.tornDown) return;
    rt.tornDown = true;
    clearTimeout(rt.forceTimer);
    clearInterval(rt.liveness);
    rt.abort.abort();
    // A launcher that reported its final state exits by itself within moments;
    // give it that chance before the cgroup is killed.
    if (rt.domainFinal && rt.sandbox?.launcherAlive()) {
      for (let i = 0; i < 30 && rt.sandbox.launcherAlive(); i++) await new Promise((r) => setTimeout(r, 100));
    }
    await rt.endpoint?.close().catch(() => undefined);
    await this.#release(rt.uid, rt.sandbox, { onError: (what, e) => this.#d.log.error({ key: rt.key, err: errorMessage(e) }, `${what} teardown failed`) });
  }

  /**
   * Removes what VMI `uid` holds on the node: its sandbox (or, with none at hand, what
   * a previous handler left of it; `all` takes the launcher log too), its pod network,
   * and every image hold, also those taken before a handler restart. Idempotent; a
   * step that fails goes to `onError` (default: ignored) and the others still run.
   */
  async #release(uid: string, sandbox: Sandbox | undefined, opts: { all?: boolean; onError?: (what: string, e: unknown) => void } = {}): Promise<void> {
    const failed = (what: string) => (e: unknown): void => opts.onError?.(what, e);
    if (sandbox) await sandbox.destroy({ all: opts.all }).catch(failed('sandbox'));
    else await Sandbox.destroyLeftovers({ runRoot: this.#d.cfg.runDir, stateRoot: this.#d.cfg.stateDir, cgroups: this.#d.cgroups, uid, all: opts.all }).catch(failed('sandbox'));
    await this.#d.network.destroyPodNetwork(uid).catch(failed('pod network'));
    await this.#d.images.release(undefined, uid).catch(failed('image hold'));
  }

  // ---- helpers -----------------------------------------------------------

  #status(vmi: VirtualMachineInstance, fn: (o: VirtualMachineInstance) => void): void {
    try {
      this.#d.store.mutate<VirtualMachineInstance>(KIND, vmi.metadata.namespace!, vmi.metadata.name, (o) => {
        if (o.metadata.uid !== vmi.metadata.uid) return false;
        o.status ??= { phase: 'Pending', conditions: [] };
        fn(o);
      });
    } catch (e) {
      // Deleted meanwhile: there is no status left to set.
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  #fail(vmi: VirtualMachineInstance, reason: string, message: string): void {
    let notes: EventNote[] = [];
    this.#status(vmi, (o) => {
      notes = failVmi(o, reason, message);
    });
    for (const n of notes) this.#event(vmi, n.type, n.reason, n.message);
  }

  #event(vmi: VirtualMachineInstance, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#d.store.recordEvent({ type, reason, message, object: vmi });
  }
}

/** What the launcher needs to run each interface: its tap, MAC, DHCP lease and status address. */
function preparedInterfaces(pod: PodNetwork): LaunchContext['interfaces'] {
  const out: NonNullable<LaunchContext['interfaces']> = {};
  for (const i of pod.interfaces) {
    const g = i.guest;
    out[i.name] = {
      tapName: i.tapName,
      multiQueue: i.multiQueue,
      mac: g.mac,
      statusIP: pod.podIP,
      dhcp: {
        bridge: i.bridgeName,
        serverIp: g.dhcpServerIP,
        lease: {
          mac: g.mac,
          ip: g.ip,
          prefixLength: g.prefixLength,
          gateway: g.gateway,
          dns: g.dns,
          searchDomains: g.searchDomains,
          hostname: g.hostname,
          mtu: g.mtu,
          routes: g.routes.map((r) => {
            const [dest, len] = r.destination.split('/');
            return { dest: dest!, prefixLen: Number(len ?? 32), gateway: r.gateway };
          }),
        },
      },
    };
  }
  return out;
}
