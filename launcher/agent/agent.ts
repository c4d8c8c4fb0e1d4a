// The guest agent as the launcher keeps it: virt-launcher's agent poller and the
// agent half of its domain manager, for one VM. It holds one connection to the
// channel for the VM's whole life (qemu-ga spins at 10 Hz while nobody holds the
// host end, so it is never let go) and talks over it only while QEMU says the guest
// has the port open (VSERPORT_CHANGE) and the domain runs: an agent that is absent,
// rebooting or paused is asked nothing, and nothing queues up for it.
//
// While the port is open it is polled gently, on one timer: right away, then after
// 2, 5, 10 and 20 s (a guest's network settles after its agent starts), then every
// 30 s — an idle VM is woken by this twice a minute. Each poll syncs the stream if
// needed (that is the "does it answer" probe), reads guest-info and the OS once per
// agent start, and the interfaces every time. The CLI's questions (guestosinfo,
// fslist, userlist) are asked on demand, never polled. What changed is handed to
// `onStatus` for the VMI's status.

import type { Logger } from 'pino';
import { errorMessage, VirtnodeError } from '../../proto/errors.js';
import type { VMIInterfaceStatus } from '../../proto/vmi/types.js';
import { AgentClient } from './client.js';
import { AgentCommandError, AgentUnavailableError } from './errors.js';
import {
  formatTimezone,
  mergeInterfaces,
  missingCommands,
  parseAgentInfo,
  parseFsInfo,
  parseGuestInterfaces,
  parseOSInfo,
  parseUsers,
  type AgentInfo,
  type GuestInterface,
  type GuestOSInfo,
} from './guest-info.js';

/** The agent's part of the VMI's status, as the launcher sends it (GuestAgentStatus). */
export interface AgentStatus {
  connected: boolean;
  version: string;
  missingCommands: string[];
  guestOSInfo?: GuestOSInfo;
  interfaces: VMIInterfaceStatus[];
  fsFreezeStatus: '' | 'frozen';
}

export type AgentQuery = 'guestosinfo' | 'fslist' | 'userlist';

export interface GuestAgentOptions {
  socket: string;
  log: Logger;
  /** The domain's interfaces as the launcher knows them, and the names bound with masquerade. */
  domainInterfaces(): { interfaces: VMIInterfaceStatus[]; masquerade: ReadonlySet<string> };
  onStatus(s: AgentStatus): void;
  /** Pauses between polls after the port opens; the last one repeats. */
  pollIntervalsMs?: number[];
}

export const POLL_INTERVALS_MS = [2_000, 5_000, 10_000, 20_000, 30_000];
/** guest-fsfreeze-freeze waits for every filesystem's writers: give it time. */
const FREEZE_TIMEOUT_MS = 60_000;
/** guest-shutdown answers only on failure; an error comes within this if at all. */
const SHUTDOWN_REPLY_MS = 3_000;

export class GuestAgent {
  #o: GuestAgentOptions;
  #log: Logger;
  #client: AgentClient | undefined;
  #connecting: Promise<AgentClient> | undefined;
  #portOpen = false;
  #running = false;
  #answers = false;
  #info: AgentInfo | undefined;
  #osInfo: GuestOSInfo | undefined;
  #guestInterfaces: GuestInterface[] | undefined;
  #frozen = false;
  #thawTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #pollStep = 0;
  #polling = false;
  #published = '';
  #closed = false;

