// Part soak: 1000 create → Running → delete cycles of a real guest on the pod
// network, a few at a time, with four faults injected on the way (soak-faults.ts):
// the handler SIGKILLed, a launcher SIGKILLed, the registry gone in the middle of a
// pull, the state directory's filesystem full. Each fault must end in a defined VMI
// state with a reason, and the cycles after it must succeed again without help. The
// handler's RSS and open fds are sampled every 100 cycles, with nothing in flight,
// and their least-squares slope per 100 cycles is held to "flat". At the end nothing
// may be left (soak-leftovers.ts).
//
// Baselines from the same run: the first sample of the handler process measured,
// and the first 100 cycles' throughput and latency for the last 100's.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ListImagesResponse__Output } from '../../proto/generated/virtnode/handler/v1/ListImagesResponse.js';
import type { ListResponse__Output } from '../../proto/generated/virtnode/handler/v1/ListResponse.js';
import { DEMO_IMAGE } from '../e2e/harness.js';
import { pushImage } from '../guest/index.js';
import { type Bench, FD_SLACK, benchRegistry, ensureHandler, sleep, startHandler } from './common.js';
import { type CycleEnd, cycle, runCycles } from './cycle.js';
import { FAULTS, FAULT_RUNNERS, type FaultEnv, type FaultResult, layeredImage } from './soak-faults.js';
import { type Left, leftBehind, nftRules } from './soak-leftovers.js';
import { RegistryRelay } from './registry-relay.js';
import { MiB, msDetail } from './report.js';
import { openFds, procMem } from './procfs.js';
import { slope, summarize } from './stats.js';
import { VmiWatch } from './watch.js';

const PART = 'soak';
/**
 * The state directory's own filesystem. Holds the image store (the guest's blobs
 * and disk, ~60 MiB, plus the fault image's extra layer per pull) and a few VMs'
 * overlays; what is left is ballast when the disk-full fault comes.
 */
const STATE_FS_BYTES = 512 * MiB;

/**
 * Flat, per 100 cycles, fitted over the samples of one handler process after its
 * first 100 cycles (heap and pools still grow to their working size there). The
 * RSS limit is about 3x what the fit scatters by when nothing leaks: samples of an
 * idle V8 heap differ by a few MiB with where the collector stands, which over ten
 * points gives a slope error of ~0.5 MiB; one leaked VMI object (~2 KiB JSON) or
 * launcher session (~20 KiB) per cycle would read 0.2 or 2 MiB, one leaked pod
 * network record or gRPC stream per cycle more. A leaked fd per cycle reads 100.
 */
const RSS_SLOPE_MIB = 2;
const FD_SLOPE = 0.5;
/** The shortest fit whose slope is held to those limits (a quick run's is printed, not judged). */
const MIN_FIT_CYCLES = 300;

interface Sample {
  /** Cycles started (and, the sample being taken with nothing in flight, ended). */
  cycle: number;
  pid: number;
  rss: number;
  fds: number;
  label?: string;
}

/** A fault's result, with the handler sampled just before and after it (not for the handler kill). */
type FaultRun = FaultResult & { step?: { from: Sample; to: Sample } };

