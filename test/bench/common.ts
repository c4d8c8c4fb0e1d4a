// What every part of the benchmark shares: the run context, the guest as a VMI
// manifest, a handler started through the e2e harness, and the check that a VM
// left nothing behind.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import type { Report } from './report.js';
import { DEMO_IMAGE, TestHandler, cgroupRootDirs, netnsList, stopRegistry, testRegistry } from '../e2e/harness.js';
import { podNames } from '../../handler/network/names.js';
import type { GuestPaths } from '../guest/index.js';
import { cmdline, processTable } from './procfs.js';

export interface Bench {
  report: Report;
  cleanup: Cleanup;
  log(msg: string): void;
  quick: boolean;
}

/** Where each part's handler log is kept after the handler is gone. */
export const LOG_DIR = '/tmp/vnb-logs';

/** The seed VM's memory: 64M, 64×10⁶ bytes. */
export const GUEST_MEMORY = '64M';
/** Open fds a handler may hold beyond its start once every VMI is gone (API clients, logs, watches); more is a leak. */
export const FD_SLACK = 16;
export const GUEST_MEMORY_BYTES = 64_000_000;
export const VOLUME = 'containerdisk';

/**
 * The test guest as a bare VMI. IfNotPresent: the image is pulled once, so every
 * start measures the node path, not a registry round trip (KubeVirt's kubelet
 * pulls before virt-launcher even exists). With `network`, the VMI keeps the
 * defaulted masquerade interface on the pod network (what a user's VM gets);
 * without, it has no NIC — the same devices as the bare QEMU and libvirt peers.
 * A request of one CPU gives its cgroup the CPU weight the peers' QEMUs have (the
 * default 100m would give it a tenth of theirs whenever the two cores are contended).
 */
export function benchVMI(
  name: string,
  opts: { labels?: Record<string, string>; network?: boolean; cloudInit?: boolean; image?: string; pullPolicy?: 'Always' | 'IfNotPresent' } = {},
): string {
  const labels = opts.labels ? `  labels:\n${Object.entries(opts.labels).map(([k, v]) => `    ${k}: "${v}"`).join('\n')}\n` : '';
  // Without the pod network the compared VMI has the peers' devices: no NIC, and no VGA/VNC either (libvirt's has none).
  const noNic = opts.network ? '' : '      autoattachPodInterface: false\n      autoattachGraphicsDevice: false\n';
  // A typical NoCloud volume: a password and a command, as KubeVirt's examples carry.
  const ciDisk = opts.cloudInit ? '      - name: cloudinitdisk\n        disk:\n          bus: virtio\n' : '';
  const ciVolume = opts.cloudInit
    ? '  - name: cloudinitdisk\n    cloudInitNoCloud:\n      userData: |\n        #cloud-config\n        password: gocubsgo\n        chpasswd: { expire: False }\n        runcmd:\n          - echo hello\n'
    : '';
  return `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: ${name}
${labels}spec:
  terminationGracePeriodSeconds: 0
  domain:
    devices:
${noNic}      disks:
      - name: ${VOLUME}
        disk:
          bus: virtio
${ciDisk}    resources:
      requests:
        memory: ${GUEST_MEMORY}
        cpu: "1"
  volumes:
  - name: ${VOLUME}
    containerDisk:
      image: ${opts.image ?? DEMO_IMAGE}
      imagePullPolicy: ${opts.pullPolicy ?? 'IfNotPresent'}
${ciVolume}`;
}

let registry: Promise<{ host: string; guest: GuestPaths }> | undefined;

/** The OCI registry with the test guest, started once per run. */
export function benchRegistry(b: Bench): Promise<{ host: string; guest: GuestPaths }> {
  registry ??= (async () => {
    b.cleanup.add('OCI registry', () => stopRegistry());
    const r = await testRegistry();
    return { host: r.registry.host, guest: r.guest };
  })();
  return registry;
}

