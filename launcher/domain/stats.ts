// What QMP tells about a running domain for the handler's stats and metrics: disk
// counters (query-blockstats), the balloon (query-balloon, and the guest's own
// memory report through qom-get guest-stats), and which host thread runs each vCPU
// (query-cpus-fast; the handler reads those threads' times from /proc). The rest
// — CPU time, RSS, tap counters — the handler reads from /proc without asking.
//
// Pure functions from QMP's JSON to the wire message, so captured replies pin them
// in unit tests; DomainStatsReader holds the little state a scrape needs (the vCPU
// threads, the polling interval already set).

import type { BlockStats__Output as BlockStats } from '../../proto/generated/virtnode/launcher/v1/BlockStats.js';
import type { GuestMemoryStats__Output as GuestMemoryStats } from '../../proto/generated/virtnode/launcher/v1/GuestMemoryStats.js';
import type { QemuStats__Output as QemuStats } from '../../proto/generated/virtnode/launcher/v1/QemuStats.js';
import type { VcpuThread__Output as VcpuThread } from '../../proto/generated/virtnode/launcher/v1/VcpuThread.js';
import type { Qmp } from '../qmp/index.js';
import type { BlockStatsEntry, CpuInfoFast } from '../qmp/types.js';

export type { BlockStatsEntry };
import type { Domain, DomainDisk } from './types.js';

/** qom-get <balloon> guest-stats. */
export interface GuestStatsReply {
  stats: Record<string, number>;
  'last-update': number;
}

/** The QOM path of the balloon device (balloon.ts gives it id balloon0). */
export const BALLOON_QOM_PATH = '/machine/peripheral/balloon0';

/**
 * Each disk's counters, by VMI disk name. Entries are matched by the node name of the
 * device's root (as volumeStatus matches query-block), never by qdev, whose form
 * differs between device kinds; an entry of no known disk (an empty cdrom tray) is left out.
 */
export function blockStatsOf(entries: BlockStatsEntry[], disks: Pick<DomainDisk, 'name' | 'target' | 'nodeName'>[]): BlockStats[] {
  const byNode = new Map(entries.flatMap((e) => (e['node-name'] ? [[e['node-name'], e.stats] as const] : [])));
  const out: BlockStats[] = [];
  for (const d of disks) {
    const s = byNode.get(d.nodeName);
    if (!s) continue;
    out.push({
      drive: d.name,
      target: d.target,
      rdBytes: s.rd_bytes,
      wrBytes: s.wr_bytes,
      rdOperations: s.rd_operations,
      wrOperations: s.wr_operations,
      flushOperations: s.flush_operations,
      rdTotalTimeNs: s.rd_total_time_ns,
      wrTotalTimeNs: s.wr_total_time_ns,
      flushTotalTimeNs: s.flush_total_time_ns,
    });
  }
  return out;
}

/**
 * QEMU keeps each balloon statistic as a uint64 that is all ones ("-1") until the
 * guest reports it; JSON carries that as 18446744073709551615, which a JS number
 * cannot hold exactly. Anything that is not a safe non-negative integer is unknown.
 */
function stat(stats: Record<string, number>, key: string): number {
  const v = stats[key];
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : -1;
}

export function guestMemoryOf(reply: GuestStatsReply | undefined): GuestMemoryStats {
  const s = reply?.stats ?? {};
  const last = reply?.['last-update'] ?? 0;
  return {
    lastUpdate: Number.isSafeInteger(last) && last > 0 ? last : 0,
    totalBytes: stat(s, 'stat-total-memory'),
    freeBytes: stat(s, 'stat-free-memory'),
    availableBytes: stat(s, 'stat-available-memory'),
    diskCachesBytes: stat(s, 'stat-disk-caches'),
    swapInBytes: stat(s, 'stat-swap-in'),
    swapOutBytes: stat(s, 'stat-swap-out'),
    majorFaults: stat(s, 'stat-major-faults'),
    minorFaults: stat(s, 'stat-minor-faults'),
  };
}

export function vcpuThreadsOf(cpus: CpuInfoFast[]): VcpuThread[] {
  return cpus.map((c) => ({ index: c['cpu-index'], threadId: c['thread-id'] })).sort((a, b) => a.index - b.index);
}

const QMP_TIMEOUT_MS = 5_000;

/**
 * Reads one domain's QMP stats per call: two commands (disks, the guest's memory
 * report), nothing between calls. The vCPU threads and the balloon's size are asked
 * for once (threads live as long as QEMU, vCPU hot-plug does not exist here; the
 * balloon's later sizes come as BALLOON_CHANGE events); the balloon's polling
 * interval is set when the handler asks for a new one, so a guest nobody scrapes
 * is never woken for it.
 */
export class DomainStatsReader {
  #vcpus: VcpuThread[] | undefined;
  #interval = 0;
  /** The balloon's size: asked once, then followed through BALLOON_CHANGE events. */
  #balloonActual: number | undefined;
  #following: Qmp | undefined;

  async read(qmp: Qmp, domain: Domain, opts: { guestStatsIntervalSeconds: number; interfaces: { name: string; tap: string }[] }): Promise<QemuStats> {
    const t = { timeoutMs: QMP_TIMEOUT_MS };
    const balloon = domain.balloon !== undefined;
    const want = opts.guestStatsIntervalSeconds;
    if (balloon && want > 0 && want !== this.#interval) {
      await qmp.execute('qom-set', { path: BALLOON_QOM_PATH, property: 'guest-stats-polling-interval', value: want }, t);
      this.#interval = want;
    }
    this.#vcpus ??= vcpuThreadsOf(await qmp.execute('query-cpus-fast', undefined, t));
    if (balloon && this.#following !== qmp) {
      // Listen first, then ask: a change between the two is not lost.
      this.#following = qmp;
      qmp.on('event', (ev) => {
        if (ev.event === 'BALLOON_CHANGE') this.#balloonActual = ev.data.actual;
      });
      const asked = await qmp.execute('query-balloon', undefined, t);
      this.#balloonActual ??= asked.actual;
    }
    // QEMU's monitor runs commands one at a time anyway; issuing them together
    // spares the launcher's event loop a wake-up per command.
    const [blocks, guest] = await Promise.all([
      qmp.execute('query-blockstats', undefined, t),
      balloon ? (qmp.execute('qom-get', { path: BALLOON_QOM_PATH, property: 'guest-stats' }, t) as Promise<GuestStatsReply>) : undefined,
    ]);
    return {
      domainMemoryBytes: domain.memory.bytes,
      balloonActualBytes: balloon ? (this.#balloonActual ?? 0) : 0,
      hasBalloon: balloon,
      guestMemory: guestMemoryOf(guest),
      vcpus: this.#vcpus,
      blocks: blockStatsOf(blocks, domain.disks),
      interfaces: opts.interfaces,
    };
  }
}
