// One create → Running → delete cycle of the test guest on the pod network, and the
// loop that runs many of them a few at a time: shared by churn (200 cycles, then
// the leftovers) and soak (1000, with samples and faults in between).

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TestHandler } from '../e2e/harness.js';
import { type Bench, benchVMI, ensureHandler, leftovers, resilientCall } from './common.js';
import type { VmiWatch } from './watch.js';

/** How long one step of a cycle (to Running, to gone) may take before it counts as hung. */
export const STEP_TIMEOUT_MS = 120_000;

export interface Cycle {
  toRunning: number;
  toGone: number;
  total: number;
}

/** How one cycle of a run ended: its figures, or the error that ended it. */
export interface CycleEnd {
  index: number;
  name: string;
  uid?: string;
  /** performance.now() at its start and end. */
  startedAt: number;
  endedAt: number;
  cycle?: Cycle;
  error?: Error;
}

/** Unix sockets under a directory, except the handler's own API socket. */
export function socketsUnder(dir: string, except: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e);
      try {
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.isSocket() && p !== except) out.push(p);
      } catch {
        /* gone meanwhile */
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Apply → Running seen on the watch → Delete → gone, then nothing of the VMI may be
 * left. A VMI that ends Failed instead of running is an error naming its reason.
 */
export async function cycle(b: Bench, h: TestHandler, watch: VmiWatch, part: string, name: string, onUid?: (uid: string) => void): Promise<Cycle> {
  const t0 = performance.now();
  await resilientCall(b, h, part, `the ${part}`, () => h.client.call('Apply', { manifest: benchVMI(name, { network: true }) }));
  const running = await watch.runningOrFail(name, STEP_TIMEOUT_MS);
  const uid = running.vmi.metadata.uid!;
  onUid?.(uid);
  const t1 = performance.now();
  await resilientCall(b, h, part, `the ${part}`, () => h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name }, gracePeriodSeconds: 0 }));
  await watch.gone(name, STEP_TIMEOUT_MS);
  const t2 = performance.now();
  const left = leftovers(h, [uid]);
  if (left.length) throw new Error(`left behind: ${left.join('; ')}`);
  return { toRunning: t1 - t0, toGone: t2 - t1, total: t2 - t0 };
}

export interface CycleRun {
  part: string;
  /** Cycle i's VMI is named `<prefix>-<i>`, i from 1. */
  prefix: string;
  cycles: number;
  concurrency: number;
  /** Awaited before cycle i starts: a barrier for a sample or a fault. */
  before?: (i: number) => Promise<void>;
  /** Every uid a cycle's VMI had, for the leftover checks. */
  onUid?: (uid: string) => void;
  onEnd?: (end: CycleEnd) => void;
}

/**
 * Runs `cycles` cycles, `concurrency` at a time. A failed cycle is recorded, its VMI
 * deleted (by a handler restarted first if it crashed) and waited out; the run goes on.
 */
export async function runCycles(b: Bench, h: TestHandler, watch: VmiWatch, r: CycleRun): Promise<{ cycles: Cycle[]; failures: string[]; seconds: number }> {
  const cycles: Cycle[] = [];
  const failures: string[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: r.concurrency }, async () => {
      while (next < r.cycles) {
        const i = ++next;
        await r.before?.(i);
        const name = `${r.prefix}-${i}`;
        const end: CycleEnd = { index: i, name, startedAt: performance.now(), endedAt: 0 };
        try {
          end.cycle = await cycle(b, h, watch, r.part, name, (uid) => {
            end.uid = uid;
            r.onUid?.(uid);
          });
          cycles.push(end.cycle);
        } catch (e) {
          end.error = e as Error;
          // A VMI that failed before Running still had a uid: its leftovers count too.
          const uid = watch.latest(name)?.vmi.metadata.uid;
          if (uid && !end.uid) {
            end.uid = uid;
            r.onUid?.(uid);
          }
          failures.push(`${name}: ${(e as Error).message.slice(0, 300)}`);
          // A crashed handler is restarted (and recorded) before the next cycle;
          // whatever this cycle left, the restarted handler still owns: delete it.
          await ensureHandler(b, h, r.part, `the ${r.part}`);
          await h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name }, gracePeriodSeconds: 0 }).catch(() => undefined);
          await watch.gone(name, 60_000).catch(() => undefined);
        }
        end.endedAt = performance.now();
        r.onEnd?.(end);
        if (i % 50 === 0) b.log(`${r.part}: ${i}/${r.cycles} cycles`);
      }
    }),
  );
  return { cycles, failures, seconds: (performance.now() - t0) / 1000 };
}
