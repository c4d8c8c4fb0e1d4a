// The handler's configuration: defaults, then an optional YAML/JSON file, then
// command-line flags. Every bad value is refused at start with its name.

import { readFileSync, realpathSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { VirtnodeError } from '../proto/errors.js';
import { DEFAULT_SMBIOS, type SmbiosConfig } from '../proto/launch.js';
import type { NodeNetworkConfig } from './network/index.js';

export interface MirrorConfig {
  endpoints: string[];
}

export interface TcpListenConfig {
  /** host:port for controllers; always mTLS. */
  address: string;
  certFile: string;
  keyFile: string;
  /** CA that client certificates must chain to. */
  caFile: string;
}

export interface HandlerConfig {
  mode: 'standalone' | 'daemonset';
  nodeName: string;
  /** Desired state, image store, per-VM overlays (persistent). */
  stateDir: string;
  /** Sockets and per-VM runtime directories (tmpfs is fine). */
  runDir: string;
  /** The root-only unix socket of the CLI. */
  socketPath: string;
  /** KubeVirt's useEmulation: run under TCG when KVM does not work. */
  allowEmulation: boolean;
  registryMirrors: Record<string, MirrorConfig>;
  /** Parent cgroup name for VM cgroups. */
  cgroupRoot: string;
  /** argv that starts a launcher; the handler appends the launcher's flags. */
  launcherCommand: string[];
  logLevel: string;
  tcp?: TcpListenConfig;
  /** Standalone pod network: node bridge, pod CIDR, nft table, name prefix, DNS. */
  network: NodeNetworkConfig;
  /** Launchers started ahead of need, so a VM's start does not wait for Node's (0: none). */
  spareLaunchers: number;
  /** SMBIOS type 1 fields every guest of the node shows (KubeVirt's smbios configuration). */
  smbios: SmbiosConfig;
  /**
   * Admit any root process on a VMI's launcher socket instead of only the launcher the
   * handler started. For the scale benchmark alone, whose fake launchers all speak
   * from one process; never on a real node (config file only, no flag).
   */
  insecureLauncherSocket: boolean;
  /**
   * Directories hostDisk volumes may use files beneath (canonical: realpath at
   * start). None: hostDisk is refused, as KubeVirt refuses it without its HostDisk
   * feature gate.
   */
  hostDiskRoots: string[];
  /**
   * Where PersistentVolumeClaims are provisioned, one directory per claim (default
   * <stateDir>/storage); never a host disk root, nor inside or around one.
   */
  storageDir?: string;
  /** host:port of the Prometheus endpoint (/metrics); absent: none. */
  metricsListen?: string;
  /**
   * How often each guest's balloon driver reports its memory (QEMU's
   * guest-stats-polling-interval), set when stats are first asked for. Make it the
   * scrape interval: a shorter one wakes idle guests for reports nobody reads.
   */
  guestStatsIntervalSeconds: number;
}

const here = dirname(fileURLToPath(import.meta.url));

export function defaultConfig(): HandlerConfig {
  const runDir = '/run/virtnode';
  return {
    mode: 'standalone',
    nodeName: hostname(),
    stateDir: '/var/lib/virtnode',
    runDir,
    socketPath: join(runDir, 'virtnode.sock'),
    allowEmulation: false,
    registryMirrors: {},
    cgroupRoot: 'virtnode',
    launcherCommand: [process.execPath, resolve(here, '..', 'launcher', 'main.js')],
    logLevel: 'info',
    network: {},
    spareLaunchers: 1,
    smbios: { ...DEFAULT_SMBIOS },
    insecureLauncherSocket: false,
    hostDiskRoots: [],
    guestStatsIntervalSeconds: 15,
  };
}

const USAGE = `usage: virtnode-handler [flags]
  --config FILE             YAML or JSON with the same keys as below (camelCase)
  --mode standalone         (the DaemonSet mode is not implemented yet)
  --node-name NAME
  --state-dir DIR           (default /var/lib/virtnode)
  --run-dir DIR             (default /run/virtnode)
  --socket PATH             CLI socket (default <run-dir>/virtnode.sock)
  --allow-emulation         run VMs under TCG when KVM does not work (KubeVirt useEmulation)
  --registry-mirror HOST=URL[,URL]   e.g. quay.io=http://127.0.0.1:5000 (repeatable)
  --cgroup-root NAME        (default virtnode)
  --pod-cidr CIDR           standalone pod addresses (default 10.244.0.0/24)
  --pod-bridge NAME         node bridge of the pods (default vn-br0)
  --pod-nft-table NAME      the node nft table virtnode owns (default virtnode)
  --pod-name-prefix P       1-3 letters in front of per-VM netns/veth names (default vn)
  --spare-launchers N       launchers kept started ahead of need (default 1; 0: none)
  --smbios FIELD=VALUE      SMBIOS type 1 of every guest: manufacturer, product, version, sku,
                            family (repeatable; default KubeVirt's: KubeVirt / None / KubeVirt)
  --storage-dir DIR         where PersistentVolumeClaims are provisioned (default <state-dir>/storage)
  --host-disk-root DIR      a directory hostDisk volumes may use files beneath (repeatable;
                            replaces the config file's hostDiskRoots; default none: no hostDisk)
  --listen-tcp ADDR --tls-cert F --tls-key F --tls-ca F   mTLS API for controllers
  --metrics-listen ADDR     serve Prometheus metrics (KubeVirt's names) at http://ADDR/metrics
  --guest-stats-interval S  how often guests report memory through the balloon (default 15;
                            set it to the scrape interval)
  --log-level LEVEL`;

function bad(msg: string): never {
  throw new VirtnodeError('VN_INVALID_SPEC', `${msg}\n${USAGE}`);
}

/** SMBIOS fields are strings QEMU puts in the guest's firmware tables (at most 255 bytes each). */
function checkSmbios(s: unknown): void {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) bad(`smbios: must be a map of ${Object.keys(DEFAULT_SMBIOS).join(', ')}`);
  for (const [k, v] of Object.entries(s)) {
    if (!Object.hasOwn(DEFAULT_SMBIOS, k)) bad(`smbios.${k} (--smbios): unknown field; known: ${Object.keys(DEFAULT_SMBIOS).join(', ')}`);
    if (typeof v !== 'string') bad(`smbios.${k} (--smbios): must be a string`);
    if (Buffer.byteLength(v) > 255 || /[\0-\x1f]/.test(v)) bad(`smbios.${k} (--smbios): at most 255 bytes, no control characters`);
  }
}

