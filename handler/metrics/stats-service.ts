// Domain stats and /metrics for the VMIs of this node. Nothing runs between calls:
// no timer per VM, no cache to refresh. A GetDomainStats or a scrape asks each
// running VMI's launcher once (QMP) and reads /proc once per process; scrapes that
// arrive while one is being gathered share its result, so two Prometheus servers
// scraping together cost one read of every source.

import type { Logger } from 'pino';
import { errorMessage, NotFoundError, VirtnodeError } from '../../proto/errors.js';
import type { DomainStats__Output } from '../../proto/generated/virtnode/handler/v1/DomainStats.js';
import type { QemuStats__Output } from '../../proto/generated/virtnode/launcher/v1/QemuStats.js';
import { launcherPid as launcherPidOf, qemuPid as qemuPidOf } from '../../proto/vmi/annotations.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { VmiRuntime } from '../controller/vmi-runtime.js';
import { readDomainStats, readLauncherMemoryAsync, type DomainStatsSource, type LauncherMemory, type ProcReader } from './domain-stats.js';
import { renderMetrics } from './vmi-metrics.js';

/** The VMI controller as stats need it. */
export interface RuntimeView {
  runtimes(): { vmi: VirtualMachineInstance; rt: VmiRuntime }[];
  runtime(ns: string, name: string): { vmi: VirtualMachineInstance; rt: VmiRuntime } | undefined;
  /** Every VMI of this node, whatever its phase. */
  list(): VirtualMachineInstance[];
}

export interface StatsServiceOptions {
  vmis: RuntimeView;
  nodeName: string;
  log: Logger;
  /** The balloon driver's reporting period asked of every guest (QEMU's guest-stats-polling-interval). */
  guestStatsIntervalSeconds: number;
  /** How long one launcher may take to answer. */
  launcherTimeoutMs?: number;
  proc?: ProcReader;
  procRoot?: string;
  /** When the handler started (ms since the epoch). */
  startedAtMs?: number;
}

const LAUNCHER_TIMEOUT_MS = 3000;
/**
 * A launcher's PSS comes from smaps_rollup, for which the kernel walks the page
 * tables: ~1.4 ms of CPU for a launcher here, against ~30 µs for every other file a
 * scrape reads. Each scrape re-reads it for the quarter of the launchers measured
 * longest ago (and for any never measured), so a scrape costs the same every time
 * and each figure is at most four scrapes old (a minute at a 15 s interval).
 */
const LAUNCHER_MEMORY_SPREAD = 4;

export class StatsService {
  #o: StatsServiceOptions;
  #startedAt: number;
  #inflight: Promise<string> | undefined;
  /** The last smaps_rollup reading of each launcher (by pid), and when it was taken. */
  #launcherMemory = new Map<number, { at: number; mem: LauncherMemory }>();

  constructor(o: StatsServiceOptions) {
    this.#o = o;
    this.#startedAt = o.startedAtMs ?? Date.now();
  }

  /** GetDomainStats: one running VMI, now. */
  async domainStats(ns: string, name: string): Promise<DomainStats__Output> {
    const found = this.#o.vmis.runtime(ns, name);
    if (!found) throw new NotFoundError(`VirtualMachineInstance ${ns}/${name}`);
    const src = this.#source(found.vmi, found.rt);
    if (!src) throw new VirtnodeError('VN_UNAVAILABLE', `VMI ${ns}/${name} is not running (phase ${found.vmi.status?.phase ?? 'Pending'})`);
    return this.#read(src);
  }

  /** The /metrics page; concurrent callers share one gathering. */
  scrape(): Promise<string> {
    this.#inflight ??= this.#scrape().finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  async #scrape(): Promise<string> {
    const all = this.#o.vmis.runtimes();
    const sources = all.flatMap(({ vmi, rt }) => {
      const s = this.#source(vmi, rt);
      return s ? [s] : [];
    });
    const memory = this.#launcherMemoryFor(sources);
    const results = await Promise.allSettled(sources.map((s) => readDomainStats(s, { proc: this.#o.proc, procRoot: this.#o.procRoot, launcherMemory: s.launcherPid ? memory.get(s.launcherPid) : undefined })));
    const stats = new Map<string, DomainStats__Output>();
    results.forEach((r, i) => {
      const s = sources[i]!;
      if (r.status === 'fulfilled') stats.set(`${s.namespace}/${s.name}`, r.value);
      // A VMI stopping while it is scraped is normal: its series just end.
      else this.#o.log.debug({ namespace: s.namespace, name: s.name, err: errorMessage(r.reason) }, 'domain stats unavailable for this scrape');
    });
    return renderMetrics({ node: this.#o.nodeName, uptimeSeconds: (Date.now() - this.#startedAt) / 1000, vmis: this.#o.vmis.list(), stats });
  }

  /** Each source's launcher memory: re-read for the stalest quarter (see LAUNCHER_MEMORY_SPREAD), kept for the rest. */
  #launcherMemoryFor(sources: DomainStatsSource[]): Map<number, LauncherMemory | Promise<LauncherMemory>> {
    const cache = this.#launcherMemory;
    const pids = new Set(sources.flatMap((s) => (s.launcherPid ? [s.launcherPid] : [])));
    for (const pid of cache.keys()) if (!pids.has(pid)) cache.delete(pid);
    const budget = Math.ceil(pids.size / LAUNCHER_MEMORY_SPREAD);
    const never = [...pids].filter((p) => !cache.has(p));
    const stalest = [...cache.entries()].sort((a, b) => a[1].at - b[1].at).map(([p]) => p);
    const refresh = new Set([...never, ...stalest.slice(0, Math.max(0, budget - never.length))]);
    const out = new Map<number, LauncherMemory | Promise<LauncherMemory>>();
    const now = Date.now();
    for (const pid of pids) {
      if (!refresh.has(pid)) {
        out.set(pid, cache.get(pid)!.mem);
        continue;
      }
      out.set(
        pid,
        readLauncherMemoryAsync(pid, this.#o.proc, this.#o.procRoot).then((mem) => {
          if (mem) cache.set(pid, { at: now, mem });
          else cache.delete(pid);
          return mem;
        }),
      );
    }
    return out;
  }

  #read(src: DomainStatsSource): Promise<DomainStats__Output> {
    return readDomainStats(src, { proc: this.#o.proc, procRoot: this.#o.procRoot });
  }

  /** A running VMI whose launcher is connected, as a stats source; undefined otherwise. */
  #source(vmi: VirtualMachineInstance, rt: VmiRuntime): DomainStatsSource | undefined {
    const launcher = rt.launcher;
    if (vmi.status?.phase !== 'Running' || !launcher || launcher.state !== 'running' || !launcher.connected) return undefined;
    const timeout = this.#o.launcherTimeoutMs ?? LAUNCHER_TIMEOUT_MS;
    const interval = this.#o.guestStatsIntervalSeconds;
    return {
      namespace: rt.namespace,
      name: rt.name,
      qemuPid: qemuPidOf(vmi),
      launcherPid: rt.sandbox?.runtime.launcherPid ?? launcherPidOf(vmi),
      query: async (): Promise<QemuStats__Output> => {
        const r = await launcher.command({ stats: { guestStatsIntervalSeconds: interval } }, timeout);
        if (!r.stats) throw new VirtnodeError('VN_PROTOCOL', `the launcher of ${rt.key} answered stats without any`);
        return r.stats;
      },
    };
  }
}