/** A standalone handler of our own (state, run dir, cgroup root), destroyed on cleanup. */
export async function startHandler(
  b: Bench,
  opts: { name?: string; logLevel?: string; config?: Record<string, unknown>; registryHost?: string; stateDir?: string; logFile?: string } = {},
): Promise<{ h: TestHandler; destroy(): Promise<void> }> {
  const host = opts.registryHost ?? (await benchRegistry(b)).host;
  const extra: string[] = ['--log-level', opts.logLevel ?? 'info'];
  if (opts.config) {
    const dir = mkdtempSync(join(tmpdir(), 'vnb-cfg-'));
    b.cleanup.add(`config ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'handler.json');
    writeFileSync(file, JSON.stringify(opts.config));
    extra.push('--config', file);
  }
  const h = new TestHandler({ registryHost: host, extraArgs: extra, stateDir: opts.stateDir, logFile: opts.logFile });
  // The handler's log outlives it (its state directory does not), for post-mortems.
  const keep = (): void => {
    mkdirSync(LOG_DIR, { recursive: true });
    copyFileSync(h.logFile, join(LOG_DIR, `handler-${opts.name ?? 'bench'}.log`));
  };
  const destroy = b.cleanup.add(`handler ${h.stateDir}`, async () => {
    try {
      keep();
    } catch {
      /* no log yet */
    }
    await h.destroy();
  });
  await h.start();
  return { h, destroy };
}

/** What a VMI left behind: processes naming its uid, its cgroup, run and disk directories, its pod network. */
export function leftovers(h: TestHandler, uids: readonly string[]): string[] {
  const out: string[] = [];
  const want = new Set(uids);
  const table = processTable();
  for (const pid of table.keys()) {
    if (pid === process.pid) continue;
    const cmd = cmdline(pid) ?? '';
    for (const u of want) if (cmd.includes(u)) out.push(`process ${pid} (${cmd.slice(0, 120)}) of ${u}`);
  }
  const cgroupDirs = cgroupRootDirs(h.cgroupRoot);
  const namespaces = new Set(netnsList());
  for (const u of uids) {
    for (const d of cgroupDirs) if (existsSync(join(d, u))) out.push(`cgroup ${join(d, u)}`);
    if (existsSync(join(h.runDir, 'vmis', u))) out.push(`run directory ${join(h.runDir, 'vmis', u)}`);
    if (existsSync(join(h.stateDir, 'vmis', u))) out.push(`state directory ${join(h.stateDir, 'vmis', u)}`);
    const names = podNames(u, h.net.prefix);
    if (namespaces.has(names.netns)) out.push(`network namespace ${names.netns}`);
    if (existsSync(`/sys/class/net/${names.hostVeth}`)) out.push(`veth ${names.hostVeth}`);
  }
  return out;
}

/** Entries under the handler's per-VMI directories, and its pod namespaces (none once every VMI is gone). */
export function sandboxDirs(h: TestHandler): string[] {
  const out: string[] = netnsList()
    .filter((n) => n.startsWith(`${h.net.prefix}-`))
    .map((n) => `network namespace ${n}`);
  for (const root of [join(h.runDir, 'vmis'), join(h.stateDir, 'vmis')]) {
    try {
      for (const e of readdirSync(root)) out.push(join(root, e));
    } catch {
      /* none */
    }
  }
  for (const d of cgroupRootDirs(h.cgroupRoot)) {
    try {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) out.push(join(d, e.name));
    } catch {
      /* none */
    }
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether the handler process still runs. */
export function handlerAlive(h: TestHandler): boolean {
  const pid = h.pid;
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The non-JSON tail of the handler's log: a crash's stack trace. */
export function crashText(h: TestHandler): string {
  const text = h.log().trimEnd().split('\n').slice(-80).filter((l) => !l.startsWith('{')).join('\n');
  // Several crashes may follow each other in the log: the last one is this one.
  const blocks = text.split(/\nNode\.js v[\d.]+/).map((x) => x.trim()).filter(Boolean);
  return (blocks.at(-1) ?? '').slice(-1500);
}

const restarts = new WeakMap<TestHandler, Promise<void>>();
/** Handlers being stopped and started on purpose: down, but not crashed. */
export const plannedRestarts = new WeakSet<TestHandler>();

/**
 * If the handler died, records the crash as a failure of `part` with its stack
 * trace and starts the handler again on the same state (as a supervisor would), so
 * the remaining figures still get measured; then waits until it answers.
 */
export async function ensureHandler(b: Bench, h: TestHandler, part: string, during: string): Promise<void> {
  let p = restarts.get(h);
  if (!p) {
    p = (async () => {
      const end = Date.now() + 180_000;
      for (let n = 0; ; ) {
        if (!handlerAlive(h) && plannedRestarts.has(h)) {
          if (Date.now() > end) throw new Error(`the handler did not come back after a planned restart (${during})`);
          await sleep(200);
          continue;
        }
        if (!handlerAlive(h)) {
          if (++n > 10) throw new Error(`the handler crashed ${n - 1} times in a row during ${during}`);
          b.report.crash(part, during, crashText(h));
          b.log(`${part}: handler crashed during ${during}; restarting it`);
          // A handler that dies again while it recovers fails start(): the loop retries.
          await h.start().catch(() => undefined);
          continue;
        }
        try {
          await h.client.call('List', { kind: 'vmi', namespace: 'kube-system' }, { deadline: Date.now() + 5000 });
          return;
        } catch (e) {
          if (Date.now() > end) throw new Error(`the handler does not answer after ${during}: ${(e as Error).message}`);
          await sleep(200);
        }
      }
    })().finally(() => restarts.delete(h));
    restarts.set(h, p);
  }
  await p;
}

/** A connection-level failure (handler gone or restarting), as opposed to an API error. */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  // "handler not started": the harness between a kill and the next start.
  return code === 'VN_UNAVAILABLE' || /ECONNRE|Connection dropped|No connection established|UNAVAILABLE|handler not started/.test((e as Error).message ?? '');
}

/** An API call that survives a handler crash: it waits for the restarted handler and retries. */
export async function resilientCall<T>(b: Bench, h: TestHandler, part: string, during: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConnectionError(e) || attempt >= 10) throw e;
      await sleep(100);
      await ensureHandler(b, h, part, during);
    }
  }
}