/**
 * hostDiskRoots, canonical: absolute existing directories, realpath'd (so no later
 * walk meets a symlink on a root's own way), without duplicates, and apart from the
 * handler's own directories: a root holding the state or run directory would let a
 * hostDisk name another VM's overlay or the store.
 */
export function canonicalHostDiskRoots(roots: unknown, own: { stateDir: string; runDir: string; storageDir?: string }): string[] {
  const field = 'hostDiskRoots (--host-disk-root)';
  if (!Array.isArray(roots)) bad(`${field}: must be a list of directories`);
  const canonical = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const inside = (a: string, b: string): boolean => a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);
  const out: string[] = [];
  for (const r of roots) {
    if (typeof r !== 'string' || r === '') bad(`${field}: ${JSON.stringify(r)} is not a directory path`);
    if (!isAbsolute(r)) bad(`${field}: "${r}" must be an absolute path`);
    let real: string;
    try {
      real = realpathSync(r);
      if (!statSync(real).isDirectory()) bad(`${field}: "${r}" is not a directory`);
    } catch (e) {
      if (e instanceof VirtnodeError) throw e;
      bad(`${field}: "${r}" does not exist (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    for (const [name, dir] of [['state', own.stateDir], ['run', own.runDir], ['storage', own.storageDir ?? own.stateDir]] as const) {
      const d = canonical(dir);
      if (inside(d, real) || inside(real, d)) bad(`${field}: "${r}" overlaps the handler's ${name} directory ${d}`);
    }
    if (!out.includes(real)) out.push(real);
  }
  return out;
}

/** host:port or [v6]:port (an empty host: every address) → its parts, or undefined when malformed. */
export function parseListenAddress(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = Number(m?.[3]);
  return m && port <= 65535 ? { host: m[1] ?? m[2] ?? '', port } : undefined;
}

