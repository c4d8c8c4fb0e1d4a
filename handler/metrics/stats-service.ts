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
import { readDomainStats, type DomainStatsSource, type ProcReader } from './domain-stats.js';
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

export class StatsService {
  #o: StatsServiceOptions;
  #startedAt: number;
  #inflight: Promise<string> | undefined;

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
    const results = await Promise.allSettled(sources.map((s) => this.#read(s)));
    const stats = new Map<string, DomainStats__Output>();
    results.forEach((r, i) => {
      const s = sources[i]!;
      if (r.status === 'fulfilled') stats.set(`${s.namespace}/${s.name}`, r.value);
      // A VMI stopping while it is scraped is normal: its series just end.
      else this.#o.log.debug({ namespace: s.namespace, name: s.name, err: errorMessage(r.reason) }, 'domain stats unavailable for this scrape');
    });
    return renderMetrics({ node: this.#o.nodeName, uptimeSeconds: (Date.now() - this.#startedAt) / 1000, vmis: this.#o.vmis.list(), stats });
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
