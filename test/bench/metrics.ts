// Part metrics: /metrics of a handler with N idle guests running (50 by default).
// Measured: scrape latency (p99 of back-to-back scrapes), against a request to
// the same HTTP server that gathers nothing (its 404) measured in the same run; and
// the CPU one scrape costs the whole node (handler, every launcher, every QEMU),
// as the CPU of a window with scrapes minus that of an equal idle window, turned
// into the share of a core it takes at Prometheus' usual 15 s interval.

import { request } from 'node:http';
import { detectCgroups, VmCgroup } from '../../handler/sandbox/cgroup.js';
import type { TestHandler } from '../e2e/harness.js';
import { type Bench, benchVMI, ensureHandler, leftovers, resilientCall, sleep, startHandler } from './common.js';
import { waitBooted } from './overhead.js';
import { MiB, msDetail } from './report.js';
import { comm, cpuSeconds, memAvailableBytes } from './procfs.js';
import { summarize } from './stats.js';
import { VmiWatch } from './watch.js';

const PART = 'metrics';
const PER_VM_BYTES = 300 * MiB;
const HOST_RESERVE_BYTES = 3 * 1024 * MiB;
const BATCH = 5;
const SCRAPES = 100;
const CPU_SCRAPES = 20;
const SCRAPE_INTERVAL_S = 15;

function metricsPort(h: TestHandler): number {
  for (const line of h.log().split('\n')) if (line.includes('metrics listening')) return (JSON.parse(line) as { port: number }).port;
  throw new Error('the handler did not log its metrics port');
}

function get(port: number, path: string): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - t0 }));
    });
    req.on('error', reject).end();
  });
}

/** Every process of the VMs' cgroups: QEMUs, and the rest (launchers). */
function vmPids(h: TestHandler, uids: string[]): { qemu: number[]; other: number[] } {
  const layout = detectCgroups({ root: h.cgroupRoot });
  const pids = uids.flatMap((u) => VmCgroup.open(layout, u).pids());
  const qemu = pids.filter((p) => comm(p)?.startsWith('qemu-system'));
  return { qemu, other: pids.filter((p) => !qemu.includes(p)) };
}

function cpuOf(pids: number[]): number {
  return pids.reduce((a, p) => a + (cpuSeconds(p) ?? 0), 0);
}

