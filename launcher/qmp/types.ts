// The QMP commands and events virtnode uses, typed from QEMU 7.2's own schema: every
// shape below was read from `query-qmp-schema` of the qemu-system-x86_64 7.2 binary
// (members, optionality, enum values) and named after qapi/*.json (control, run-state,
// machine, misc, block-core, char, net, qdev, qom, ui). A member that is optional
// there is optional here; nothing is guessed. QEMU's `int` is a JSON number here:
// every int QMP reports to us (sizes in bytes, ids) fits a double exactly up to 8 PiB.

/** Where QEMU stamps an event (qapi/control.json): seconds -1 when it could not read the clock. */
export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

/** The greeting QEMU sends first on every connection (docs/interop/qmp-spec). */
export interface QmpGreeting {
  QMP: {
    version: { qemu: { major: number; minor: number; micro: number }; package: string };
    capabilities: string[];
  };
}

// ---- run-state.json -------------------------------------------------------

export type RunState =
  | 'debug'
  | 'inmigrate'
  | 'internal-error'
  | 'io-error'
  | 'paused'
  | 'postmigrate'
  | 'prelaunch'
  | 'finish-migrate'
  | 'restore-vm'
  | 'running'
  | 'save-vm'
  | 'shutdown'
  | 'suspended'
  | 'watchdog'
  | 'guest-panicked'
  | 'colo';

export interface StatusInfo {
  running: boolean;
  singlestep: boolean;
  status: RunState;
}

export type ShutdownCause =
  | 'none'
  | 'host-error'
  | 'host-qmp-quit'
  | 'host-qmp-system-reset'
  | 'host-signal'
  | 'host-ui'
  | 'guest-shutdown'
  | 'guest-reset'
  | 'guest-panic'
  | 'subsystem-reset'
  | 'snapshot-load';

export type GuestPanicAction = 'pause' | 'poweroff' | 'run';

export type GuestPanicInformation =
  | { type: 'hyper-v'; arg1: number; arg2: number; arg3: number; arg4: number; arg5: number }
  | { type: 's390'; core: number; 'psw-mask': number; 'psw-addr': number; reason: 'unknown' | 'disabled-wait' | 'extint-loop' | 'pgmint-loop' | 'opint-loop' };

export type WatchdogAction = 'reset' | 'shutdown' | 'poweroff' | 'pause' | 'debug' | 'none' | 'inject-nmi';

// ---- machine.json / misc.json ---------------------------------------------

export interface KvmInfo {
  enabled: boolean;
  present: boolean;
}

export interface CpuInstanceProperties {
  'node-id'?: number;
  'socket-id'?: number;
  'die-id'?: number;
  'cluster-id'?: number;
  'core-id'?: number;
  'thread-id'?: number;
}

/** One vCPU; `thread-id` is the host thread that runs it (for CPU pinning). */
export interface CpuInfoFast {
  'cpu-index': number;
  'qom-path': string;
  'thread-id': number;
  props?: CpuInstanceProperties;
  /** The target architecture; the schema's enum holds every QEMU target. */
  target: string;
}

