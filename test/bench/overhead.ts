// Part 2, overhead: what virtnode costs beside QEMU with N idle guests running.
// For every VM, each process of its cgroup that is not QEMU (the launcher, and
// anything it may have spawned) is measured from /proc/<pid>/smaps_rollup; PSS is
// the fair share when many launchers share Node's pages, USS what one more VM adds.
// Compared with KubeVirt's per-VM budget for the same job (virt-launcher-monitor
// 25 Mi + virt-launcher 100 Mi + virtlogd 25 Mi + virtqemud 40 Mi = 190 Mi) and
// with an idle `node` process measured in the same run.

import { spawn, type ChildProcess } from 'node:child_process';
import type * as grpc from '@grpc/grpc-js';
import type { ConsoleInput } from '../../proto/generated/virtnode/handler/v1/ConsoleInput.js';
import type { ConsoleOutput__Output } from '../../proto/generated/virtnode/handler/v1/ConsoleOutput.js';
import { VmCgroup, detectCgroups } from '../../handler/sandbox/cgroup.js';
import type { TestHandler } from '../e2e/harness.js';
import { ConsoleClock } from './console-clock.js';
import { type Bench, benchVMI, ensureHandler, leftovers, resilientCall, sleep, startHandler } from './common.js';
import { MiB } from './report.js';
import { comm, cpuPercent, memAvailableBytes, procMem, sumMem, type ProcMem } from './procfs.js';
import { summarize } from './stats.js';
import { VmiWatch } from './watch.js';

const PART = 'overhead';
export const KUBEVIRT_NON_QEMU_MIB = 25 + 100 + 25 + 40;
/** What one more TCG guest needs on the host, with margin (QEMU ~200 MiB RSS + launcher). */
const PER_VM_BYTES = 300 * MiB;
const HOST_RESERVE_BYTES = 3 * 1024 * MiB;
const BATCH = 5;
const IDLE_WINDOW_MS = 10_000;

interface VmProcs {
  name: string;
  uid: string;
  qemu: number[];
  other: number[];
}

/**
 * Waits until a guest has booted to its login prompt (it idles from then on). A
 * console stream that ends (the handler crashed) is opened again once the handler
 * is back; the launcher's ring replays what was missed.
 */
export async function waitBooted(b: Bench, h: TestHandler, name: string): Promise<void> {
  const end = Date.now() + 180_000;
  for (;;) {
    const clock = new ConsoleClock();
    const con: grpc.ClientDuplexStream<ConsoleInput, ConsoleOutput__Output> = h.client.node.Console(h.client.md());
    let ended = false;
    const stop = new Promise<void>((r) => {
      con.on('error', () => ((ended = true), r()));
      con.on('end', () => ((ended = true), r()));
    });
    con.on('data', (m: ConsoleOutput__Output) => clock.feed(m.data));
    con.write({ open: { kind: 'VirtualMachineInstance', namespace: 'default', name } });
    // A fresh newline asks getty to print its prompt again.
    const poke = setTimeout(() => con.write({ data: Buffer.from('\r') }), 500);
    try {
      await Promise.race([clock.login(Math.max(1, end - Date.now())), stop]);
      if (clock.loginAt !== undefined) return;
    } finally {
      clearTimeout(poke);
      con.end();
      con.cancel();
    }
    if (!ended || Date.now() > end) throw new Error(`${name}: no login prompt within 180 s`);
    await sleep(200);
    await ensureHandler(b, h, PART, 'booting guests');
  }
}

function vmProcesses(h: TestHandler, name: string, uid: string): VmProcs {
  const layout = detectCgroups({ root: h.cgroupRoot });
  const pids = VmCgroup.open(layout, uid).pids();
  const qemu = pids.filter((p) => comm(p)?.startsWith('qemu-system'));
  return { name, uid, qemu, other: pids.filter((p) => !qemu.includes(p)) };
}

