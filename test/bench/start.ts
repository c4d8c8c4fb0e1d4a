// Part 1, start: how long from the API call until the guest runs (QMP RESUME) and
// until it prints its first console line, for the same guest started three ways in
// interleaved rounds — virtnode (Apply of a VMI), bare QEMU with the launcher's own
// argv (-S, then cont), and libvirt (`create` on a warm libvirtd) — plus the cold
// cases: a handler's first VM after it starts, libvirtd's first domain after it
// starts with no capabilities cache.
//
// Clocks: virtnode's RESUME time comes from the launcher's debug log (QMP events
// with millisecond timestamps), compared with Date.now() at the Apply call — one
// host clock. Everything else is performance.now() in this process.

import { launcherPid } from '../../proto/vmi/annotations.js';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as grpc from '@grpc/grpc-js';
import type { HandlerClient } from '../../handler/cli/client.js';
import type { Object__Output } from '../../proto/generated/virtnode/handler/v1/Object.js';
import type { ApplyResponse__Output } from '../../proto/generated/virtnode/handler/v1/ApplyResponse.js';
import type { ConsoleInput } from '../../proto/generated/virtnode/handler/v1/ConsoleInput.js';
import type { ConsoleOutput__Output } from '../../proto/generated/virtnode/handler/v1/ConsoleOutput.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { TCG_TB_SIZE_MIB } from '../../proto/launch.js';
import type { TestHandler } from '../e2e/harness.js';
import { prepareBareVm, runBareVm, type BareTimes } from './bare-qemu.js';
import { ConsoleClock, connectWhenReady } from './console-clock.js';
import { type Bench, GUEST_MEMORY_BYTES, VOLUME, benchRegistry, benchVMI, leftovers, startHandler } from './common.js';
import { LIBVIRT_URI, LibvirtDaemons, LifecycleEvents, VirshShell, destroyLeftoverDomains, domainXml, dropCapabilitiesCache, ensureLibvirt, libvirtVersion } from './libvirt.js';
import { MiB, msDetail, type Report } from './report.js';
import { machineBusy, procMem, sumMem, type ProcMem } from './procfs.js';
import { summarize } from './stats.js';
import { VmiWatch } from './watch.js';

export interface StartOptions {
  rounds: number;
  warmup: number;
  coldRounds: number;
  /** Back-to-back starts of the VMI with and without a cloud-init volume. */
  ciPairs: number;
}

interface VirtnodeSample {
  /** Date.now() at the Apply call. */
  t0: number;
  applyReturned: number;
  resume: number;
  runningSeen: number;
  firstLine: number;
  login: number;
  /** Step name → ms after the API call, from the handler's and the launcher's logs. */
  steps: Record<string, number>;
  launcherMem?: ProcMem;
  argv?: string[];
  consoleLate: boolean;
}

interface LibvirtSample {
  created: number;
  resumed: number;
  firstLine: number;
  login: number;
  daemonMem?: { libvirtd?: ProcMem; virtlogd?: ProcMem };
}

const PART = 'start';

interface LogLine {
  time: number;
  msg: string;
  [k: string]: unknown;
}