  constructor(o: GuestAgentOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'guest-agent' });
  }

  /** Whether the agent answered its last question. */
  get connected(): boolean {
    return this.#portOpen && this.#answers;
  }

  get status(): AgentStatus {
    const { interfaces, masquerade } = this.#o.domainInterfaces();
    return {
      connected: this.connected,
      version: this.#info?.version ?? '',
      missingCommands: this.#info ? missingCommands(this.#info) : [],
      ...(this.#osInfo ? { guestOSInfo: this.#osInfo } : {}),
      interfaces: mergeInterfaces(interfaces, this.connected ? this.#guestInterfaces : undefined, masquerade),
      fsFreezeStatus: this.#frozen ? 'frozen' : '',
    };
  }

  /** Holds the host end of the channel from now on (QEMU listens on it from its start). */
  async attach(): Promise<void> {
    await this.#connect();
  }

  /** QEMU's word on the guest's end of the port (VSERPORT_CHANGE, query-chardev's frontend-open). */
  portChanged(open: boolean): void {
    if (open === this.#portOpen) return;
    this.#portOpen = open;
    this.#log.info({ open }, open ? 'guest agent port opened' : 'guest agent port closed');
    // A new agent (or a rebooted guest) is learnt afresh; the stream syncs on first use.
    this.#answers = false;
    this.#client?.desync();
    this.#info = undefined;
    this.#guestInterfaces = undefined;
    this.#reschedule(true);
    this.#publish();
  }

  /** The domain runs (or not: paused, shutting off): a guest that cannot run is not asked. */
  domainRunning(running: boolean): void {
    if (running === this.#running) return;
    this.#running = running;
    this.#reschedule(true);
  }

  /** virtctl guestosinfo, fslist, userlist: asked now. */
  async query(what: AgentQuery): Promise<Record<string, unknown>> {
    const c = this.#ready(what);
    switch (what) {
      case 'fslist':
        return { kind: 'VirtualMachineInstanceFileSystemList', apiVersion: 'kubevirt.io/v1', metadata: {}, items: parseFsInfo(await c.execute('guest-get-fsinfo')) };
      case 'userlist':
        return { kind: 'VirtualMachineInstanceGuestOSUserList', apiVersion: 'kubevirt.io/v1', metadata: {}, items: parseUsers(await c.execute('guest-get-users')) };
      case 'guestosinfo': {
        const info = parseAgentInfo(await c.execute('guest-info'));
        this.#info = info;
        const ask = async <T>(command: string, parse: (r: unknown) => T): Promise<T | undefined> => {
          try {
            return parse(await c.execute(command));
          } catch (e) {
            // An agent that lacks one of these still answers the rest (KubeVirt leaves the field empty).
            if (e instanceof AgentCommandError) return undefined;
            throw e;
          }
        };
        const os = await ask('guest-get-osinfo', parseOSInfo);
        if (os) this.#osInfo = os;
        const hostname = await ask('guest-get-host-name', (r) => (r as { 'host-name'?: unknown })?.['host-name']);
        const timezone = await ask('guest-get-timezone', formatTimezone);
        const users = await ask('guest-get-users', parseUsers);
        const fs = await ask('guest-get-fsinfo', parseFsInfo);
        this.#publish();
        return {
          kind: 'VirtualMachineInstanceGuestAgentInfo',
          apiVersion: 'kubevirt.io/v1',
          guestAgentVersion: info.version,
          supportedCommands: info.supportedCommands,
          ...(typeof hostname === 'string' ? { hostname } : {}),
          os: os ?? {},
          ...(timezone ? { timezone } : {}),
          ...(users?.length ? { userList: users } : {}),
          fsInfo: { disks: fs ?? [] },
          ...(this.#frozen ? { fsFreezeStatus: 'frozen' } : {}),
        };
      }
    }
  }

  /**
   * Freezes the guest's filesystems (virtctl freeze). A frozen guest stays frozen and
   * its thaw timer starts again. `unfreezeTimeoutSeconds` > 0 thaws it by itself then.
   */
  async freeze(unfreezeTimeoutSeconds: number): Promise<void> {
    const c = this.#ready('freeze');
    const state = await c.execute('guest-fsfreeze-status');
    if (state !== 'frozen') {
      const n = await c.execute('guest-fsfreeze-freeze', undefined, { timeoutMs: FREEZE_TIMEOUT_MS });
      this.#log.info({ filesystems: n }, 'guest filesystems frozen');
    }
    this.#frozen = true;
    clearTimeout(this.#thawTimer);
    this.#thawTimer = undefined;
    if (unfreezeTimeoutSeconds > 0) {
      this.#thawTimer = setTimeout(() => {
        this.#thawTimer = undefined;
        this.#log.warn({ unfreezeTimeoutSeconds }, 'unfreeze was not called within the unfreeze timeout; thawing the guest');
        this.unfreeze().catch((e) => this.#log.error({ err: errorMessage(e) }, 'automatic thaw failed'));
      }, unfreezeTimeoutSeconds * 1000);
    }
    this.#publish();
  }

  /** Thaws the guest's filesystems (virtctl unfreeze); a thawed guest is left as it is. */
  async unfreeze(): Promise<void> {
    clearTimeout(this.#thawTimer);
    this.#thawTimer = undefined;
    const c = this.#ready('unfreeze');
    const state = await c.execute('guest-fsfreeze-status');
    if (state === 'frozen') {
      const n = await c.execute('guest-fsfreeze-thaw', undefined, { timeoutMs: FREEZE_TIMEOUT_MS });
      this.#log.info({ filesystems: n }, 'guest filesystems thawed');
    }
    this.#frozen = false;
    this.#publish();
  }

  /** guest-shutdown: powerdown or reboot from inside the guest; rejects when no agent answers. */
  async shutdown(mode: 'powerdown' | 'reboot'): Promise<void> {
    const c = this.#ready(`guest-shutdown ${mode}`);
    await c.execute('guest-shutdown', { mode }, { noReply: true, timeoutMs: SHUTDOWN_REPLY_MS });
    this.#log.info({ mode }, 'guest agent asked the guest to shut down');
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#thawTimer);
    void this.#client?.close();
  }

  // ---- internals ------------------------------------------------------------

  /** The client, if the agent may be asked now; else why not. */
  #ready(what: string): AgentClient {
    if (!this.#running) throw new VirtnodeError('VN_UNAVAILABLE', `${what}: the guest is not running, so its agent cannot answer`);
    if (!this.#portOpen || !this.#client || this.#client.closed) throw new AgentUnavailableError(`${what}: the guest agent is not connected`);
    return this.#client;
  }

  async #connect(): Promise<AgentClient> {
    if (this.#client && !this.#client.closed) return this.#client;
    this.#connecting ??= AgentClient.connect(this.#o.socket, { log: this.#log }).then(
      (c) => {
        this.#client = c;
        this.#connecting = undefined;
        return c;
      },
      (e: unknown) => {
        this.#connecting = undefined;
        throw e;
      },
    );
    return this.#connecting;
  }

  /** Starts the poll over (right away) or stops it, by whether the agent may be asked. */
  #reschedule(restart: boolean): void {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    if (this.#closed || !this.#portOpen || !this.#running) return;
    if (restart) this.#pollStep = 0;
    const intervals = this.#o.pollIntervalsMs ?? POLL_INTERVALS_MS;
    const delay = restart ? 0 : intervals[Math.min(this.#pollStep++, intervals.length - 1)]!;
    this.#pollTimer = setTimeout(() => void this.#poll(), delay);
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const c = await this.#connect();
      if (!c.synced) await c.sync();
      this.#answers = true;
      if (!this.#info) {
        this.#info = parseAgentInfo(await c.execute('guest-info'));
        const missing = missingCommands(this.#info);
        this.#log.info({ version: this.#info.version, missing }, 'guest agent answers');
        // Frozen by us before a reboot, or by someone else: the agent knows.
        this.#setFrozen((await c.execute('guest-fsfreeze-status')) === 'frozen');
      }
      if (this.#frozen) {
        // While frozen qemu-ga refuses all but a few commands; a reboot thaws.
        this.#setFrozen((await c.execute('guest-fsfreeze-status')) === 'frozen');
      } else {
        if (!this.#osInfo || this.#pollStep === 0) this.#osInfo = parseOSInfo(await c.execute('guest-get-osinfo'));
        this.#guestInterfaces = parseGuestInterfaces(await c.execute('guest-network-get-interfaces'));
      }
    } catch (e) {
      if (e instanceof AgentCommandError) {
        this.#log.debug({ err: e.message }, 'guest agent poll: a command failed');
      } else {
        if (this.#answers) this.#log.warn({ err: errorMessage(e) }, 'guest agent stopped answering');
        this.#answers = false;
      }
    } finally {
      this.#polling = false;
    }
    this.#publish();
    this.#reschedule(false);
  }

  #setFrozen(frozen: boolean): void {
    if (frozen === this.#frozen) return;
    this.#frozen = frozen;
    if (!frozen) {
      clearTimeout(this.#thawTimer);
      this.#thawTimer = undefined;
    }
  }

  #publish(): void {
    const s = this.status;
    const key = JSON.stringify(s);
    if (key === this.#published) return;
    this.#published = key;
    this.#o.onStatus(s);
  }
}