/** Idle `node` processes: what a Node process costs before it does anything. */
async function idleNodeBaseline(n: number): Promise<ProcMem[]> {
  const kids: ChildProcess[] = [];
  try {
    for (let i = 0; i < n; i++) kids.push(spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' }));
    await sleep(1500);
    return kids.map((k) => procMem(k.pid!)).filter((m): m is ProcMem => m !== undefined);
  } finally {
    for (const k of kids) k.kill('SIGKILL');
  }
}

export async function runOverhead(b: Bench, o: { counts: number[] }): Promise<void> {
  const { report } = b;
  const counts = [...new Set(o.counts)].sort((x, y) => x - y);
  const nodeBase = await idleNodeBaseline(10);
  const nodePss = summarize(nodeBase.map((m) => m.pss / MiB));
  const nodeUss = summarize(nodeBase.map((m) => m.uss / MiB));

  const { h, destroy } = await startHandler(b, { name: 'overhead', logLevel: 'info' });
  const watch = new VmiWatch(() => h.client, { onLost: () => ensureHandler(b, h, PART, 'a watch') });
  b.cleanup.add('overhead watch', () => watch.close());
  await watch.ready();
  const names: string[] = [];
  const uids = new Map<string, string>();
  // One guest to Running. A VMI that a handler crash left Failed is replaced (and
  // the replacement named in a note): the part measures guests, not the crash.
  const bootOne = async (base: string): Promise<string> => {
    for (let attempt = 0; ; attempt++) {
      const name = attempt ? `${base}-r${attempt}` : base;
      await resilientCall(b, h, PART, 'booting guests', () => h.client.call('Apply', { manifest: benchVMI(name, { network: true }) }));
      names.push(name);
      try {
        uids.set(name, (await watch.runningOrFail(name, 300_000)).vmi.metadata.uid!);
        names.splice(names.indexOf(name), 1);
        return name;
      } catch (e) {
        const uid = watch.latest(name)?.vmi.metadata.uid;
        if (uid) uids.set(name, uid); // still checked for leftovers at the end
        if (attempt >= 2) throw e;
        report.note(PART, `${name} did not reach Running (${(e as Error).message.slice(0, 200)}); replaced`);
        await resilientCall(b, h, PART, 'booting guests', () => h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name }, gracePeriodSeconds: 0 })).catch(() => undefined);
        await watch.gone(name, 60_000).catch(() => undefined);
        names.splice(names.indexOf(name), 1);
      }
    }
  };
  try {
    for (const n of counts) {
      while (names.length < n) {
        const k = Math.min(BATCH, n - names.length);
        const need = k * PER_VM_BYTES + HOST_RESERVE_BYTES;
        if (memAvailableBytes() < need) {
          report.note(PART, `stopped at ${names.length} VMs instead of ${n}: MemAvailable ${(memAvailableBytes() / MiB).toFixed(0)} MiB < ${(need / MiB).toFixed(0)} MiB needed for ${k} more`);
          break;
        }
        const first = names.length + 1;
        const batch = await Promise.all(Array.from({ length: k }, (_, i) => bootOne(`ov-${first + i}`)));
        names.push(...batch);
        await Promise.all(batch.map((name) => waitBooted(b, h, name)));
        b.log(`overhead: ${names.length} guests booted`);
      }
      const count = names.length;
      if (count === 0) break;
      await sleep(3000); // let the last boots' work settle
      const vms = names.map((name) => vmProcesses(h, name, uids.get(name)!));
      const launcherMem = vms.map((v) => sumMem(v.other.map(procMem)));
      const qemuMem = vms.map((v) => sumMem(v.qemu.map(procMem)));
      const handlerMem = procMem(h.pid!)!;
      const others = vms.flatMap((v) => v.other);
      const qemus = vms.flatMap((v) => v.qemu);
      const cpu = await cpuPercent([h.pid!, ...others, ...qemus], IDLE_WINDOW_MS);
      const handlerCpu = cpu.perPid.get(h.pid!) ?? NaN;
      const launcherCpu = others.reduce((a, p) => a + (cpu.perPid.get(p) ?? 0), 0);
      const qemuCpu = qemus.reduce((a, p) => a + (cpu.perPid.get(p) ?? 0), 0);
      const pss = summarize(launcherMem.map((m) => m.pss / MiB));
      const uss = summarize(launcherMem.map((m) => m.uss / MiB));
      const rss = summarize(launcherMem.map((m) => m.rss / MiB));
      const qrss = summarize(qemuMem.map((m) => m.rss / MiB));
      const procsPerVm = summarize(vms.map((v) => v.other.length));
      const largest = n === counts.at(-1);
      const tag = `N=${count}`;
      report.add({
        part: PART,
        name: `${tag}: non-QEMU PSS per VM (median)`,
        value: pss.median,
        unit: 'MiB',
        baseline: { name: 'KubeVirt budget 25+100+25+40 Mi', value: KUBEVIRT_NON_QEMU_MIB },
        ...(largest ? { target: { text: '≤ 25 MiB per VM', pass: pss.median <= 25 } } : {}),
        detail: { pss, uss, rss, processesPerVm: procsPerVm },
      });
      report.add({ part: PART, name: `${tag}: non-QEMU PSS per VM (max)`, value: pss.max, unit: 'MiB', baseline: { name: 'KubeVirt budget', value: KUBEVIRT_NON_QEMU_MIB } });
      report.add({ part: PART, name: `${tag}: non-QEMU USS per VM (median)`, value: uss.median, unit: 'MiB', baseline: { name: 'idle node USS', value: nodeUss.median } });
      report.add({ part: PART, name: `${tag}: launcher PSS vs an idle node process`, value: pss.median, unit: 'MiB', baseline: { name: 'idle node PSS', value: nodePss.median } });
      report.add({ part: PART, name: `${tag}: QEMU RSS per VM (median, for scale)`, value: qrss.median, unit: 'MiB', detail: qrss });
      report.add({ part: PART, name: `${tag}: handler RSS`, value: handlerMem.rss / MiB, unit: 'MiB', detail: { pss: handlerMem.pss / MiB, uss: handlerMem.uss / MiB } });
      report.add({ part: PART, name: `${tag}: handler idle CPU (10 s)`, value: handlerCpu, unit: '%' });
      report.add({ part: PART, name: `${tag}: launchers idle CPU, per VM (10 s)`, value: launcherCpu / count, unit: '%', baseline: { name: 'QEMU idle CPU per VM', value: qemuCpu / count }, detail: { launchersTotal: launcherCpu, qemuTotal: qemuCpu } });
      b.log(`overhead: measured at ${count} VMs`);
      if (count < n) break;
    }
  } finally {
    // Tear everything down and prove nothing is left.
    const t0 = performance.now();
    await Promise.all(names.map((name) => resilientCall(b, h, PART, 'deleting guests', () => h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name }, gracePeriodSeconds: 0 })).catch(() => undefined)));
    const stuck = (await Promise.all(names.map((name) => watch.gone(name, 120_000).then(() => undefined, () => name)))).filter(Boolean);
    if (stuck.length) report.fail(PART, `not deleted within 120 s: ${stuck.join(', ')}`);
    else if (names.length) report.add({ part: PART, name: `delete ${names.length} VMs (time per VM)`, value: (performance.now() - t0) / names.length, unit: 'ms' });
    const left = leftovers(h, [...uids.values()]);
    if (left.length) report.fail(PART, `left behind after deleting every VM: ${left.slice(0, 10).join('; ')}`);
    watch.close();
    await destroy();
  }
  report.note(PART, `idle node baseline: ${nodeBase.length} processes, PSS median ${nodePss.median.toFixed(1)} MiB, USS ${nodeUss.median.toFixed(1)} MiB`);
}