function readLog(file: string, uid?: string): LogLine[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: LogLine[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{') || (uid && !l.includes(uid))) continue;
    try {
      const j = JSON.parse(l) as Record<string, unknown>;
      out.push({ ...j, time: typeof j.time === 'number' ? j.time : Date.parse(String(j.time)), msg: String(j.msg) });
    } catch {
      /* a partial line */
    }
  }
  return out;
}

class VirtnodePeer {
  #n = 0;
  constructor(
    readonly h: TestHandler,
    readonly watch: VmiWatch,
    /** The defaulted masquerade interface on the pod network, or no NIC (as bare QEMU and libvirt). */
    readonly network = false,
    /** A cloudInitNoCloud volume beside the containerDisk: its ISO is made at each start. */
    readonly cloudInit = false,
  ) {}

  get client(): HandlerClient {
    return this.h.client;
  }

  /** One start: Apply → Running, then (unless `console` is false) the console to the login prompt, then delete. */
  async round(withMem: boolean, console = true): Promise<VirtnodeSample> {
    const name = `${this.network ? 'startnet' : this.cloudInit ? 'startci' : 'start'}-${++this.#n}`;
    const t0 = Date.now();
    const p0 = performance.now();
    await this.client.call<unknown, ApplyResponse__Output>('Apply', { manifest: benchVMI(name, { network: this.network, cloudInit: this.cloudInit }) });
    const applyReturned = performance.now() - p0;
    const running = await this.watch.runningOrFail(name);
    const runningSeen = running.at - t0;
    const vmi = running.vmi;
    const uid = vmi.metadata.uid!;

    const clock = new ConsoleClock();
    let consoleLate = false;
    if (console) {
      const con: grpc.ClientDuplexStream<ConsoleInput, ConsoleOutput__Output> = this.client.node.Console(this.client.md());
      con.on('data', (m: ConsoleOutput__Output) => clock.feed(m.data));
      con.on('error', () => undefined);
      const opened = performance.now();
      con.write({ open: { kind: 'VirtualMachineInstance', namespace: 'default', name } });
      try {
        await clock.login();
      } finally {
        con.end();
        con.cancel();
      }
      // A first line that came within a few ms of opening was replayed from the
      // launcher's ring: it is then only an upper bound.
      consoleLate = clock.firstLineAt! - opened < 3;
    }

    const steps: Record<string, number> = {};
    const mark = (k: string, t: number): void => {
      if (!(k in steps)) steps[k] = t - t0;
    };
    for (const l of readLog(this.h.logFile, uid)) mark(`handler: ${l.msg}`, l.time);
    let resume = NaN;
    let argv: string[] | undefined;
    for (const l of readLog(join(this.h.stateDir, 'vmis', uid, 'launcher.log'))) {
      if (l.msg === 'QMP event') {
        mark(`launcher: QMP ${String(l.event)}`, l.time);
        if (l.event === 'RESUME' && Number.isNaN(resume)) resume = l.time - t0;
      } else mark(`launcher: ${l.msg}`, l.time);
      if (l.msg === 'starting QEMU') argv = l.argv as string[];
    }
    for (const p of vmi.status?.phaseTransitionTimestamps ?? []) mark(`status: phase ${p.phase}`, Date.parse(p.phaseTransitionTimestamp));
    mark('API: Running seen on Watch', running.at);
    const launcherMem = withMem && launcherPid(vmi) ? procMem(launcherPid(vmi)!) : undefined;

    await this.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name }, gracePeriodSeconds: 0 });
    await this.watch.gone(name, 60_000);
    const left = leftovers(this.h, [uid]);
    if (left.length) throw new Error(`VMI ${name} left behind: ${left.join('; ')}`);
    return { t0, applyReturned, resume, runningSeen, firstLine: console ? clock.firstLineAt! - p0 : NaN, login: console ? clock.loginAt! - p0 : NaN, steps, launcherMem, argv, consoleLate };
  }
}

class LibvirtPeer {
  #n = 0;
  #shell: VirshShell | undefined;
  #events: LifecycleEvents | undefined;

  constructor(
    readonly daemons: LibvirtDaemons,
    readonly baseDisk: string,
  ) {}

  open(): void {
    this.#shell = new VirshShell();
    this.#events = new LifecycleEvents();
  }

  close(): void {
    this.#shell?.close();
    this.#events?.close();
    this.#shell = undefined;
    this.#events = undefined;
  }

