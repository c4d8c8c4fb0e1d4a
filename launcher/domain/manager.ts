// The domain manager: one QEMU process and its QMP connection, driven through the
// state table of state.ts. It is the launcher's counterpart of libvirt's qemu
// driver for exactly one VM: start paused, connect QMP and the console, `cont`;
// turn QMP events and the process's exit into domain states; carry out pause,
// shutdown, kill, reboot and reset.
//
// QEMU is started confined (confine.ts): its own uid, no capabilities, its own mount
// namespace showing only its VM's files, and `setpriv --pdeathsig KILL` so that it
// dies with the launcher even when the launcher is SIGKILLed; the handler removing
// the VM's cgroup is the second line of defence.

import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { VirtnodeError, errorMessage } from '../../proto/errors.js';
import type { Disk, VirtualMachineInstance, Volume } from '../../proto/vmi/types.js';
import { closeFd, openTap } from '../../native/index.js';
import { vcpuCount } from '../../proto/vmi/resources.js';
import type { VMIInterfaceStatus } from '../../proto/vmi/types.js';
import { DhcpServer } from '../network/dhcp-server.js';
import { netdevObject, nicDeviceObject } from './devices/interface.js';
import { nicDevice, tapQueueCount } from '../../proto/vmi/devices.js';
import { Qmp, type QmpEvent } from '../qmp/index.js';
import type { BlockInfo } from '../qmp/types.js';
import { ConsoleRelay } from '../console.js';
import { ConsoleLog } from '../console-log.js';
import { VncServer } from '../vnc.js';
import { screenshot } from './screenshot.js';
import { runDirLayout } from '../../proto/launch.js';
import { buildArgv, DEFAULT_QEMU_BINARY } from './argv.js';
import { confinedArgv, confinementProblem, prepareQemuView, qemuView, resolveQemuBinary, QEMU_ENV, QEMU_GID, QEMU_UID, type QemuView } from './confine.js';
import { openHostFile, openHostFiles } from './host-files.js';
import { hotplugDisk, plugDisk, unplugDisk } from './devices/disk-hotplug.js';
import { vmiToDomain } from './convert.js';
import { ensureNvram } from './devices/firmware.js';
import { Swtpm } from './swtpm.js';
import { probeVolumes } from './host-volumes.js';
import type { LaunchContext, PreparedVolume } from '../../proto/launch.js';
import type { Domain, DomainDisk, DomainInterface } from './types.js';
import { checkOperation, checkTransition, isFinal, type State } from './state.js';
import { DomainStatsReader } from './stats.js';
import type { QemuStats } from '../../proto/generated/virtnode/launcher/v1/QemuStats.js';
import { GuestAgent, type AgentStatus } from '../agent/agent.js';

export interface StateChange {
  state: State;
  reason: string;
  message?: string;
  qemuPid?: number;
  accelerator?: string;
  /** The domain's interfaces as the launcher sees them (sent with STARTING). */
  interfaces?: VMIInterfaceStatus[];
  /** What QEMU made of the domain (sent with STARTING, once QEMU runs). */
  resolved?: ResolvedDomain;
}

/** What QEMU made of the domain: its machine type, guest RAM and disks as the guest sees them. */
export interface ResolvedDomain {
  machineType: string;
  guestMemoryBytes: number;
  volumes: { name: string; target: string; sizeBytes: number }[];
}

/** A NIC to add to a running domain (its tap already exists in this netns). */
export interface HotplugInterface {
  name: string;
  tapName: string;
  mac?: string;
  model?: string;
}

/** A disk to add to a running domain, with its volume as the handler prepared it. */
export interface HotplugVolume {
  disk: Disk;
  volume: Volume;
  prepared: PreparedVolume;
}

/** Where a disk sits in the guest (VolumeStatus.target and size). */
export interface VolumeTarget {
  name: string;
  target: string;
  sizeBytes: number;
}

/**
 * How long a guest gets to react to the ACPI power button before a graceful stop
 * asks its agent instead (libvirt's shutdown tries the agent and ACPI likewise).
 */
export const ACPI_IGNORED_MS = 10_000;

/** How long QEMU has to report a hot-unplugged device deleted (KubeVirt waits on libvirt likewise). */
export const DEVICE_DELETED_TIMEOUT_MS = 30_000;

export interface DomainManagerEvents {
  state: [StateChange];
  /** The guest agent's part of the VMI's status changed (agent/agent.ts). */
  agent: [AgentStatus];
}

const QMP_TIMEOUT_MS = 10_000;
const STDERR_TAIL = 4096;

