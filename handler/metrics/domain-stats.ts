// One VMI's domain stats: what its launcher reads over QMP (disks, balloon, vCPU
// threads) joined with what the handler reads from /proc itself (QEMU's CPU time
// and RSS, each vCPU thread's run and wait time, the pod namespace's tap counters,
// the launcher's PSS and CPU). Each source is read once per call; the launcher's
// round trip and the /proc reads overlap.

import type { DomainStats__Output } from '../../proto/generated/virtnode/handler/v1/DomainStats.js';
import type { DomainInterfaceStats__Output } from '../../proto/generated/virtnode/handler/v1/DomainInterfaceStats.js';
import type { QemuStats__Output } from '../../proto/generated/virtnode/launcher/v1/QemuStats.js';
import { readFile } from 'node:fs/promises';
import { parseNetDev, parseSchedstat, parseSmapsRollup, parseStat, readProcFile, type NetDevCounters } from './procfs.js';

export interface DomainStatsSource {
  namespace: string;
  name: string;
  qemuPid: number | undefined;
  launcherPid: number | undefined;
  /** Asks the launcher for what only QMP knows. */
  query(): Promise<QemuStats__Output>;
}

export interface ProcReader {
  read(path: string): string | undefined;
  /** The same off the event loop (libuv's threads), for the reads that cost. */
  readAsync?(path: string): Promise<string | undefined>;
}

const PROC: ProcReader = {
  read: readProcFile,
  readAsync: (path) => readFile(path, 'latin1').catch(() => undefined),
};

/** What the handler reads about one domain from /proc, before it knows the vCPU threads. */
export type LauncherMemory = ReturnType<typeof parseSmapsRollup>;

interface ProcSample {
  qemu: ReturnType<typeof parseStat>;
  netDev: Map<string, NetDevCounters> | undefined;
  launcherStat: ReturnType<typeof parseStat>;
  launcherMem: LauncherMemory;
}

/** The launcher's RSS and PSS, from smaps_rollup: the one /proc read that costs (see StatsService). */
export function readLauncherMemory(pid: number, proc: ProcReader = PROC, root = '/proc'): LauncherMemory {
  const t = proc.read(`${root}/${pid}/smaps_rollup`);
  return t ? parseSmapsRollup(t) : undefined;
}

/** readLauncherMemory off the event loop. */
export async function readLauncherMemoryAsync(pid: number, proc: ProcReader = PROC, root = '/proc'): Promise<LauncherMemory> {
  const path = `${root}/${pid}/smaps_rollup`;
  const t = proc.readAsync ? await proc.readAsync(path) : proc.read(path);
  return t ? parseSmapsRollup(t) : undefined;
}

function sampleProc(src: DomainStatsSource, proc: ProcReader, root: string, launcherMem: LauncherMemory | 'read'): ProcSample {
  const text = (pid: number | undefined, file: string): string | undefined => (pid ? proc.read(`${root}/${pid}/${file}`) : undefined);
  const qemuStat = text(src.qemuPid, 'stat');
  // QEMU lives in the pod's network namespace, where its taps are; so does the launcher.
  const netDev = text(src.qemuPid ?? src.launcherPid, 'net/dev');
  const lStat = text(src.launcherPid, 'stat');
  return {
    qemu: qemuStat ? parseStat(qemuStat) : undefined,
    netDev: netDev ? parseNetDev(netDev) : undefined,
    launcherStat: lStat ? parseStat(lStat) : undefined,
    launcherMem: launcherMem === 'read' ? (src.launcherPid ? readLauncherMemory(src.launcherPid, proc, root) : undefined) : launcherMem,
  };
}

/** The guest's side of a tap: what the tap transmitted, the guest received. */
function guestSide(name: string, tap: string, c: NetDevCounters | undefined): DomainInterfaceStats__Output {
  return {
    name,
    tap,
    rxBytes: c?.txBytes ?? 0,
    rxPackets: c?.txPackets ?? 0,
    rxErrors: c?.txErrors ?? 0,
    rxDropped: c?.txDropped ?? 0,
    txBytes: c?.rxBytes ?? 0,
    txPackets: c?.rxPackets ?? 0,
    txErrors: c?.rxErrors ?? 0,
    txDropped: c?.rxDropped ?? 0,
  };
}

/** Joins the launcher's QMP answer and the /proc sample into the API's DomainStats. */
export function joinDomainStats(src: DomainStatsSource, q: QemuStats__Output, p: ProcSample, proc: ProcReader, root: string, now: number): DomainStats__Output {
  const g = q.guestMemory;
  const known = (v: number | undefined): number => (v === undefined ? -1 : v);
  const vcpus = q.vcpus.map((v) => {
    const s = src.qemuPid ? proc.read(`${root}/${src.qemuPid}/task/${v.threadId}/schedstat`) : undefined;
    const t = s ? parseSchedstat(s) : undefined;
    return { id: v.index, threadId: v.threadId, timeNs: t?.runNs ?? 0, delayNs: t?.waitNs ?? 0 };
  });
  return {
    namespace: src.namespace,
    name: src.name,
    timestampMs: now,
    qemuPid: src.qemuPid ?? 0,
    cpu: p.qemu ? { timeNs: p.qemu.userNs + p.qemu.systemNs, userNs: p.qemu.userNs, systemNs: p.qemu.systemNs } : null,
    vcpus,
    memory: {
      domainBytes: q.domainMemoryBytes,
      actualBalloonBytes: q.hasBalloon ? q.balloonActualBytes : -1,
      residentBytes: known(p.qemu?.rssBytes),
      availableBytes: g?.totalBytes ?? -1,
      unusedBytes: g?.freeBytes ?? -1,
      usableBytes: g?.availableBytes ?? -1,
      cachedBytes: g?.diskCachesBytes ?? -1,
      swapInBytes: g?.swapInBytes ?? -1,
      swapOutBytes: g?.swapOutBytes ?? -1,
      majorFaults: g?.majorFaults ?? -1,
      minorFaults: g?.minorFaults ?? -1,
      guestStatsUpdated: g?.lastUpdate ?? 0,
    },
    blocks: q.blocks.map((b) => ({ ...b })),
    interfaces: q.interfaces.map((i) => guestSide(i.name, i.tap, p.netDev?.get(i.tap))),
    launcher: src.launcherPid
      ? {
          pid: src.launcherPid,
          pssBytes: p.launcherMem?.pssBytes ?? 0,
          rssBytes: p.launcherMem?.rssBytes ?? 0,
          cpuNs: p.launcherStat ? p.launcherStat.userNs + p.launcherStat.systemNs : 0,
        }
      : null,
  };
}

/**
 * One domain's stats now: the launcher's QMP answer and /proc, read once each.
 * `launcherMemory`: the launcher's smaps_rollup figures when the caller read them
 * (a scrape spreads those reads); absent, they are read here.
 */
export async function readDomainStats(src: DomainStatsSource, opts: { proc?: ProcReader; procRoot?: string; launcherMemory?: LauncherMemory | Promise<LauncherMemory> } = {}): Promise<DomainStats__Output> {
  const proc = opts.proc ?? PROC;
  const root = opts.procRoot ?? '/proc';
  const answer = src.query();
  // While the launcher asks QEMU: /proc is read synchronously, in the meantime.
  const sample = sampleProc(src, proc, root, 'launcherMemory' in opts ? await opts.launcherMemory : 'read');
  const q = await answer;
  return joinDomainStats(src, q, sample, proc, root, Date.now());
}
