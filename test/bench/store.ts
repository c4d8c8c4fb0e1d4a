// Part "store": the desired-state store in a create storm, in process (no handler,
// no VMs), in /var/tmp (the disk of /var/lib). 250 VMIs are created 16 at a time, each create
// awaited as Apply awaits it; a controller answers each ADDED with six status
// updates in a row, each awaited (domain events are acked only once durable), and
// an Event after each. The store tells nobody of a change before it is durable and
// writes what queued up meanwhile as one batch.
//
// Baseline, same run, same disk: what the queue before this store spent per change,
// one at a time — the object file replaced (atomicWrite: file and directory
// fsynced), then its journal line appended — for the same changes. That store told
// its listeners at once, before the write; this one tells them one batch later,
// which the "hears of a new VMI" figures measure.

import { mkdirSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Store, type Change } from '../../handler/store/store.js';
import { atomicWrite } from '../../handler/store/fsutil.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { Bench } from './common.js';
import { msDetail } from './report.js';
import { median, summarize } from './stats.js';

const PART = 'store';
const IN_FLIGHT = 16;
const UPDATES = 6;

function vmi(name: string): VirtualMachineInstance {
  // About the size of a defaulted VMI's record (~2 KiB).
  return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name, annotations: { 'bench/pad': 'x'.repeat(1500) } }, spec: { domain: { devices: {} } } };
}

interface StormResult {
  msPerChange: number;
  apply: number[];
  heard: number[];
  settled: number[];
}

async function storm(dir: string, n: number): Promise<StormResult> {
  const store = await Store.open(dir);
  const created = new Map<string, number>();
  const apply: number[] = [];
  const heard: number[] = [];
  const settled: number[] = [];
  let left = n;
  let allDone!: () => void;
  const done = new Promise<void>((r) => (allDone = r));
  store.on('change', (c: Change) => {
    if (c.type !== 'ADDED') return;
    const o = c.object as VirtualMachineInstance;
    const name = o.metadata.name;
    heard.push(performance.now() - created.get(name)!);
    void (async () => {
      for (let i = 0; i < UPDATES; i++) {
        await store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'default', name, (v) => {
          v.status = { phase: 'Scheduling', conditions: [{ type: 'Step', status: i % 2 ? 'True' : 'False', message: String(i) }] };
        }).durable;
        store.recordEvent({ reason: 'Step', message: String(i), object: o });
      }
      settled.push(performance.now() - created.get(name)!);
      if (--left === 0) allDone();
    })();
  });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) {
        const name = `vmi-${next++}`;
        created.set(name, performance.now());
        await store.create(vmi(name)).durable;
        apply.push(performance.now() - created.get(name)!);
      }
    }),
  );
  await done;
  await store.flush();
  const ms = performance.now() - t0;
  await store.close();
  return { msPerChange: ms / (n * (1 + 2 * UPDATES)), apply, heard, settled };
}

/** The same changes as the storm, one at a time, as the queue before wrote them. */
async function oneAtATime(dir: string, n: number): Promise<number> {
  const objects = join(dir, 'objects', 'VirtualMachineInstance', 'default');
  mkdirSync(objects, { recursive: true });
  const journal = await fs.open(join(dir, 'journal.jsonl'), 'a', 0o600);
  const json = JSON.stringify(vmi('x'.repeat(8)));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    for (let u = 0; u <= UPDATES; u++) {
      await atomicWrite(join(objects, `vmi-${i}.json`), json);
      await journal.appendFile(`{"seq":0,"object":${json}}\n`);
      if (u > 0) await journal.appendFile('{"seq":0,"type":"EVENT","object":{}}\n');
    }
  }
  const ms = performance.now() - t0;
  await journal.close();
  return ms / (n * (1 + 2 * UPDATES));
}

export async function runStoreBench(b: Bench, o: { rounds: number; vmis: number }): Promise<void> {
  const results: StormResult[] = [];
  const baseline: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    // Alternating which goes first, so a busy neighbour slows both alike.
    for (const which of r % 2 ? ['baseline', 'store'] : ['store', 'baseline']) {
      const dir = mkdtempSync('/var/tmp/vnb-store-');
      try {
        if (which === 'store') results.push(await storm(dir, o.vmis));
        else baseline.push(await oneAtATime(dir, o.vmis));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    b.log(`store: round ${r + 1}/${o.rounds}: ${results.at(-1)!.msPerChange.toFixed(2)} ms a change, one at a time ${baseline.at(-1)!.toFixed(2)} ms`);
  }
  const what = `${o.vmis} VMIs: a create, ${UPDATES} status updates and ${UPDATES} Events each`;
  b.report.add({
    part: PART,
    name: `store storm (${what}): time per change, median of ${o.rounds}`,
    value: median(results.map((x) => x.msPerChange)),
    unit: 'ms',
    baseline: { name: 'one at a time (atomicWrite + journal line), as before', value: median(baseline) },
    detail: { store: results.map((x) => x.msPerChange), oneAtATime: baseline },
  });
  const all = (f: (x: StormResult) => number[]): ReturnType<typeof summarize> => summarize(results.flatMap(f));
  const apply = all((x) => x.apply);
  const heard = all((x) => x.heard);
  const settled = all((x) => x.settled);
  b.report.add({ part: PART, name: 'store storm: create → durable, as Apply waits (p99)', value: apply.p99, unit: 'ms', detail: msDetail(apply) });
  b.report.add({ part: PART, name: 'store storm: create → a controller hears of it (p50; before: at once, not yet durable)', value: heard.median, unit: 'ms', detail: msDetail(heard) });
  b.report.add({ part: PART, name: 'store storm: create → a controller hears of it (p99)', value: heard.p99, unit: 'ms', detail: msDetail(heard) });
  b.report.add({ part: PART, name: `store storm: create → its ${UPDATES}th status update durable (p99)`, value: settled.p99, unit: 'ms', detail: msDetail(settled) });
}