export class DomainManager extends EventEmitter<DomainManagerEvents> {
  #log: Logger;
  #state: State = 'NO_STATE';
  #qemu: ChildProcess | undefined;
  #qmp: Qmp | undefined;
  #domain: Domain | undefined;
  #stderr = '';
  #exited: Promise<void> = Promise.resolve();
  /** The VM's TPM emulator (devices.tpm), started before QEMU, ended with it. */
  #swtpm: Swtpm | undefined;
  /** Why QEMU is going away, when we know better than its exit status. */
  #ending: { reason: string; message: string; crashed: boolean } | undefined;
  #pauseRequested = false;
  /** QEMU stopped the guest on a disk error (errorPolicy stop, KubeVirt's default): why. */
  #ioError: string | undefined;
  /** A soft reboot over ACPI is under way: the guest's shutdown becomes a reset. */
  #fakeReboot = false;
  /** The next RESET is the end of a soft reboot. */
  #rebooting = false;
  /** The guest agent was asked to reboot the guest: its RESET says so. */
  #agentReboot = false;
  #agent: GuestAgent | undefined;
  /** status.interfaces as the domain knows them, and the ones bound with masquerade. */
  #interfaces: { interfaces: VMIInterfaceStatus[]; masquerade: ReadonlySet<string> } = { interfaces: [], masquerade: new Set() };
  #acpiTimer: NodeJS.Timeout | undefined;
  #shutdownTimer: NodeJS.Timeout | undefined;
  #dhcp: DhcpServer[] = [];
  #freePorts: string[] = [];
  /** Disks hot-plugged into this domain, by name, and whether each still has its guest device. */
  #hotplugged = new Map<string, { devicePresent: boolean }>();
  /** Hot-plug and unplug run one at a time: each picks its LUN from what the last one left. */
  #hotplugChain: Promise<unknown> = Promise.resolve();
  #nodeSeq = 0;
  /** Each interface's tap in the pod's netns, for the handler's counters. */
  #taps: { name: string; tap: string }[] = [];
  #stats = new DomainStatsReader();
  #consoleLog: ConsoleLog | undefined;
  #vnc: VncServer | undefined;
  /** Screendumps go one at a time: each writes the same file. */
  #screenshots: Promise<unknown> = Promise.resolve();
  readonly console: ConsoleRelay;

  constructor(log: Logger) {
    super();
    this.#log = log;
    this.console = new ConsoleRelay(log);
  }

  get state(): State {
    return this.#state;
  }

  /** True once a start was accepted: a reconnecting launcher must not start twice. */
  get defined(): boolean {
    return this.#state !== 'NO_STATE';
  }

  get qemuPid(): number | undefined {
    return this.#qemu?.pid;
  }