export interface VersionInfo {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

/** One machine type QEMU knows (machine.json MachineInfo; only the fields virtnode reads). */
export interface MachineInfo {
  name: string;
  /** "q35" on the versioned machine that alias resolves to. */
  alias?: string;
  'is-default'?: boolean;
  'cpu-max': number;
  deprecated: boolean;
}

export interface MemorySizeSummary {
  'base-memory': number;
  'plugged-memory'?: number;
}

// ---- block-core.json ------------------------------------------------------

export interface BlockDeviceInfo {
  file: string;
  'node-name'?: string;
  ro: boolean;
  drv: string;
  backing_file?: string;
  backing_file_depth: number;
  encrypted: boolean;
  detect_zeroes: 'off' | 'on' | 'unmap';
  bps: number;
  bps_rd: number;
  bps_wr: number;
  iops: number;
  iops_rd: number;
  iops_wr: number;
  image: ImageInfo;
  cache: { writeback: boolean; direct: boolean; 'no-flush': boolean };
  write_threshold: number;
}

export interface ImageInfo {
  filename: string;
  format: string;
  'dirty-flag'?: boolean;
  'actual-size'?: number;
  'virtual-size': number;
  'cluster-size'?: number;
  encrypted?: boolean;
  compressed?: boolean;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  'backing-image'?: ImageInfo;
}

export interface BlockInfo {
  /** The BlockBackend name: empty for -blockdev disks, which have none. */
  device: string;
  /**
   * The guest device: its QOM path (/machine/peripheral/ua-rootdisk/virtio-backend,
   * /machine/peripheral/ua-usb/ua-usb.0/legacy[0] for usb-storage) or, for ide-hd,
   * ide-cd, scsi-hd and scsi-cd, its bare id (ua-sata).
   */
  qdev?: string;
  type: string;
  removable: boolean;
  locked: boolean;
  inserted?: BlockDeviceInfo;
  tray_open?: boolean;
  'io-status'?: 'ok' | 'failed' | 'nospace';
}

/** add-fd's answer (misc.json AddfdInfo): the set and the fd number QEMU holds. */
export interface AddfdInfo {
  'fdset-id': number;
  fd: number;
}

/** blockdev-add's argument: the members virtnode sets, as on -blockdev (block-core.json). */
export interface BlockdevOptions {
  driver: string;
  'node-name': string;
  'read-only'?: boolean;
  cache?: { direct?: boolean; 'no-flush'?: boolean };
  [member: string]: unknown;
}

// ---- char.json ------------------------------------------------------------

export type SocketAddressLegacy =
  | { type: 'unix'; data: { path: string; abstract?: boolean; tight?: boolean } }
  | { type: 'inet'; data: { host: string; port: string; numeric?: boolean; to?: number; ipv4?: boolean; ipv6?: boolean; 'keep-alive'?: boolean; mptcp?: boolean } }
  | { type: 'vsock'; data: { cid: string; port: string } }
  | { type: 'fd'; data: { str: string } };

interface ChardevCommon {
  logfile?: string;
  logappend?: boolean;
}

/** The ChardevBackend variants virtnode may add at run time; the schema has more. */
export type ChardevBackend =
  | { type: 'socket'; data: ChardevCommon & { addr: SocketAddressLegacy; server?: boolean; wait?: boolean; nodelay?: boolean; telnet?: boolean; tn3270?: boolean; websocket?: boolean; reconnect?: number; 'tls-creds'?: string; 'tls-authz'?: string } }
  | { type: 'file'; data: ChardevCommon & { in?: string; out: string; append?: boolean } }
  | { type: 'null'; data: ChardevCommon }
  | { type: 'ringbuf'; data: ChardevCommon & { size?: number } };

export interface ChardevInfo {
  label: string;
  filename: string;
  'frontend-open': boolean;
}

// ---- net.json -------------------------------------------------------------

/** netdev_add for a tap: `fd`/`vhostfd` name fds passed with getfd, or are numbers inherited by QEMU. */
export interface NetdevTapOptions {
  type: 'tap';
  id: string;
  ifname?: string;
  fd?: string;
  fds?: string;
  script?: string;
  downscript?: string;
  br?: string;
  helper?: string;
  sndbuf?: number;
  vnet_hdr?: boolean;
  vhost?: boolean;
  vhostfd?: string;
  vhostfds?: string;
  vhostforce?: boolean;
  queues?: number;
  'poll-us'?: number;
}

// ---- block.json: query-blockstats ------------------------------------------

/** One entry of query-blockstats (the fields virtnode reads; QEMU sends more). */
export interface BlockStatsEntry {
  device?: string;
  'node-name'?: string;
  qdev?: string;
  stats: {
    rd_bytes: number;
    wr_bytes: number;
    rd_operations: number;
    wr_operations: number;
    flush_operations: number;
    rd_total_time_ns: number;
    wr_total_time_ns: number;
    flush_total_time_ns: number;
  };
}

// ---- ui.json --------------------------------------------------------------

/** A key for send-key: a QKeyCode name ("ctrl", "alt", "delete", "a", ...) or a raw number. */
export type KeyValue = { type: 'qcode'; data: string } | { type: 'number'; data: number };

// ---- the command map ------------------------------------------------------

type NoArgs = undefined;
type Empty = Record<string, never>;

/** Command name → its arguments and its return value, for every command virtnode sends. */
export interface QmpCommands {
  qmp_capabilities: { args: { enable?: 'oob'[] } | NoArgs; ret: Empty };
  'query-status': { args: NoArgs; ret: StatusInfo };
  cont: { args: NoArgs; ret: Empty };
  stop: { args: NoArgs; ret: Empty };
  system_powerdown: { args: NoArgs; ret: Empty };
  system_reset: { args: NoArgs; ret: Empty };
  system_wakeup: { args: NoArgs; ret: Empty };
  'inject-nmi': { args: NoArgs; ret: Empty };
  quit: { args: NoArgs; ret: Empty };
  'query-kvm': { args: NoArgs; ret: KvmInfo };
  'query-cpus-fast': { args: NoArgs; ret: CpuInfoFast[] };
  'query-version': { args: NoArgs; ret: VersionInfo };
  'query-name': { args: NoArgs; ret: { name?: string } };
  'query-uuid': { args: NoArgs; ret: { UUID: string } };
  'query-memory-size-summary': { args: NoArgs; ret: MemorySizeSummary };
  'query-machines': { args: NoArgs; ret: MachineInfo[] };
  'query-commands': { args: NoArgs; ret: { name: string }[] };
  /** Takes the fd that came with this command's message (SCM_RIGHTS); see Qmp.sendFd. */
  getfd: { args: { fdname: string }; ret: Empty };
  closefd: { args: { fdname: string }; ret: Empty };
  /** Makes the connected socket named `fdname` (getfd) a client of the VNC display; QEMU owns it from then on. */
  add_client: { args: { protocol: 'vnc' | 'spice' | '@dbus-display'; fdname: string; skipauth?: boolean; tls?: boolean }; ret: Empty };
  'query-block': { args: NoArgs; ret: BlockInfo[] };
  /**
   * Puts the fd that came with this command's message (SCM_RIGHTS) into fd set
   * `fdset-id`, or a new one; a blockdev opens it as /dev/fdset/<id>. See Qmp.addFd.
   */
  'add-fd': { args: { 'fdset-id'?: number; opaque?: string }; ret: AddfdInfo };
  /** Drops fd `fd` of the set, or the whole set; QEMU closes each fd once no block node uses it. */
  'remove-fd': { args: { 'fdset-id': number; fd?: number }; ret: Empty };
  /** A block node (BlockdevOptions: driver, node-name and the driver's members), as -blockdev takes it. */
  'blockdev-add': { args: BlockdevOptions; ret: Empty };
  /** Grows (or shrinks) the image of block node `node-name` to `size` bytes; the guest's device sees the new size. */
  block_resize: { args: { 'node-name': string; size: number }; ret: Empty };
  /** Removes a block node no device and no other node uses. */
  'blockdev-del': { args: { 'node-name': string }; ret: Empty };
  /** One entry per block backend (device); `node-name` is its root node. */
  'query-blockstats': { args: { 'query-nodes'?: boolean } | NoArgs; ret: BlockStatsEntry[] };
  /** Any device property may follow driver/bus/id, as on -device. */
  device_add: { args: { driver: string; bus?: string; id?: string; [property: string]: unknown }; ret: Empty };
  /** Returns at once; the device is gone when DEVICE_DELETED arrives. */
  device_del: { args: { id: string }; ret: Empty };
  'chardev-add': { args: { id: string; backend: ChardevBackend }; ret: { pty?: string } };
  'chardev-remove': { args: { id: string }; ret: Empty };
  'query-chardev': { args: NoArgs; ret: ChardevInfo[] };
  netdev_add: { args: NetdevTapOptions; ret: Empty };
  netdev_del: { args: { id: string }; ret: Empty };
  set_link: { args: { name: string; up: boolean }; ret: Empty };
  'human-monitor-command': { args: { 'command-line': string; 'cpu-index'?: number }; ret: string };
  /** Target guest RAM in bytes. */
  balloon: { args: { value: number }; ret: Empty };
  /** Guest RAM in bytes as the balloon sees it. */
  'query-balloon': { args: NoArgs; ret: { actual: number } };
  screendump: { args: { filename: string; device?: string; head?: number; format?: 'ppm' | 'png' }; ret: Empty };
  'send-key': { args: { keys: KeyValue[]; 'hold-time'?: number }; ret: Empty };
  'qom-get': { args: { path: string; property: string }; ret: unknown };
  'qom-set': { args: { path: string; property: string; value: unknown }; ret: Empty };
  /** What QEMU does on the guest's reboot/shutdown/panic from now on (-action at run time). */
  'set-action': { args: { reboot?: 'reset' | 'shutdown'; shutdown?: 'poweroff' | 'pause'; panic?: 'pause' | 'shutdown' | 'exit-failure' | 'none' }; ret: Empty };
}

export type QmpCommandName = keyof QmpCommands;
export type QmpArgs<C extends QmpCommandName> = QmpCommands[C]['args'];
export type QmpReturn<C extends QmpCommandName> = QmpCommands[C]['ret'];
/** Commands that take no arguments at all (or only optional ones). */
export type QmpNoArgCommand = { [C in QmpCommandName]: undefined extends QmpArgs<C> ? C : never }[QmpCommandName];

// ---- the event map --------------------------------------------------------

/** Event name → its `data`; an event without data has `{}`. */
export interface QmpEvents {
  STOP: Empty;
  RESUME: Empty;
  /** `guest` is true when the guest asked for it (poweroff, ACPI, panic with shutdown). */
  SHUTDOWN: { guest: boolean; reason: ShutdownCause };
  RESET: { guest: boolean; reason: ShutdownCause };
  /** The ACPI power button was pressed (system_powerdown). */
  POWERDOWN: Empty;
  SUSPEND: Empty;
  WAKEUP: Empty;
  /** `action` is what QEMU did about it: with -action panic=pause it is 'pause'. */
  GUEST_PANICKED: { action: GuestPanicAction; info?: GuestPanicInformation };
  GUEST_CRASHLOADED: { action: GuestPanicAction; info?: GuestPanicInformation };
  WATCHDOG: { action: WatchdogAction };
  DEVICE_DELETED: { device?: string; path: string };
  DEVICE_UNPLUG_GUEST_ERROR: { device?: string; path: string };
  /** Guest RAM in bytes after a balloon change (rate-limited by QEMU to one a second). */
  BALLOON_CHANGE: { actual: number };
  BLOCK_IO_ERROR: { device: string; 'node-name'?: string; operation: 'read' | 'write'; action: 'ignore' | 'report' | 'stop'; nospace?: boolean; reason: string };
  NIC_RX_FILTER_CHANGED: { name?: string; path: string };
  /** A virtio-serial port was opened or closed by the guest: qemu-ga connecting, for one. */
  VSERPORT_CHANGE: { id: string; open: boolean };
  RTC_CHANGE: { offset: number; 'qom-path': string };
  MIGRATION: { status: string };
}

export type QmpEventName = keyof QmpEvents;

/** The names of QmpEvents at run time: an event is typed only when its name is here. */
export const QMP_EVENT_NAMES = [
  'STOP', 'RESUME', 'SHUTDOWN', 'RESET', 'POWERDOWN', 'SUSPEND', 'WAKEUP', 'GUEST_PANICKED', 'GUEST_CRASHLOADED',
  'WATCHDOG', 'DEVICE_DELETED', 'DEVICE_UNPLUG_GUEST_ERROR', 'BALLOON_CHANGE', 'BLOCK_IO_ERROR',
  'NIC_RX_FILTER_CHANGED', 'VSERPORT_CHANGE', 'RTC_CHANGE', 'MIGRATION',
] as const satisfies readonly QmpEventName[];
// Fails to compile when QmpEvents gains a name the list lacks.
const everyEventListed: Exclude<QmpEventName, (typeof QMP_EVENT_NAMES)[number]> extends never ? true : never = true;
void everyEventListed;

interface QmpEventBase {
  /** As QEMU stamped it. */
  timestamp: QmpTimestamp;
  /** The same instant as a Date (millisecond precision); the receive time when QEMU had none. */
  time: Date;
}

/** One known event, narrowed by its name. */
export type QmpEventOf<E extends QmpEventName> = QmpEventBase & { event: E; data: QmpEvents[E] };

/** Any known event: `switch (ev.event)` narrows `ev.data`. */
export type QmpEvent = { [E in QmpEventName]: QmpEventOf<E> }[QmpEventName];

/**
 * An event QmpEvents does not type (a newer QEMU, a device we do not use). Kept out
 * of QmpEvent because a plain `string` name would stop narrowing on the known ones.
 */
export interface OtherQmpEvent extends QmpEventBase {
  event: string;
  data: Record<string, unknown>;
}
