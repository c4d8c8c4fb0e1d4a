// Part 4, churn: many create → Running → delete cycles of a real guest, a few at a
// time, and then proof that nothing stayed behind — no process, cgroup, socket,
// file, disk overlay or image reference — and that the handler itself holds no more
// file descriptors than before. The baseline is bare QEMU doing the same cycle
// (spawn with the launcher's argv, cont, RESUME, kill) at the same concurrency.

import { randomUUID } from 'node:crypto';
import type { ApplyResponse__Output } from '../../proto/generated/virtnode/handler/v1/ApplyResponse.js';
import type { ListImagesResponse__Output } from '../../proto/generated/virtnode/handler/v1/ListImagesResponse.js';
import type { Object__Output } from '../../proto/generated/virtnode/handler/v1/Object.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { prepareBareVm, runBareVm } from './bare-qemu.js';
import { type Bench, FD_SLACK, VOLUME, benchRegistry, benchVMI, ensureHandler, leftovers, sandboxDirs, sleep, startHandler } from './common.js';
import { cycle, runCycles, socketsUnder } from './cycle.js';
import { MiB, msDetail } from './report.js';
import { openFds, procMem } from './procfs.js';
import { summarize } from './stats.js';
import { VmiWatch } from './watch.js';

const PART = 'churn';

export async function runChurn(b: Bench, o: { cycles: number; concurrency: number }): Promise<void> {
  const { report } = b;
  const { guest } = await benchRegistry(b);
  const { h, destroy } = await startHandler(b, { name: 'churn', logLevel: 'info' });
  const watch = new VmiWatch(() => h.client, { onLost: () => ensureHandler(b, h, PART, 'a watch') });
  b.cleanup.add('churn watch', () => watch.close());
  await watch.ready();

  // One cycle first, uncounted: the image pull and first-start costs stay out.
  await cycle(b, h, watch, PART, 'churn-warmup');
  await sleep(500);
  const fdsBefore = openFds(h.pid!)!;
  const rssBefore = procMem(h.pid!)!.rss;

  const uids: string[] = [];
  const { cycles, failures, seconds: elapsed } = await runCycles(b, h, watch, { part: PART, prefix: 'churn', cycles: o.cycles, concurrency: o.concurrency, onUid: (uid) => uids.push(uid) });
  await sleep(1000);

  // Baseline: bare QEMU, the same cycle at the same concurrency.
  const dry = await h.client.call<unknown, ApplyResponse__Output>('Apply', { manifest: benchVMI('bare'), dryRun: true });
  const vmi = JSON.parse((dry.objects[0] as Object__Output).json) as VirtualMachineInstance;
  const bareCycles = Math.min(o.cycles, 40);
  let bareNext = 0;
  const bareTimes: number[] = [];
  const tb = performance.now();
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (bareNext < bareCycles) {
        bareNext++;
        const t = performance.now();
        const vm = prepareBareVm({ ...vmi, metadata: { ...vmi.metadata, uid: randomUUID() } }, guest.disk, VOLUME);
        await runBareVm(vm, { register: (p) => b.cleanup.add('bare QEMU', () => void p.kill('SIGKILL')), untilResume: true });
        bareTimes.push(performance.now() - t);
      }
    }),
  );
  const bareRate = bareCycles / ((performance.now() - tb) / 1000);

  // Nothing left: processes, cgroups, directories, sockets, image references, fds.
  const left = [...leftovers(h, uids), ...sandboxDirs(h), ...socketsUnder(h.runDir, h.socket)];
  const images = await h.client.call<unknown, ListImagesResponse__Output>('ListImages', {});
  const held = images.images.filter((i) => i.users > 0).map((i) => `${i.reference} (${i.users} users)`);
  const fdsAfter = openFds(h.pid!)!;
  const rssAfter = procMem(h.pid!)!.rss;
  watch.close();
  await destroy();

  const c = summarize(cycles.map((x) => x.total));
  report.add({
    part: PART,
    name: `${cycles.length} create → Running → delete cycles (${o.concurrency} at a time): throughput`,
    value: cycles.length / elapsed,
    unit: '/s',
    baseline: { name: 'bare QEMU spawn → RESUME → kill', value: bareRate },
    detail: { seconds: Math.round(elapsed * 10) / 10, cycle: msDetail(c), bareCycle: msDetail(summarize(bareTimes)) },
  });
  report.add({ part: PART, name: 'cycle: Apply → Running seen (median)', value: summarize(cycles.map((x) => x.toRunning)).median, unit: 'ms', detail: msDetail(summarize(cycles.map((x) => x.toRunning))) });
  report.add({ part: PART, name: 'cycle: Delete → gone (median)', value: summarize(cycles.map((x) => x.toGone)).median, unit: 'ms', detail: msDetail(summarize(cycles.map((x) => x.toGone))) });
  report.add({ part: PART, name: 'cycles that failed', value: failures.length, unit: 'n', target: { text: 'none', pass: failures.length === 0 }, detail: failures.slice(0, 20) });
  report.add({
    part: PART,
    name: 'left behind (processes, cgroups, dirs, sockets, overlays, image refs)',
    value: left.length + held.length,
    unit: 'n',
    target: { text: 'none', pass: left.length + held.length === 0 },
    detail: { left: left.slice(0, 20), imagesStillHeld: held },
  });
  report.add({ part: PART, name: 'handler open fds after the churn', value: fdsAfter, unit: 'n', baseline: { name: 'before', value: fdsBefore }, target: { text: `≤ before + ${FD_SLACK} (no leak)`, pass: fdsAfter <= fdsBefore + FD_SLACK } });
  report.add({ part: PART, name: 'handler RSS after the churn', value: rssAfter / MiB, unit: 'MiB', baseline: { name: 'before', value: rssBefore / MiB } });
}