export async function runSoak(b: Bench, o: { cycles: number; concurrency: number; sampleEvery: number }): Promise<void> {
  const { report } = b;
  const { host: registryHost, guest } = await benchRegistry(b);

  // The handler's registry: a relay that can go down, on an address that stays.
  const relay = new RegistryRelay(registryHost);
  await relay.start();
  b.cleanup.add('soak registry relay', () => relay.stop());

  // The fault image: the guest plus a layer the handler has never seen, so its
  // pull downloads something the registry can fail in the middle of.
  const work = mkdtempSync('/tmp/vn-soak-');
  b.cleanup.add(`soak directory ${work}`, () => rmSync(work, { recursive: true, force: true }));
  const tag = `soak-${randomBytes(4).toString('hex')}`;
  const extra = layeredImage(guest.ociContainerDisk, join(work, 'image'), tag);
  await pushImage(join(work, 'image'), `${registryHost}/kubevirt/cirros-container-disk-demo:${tag}`);
  rmSync(join(work, 'image'), { recursive: true, force: true });
  const faultImage = `${DEMO_IMAGE}:${tag}`;

  // The state directory on a small filesystem of its own, for the disk-full fault.
  const fsDir = join(work, 'state-fs');
  mkdirSync(fsDir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${STATE_FS_BYTES},mode=0700`, 'vn-soak', fsDir]);
  b.cleanup.add(`tmpfs ${fsDir}`, () => {
    execFileSync('umount', [fsDir]);
  });
  const ballast = join(fsDir, 'ballast');

  const { h, destroy } = await startHandler(b, { name: PART, logLevel: 'info', registryHost: relay.host, stateDir: join(fsDir, 'state'), logFile: join(work, 'handler.log') });
  const watch = new VmiWatch(() => h.client, { onLost: () => ensureHandler(b, h, PART, 'a watch') });
  b.cleanup.add('soak watch', () => watch.close());
  await watch.ready();

  const uids = new Set<string>();
  // One cycle first, uncounted: the image pull and first-start costs stay out.
  await cycle(b, h, watch, PART, 'soak-warmup', (u) => uids.add(u));
  const nftBefore = nftRules(h);

  // ---- the run: cycles, and between them samples and faults ----

  const samples: Sample[] = [];
  const sample = async (at: number, label?: string): Promise<Sample> => {
    await sleep(500); // the last teardown's stragglers (closing sockets, a log line)
    const pid = h.pid!;
    const s: Sample = { cycle: at, pid, rss: procMem(pid)?.rss ?? NaN, fds: openFds(pid) ?? NaN, ...(label ? { label } : {}) };
    samples.push(s);
    return s;
  };
  await sample(0);

  const ends: CycleEnd[] = [];
  const ended = new Map<number, CycleEnd>();
  const endWaiters = new Set<() => void>();
  const whenEnded = (done: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (!done()) return;
        endWaiters.delete(check);
        resolve();
      };
      endWaiters.add(check);
      check();
    });
  const allEndedUpTo = (n: number): Promise<void> =>
    whenEnded(() => {
      for (let k = 1; k <= n; k++) if (!ended.has(k)) return false;
      return true;
    });
  const cycleEnded = async (name: string): Promise<CycleEnd> => {
    const index = Number(name.slice('soak-'.length));
    await whenEnded(() => ended.has(index));
    return ended.get(index)!;
  };
  const inFlight = new Set<string>();
  /** The highest cycle let past its barrier: every lower one was let past before it. */
  let started = 0;

  // Stops, by the cycle they come after, run one after the other. A hold keeps every
  // later cycle from starting until it is released. A sample holds the cycles after
  // it until all before it have ended (nothing in flight). The handler kill comes
  // with VMIs in flight; the other faults are sampled before and after, each with
  // nothing in flight, so their one-off cost (an image pull's buffers) is told apart
  // from a per-cycle trend, and run beside the cycles — the disk-full one lets as
  // many cycles start as run at a time, to meet the full disk, then holds the rest
  // until it is lifted. Faults fall between the first and the last sample window.
  type Stop = { kind: 'sample' } | { kind: 'fault'; fault: (typeof FAULTS)[number] };
  const stops = new Map<number, Stop>();
  for (let at = o.sampleEvery; at <= o.cycles; at += o.sampleEvery) stops.set(at, { kind: 'sample' });
  const span = Math.max(0, o.cycles - 2 * o.sampleEvery);
  for (const f of FAULTS) {
    let at = o.sampleEvery + Math.max(1, Math.round(span * f.at));
    while (stops.has(at)) at++;
    if (at < o.cycles) stops.set(at, { kind: 'fault', fault: f });
  }
  const holds = new Set<{ at: number; released: Promise<void> }>();
  const hold = (at: number): (() => void) => {
    let release!: () => void;
    const x = { at, released: new Promise<void>((r) => (release = r)) };
    holds.add(x);
    return () => {
      holds.delete(x);
      release();
    };
  };
  let conductor = Promise.resolve();
  const faults: FaultRun[] = [];
  const faultEnv: FaultEnv = { b, h, watch, relay, uids, inFlight, cycleEnded, faultImage, extraLayer: extra.layerDigest, ballast };
  const runFault = async (f: (typeof FAULTS)[number], at: number): Promise<FaultRun> => {
    b.log(`soak: fault at cycle ${at}: ${f.title}`);
    try {
      return await FAULT_RUNNERS[f.kind](faultEnv, { ...f, at });
    } catch (e) {
      b.log(`soak: fault ${f.kind} failed: ${(e as Error).message}`);
      const now = performance.now();
      return { kind: f.kind, title: f.title, at, began: now, lifted: now, outcome: `the fault run failed: ${(e as Error).message.slice(0, 300)}`, defined: false, detail: {} };
    }
  };
  const arm = (at: number): void => {
    const stop = stops.get(at);
    if (!stop) return;
    if (stop.kind === 'fault' && stop.fault.kind === 'handler') {
      conductor = conductor.then(async () => void faults.push(await runFault(stop.fault, at)));
      return;
    }
    const release = hold(at);
    conductor = conductor.then(async () => {
      await allEndedUpTo(at);
      if (stop.kind === 'sample') {
        await sample(at);
        release();
        return;
      }
      const before = await sample(at, `before the ${stop.fault.kind} fault`);
      const releaseFew = stop.fault.kind === 'disk' ? hold(at + o.concurrency) : () => undefined;
      release();
      const result = await runFault(stop.fault, at);
      releaseFew();
      // What started meanwhile ends before the sample; what did not start waits.
      // (Not the highest cycle allocated: that one may wait for a later stop's hold.)
      const upTo = started;
      const releaseAll = hold(upTo);
      await allEndedUpTo(upTo);
      const after = await sample(upTo, `after the ${stop.fault.kind} fault`);
      releaseAll();
      faults.push({ ...result, step: { from: before, to: after } });
    });
  };

  const run = await runCycles(b, h, watch, {
    part: PART,
    prefix: 'soak',
    cycles: o.cycles,
    concurrency: o.concurrency,
    before: async (i) => {
      arm(i - 1); // what comes after cycle i-1 is armed before cycle i may start
      for (;;) {
        const blocking = [...holds].find((x) => i > x.at);
        if (!blocking) break;
        await blocking.released;
      }
      started = Math.max(started, i);
      inFlight.add(`soak-${i}`);
    },
    onUid: (u) => uids.add(u),
    onEnd: (e) => {
      inFlight.delete(e.name);
      ends.push(e);
      ended.set(e.index, e);
      for (const w of [...endWaiters]) w();
    },
  });
  arm(o.cycles); // the last sample
  await conductor;

  // ---- what is left ----

  await sleep(1000);
  const vmisLeft = (await h.client.call<unknown, ListResponse__Output>('List', { kind: 'vmi', namespace: '' })).objects.length;
  const images = await h.client.call<unknown, ListImagesResponse__Output>('ListImages', {});
  const left = leftBehind(h, [...uids], nftBefore);
  left.images = images.images.filter((i) => i.users > 0).map((i) => `${i.reference} (${i.users} users)`);
  if (vmisLeft) left.vmis = [`${vmisLeft} VMIs still stored`];
  const handlerPid = h.pid!;
  const fdsEnd = openFds(handlerPid)!;
  const rssEnd = procMem(handlerPid)!.rss;
  watch.close();
  await destroy();

  // ---- figures ----

  const ok = ends.filter((e) => e.cycle).sort((a, b) => a.index - b.index);
  const window = (from: number, to: number): CycleEnd[] => ok.filter((e) => e.index > from && e.index <= to);
  const rate = (es: CycleEnd[]): number => (es.length < 2 ? NaN : es.length / ((Math.max(...es.map((e) => e.endedAt)) - Math.min(...es.map((e) => e.startedAt))) / 1000));
  const first = window(0, o.sampleEvery);
  const last = window(o.cycles - o.sampleEvery, o.cycles);
  const totals = summarize(run.cycles.map((c) => c.total));
  report.add({ part: PART, name: `cycles that ended well, of ${o.cycles} (${o.concurrency} at a time, 4 faults among them)`, value: run.cycles.length, unit: 'n' });
  report.add({ part: PART, name: 'wall time of the cycles (samples and faults included)', value: run.seconds, unit: 's' });
  report.add({
    part: PART,
    name: `one cycle, Apply → gone (median; p90 ${Math.round(totals.p90)} ms, max ${Math.round(totals.max)} ms)`,
    value: totals.median,
    unit: 'ms',
    detail: msDetail(totals),
  });
  report.add({ part: PART, name: 'throughput over the whole run', value: run.cycles.length / run.seconds, unit: '/s' });
  report.add({ part: PART, name: `throughput of the last ${o.sampleEvery} cycles`, value: rate(last), unit: '/s', baseline: { name: `first ${o.sampleEvery}`, value: rate(first) } });
  const toRunning = (es: CycleEnd[]): number => summarize(es.map((e) => e.cycle!.toRunning)).median;
  report.add({ part: PART, name: `cycle: Apply → Running seen (median), last ${o.sampleEvery} cycles`, value: toRunning(last), unit: 'ms', baseline: { name: `first ${o.sampleEvery}`, value: toRunning(first) }, detail: msDetail(summarize(run.cycles.map((c) => c.toRunning))) });

  // Slopes: over the samples of the handler process that lived longest (the one
  // started after the kill), from 100 cycles after its start, with each fault's
  // step (sampled just before and after it) taken out of the samples after it.
  const handlerFault = faults.find((f) => f.kind === 'handler');
  const pids = [...new Set(samples.map((s) => s.pid))];
  const pid = pids.sort((a, b) => samples.filter((s) => s.pid === b).length - samples.filter((s) => s.pid === a).length)[0]!;
  const startedAt = pid === samples[0]!.pid ? 0 : (handlerFault?.at ?? 0);
  const steps = faults.filter((f) => f.step && f.step.to.pid === pid);
  const adjust = (s: Sample, pick: (x: Sample) => number): number =>
    pick(s) - steps.filter((f) => samples.indexOf(f.step!.to) <= samples.indexOf(s)).reduce((a, f) => a + pick(f.step!.to) - pick(f.step!.from), 0);
  const segment = samples.filter((s) => s.pid === pid);
  const fitted = segment.filter((s) => s.cycle >= startedAt + o.sampleEvery);
  const per100 = (pick: (s: Sample) => number): { slope: number; se: number } => slope(fitted.map((s) => [s.cycle / 100, adjust(s, pick)] as const));
  const rss = (s: Sample): number => s.rss / MiB;
  const fds = (s: Sample): number => s.fds;
  const rssFit = per100(rss);
  const fdFit = per100(fds);
  const round = (x: number): number => Math.round(x * 10) / 10;
  const fitCycles = fitted.length ? fitted.at(-1)!.cycle - fitted[0]!.cycle : 0;
  const fitSpan = fitted.length ? `cycles ${fitted[0]!.cycle}–${fitted.at(-1)!.cycle}, ${fitted.length} samples, fault steps out` : 'no samples';
  // A short fit cannot tell a trend from where the collector stood at each sample:
  // judged only over MIN_FIT_CYCLES or more (the full run's fit spans ~700).
  const judge = (fit: { slope: number }, limit: number): boolean | null =>
    fitted.length < 3 || fitCycles < MIN_FIT_CYCLES ? null : fit.slope <= limit;
  const unjudged = fitted.length < 3 || fitCycles < MIN_FIT_CYCLES ? `; not judged over ${fitCycles} cycles (needs ${MIN_FIT_CYCLES})` : '';
  const base = segment[0]!;
  const sampleDetail = {
    samples: samples.map((s) => ({ cycle: s.cycle, pid: s.pid, rssMiB: round(rss(s)), fds: s.fds, ...(s.label ? { label: s.label } : {}) })),
    faultSteps: faults.filter((f) => f.step).map((f) => ({ fault: f.kind, rssMiB: round(rss(f.step!.to) - rss(f.step!.from)), fds: f.step!.to.fds - f.step!.from.fds })),
    withStepsIn: { rssMiBPer100: round(slope(fitted.map((s) => [s.cycle / 100, rss(s)] as const)).slope), fdsPer100: round(slope(fitted.map((s) => [s.cycle / 100, fds(s)] as const)).slope) },
  };
  report.add({
    part: PART,
    name: `handler RSS slope per 100 cycles, ± its standard error ${rssFit.se.toFixed(1)} MiB (${fitSpan})`,
    value: rssFit.slope,
    unit: 'MiB',
    target: { text: `≤ ${RSS_SLOPE_MIB} MiB per 100 (flat)${unjudged}`, pass: judge(rssFit, RSS_SLOPE_MIB) },
    detail: sampleDetail,
  });
  report.add({
    part: PART,
    name: `handler open fds slope per 100 cycles, ± its standard error ${fdFit.se.toFixed(2)} (${fitSpan})`,
    value: fdFit.slope,
    unit: 'real',
    target: { text: `≤ ${FD_SLOPE} per 100 (flat)${unjudged}`, pass: judge(fdFit, FD_SLOPE) },
  });
  report.add({ part: PART, name: 'handler RSS at the end', value: rssEnd / MiB, unit: 'MiB', baseline: { name: `cycle ${base.cycle}`, value: rss(base) } });
  report.add({ part: PART, name: 'handler open fds at the end', value: fdsEnd, unit: 'n', baseline: { name: `cycle ${base.cycle}`, value: base.fds }, target: { text: `≤ baseline + ${FD_SLACK}`, pass: fdsEnd <= base.fds + FD_SLACK } });

  // Faults: each one's own VMI, and the cycles it caught in flight.
  const caught = (f: FaultResult): CycleEnd[] => ends.filter((e) => e.startedAt < f.lifted && e.endedAt > f.began);
  for (const f of faults.sort((a, b) => a.at - b.at)) {
    const inIt = caught(f);
    const failedInIt = inIt.filter((e) => e.error);
    // A cycle caught by the fault may fail, but with a reason, not by hanging.
    const hung = failedInIt.filter((e) => /was not .* within|watch ended/.test(e.error!.message));
    const after = ends.filter((e) => e.startedAt >= f.lifted).sort((a, b) => a.startedAt - b.startedAt);
    const firstOk = after.findIndex((e) => e.cycle);
    const pass = f.defined && hung.length === 0 && firstOk >= 0;
    report.add({
      part: PART,
      name: `fault at cycle ${f.at}, ${f.title}: ${f.outcome.slice(0, 160)}; cycles caught ${inIt.length}, failed ${failedInIt.length}; failed after it before the next success`,
      value: firstOk < 0 ? NaN : firstOk,
      unit: 'n',
      target: { text: 'defined state with a reason; recovers', pass },
      detail: {
        ...f.detail,
        outcome: f.outcome,
        cyclesInFlight: inIt.length,
        cyclesFailed: failedInIt.map((e) => `${e.name}: ${e.error!.message.slice(0, 300)}`),
        cyclesHung: hung.map((e) => e.name),
        secondsToFirstSuccess: firstOk < 0 ? null : Math.round((after[firstOk]!.endedAt - f.lifted) / 100) / 10,
        ...(f.step ? { handlerStep: { rssMiB: round(rss(f.step.to) - rss(f.step.from)), fds: f.step.to.fds - f.step.from.fds } } : {}),
      },
    });
  }
  const missing = FAULTS.filter((f) => !faults.some((r) => r.kind === f.kind));
  if (missing.length) report.fail(PART, `faults not run (too few cycles?): ${missing.map((f) => f.kind).join(', ')}`);
  const unexplained = ends.filter((e) => e.error && !faults.some((f) => e.startedAt < f.lifted && e.endedAt > f.began));
  report.add({
    part: PART,
    name: 'cycles that failed outside a fault',
    value: unexplained.length,
    unit: 'n',
    target: { text: 'none', pass: unexplained.length === 0 },
    detail: unexplained.slice(0, 20).map((e) => `${e.name}: ${e.error!.message.slice(0, 300)}`),
  });

  const group = (name: string, keys: (keyof Left)[]): void => {
    const items = keys.flatMap((k) => (left[k] ?? []).map((x) => `${k}: ${x}`));
    report.add({ part: PART, name: `left behind: ${name}`, value: items.length, unit: 'n', target: { text: 'none', pass: items.length === 0 }, detail: items.slice(0, 30) });
    if (items.length) report.note(PART, `left behind (${name}): ${items.slice(0, 10).join('; ')}`);
  };
  group('processes, cgroups, sandbox dirs, sockets, stored VMIs', ['processes', 'sandbox', 'sockets', 'vmis']);
  group('netns, veths, taps, nft rules naming a pod', ['netns', 'veths', 'taps', 'nft']);
  group('mounts, leases, pod records, .tmp and temp files, image holds', ['mounts', 'leases', 'records', 'temporary', 'images']);
}