  /** Spawns QEMU paused, connects QMP and the serial console, then lets the guest run. */
  async start(vmi: VirtualMachineInstance, ctx: LaunchContext, opts: { consoleSocket: string; qemuBinary?: string }): Promise<void> {
    checkOperation(this.#state, 'start');
    // Taps are opened here, in the pod's network namespace, and handed to QEMU as
    // inherited fds 3, 4, ... (QMP getfd is the way for NICs added later); hostDisk
    // files after them, checked to be the files the handler vetted (host-files.ts).
    const unconfinable = confinementProblem();
    if (unconfinable) throw new VirtnodeError('VN_SANDBOX', `QEMU cannot be confined: ${unconfinable}`);
    const taps = openInterfaceTaps(vmi, ctx);
    const fds = [...taps.fds];
    let domain: Domain;
    let argv: string[];
    let view: QemuView;
    let full: string[];
    try {
      const hostFiles = openHostFiles(vmi, ctx, 3 + fds.length);
      fds.push(...hostFiles.fds);
      domain = vmiToDomain(vmi, ctx, taps.tapFds, probeVolumes(ctx), hostFiles.numbers);
      argv = buildArgv(domain, { qemuBinary: resolveQemuBinary(opts.qemuBinary ?? DEFAULT_QEMU_BINARY) });
      if (domain.boot.efi) ensureNvram(domain.boot.efi);
      view = qemuView(domain, ctx.runDir);
      prepareQemuView(view);
      full = confinedArgv(argv, view);
      // QEMU connects to swtpm's socket as it starts: swtpm goes first.
      if (domain.tpm) this.#swtpm = await Swtpm.start(domain.tpm, ctx.runDir, this.#log.child({ component: 'swtpm' }));
    } catch (e) {
      for (const fd of fds) closeFd(fd);
      throw e;
    }
    this.#domain = domain;
    this.#freePorts = [...domain.hotplugPorts];
    this.#taps = Object.entries(ctx.interfaces ?? {}).map(([name, p]) => ({ name, tap: p.tapName }));
    this.#interfaces = { interfaces: interfaceStatus(domain, ctx), masquerade: new Set((vmi.spec.domain.devices.interfaces ?? []).filter((i) => i.masquerade).map((i) => i.name)) };
    this.#set({ state: 'STARTING', reason: 'StartingUp', accelerator: domain.accelerator });
    await this.console.listen(opts.consoleSocket);
    const layout = runDirLayout(ctx.runDir);
    // KubeVirt logs the serial console unless logSerialConsole is false (its cluster default is on).
    if (domain.serialSocket && vmi.spec.domain.devices.logSerialConsole !== false) {
      const consoleLog = new ConsoleLog(layout.consoleLog, this.#log);
      this.#consoleLog = consoleLog;
      this.console.onOutput((b) => consoleLog.write(b));
    }

    const confinement = { uid: QEMU_UID, gid: QEMU_GID, files: view.files.map((f) => `${f.path} (${f.writable ? 'rw' : 'ro'}${f.own ? ', own' : ''})`), devices: view.ownDevices };
    this.#log.info({ argv, confinement }, 'starting QEMU');
    let qemu: ChildProcess;
    try {
      qemu = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'ignore', 'pipe', ...fds], env: QEMU_ENV });
    } finally {
      // QEMU has its own copies now (or never will): ours only keep the taps and files busy.
      for (const fd of fds) closeFd(fd);
    }
    this.#qemu = qemu;
    qemu.stderr!.setEncoding('utf8');
    qemu.stderr!.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-STDERR_TAIL);
      this.#log.warn({ qemuStderr: s.trimEnd() }, 'QEMU stderr');
    });
    this.#exited = new Promise((resolve) => {
      qemu.once('exit', (code, signal) => {
        this.#onExit(code, signal);
        this.#swtpm?.stop();
        resolve();
      });
      qemu.once('error', (e) => {
        this.#ending ??= { reason: 'Failed', message: `QEMU could not be started: ${e.message}`, crashed: false };
      });
    });

    try {
      const qmp = await Qmp.connect(domain.qmpSocket, { timeoutMs: QMP_TIMEOUT_MS, until: this.#exited });
      this.#qmp = qmp;
      this.#log.debug('QMP connected');
      qmp.on('event', (ev: QmpEvent) => this.#onEvent(ev));
      if (domain.serialSocket) await this.console.attach(domain.serialSocket);
      if (domain.guestAgent) {
        const agent = new GuestAgent({ socket: domain.guestAgent.socket, log: this.#log, domainInterfaces: () => this.#interfaces, onStatus: (st) => this.emit('agent', st) });
        this.#agent = agent;
        // Held from before the guest runs: qemu-ga spins while nobody holds the host end.
        await agent.attach();
      }
      if (domain.graphics) {
        this.#vnc = new VncServer(qmp, this.#log);
        await this.#vnc.listen(layout.vncSocket);
      }
      const [resolved] = await Promise.all([resolveDomain(qmp, domain), this.#startDhcp(ctx)]);
      this.#set({ state: 'STARTING', reason: 'StartingUp', qemuPid: qemu.pid, accelerator: domain.accelerator, interfaces: this.#interfaces.interfaces, resolved });
      await qmp.execute('cont', undefined, { timeoutMs: QMP_TIMEOUT_MS });
    } catch (e) {
      // QEMU refused the argv or died on start: its stderr says why.
      const why = this.#stderr.trim().split('\n').slice(-3).join(' ') || errorMessage(e);
      this.#ending ??= { reason: 'Failed', message: `QEMU failed to start: ${why}`, crashed: false };
      qemu.kill('SIGKILL');
      await this.#exited;
      throw new VirtnodeError('VN_QMP', `starting the domain: ${why}`, { cause: e });
    }
  }

  async pause(): Promise<void> {
    checkOperation(this.#state, 'pause');
    this.#pauseRequested = true;
    await this.#exec('stop');
  }

  async unpause(): Promise<void> {
    checkOperation(this.#state, 'unpause');
    await this.#exec('cont');
  }

  /**
   * ACPI power button, then SIGKILL after the grace period, as libvirt's
   * shutdown-then-destroy that KubeVirt uses for terminationGracePeriodSeconds.
   */
  async shutdown(gracePeriodSeconds: number): Promise<void> {
    checkOperation(this.#state, 'shutdown');
    if (gracePeriodSeconds <= 0) return this.kill();
    if (this.#state === 'SHUTTING_DOWN') return;
    // The power button now means power off, even if a soft reboot pressed it before.
    if (this.#fakeReboot) await this.#endFakeReboot();
    // A paused guest cannot see the power button.
    if (this.#state === 'PAUSED') await this.#exec('cont');
    this.#ending = { reason: 'Shutdown', message: 'The VirtualMachineInstance was shut down', crashed: false };
    // The power button, unless the guest has no ACPI and its agent answers; a guest
    // that ignores the button is asked through its agent a little later.
    const how = this.#domain?.machine.acpi === false && this.#agent?.connected ? await this.#agentPowerdown() : undefined;
    if (!how) {
      await this.#exec('system_powerdown');
      this.#acpiTimer = setTimeout(() => void this.#agentPowerdown(), Math.min(ACPI_IGNORED_MS, (gracePeriodSeconds * 1000) / 2));
    }
    this.#set({ state: 'SHUTTING_DOWN', reason: 'User', message: `Signaled graceful shutdown${how ? ' through the guest agent' : ''} (grace period ${gracePeriodSeconds}s)` });
    this.#shutdownTimer = setTimeout(() => {
      this.#log.warn({ gracePeriodSeconds }, 'guest did not power off within the grace period; killing QEMU');
      this.#ending = { reason: 'Destroyed', message: `The guest did not shut down within ${gracePeriodSeconds}s and was killed`, crashed: false };
      this.#qemu?.kill('SIGKILL');
    }, gracePeriodSeconds * 1000);
  }

  /** guest-shutdown powerdown, when the agent answers; resolves whether it was sent. */
  async #agentPowerdown(): Promise<boolean> {
    if (!this.#agent?.connected || this.#state === 'SHUTOFF' || this.#state === 'CRASHED') return false;
    try {
      await this.#agent.shutdown('powerdown');
      this.#log.info('graceful shutdown: asked the guest agent to power the guest off');
      return true;
    } catch (e) {
      this.#log.warn({ err: errorMessage(e) }, 'graceful shutdown: the guest agent could not power the guest off');
      return false;
    }
  }

  async kill(): Promise<void> {
    checkOperation(this.#state, 'kill');
    if (!this.#qemu || this.#qemu.exitCode !== null || this.#qemu.signalCode !== null) {
      if (!isFinal(this.#state)) this.#set({ state: 'SHUTOFF', reason: 'Destroyed', message: 'The VirtualMachineInstance was killed' });
      return;
    }
    this.#ending = { reason: 'Destroyed', message: 'The VirtualMachineInstance was killed', crashed: false };
    this.#qemu.kill('SIGKILL');
    await this.#exited;
  }

  /**
   * KubeVirt's soft reboot: through the guest agent (guest-shutdown reboot) when it
   * answers, as libvirt's agent reboot flag does; resolves with which way was taken.
   * Where no agent answers (or it fails): the ACPI power button,
   * ending in a reset instead of a power-off (libvirt's "fake reboot"). QEMU is told
   * to pause, not exit, on the guest's shutdown; that SHUTDOWN is answered with a
   * reset and cont (#onEvent), and QEMU's own action is put back. A guest that
   * ignores the button is not rebooted, as under KubeVirt.
   */
  async softReboot(): Promise<string> {
    checkOperation(this.#state, 'softReboot');
    let agentFailed = '';
    if (this.#agent?.connected) {
      try {
        this.#agentReboot = true;
        await this.#agent.shutdown('reboot');
        return 'through the guest agent';
      } catch (e) {
        this.#agentReboot = false;
        agentFailed = errorMessage(e);
        this.#log.warn({ err: agentFailed }, 'soft reboot: the guest agent could not reboot the guest; trying ACPI');
      }
    }
    if (!this.#domain?.machine.acpi) throw new VirtnodeError('VN_ILLEGAL_TRANSITION', `VMI neither have the agent connected nor the ACPI feature enabled${agentFailed ? ` (the agent failed: ${agentFailed})` : ''}`);
    if (!this.#fakeReboot) await this.#exec('set-action', { shutdown: 'pause' });
    this.#fakeReboot = true;
    try {
      await this.#exec('system_powerdown');
    } catch (e) {
      await this.#endFakeReboot().catch(() => undefined);
      throw e;
    }
    this.#log.info('soft reboot: ACPI power button pressed; the guest\'s shutdown will reset it');
    return `with the ACPI power button${agentFailed ? ' (the guest agent failed)' : ' (no guest agent answers)'}`;
  }

  async #endFakeReboot(): Promise<void> {
    this.#fakeReboot = false;
    await this.#exec('set-action', { shutdown: this.#domain?.lifecycle.shutdown ?? 'poweroff' });
  }

  /** The guest shut down during a soft reboot: QEMU paused it; reset and run it again. */
  async #finishSoftReboot(): Promise<void> {
    this.#rebooting = true;
    await this.#exec('system_reset');
    await this.#endFakeReboot();
    await this.#exec('cont');
  }

  async reset(): Promise<void> {
    checkOperation(this.#state, 'reset');
    await this.#exec('system_reset');
  }

  /**
   * Hot-plugs a NIC: the tap's fd goes to QEMU over the QMP socket (getfd, with
   * SCM_RIGHTS), then netdev_add and device_add put it into a spare root port.
   */
  async attachInterface(nic: HotplugInterface): Promise<void> {
    checkOperation(this.#state, 'hotplug');
    if (!this.#qmp) throw new VirtnodeError('VN_UNAVAILABLE', 'attach interface: QMP is not connected');
    const model = nicDevice(nic.model);
    if (!model) throw new VirtnodeError('VN_INVALID_SPEC', `interface ${nic.name}: unknown model ${JSON.stringify(nic.model)}`);
    const port = this.#freePorts.shift();
    if (!port) throw new VirtnodeError('VN_UNSUPPORTED', `interface ${nic.name}: no free PCIe port left for hot-plug`);
    const fdName = `tap-${nic.name}`;
    const iface: DomainInterface = {
      name: nic.name,
      deviceId: `ua-${nic.name}`,
      netdevId: `netdev-${nic.name}`,
      model,
      ...(nic.mac ? { mac: nic.mac.toLowerCase() } : {}),
      tap: { fdName },
      vhost: false,
    };
    const fd = openTap(nic.tapName, { vnetHdr: true });
    try {
      await this.#qmp.sendFd(fd, fdName);
    } finally {
      closeFd(fd);
    }
    try {
      await this.#exec('netdev_add', netdevObject(iface));
      await this.#exec('device_add', nicDeviceObject(iface, port));
    } catch (e) {
      this.#freePorts.unshift(port);
      throw e;
    }
    this.#taps.push({ name: nic.name, tap: nic.tapName });
    this.#log.info({ interface: nic.name, tap: nic.tapName, port }, 'interface hot-plugged');
  }

  /**
   * Hot-plugs a hostDisk (virt-launcher's volume hotplug): the file is opened beneath
   * its root as at start (the inode the handler vetted), QEMU gets the fd (add-fd),
   * then the block nodes and a scsi-hd on the virtio-scsi controller. A failed step
   * undoes the earlier ones. Attaching a disk already hot-plugged answers where it is.
   */
  attachDisk(req: HotplugVolume): Promise<VolumeTarget> {
    return this.#serialised(async () => {
      checkOperation(this.#state, 'hotplug');
      const qmp = this.#qmp;
      const domain = this.#domain;
      if (!qmp || !domain) throw new VirtnodeError('VN_UNAVAILABLE', 'attach volume: QMP is not connected');
      const name = req.disk.name;
      const existing = domain.disks.find((d) => d.name === name);
      if (existing && this.#hotplugged.get(name)?.devicePresent) return this.#targetOf(existing);
      if (existing) throw new VirtnodeError('VN_ILLEGAL_TRANSITION', `disk ${name} is being unplugged; remove it again before adding it`);
      const file = req.prepared.hostFile;
      if (!file) throw new VirtnodeError('VN_INTERNAL', `attach volume ${name}: no hostDisk file was prepared`);
      const disk = hotplugDisk(req.disk, req.volume, req.prepared, domain.disks, `hotplug${++this.#nodeSeq}`);
      const fd = openHostFile(file, !disk.readonly, 'volumeSource.hostDisk.path', req.volume.hostDisk?.path ?? `${file.root}/${file.path}`, 'as it is hot-plugged');
      try {
        await plugDisk(qmp, disk, fd, this.#log, QMP_TIMEOUT_MS);
      } finally {
        closeFd(fd);
      }
      domain.disks.push(disk);
      this.#hotplugged.set(name, { devicePresent: true });
      this.#log.info({ disk: name, target: disk.target, lun: disk.address.bus === 'scsi' ? disk.address.lun : undefined, fdset: disk.image.fdset?.set }, 'disk hot-plugged');
      return this.#targetOf(disk);
    });
  }

  /**
   * Hot-unplugs a disk added by attachDisk: device_del, DEVICE_DELETED awaited for at
   * most `timeoutMs`, then its block nodes and fd set. A disk not attached is done.
   */
  detachDisk(name: string, timeoutMs = DEVICE_DELETED_TIMEOUT_MS): Promise<void> {
    return this.#serialised(async () => {
      checkOperation(this.#state, 'hotplug');
      const qmp = this.#qmp;
      const domain = this.#domain;
      if (!qmp || !domain) throw new VirtnodeError('VN_UNAVAILABLE', 'detach volume: QMP is not connected');
      const index = domain.disks.findIndex((d) => d.name === name);
      const state = this.#hotplugged.get(name);
      if (index < 0) return;
      if (!state) throw new VirtnodeError('VN_ILLEGAL_TRANSITION', `disk ${name} was not hot-plugged: only hot-plugged volumes can be removed`);
      const disk = domain.disks[index]!;
      // Past DEVICE_DELETED the guest has lost the disk: a retry only removes what is left.
      await unplugDisk(qmp, disk, { timeoutMs: QMP_TIMEOUT_MS, deleteTimeoutMs: timeoutMs, devicePresent: state.devicePresent, onDeviceDeleted: () => (state.devicePresent = false) });
      domain.disks.splice(domain.disks.indexOf(disk), 1);
      this.#hotplugged.delete(name);
      this.#log.info({ disk: name, target: disk.target }, 'disk hot-unplugged');
    });
  }

  /**
   * A volume's file grew (a claim expanded): block_resize on its format node, so the
   * guest's disk shows the new size (virtio-blk tells the guest at once). Never shrinks.
   */
  resizeDisk(name: string, sizeBytes: number): Promise<void> {
    return this.#serialised(async () => {
      const qmp = this.#qmp;
      const disk = this.#domain?.disks.find((d) => d.name === name);
      if (!qmp || !disk || (this.#state !== 'RUNNING' && this.#state !== 'PAUSED')) throw new VirtnodeError('VN_UNAVAILABLE', `resize volume ${name}: no domain runs (state ${this.#state})`);
      if (disk.image.format !== 'raw') throw new VirtnodeError('VN_UNSUPPORTED', `resize volume ${name}: only raw disks are resized`);
      const now = (await this.#targetOf(disk)).sizeBytes;
      if (sizeBytes < now) throw new VirtnodeError('VN_ILLEGAL_TRANSITION', `resize volume ${name}: ${sizeBytes} bytes is less than its ${now}`);
      if (sizeBytes === now) return;
      await qmp.execute('block_resize', { 'node-name': disk.nodeName, size: sizeBytes }, { timeoutMs: QMP_TIMEOUT_MS });
      this.#log.info({ disk: name, from: now, to: sizeBytes }, 'disk resized');
    });
  }

  #serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#hotplugChain.then(fn, fn);
    this.#hotplugChain = run.catch(() => undefined);
    return run;
  }

  async #targetOf(d: DomainDisk): Promise<VolumeTarget> {
    const blocks = this.#qmp ? await this.#qmp.execute('query-block', undefined, { timeoutMs: QMP_TIMEOUT_MS }) : [];
    return volumeStatus(blocks, [d])[0]!;
  }

  /** What QMP tells about the domain now (stats.ts); the handler reads the rest from /proc. */
  async stats(guestStatsIntervalSeconds: number): Promise<QemuStats> {
    const qmp = this.#qmp;
    const domain = this.#domain;
    if (!qmp || !domain || (this.#state !== 'RUNNING' && this.#state !== 'PAUSED' && this.#state !== 'SHUTTING_DOWN')) {
      throw new VirtnodeError('VN_UNAVAILABLE', `no domain runs (state ${this.#state})`);
    }
    return this.#stats.read(qmp, domain, { guestStatsIntervalSeconds, interfaces: this.#taps });
  }

  /** The guest's screen as PNG (screenshot.ts); refused without a graphics device. */
  screenshot(): Promise<Buffer> {
    const qmp = this.#qmp;
    const graphics = this.#domain?.graphics;
    if (this.#domain && !graphics) return Promise.reject(new VirtnodeError('VN_UNSUPPORTED', 'the VMI has no graphics device (spec.domain.devices.autoattachGraphicsDevice is false)'));
    if (!qmp || !graphics || (this.#state !== 'RUNNING' && this.#state !== 'PAUSED' && this.#state !== 'SHUTTING_DOWN')) {
      return Promise.reject(new VirtnodeError('VN_UNAVAILABLE', `no domain runs (state ${this.#state})`));
    }
    const run = this.#screenshots.then(() => screenshot(qmp, graphics, QMP_TIMEOUT_MS));
    this.#screenshots = run.catch(() => undefined);
    return run;
  }

  async #startDhcp(ctx: LaunchContext): Promise<void> {
    for (const [name, p] of Object.entries(ctx.interfaces ?? {})) {
      if (!p.dhcp) continue;
      const server = new DhcpServer();
      await server.start({
        interface: p.dhcp.bridge,
        serverIp: p.dhcp.serverIp,
        lease: p.dhcp.lease,
        log: this.#log.child({ interface: name }),
        onEvent: (e) => this.#log.info({ interface: name, dhcp: e.type, ip: e.ip, mac: e.mac }, 'DHCP'),
      });
      this.#dhcp.push(server);
    }
  }

  /** Resolves when QEMU has exited (at once if it never ran). */
  exited(): Promise<void> {
    return this.#exited;
  }

  /** The guest agent (none before start, or for a domain without the channel). */
  get agent(): GuestAgent | undefined {
    return this.#agent;
  }

  async close(): Promise<void> {
    clearTimeout(this.#shutdownTimer);
    clearTimeout(this.#acpiTimer);
    this.#agent?.close();
    this.#qmp?.close();
    for (const d of this.#dhcp.splice(0)) await d.stop().catch(() => undefined);
    await this.#vnc?.close();
    await this.console.close();
    await this.#consoleLog?.close();
  }

  async #exec(command: string, args?: Record<string, unknown>): Promise<void> {
    if (!this.#qmp) throw new VirtnodeError('VN_UNAVAILABLE', `${command}: QMP is not connected`);
    await this.#qmp.execute(command as never, args as never, { timeoutMs: QMP_TIMEOUT_MS });
  }

  #onEvent(ev: QmpEvent): void {
    const data = (ev.data ?? {}) as Record<string, unknown>;
    this.#log.debug({ event: ev.event, data }, 'QMP event');
    switch (ev.event) {
      case 'RESUME':
        if (this.#state === 'STARTING' || this.#state === 'PAUSED') this.#set({ state: 'RUNNING', reason: this.#state === 'PAUSED' ? 'Unpaused' : 'Booted' });
        this.#agent?.domainRunning(true);
        break;
      case 'VSERPORT_CHANGE':
        if (data.id === 'channel0') this.#agent?.portChanged(data.open === true);
        break;
      case 'STOP':
        this.#agent?.domainRunning(false);
        // After GUEST_PANICKED QEMU pauses the guest (-action panic=pause): that is the
        // crash, not a pause; during a soft reboot it is the guest's shutdown, held.
        if (this.#state === 'RUNNING' && !this.#ending?.crashed && !this.#fakeReboot) {
          const byUser = this.#pauseRequested;
          const ioError = this.#ioError;
          this.#pauseRequested = false;
          this.#ioError = undefined;
          // libvirt's paused reasons: "IOError" becomes the Paused condition's PausedIOError, as under KubeVirt.
          if (byUser) this.#set({ state: 'PAUSED', reason: 'User', message: 'paused by user' });
          else if (ioError) this.#set({ state: 'PAUSED', reason: 'IOError', message: ioError });
          else this.#set({ state: 'PAUSED', reason: 'Unknown', message: 'QEMU stopped the guest' });
        }
        break;
      case 'BLOCK_IO_ERROR': {
        if (data.action !== 'stop') break;
        const node = typeof data['node-name'] === 'string' ? data['node-name'] : '';
        const disk = this.#domain?.disks.find((d) => d.nodeName === node)?.name ?? (node || String(data.device));
        this.#ioError = `I/O error on disk ${disk} (${String(data.operation)}${data.nospace ? ', no space left' : ''}): ${String(data.reason)}`;
        break;
      }
      case 'RESET': {
        const soft = this.#rebooting;
        this.#rebooting = false;
        if (this.#state !== 'RUNNING') break;
        const viaAgent = this.#agentReboot;
        this.#agentReboot = false;
        if (soft) this.#set({ state: 'RUNNING', reason: 'Rebooted', message: 'The guest rebooted (soft reboot over ACPI)' });
        else if (viaAgent && data.guest) this.#set({ state: 'RUNNING', reason: 'Rebooted', message: 'The guest rebooted (soft reboot through the guest agent)' });
        else this.#set({ state: 'RUNNING', reason: data.guest ? 'Rebooted' : 'Reset', message: data.guest ? 'The guest rebooted' : 'The VirtualMachineInstance was reset' });
        break;
      }
      case 'SHUTDOWN':
        if (this.#fakeReboot && data.guest) {
          this.#finishSoftReboot().catch((e) => this.#log.error({ err: errorMessage(e) }, 'soft reboot: resetting the guest failed'));
          break;
        }
        // A poweroff from inside the guest, or the end of our power-button shutdown.
        if (data.guest && !this.#ending) this.#ending = { reason: 'Shutdown', message: 'The guest powered off', crashed: false };
        break;
      case 'GUEST_PANICKED': {
        const info = data.info ? ` (${JSON.stringify(data.info)})` : '';
        this.#ending = { reason: 'Panicked', message: `The guest kernel panicked${info}`, crashed: true };
        // libvirt's on_crash=destroy, which KubeVirt uses: a panicked guest is over.
        this.#qemu?.kill('SIGKILL');
        break;
      }
      default:
        break;
    }
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    clearTimeout(this.#shutdownTimer);
    clearTimeout(this.#acpiTimer);
    this.#agent?.domainRunning(false);
    this.#qmp?.close();
    if (isFinal(this.#state)) return;
    let change: StateChange;
    if (this.#ending) {
      change = { state: this.#ending.crashed ? 'CRASHED' : 'SHUTOFF', reason: this.#ending.reason, message: this.#ending.message };
    } else if (signal) {
      change = { state: 'CRASHED', reason: 'Crashed', message: `QEMU was killed by signal ${signal}` };
    } else if (code === 0) {
      change = { state: 'SHUTOFF', reason: 'Shutdown', message: 'QEMU exited' };
    } else {
      const tail = this.#stderr.trim().split('\n').slice(-3).join(' ');
      change = { state: 'CRASHED', reason: 'Crashed', message: `QEMU exited with code ${code}${tail ? `: ${tail}` : ''}` };
    }
    this.#log.info({ code, signal, ...change }, 'QEMU exited');
    this.#set(change);
  }

  #set(c: StateChange): void {
    if (c.state !== this.#state) checkTransition(this.#state, c.state);
    this.#state = c.state;
    this.emit('state', { ...c, qemuPid: c.qemuPid ?? this.#qemu?.pid, accelerator: c.accelerator ?? this.#domain?.accelerator });
  }
}

/**
 * Opens every prepared interface's tap (one fd per queue): `fds` are ours to hand to
 * QEMU's spawn, `tapFds` the numbers QEMU sees them at (stdio takes 0-2, so 3 and up).
 */
export function openInterfaceTaps(vmi: VirtualMachineInstance, ctx: LaunchContext): { tapFds: Record<string, number[]>; fds: number[] } {
  const fds: number[] = [];
  const tapFds: Record<string, number[]> = {};
  try {
    for (const [name, p] of Object.entries(ctx.interfaces ?? {})) {
      const queues = tapQueueCount(p.multiQueue ?? false, vcpuCount(vmi.spec));
      const numbers: number[] = [];
      for (let q = 0; q < queues; q++) {
        fds.push(openTap(p.tapName, { multiQueue: p.multiQueue ?? false, vnetHdr: true }));
        numbers.push(2 + fds.length);
      }
      tapFds[name] = numbers;
    }
  } catch (e) {
    for (const fd of fds) closeFd(fd);
    throw new VirtnodeError('VN_SANDBOX', `opening the pod's tap: ${errorMessage(e)}`, { cause: e });
  }
  return { tapFds, fds };
}

/** status.interfaces as the launcher knows them: name, MAC and the address the VMI shows. */
function interfaceStatus(d: Domain, ctx: LaunchContext): VMIInterfaceStatus[] {
  return d.interfaces.map((i) => {
    const ip = ctx.interfaces?.[i.name]?.statusIP;
    return { name: i.name, ...(i.mac ? { mac: i.mac } : {}), ...(ip ? { ipAddress: ip, ipAddresses: [ip] } : {}), infoSource: 'domain' };
  });
}

/**
 * Asks QEMU what it made of the domain: the versioned machine type behind an alias
 * (status.machine.type), the guest RAM (status.memory) and each disk's size.
 */
async function resolveDomain(qmp: Qmp, d: Domain): Promise<ResolvedDomain> {
  const opts = { timeoutMs: QMP_TIMEOUT_MS };
  const [machines, memory, blocks] = await Promise.all([
    qmp.execute('query-machines', undefined, opts),
    qmp.execute('query-memory-size-summary', undefined, opts),
    qmp.execute('query-block', undefined, opts),
  ]);
  const machine = machines.find((m) => m.name === d.machine.type || m.alias === d.machine.type);
  return {
    machineType: machine?.name ?? d.machine.type,
    guestMemoryBytes: memory['base-memory'],
    volumes: volumeStatus(blocks, d.disks),
  };
}

/**
 * Each disk's target and size from query-block, matched by the block node its device
 * reads: qdev is a QOM path for some devices (/machine/peripheral/ua-x/virtio-backend,
 * /machine/peripheral/ua-x/ua-x.0/legacy[0] for usb-storage) but the bare id for
 * others (ide-hd, ide-cd, scsi-hd, scsi-cd), so it is no key to rely on.
 */
export function volumeStatus(blocks: BlockInfo[], disks: DomainDisk[]): ResolvedDomain['volumes'] {
  const size = new Map(blocks.flatMap((b) => (b.inserted?.['node-name'] !== undefined ? [[b.inserted['node-name'], b.inserted.image['virtual-size']] as const] : [])));
  return disks.map((k) => ({ name: k.name, target: k.target, sizeBytes: size.get(k.nodeName) ?? 0 }));
}