  /** Domain XML and disk overlay in a fresh directory (not timed: virt-launcher prepares disks before libvirt too). */
  static prepare(name: string, baseDisk: string): { dir: string; xml: string; serial: string } {
    const dir = mkdtempSync('/tmp/vnb-l-');
    const overlay = join(dir, `${VOLUME}.qcow2`);
    const serial = join(dir, 'serial0.sock');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', baseDisk, '-F', 'qcow2', overlay]);
    const xml = join(dir, 'domain.xml');
    writeFileSync(xml, domainXml({ name, memoryBytes: GUEST_MEMORY_BYTES, overlay, serialSocket: serial, agentSocket: join(dir, 'agent.sock'), tbCacheMiB: TCG_TB_SIZE_MIB }));
    return { dir, xml, serial };
  }

  async round(withMem: boolean): Promise<LibvirtSample> {
    const shell = this.#shell!;
    const name = `vnbench-${++this.#n}`;
    const { dir, xml, serial } = LibvirtPeer.prepare(name, this.baseDisk);
    const clock = new ConsoleClock();
    try {
      const p0 = performance.now();
      const created = shell.run(`create ${xml}`, /Domain '[^']+' created/);
      // libvirt makes the serial socket before QEMU runs; connect as soon as it exists.
      const sock = await connectWhenReady(serial, { everyMs: 2, timeoutMs: 30_000 });
      sock.on('data', (b: Buffer) => clock.feed(b));
      sock.on('error', () => undefined);
      const createdAt = (await created) - p0;
      const resumed = (await this.#events!.wait(name, /^Resumed|^Started/)) - p0;
      await clock.login();
      let daemonMem: LibvirtSample['daemonMem'];
      if (withMem) daemonMem = { libvirtd: procMem(this.daemons.libvirtdPid!), virtlogd: procMem(this.daemons.virtlogdPid!) };
      sock.destroy();
      await shell.run(`destroy ${name}`, /destroyed/);
      return { created: createdAt, resumed, firstLine: clock.firstLineAt! - p0, login: clock.loginAt! - p0, daemonMem };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** The argv with this run's paths and uuid blanked, to compare two runs of one VMI. */
function normalizeArgv(argv: string[], dir: string, uuid: string): string[] {
  return argv.map((a) => a.split(dir).join('<dir>').split(uuid).join('<uuid>').replace(/"filename":"[^"]*"/, '"filename":"<disk>"').replace(/path=[^,]*\//g, 'path=<dir>/'));
}

export async function runStart(b: Bench, o: StartOptions): Promise<void> {
  const { report } = b;
  const { guest } = await benchRegistry(b);

  // Cold virtnode: a handler's first VM right after the handler starts (accelerator
  // probe, image pull and all), the counterpart of libvirtd's first domain.
  const tSpawn = Date.now();
  // Two spare launchers: the two virtnode peers often run back to back, sooner than
  // the pool refills (3 s), and each start here is meant to find a warm node.
  const { h, destroy } = await startHandler(b, { name: 'start', logLevel: 'debug', config: { spareLaunchers: 2 } });
  const handlerUp = Date.now() - tSpawn;
  const watch = new VmiWatch(() => h.client);
  b.cleanup.add('start watch', () => watch.close());
  await watch.ready();
  const virtnode = new VirtnodePeer(h, watch);
  const virtnodeNet = new VirtnodePeer(h, watch, true);
  const virtnodeCi = new VirtnodePeer(h, watch, false, true);
  b.log('start: cold virtnode (handler spawn → first VM)');
  const cold = await virtnode.round(false);
  const coldVirtnode = { handlerUp, resumeFromSpawn: cold.t0 - tSpawn + cold.resume, apiToResume: cold.resume };

  // The stored VMI (defaults applied) gives the bare run the launcher's exact argv.
  const dry = await h.client.call<unknown, ApplyResponse__Output>('Apply', { manifest: benchVMI('bare'), dryRun: true });
  const bareVmi = JSON.parse((dry.objects[0] as Object__Output).json) as VirtualMachineInstance;

  // libvirt: installed and started by us, or skipped with the reason.
  let libvirt: LibvirtPeer | undefined;
  const why = await ensureLibvirt(b.log);
  let daemons: LibvirtDaemons | undefined;
  if (why) {
    report.skip('start/libvirt', why);
  } else {
    const logDir = mkdtempSync('/tmp/vnb-libvirt-');
    b.cleanup.add('libvirt logs', () => rmSync(logDir, { recursive: true, force: true }));
    daemons = new LibvirtDaemons(logDir);
    b.cleanup.add('libvirt daemons', async () => {
      destroyLeftoverDomains('vnbench-');
      await daemons!.stop();
    });
    try {
      await daemons.start();
      libvirt = new LibvirtPeer(daemons, guest.disk);
      libvirt.open();
      b.cleanup.add('virsh', () => libvirt?.close());
      b.log(`start: libvirt peer up (${libvirtVersion()})`);
    } catch (e) {
      report.skip('start/libvirt', `libvirtd did not start: ${(e as Error).message}`);
      await daemons.stop();
      libvirt = undefined;
    }
  }

  const vn: VirtnodeSample[] = [];
  const vnNet: VirtnodeSample[] = [];
  const vnCi: VirtnodeSample[] = [];
  const bare: BareTimes[] = [];
  const lv: LibvirtSample[] = [];
  let argvCheck: string | undefined;
  const total = o.warmup + o.rounds;
  const orders = balancedOrders(libvirt ? 5 : 4);
  const busyAtStart = new Map<string, { busy: number; waitedMs: number }[]>();
  for (let i = 0; i < total; i++) {
    const counted = i >= o.warmup;
    const last = i === total - 1;
    const peers: { name: string; run(): Promise<void> }[] = [
      { name: 'virtnode', run: async () => {
        const s = await virtnode.round(last);
        if (counted) vn.push(s);
        if (s.argv && argvCheck === undefined) {
          const launcherArgv = s.argv;
          const bv = prepareBareVm({ ...bareVmi, metadata: { ...bareVmi.metadata, uid: randomUUID() } }, guest.disk, VOLUME);
          rmSync(bv.dir, { recursive: true, force: true });
          const a = normalizeArgv(launcherArgv.slice(), launcherArgv.find((x) => x.includes('/vmis/'))?.match(/path=(.*)\/[^/]+\.sock/)?.[1] ?? '#', launcherArgv[launcherArgv.indexOf('-uuid') + 1]!);
          const bb = normalizeArgv(bv.argv, bv.dir, bv.argv[bv.argv.indexOf('-uuid') + 1]!).map((x) => x.replace(/guest=default_bare/, 'guest=default_start-1'));
          const aa = a.map((x) => x.replace(/guest=default_start-\d+/, 'guest=default_start-1'));
          const diff = aa.filter((x, k) => x !== bb[k]);
          argvCheck = diff.length === 0 && aa.length === bb.length ? 'identical' : `differs: ${JSON.stringify(diff).slice(0, 400)}`;
        }
      } },
      { name: 'virtnode + pod network', run: async () => {
        const s = await virtnodeNet.round(false);
        if (counted) vnNet.push(s);
      } },
      { name: 'virtnode + cloud-init', run: async () => {
        const s = await virtnodeCi.round(false);
        if (counted) vnCi.push(s);
      } },
      { name: 'bare QEMU', run: async () => {
        const vm = prepareBareVm({ ...bareVmi, metadata: { ...bareVmi.metadata, uid: randomUUID() } }, guest.disk, VOLUME);
        const s = await runBareVm(vm, { register: (p) => b.cleanup.add('bare QEMU', () => void p.kill('SIGKILL')) });
        if (counted) bare.push(s);
      } },
    ];
    if (libvirt) {
      const peer = libvirt;
      peers.push({ name: 'libvirt', run: async () => {
        const s = await peer.round(last);
        if (counted) lv.push(s);
      } });
    }
    // Each peer starts on a settled machine (the previous one's teardown done), in
    // an order where, over the rounds, every peer follows every other equally often.
    for (const k of orders[i % orders.length]!) {
      const peer = peers[k]!;
      const s = await settle();
      if (counted) {
        if (!busyAtStart.has(peer.name)) busyAtStart.set(peer.name, []);
        busyAtStart.get(peer.name)!.push(s);
      }
      await peer.run();
    }
    b.log(`start: round ${i + 1}/${total}${counted ? '' : ' (warm-up)'} done`);
  }
  libvirt?.close();

  // The cloud-init volume's own cost, paired: the interleaved rounds above spread
  // each peer over 100+ ms (a neighbour's boot, a spare refilled), far more than the
  // few ms an ISO should add, so here the same VMI with and without it starts back
  // to back, to Running only (no console), the first of each pair alternating. Both
  // must find a spare launcher: a pair takes the pool's two, and the next pair waits
  // for the refill (3 s after a take, then a launcher's start).
  const ciPairs: { plain: VirtnodeSample; ci: VirtnodeSample }[] = [];
  for (let i = 0; i < o.ciPairs; i++) {
    await sleep(SPARE_REFILL_WAIT_MS);
    let plain: VirtnodeSample | undefined;
    let ci: VirtnodeSample | undefined;
    for (const which of i % 2 ? ['ci', 'plain'] : ['plain', 'ci']) {
      await settle();
      if (which === 'ci') ci = await virtnodeCi.round(false, false);
      else plain = await virtnode.round(false, false);
    }
    ciPairs.push({ plain: plain!, ci: ci! });
  }
  if (o.ciPairs) b.log(`start: ${o.ciPairs} cloud-init pairs done`);

  // Cold libvirt: no capabilities cache, daemon just started, first domain.
  const coldLv: { socket: number; firstCreate: number; total: number }[] = [];
  if (libvirt && daemons) {
    const run = promisify(execFile);
    for (let i = 0; i < o.coldRounds; i++) {
      await daemons.stop();
      dropCapabilitiesCache();
      const name = `vnbench-cold-${i}`;
      const { dir, xml } = LibvirtPeer.prepare(name, guest.disk);
      try {
        const p0 = performance.now();
        await daemons.start();
        const socket = performance.now() - p0;
        await run('virsh', ['-c', LIBVIRT_URI, 'create', xml], { timeout: 120_000 });
        const totalMs = performance.now() - p0;
        coldLv.push({ socket, firstCreate: totalMs - socket, total: totalMs });
        await run('virsh', ['-c', LIBVIRT_URI, 'destroy', name], { timeout: 60_000 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      b.log(`start: cold libvirt round ${i + 1}/${o.coldRounds} done`);
    }
    await daemons.stop();
  }

  watch.close();
  await destroy();
  const settled = Object.fromEntries([...busyAtStart].map(([name, xs]) => {
    const busy = summarize(xs.map((x) => x.busy * 100));
    return [name, { busyBeforeSettlingPercent: busy.median, busyBeforeSettlingMaxPercent: busy.max, waitedMs: summarize(xs.map((x) => x.waitedMs)).median }];
  }));
  record(report, { vn, vnNet, vnCi, ciPairs, bare, lv, coldLv, coldVirtnode, argvCheck, rounds: o.rounds, settled });
}

/** The pool refills 3 s after a spare is taken (handler/sandbox/pool.ts); a launcher starts in well under a second. */
const SPARE_REFILL_WAIT_MS = 4500;

/** The machine counts as settled below this share of all CPUs busy (an idle handler, libvirtd and this process stay under it). */
const SETTLED_BUSY = 0.08;
const SETTLE_SAMPLE_MS = 100;
const SETTLE_MAX_MS = 3000;

/**
 * Waits until the machine is idle: the previous peer's teardown (its QEMU exiting,
 * the handler or libvirtd cleaning up after it) must not run into the next peer's
 * start and boot. Returns how busy the machine was when called, and how long it took.
 */
async function settle(): Promise<{ busy: number; waitedMs: number }> {
  const t0 = performance.now();
  const first = await machineBusy(SETTLE_SAMPLE_MS);
  let busy = first;
  while (busy > SETTLED_BUSY && performance.now() - t0 < SETTLE_MAX_MS) busy = await machineBusy(SETTLE_SAMPLE_MS);
  return { busy: first, waitedMs: performance.now() - t0 };
}

/**
 * Peer orders for the rounds, a Williams design: over the rows, every peer comes
 * right after every other one equally often (a plain rotation keeps the same
 * neighbours: virtnode then followed libvirt's teardown in 3 rounds of 4).
 */
export function balancedOrders(n: number): number[][] {
  const first = [0];
  for (let lo = 1, hi = n - 1; first.length < n; ) first.push(first.length % 2 ? lo++ : hi--);
  const rows = Array.from({ length: n }, (_, r) => first.map((x) => (x + r) % n));
  return n % 2 ? [...rows, ...rows.map((row) => [...row].reverse())] : rows;
}

function record(
  report: Report,
  r: {
    vn: VirtnodeSample[];
    vnNet: VirtnodeSample[];
    vnCi: VirtnodeSample[];
    ciPairs: { plain: VirtnodeSample; ci: VirtnodeSample }[];
    bare: BareTimes[];
    lv: LibvirtSample[];
    coldLv: { socket: number; firstCreate: number; total: number }[];
    coldVirtnode: { handlerUp: number; resumeFromSpawn: number; apiToResume: number };
    argvCheck: string | undefined;
    rounds: number;
    settled: Record<string, { busyBeforeSettlingPercent: number; busyBeforeSettlingMaxPercent: number; waitedMs: number }>;
  },
): void {
  const s = <T>(xs: T[], f: (x: T) => number) => summarize(xs.map(f));
  const vResume = s(r.vn, (x) => x.resume);
  const vRunning = s(r.vn, (x) => x.runningSeen);
  const vFirst = s(r.vn, (x) => x.firstLine);
  const vLogin = s(r.vn, (x) => x.login);
  const bCont = s(r.bare, (x) => x.contReturned);
  const bResume = s(r.bare, (x) => x.resume);
  const bGreet = s(r.bare, (x) => x.greeting);
  const bFirst = s(r.bare, (x) => x.firstLine);
  const bLogin = s(r.bare, (x) => x.login);

  report.note(PART, `${r.rounds} counted rounds per peer, interleaved, each on a settled machine (busy before settling, median and max, and the median wait: ${Object.entries(r.settled).map(([k, v]) => `${k} ${v.busyBeforeSettlingPercent.toFixed(0)} % / ${v.busyBeforeSettlingMaxPercent.toFixed(0)} %, ${v.waitedMs.toFixed(0)} ms`).join('; ')}), in a balanced order; bare QEMU runs the launcher's argv: ${r.argvCheck ?? 'not compared'} (paths and uuid aside); the compared VMIs set autoattachPodInterface: false and autoattachGraphicsDevice: false so all three have the same devices, a fourth peer runs the defaulted masquerade pod network, and a fifth a cloudInitNoCloud volume beside the containerDisk`);
  report.add({ part: PART, name: 'bare QEMU: spawn → QMP greeting (median)', value: bGreet.median, unit: 'ms', detail: msDetail(bGreet) });
  report.add({ part: PART, name: 'bare QEMU: spawn → cont returned (median)', value: bCont.median, unit: 'ms', detail: msDetail(bCont) });
  report.add({ part: PART, name: 'bare QEMU: spawn → RESUME (median)', value: bResume.median, unit: 'ms', detail: msDetail(bResume) });
  report.add({
    part: PART,
    name: 'virtnode: Apply → QMP RESUME (median)',
    value: vResume.median,
    unit: 'ms',
    baseline: { name: 'bare spawn → cont', value: bCont.median },
    target: { text: '≤ bare + 100 ms', pass: vResume.median <= bCont.median + 100 },
    detail: msDetail(vResume),
  });
  const nResume = s(r.vnNet, (x) => x.resume);
  report.add({
    part: PART,
    name: 'virtnode + masquerade pod network: Apply → QMP RESUME (median)',
    value: nResume.median,
    unit: 'ms',
    baseline: { name: 'bare spawn → cont (no NIC)', value: bCont.median },
    detail: { ...msDetail(nResume), note: 'namespace, veth, bridge port, lease, tap and nft rules made per VM; the peers have no NIC' },
  });
  const cResume = s(r.vnCi, (x) => x.resume);
  report.add({
    part: PART,
    name: 'virtnode + cloud-init NoCloud volume: Apply → QMP RESUME (median)',
    value: cResume.median,
    unit: 'ms',
    baseline: { name: 'virtnode, the same VMI without it', value: vResume.median },
    detail: { ...msDetail(cResume), note: 'the ISO (cidata: meta-data, user-data) is built in the handler and written at each start; interleaved with every peer, so spread wide: the paired figure below judges the target' },
  });
  if (r.ciPairs.length) {
    const pPlain = s(r.ciPairs, (x) => x.plain.resume);
    const pCi = s(r.ciPairs, (x) => x.ci.resume);
    const diff = s(r.ciPairs, (x) => x.ci.resume - x.plain.resume);
    report.add({
      part: PART,
      name: `virtnode + cloud-init NoCloud volume, ${r.ciPairs.length} back-to-back pairs: Apply → QMP RESUME (median)`,
      value: pCi.median,
      unit: 'ms',
      baseline: { name: 'the same VMI without it, its pair', value: pPlain.median },
      target: { text: 'median of pair differences ≤ 5 ms', pass: diff.median <= 5 },
      detail: { ...msDetail(pCi), note: `median of the pair differences ${diff.median.toFixed(1)} ms (p90 ${diff.p90.toFixed(1)} ms); without: ${JSON.stringify(msDetail(pPlain))}` },
    });
    const spares = r.ciPairs.filter((x) => 'launcher: spare launcher assigned' in x.plain.steps && 'launcher: spare launcher assigned' in x.ci.steps).length;
    report.note(PART, `cloud-init pairs: ${spares} of ${r.ciPairs.length} pairs found a spare launcher for both starts`);
    addBreakdown(report, 'start/breakdown ci-pairs plain', r.ciPairs.map((x) => x.plain));
    addBreakdown(report, 'start/breakdown ci-pairs cloud-init', r.ciPairs.map((x) => x.ci));
  }
  report.add({ part: PART, name: 'virtnode: Apply → QMP RESUME (p90)', value: vResume.p90, unit: 'ms', baseline: { name: 'bare spawn → cont p90', value: bCont.p90 }, detail: msDetail(vResume) });
  report.add({ part: PART, name: 'virtnode: Apply → Running seen on Watch (median)', value: vRunning.median, unit: 'ms', baseline: { name: 'bare spawn → RESUME', value: bResume.median }, detail: msDetail(vRunning) });
  report.add({
    part: PART,
    name: 'virtnode: Apply → first console line (median)',
    value: vFirst.median,
    unit: 'ms',
    baseline: { name: 'bare spawn → first line', value: bFirst.median },
    target: { text: 'within 5% of bare (≤ 1.05x)', pass: vFirst.median <= bFirst.median * 1.05 },
    detail: { virtnode: msDetail(vFirst), bare: msDetail(bFirst), lateConsoleAttach: r.vn.filter((x) => x.consoleLate).length },
  });
  report.add({ part: PART, name: 'virtnode: Apply → first console line (p90)', value: vFirst.p90, unit: 'ms', baseline: { name: 'bare p90', value: bFirst.p90 } });
  report.add({ part: PART, name: 'virtnode: Apply → login prompt (median)', value: vLogin.median, unit: 'ms', baseline: { name: 'bare spawn → login prompt', value: bLogin.median }, detail: { virtnode: msDetail(vLogin), bare: msDetail(bLogin) } });

  if (r.lv.length) {
    const lCreated = s(r.lv, (x) => x.created);
    const lResumed = s(r.lv, (x) => x.resumed);
    const lFirst = s(r.lv, (x) => x.firstLine);
    report.add({ part: PART, name: 'libvirt warm: create → returned (median)', value: lCreated.median, unit: 'ms', detail: msDetail(lCreated) });
    report.add({ part: PART, name: 'libvirt warm: create → Resumed event (median)', value: lResumed.median, unit: 'ms', detail: msDetail(lResumed) });
    report.add({
      part: PART,
      name: 'virtnode vs warm libvirt to running (median)',
      value: vResume.median,
      unit: 'ms',
      baseline: { name: 'libvirt create returned', value: lCreated.median },
      target: { text: '≥ 2.5x faster (ratio ≤ 0.40)', pass: vResume.median * 2.5 <= lCreated.median },
    });
    report.add({ part: PART, name: 'virtnode vs warm libvirt to running (p90)', value: vResume.p90, unit: 'ms', baseline: { name: 'libvirt create p90', value: lCreated.p90 } });
    report.add({ part: PART, name: 'virtnode vs warm libvirt: first console line (median)', value: vFirst.median, unit: 'ms', baseline: { name: 'libvirt create → first line', value: lFirst.median }, detail: msDetail(lFirst) });
    const memRound = r.lv.find((x) => x.daemonMem);
    const vmem = r.vn.find((x) => x.launcherMem)?.launcherMem;
    if (memRound?.daemonMem && vmem) {
      const d = sumMem([memRound.daemonMem.libvirtd, memRound.daemonMem.virtlogd]);
      report.add({
        part: PART,
        name: 'non-QEMU PSS with 1 VM: launcher',
        value: vmem.pss / MiB,
        unit: 'MiB',
        baseline: { name: 'libvirtd + virtlogd', value: d.pss / MiB },
        detail: { launcher: vmem, libvirtd: memRound.daemonMem.libvirtd, virtlogd: memRound.daemonMem.virtlogd },
      });
    }
  }
  if (r.coldLv.length) {
    const cTotal = summarize(r.coldLv.map((x) => x.total));
    const cFirst = summarize(r.coldLv.map((x) => x.firstCreate));
    report.add({ part: PART, name: 'libvirt cold: first create after start, no caps cache', value: cFirst.median, unit: 'ms', detail: { rounds: r.coldLv } });
    report.add({
      part: PART,
      name: 'cold: handler spawn → first VM RESUME',
      value: r.coldVirtnode.resumeFromSpawn,
      unit: 'ms',
      baseline: { name: 'libvirtd spawn → first domain running', value: cTotal.median },
      detail: r.coldVirtnode,
    });
  }

  // Where virtnode's time goes, and where a cloud-init volume adds to it.
  addBreakdown(report, 'start/breakdown', r.vn);
  addBreakdown(report, 'start/breakdown cloud-init', r.vnCi);
}

/** Each logged step of `samples`, median ms after the Apply call, in the order they come. */
function addBreakdown(report: Report, part: string, samples: VirtnodeSample[]): void {
  const keys = new Set(samples.flatMap((x) => Object.keys(x.steps)));
  const steps = [...keys].map((k) => ({ k, m: summarize(samples.map((x) => x.steps[k] ?? NaN)) })).filter((x) => x.m.n >= Math.ceil(samples.length / 2));
  steps.sort((a, b) => a.m.median - b.m.median);
  for (const { k, m } of steps) report.add({ part, name: `${k} (median after Apply)`, value: m.median, unit: 'ms', detail: msDetail(m) });
}