export function parseMirror(spec: string, field: string): [string, MirrorConfig] {
  const eq = spec.indexOf('=');
  if (eq <= 0) bad(`${field}: "${spec}" is not HOST=URL`);
  const host = spec.slice(0, eq);
  const endpoints = spec.slice(eq + 1).split(',').filter(Boolean);
  for (const u of endpoints) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      bad(`${field}: "${u}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') bad(`${field}: "${u}" must be http:// or https://`);
  }
  if (endpoints.length === 0) bad(`${field}: no endpoint for ${host}`);
  return [host, { endpoints }];
}

/** Every flag the handler takes: a typo (--registry-mirorr) is refused, never ignored. */
const VALUE_FLAGS = new Set([
  '--config', '--mode', '--node-name', '--state-dir', '--run-dir', '--socket', '--registry-mirror', '--cgroup-root',
  '--pod-cidr', '--pod-bridge', '--pod-nft-table', '--pod-name-prefix', '--spare-launchers', '--smbios', '--log-level',
  '--listen-tcp', '--tls-cert', '--tls-key', '--tls-ca', '--host-disk-root', '--storage-dir', '--metrics-listen', '--guest-stats-interval',
]);
const BOOL_FLAGS = new Set(['--allow-emulation', '--help']);

export function loadConfig(argv: string[]): HandlerConfig {
  const cfg = defaultConfig();
  let socketSet = false;
  const flags = new Map<string, string[]>();
  const bools = BOOL_FLAGS;
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let v: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (!a.startsWith('--')) bad(`unexpected argument "${a}"`);
    if (bools.has(a)) {
      if (v !== undefined) bad(`${a} takes no value`);
      flags.set(a, ['true']);
      continue;
    }
    if (!VALUE_FLAGS.has(a)) bad(`unknown flag "${a}"`);
    if (v === undefined) {
      v = argv[++i];
      // A value that looks like the next flag is a missing value: "--state-dir --run-dir x".
      if (v === undefined || (VALUE_FLAGS.has(v) || BOOL_FLAGS.has(v))) bad(`${a} needs a value`);
    }
    flags.set(a, [...(flags.get(a) ?? []), v]);
  }
  if (flags.has('--help')) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const file = flags.get('--config')?.[0];
  if (file) {
    let doc: Record<string, unknown>;
    try {
      doc = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    } catch (e) {
      bad(`--config ${file}: ${(e as Error).message}`);
    }
    for (const [k, val] of Object.entries(doc)) {
      if (!(k in cfg) && k !== 'tcp' && k !== 'metricsListen' && k !== 'storageDir') bad(`${file}: unknown key "${k}"`);
      if (k === 'socketPath') socketSet = true;
      // smbios fields not named keep KubeVirt's defaults.
      (cfg as unknown as Record<string, unknown>)[k] = k === 'smbios' && typeof val === 'object' && val !== null ? { ...DEFAULT_SMBIOS, ...val } : val;
    }
  }
  const one = (f: string): string | undefined => flags.get(f)?.at(-1);
  const mode = one('--mode');
  if (mode) {
    cfg.mode = mode as HandlerConfig['mode'];
  }
  if (one('--node-name')) cfg.nodeName = one('--node-name')!;
  if (one('--state-dir')) cfg.stateDir = resolve(one('--state-dir')!);
  if (one('--run-dir')) cfg.runDir = resolve(one('--run-dir')!);
  if (one('--socket')) {
    cfg.socketPath = resolve(one('--socket')!);
    socketSet = true;
  }
  if (!socketSet) cfg.socketPath = join(cfg.runDir, 'virtnode.sock');
  if (flags.has('--allow-emulation')) cfg.allowEmulation = true;
  for (const m of flags.get('--registry-mirror') ?? []) {
    const [host, mc] = parseMirror(m, '--registry-mirror');
    cfg.registryMirrors[host] = mc;
  }
  if (one('--cgroup-root')) cfg.cgroupRoot = one('--cgroup-root')!;
  if (one('--pod-cidr')) cfg.network.podCIDR = one('--pod-cidr')!;
  if (one('--pod-bridge')) cfg.network.bridge = one('--pod-bridge')!;
  if (one('--pod-nft-table')) cfg.network.nftTable = one('--pod-nft-table')!;
  if (one('--pod-name-prefix')) cfg.network.namePrefix = one('--pod-name-prefix')!;
  const spares = one('--spare-launchers');
  if (spares !== undefined) {
    if (!/^\d+$/.test(spares) || Number(spares) > 16) bad(`--spare-launchers: "${spares}" is not a number from 0 to 16`);
    cfg.spareLaunchers = Number(spares);
  }
  for (const f of flags.get('--smbios') ?? []) {
    const eq = f.indexOf('=');
    (cfg.smbios as Record<string, string>)[eq > 0 ? f.slice(0, eq) : f] = eq > 0 ? f.slice(eq + 1) : '';
  }
  checkSmbios(cfg.smbios);
  if (one('--storage-dir')) cfg.storageDir = resolve(one('--storage-dir')!);
  if (cfg.storageDir !== undefined && (typeof cfg.storageDir !== 'string' || !isAbsolute(cfg.storageDir))) bad(`storageDir (--storage-dir): ${JSON.stringify(cfg.storageDir)} must be an absolute path`);
  const roots = flags.get('--host-disk-root');
  if (roots) cfg.hostDiskRoots = roots;
  cfg.hostDiskRoots = canonicalHostDiskRoots(cfg.hostDiskRoots, cfg);
  if (one('--log-level')) cfg.logLevel = one('--log-level')!;
  const tcp = one('--listen-tcp');
  if (tcp) {
    const certFile = one('--tls-cert');
    const keyFile = one('--tls-key');
    const caFile = one('--tls-ca');
    if (!certFile || !keyFile || !caFile) bad('--listen-tcp needs --tls-cert, --tls-key and --tls-ca (the TCP API is mTLS only)');
    cfg.tcp = { address: tcp, certFile, keyFile, caFile };
  }
  if (one('--metrics-listen')) cfg.metricsListen = one('--metrics-listen')!;
  if (cfg.metricsListen !== undefined && !parseListenAddress(String(cfg.metricsListen))) bad(`metricsListen (--metrics-listen): "${cfg.metricsListen}" must be host:port or [v6]:port, port 0-65535`);
  const interval = one('--guest-stats-interval');
  if (interval !== undefined) cfg.guestStatsIntervalSeconds = /^\d+$/.test(interval) ? Number(interval) : NaN;
  if (!Number.isInteger(cfg.guestStatsIntervalSeconds) || cfg.guestStatsIntervalSeconds < 1 || cfg.guestStatsIntervalSeconds > 3600) {
    bad(`guestStatsIntervalSeconds (--guest-stats-interval): "${String(interval ?? cfg.guestStatsIntervalSeconds)}" is not a number of seconds from 1 to 3600`);
  }
  if (typeof cfg.insecureLauncherSocket !== 'boolean') bad(`insecureLauncherSocket: must be true or false`);
  if (cfg.mode !== 'standalone' && cfg.mode !== 'daemonset') bad(`mode (--mode): "${String(cfg.mode)}" is not standalone or daemonset`);
  // Accepting it and running standalone anyway would mislead: refuse until it exists.
  if (cfg.mode === 'daemonset') bad('mode (--mode): "daemonset" is not implemented yet; this handler runs standalone only');
  if (cfg.tcp && !parseListenAddress(String(cfg.tcp.address))) bad(`tcp.address (--listen-tcp): "${cfg.tcp.address}" must be host:port or [v6]:port, port 0-65535`);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(cfg.nodeName)) bad(`nodeName: "${cfg.nodeName}" is not a DNS-1123 name`);
  if (!/^[A-Za-z0-9_.-]+$/.test(cfg.cgroupRoot)) bad(`cgroupRoot: "${cfg.cgroupRoot}" must be a single path element`);
  // sun_path is 108 bytes; the deepest socket is <runDir>/vmis/<uid>/handler.sock.
  if (cfg.runDir.length > 50) bad(`runDir: "${cfg.runDir}" is too long for unix socket paths (50 characters at most)`);
  return cfg;
}