export async function runMetrics(b: Bench, o: { vms: number }): Promise<void> {
  const { report } = b;
  const { h, destroy } = await startHandler(b, { name: 'metrics', logLevel: 'info', config: { metricsListen: '127.0.0.1:0', guestStatsIntervalSeconds: SCRAPE_INTERVAL_S } });
  const watch = new VmiWatch(() => h.client, { onLost: () => ensureHandler(b, h, PART, 'a watch') });
  b.cleanup.add('metrics watch', () => watch.close());
  await watch.ready();
  const names: string[] = [];
  const uids: string[] = [];
  try {
    while (names.length < o.vms) {
      const k = Math.min(BATCH, o.vms - names.length);
      if (memAvailableBytes() < k * PER_VM_BYTES + HOST_RESERVE_BYTES) {
        report.note(PART, `stopped at ${names.length} VMs instead of ${o.vms}: not enough memory for more`);
        break;
      }
      const batch = Array.from({ length: k }, (_, i) => `mx-${names.length + i + 1}`);
      names.push(...batch);
      await Promise.all(batch.map((n) => resilientCall(b, h, PART, 'booting guests', () => h.client.call('Apply', { manifest: benchVMI(n, { network: true }) }))));
      for (const n of batch) uids.push((await watch.runningOrFail(n, 300_000)).vmi.metadata.uid!);
      await Promise.all(batch.map((n) => waitBooted(b, h, n)));
      b.log(`metrics: ${names.length} guests booted`);
    }
    const count = names.length;
    await sleep(5000);
    const port = metricsPort(h);
    const tag = `N=${count}`;

    // Every running VM is on the page (a scrape that dropped some would be cheap and wrong).
    const first = await get(port, '/metrics');
    const drives = first.body.split('\n').filter((l) => l.startsWith('kubevirt_vmi_storage_read_traffic_bytes_total{')).length;
    if (first.status !== 200 || drives !== count) report.fail(PART, `the page has ${drives} VMs' disks, not ${count} (status ${first.status})`);

    const floor: number[] = [];
    const scrape: number[] = [];
    for (let i = 0; i < SCRAPES; i++) {
      floor.push((await get(port, '/nothing')).ms);
      scrape.push((await get(port, '/metrics')).ms);
    }
    const s = summarize(scrape);
    const f = summarize(floor);
    report.add({
      part: PART,
      name: `${tag}: scrape latency p99`,
      value: s.p99,
      unit: 'ms',
      baseline: { name: 'same server, nothing gathered (p99)', value: f.p99 },
      target: { text: '≤ 50 ms', pass: s.p99 <= 50 },
      detail: { scrape: msDetail(s), floor: msDetail(f), bytes: first.body.length },
    });

    // CPU per scrape across the node: windows of equal length with and without scrapes.
    const vm = vmPids(h, uids);
    const groups = { handler: [h.pid!], launchers: vm.other, qemus: vm.qemu };
    const pids = [...groups.handler, ...groups.launchers, ...groups.qemus];
    const byGroup = (): Record<string, number> => Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, cpuOf(v)]));
    const windowMs = CPU_SCRAPES * 500;
    const idle0 = cpuOf(pids);
    const idleGroups0 = byGroup();
    await sleep(windowMs);
    const idle = cpuOf(pids) - idle0;
    const idleGroups = byGroup();
    const busy0 = cpuOf(pids);
    const t0 = performance.now();
    for (let i = 0; i < CPU_SCRAPES; i++) {
      await get(port, '/metrics');
      const next = t0 + (i + 1) * 500;
      await sleep(Math.max(0, next - performance.now()));
    }
    const busy = cpuOf(pids) - busy0;
    const busyGroups = byGroup();
    // Per scrape, by who spent it: the busy window's CPU minus the idle window's, per group.
    const split = Object.fromEntries(
      Object.keys(groups).map((k) => [`${k}MsPerScrape`, Math.round((((busyGroups[k]! - idleGroups[k]!) - (idleGroups[k]! - idleGroups0[k]!)) / CPU_SCRAPES) * 1e4) / 10]),
    );
    const perScrape = Math.max(0, busy - idle) / CPU_SCRAPES;
    const share = (perScrape / SCRAPE_INTERVAL_S) * 100;
    report.add({
      part: PART,
      name: `${tag}: CPU of one scrape every ${SCRAPE_INTERVAL_S} s, whole node`,
      value: share,
      unit: '%',
      baseline: { name: `the ${count} idle VMs' own CPU`, value: (idle / (windowMs / 1000)) * 100 },
      target: { text: '≤ 1 % of a core', pass: share <= 1 },
      detail: { cpuMsPerScrape: perScrape * 1000, ...split, windowSeconds: windowMs / 1000, idleCpuSeconds: idle, busyCpuSeconds: busy },
    });
    b.log(`metrics: ${tag} scrape p99 ${s.p99.toFixed(1)} ms, median ${s.median.toFixed(1)} ms (floor p99 ${f.p99.toFixed(1)} ms), ${(perScrape * 1000).toFixed(1)} ms CPU per scrape: ${JSON.stringify(split)}`);
  } finally {
    await Promise.all(names.map((name) => resilientCall(b, h, PART, 'deleting guests', () => h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name }, gracePeriodSeconds: 0 })).catch(() => undefined)));
    const stuck = (await Promise.all(names.map((name) => watch.gone(name, 120_000).then(() => undefined, () => name)))).filter(Boolean);
    if (stuck.length) report.fail(PART, `not deleted within 120 s: ${stuck.join(', ')}`);
    const left = leftovers(h, uids);
    if (left.length) report.fail(PART, `left behind after deleting every VM: ${left.slice(0, 10).join('; ')}`);
    watch.close();
    await destroy();
  }
}
