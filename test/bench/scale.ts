// Part 3, scale: the handler with hundreds of VMIs. A few run real launchers and
// guests; the rest run launcher-protocol clients (protocol-clients.ts), which speak
// the real gRPC protocol over each VMI's own socket but start no QEMU, so the
// machine can hold them all. The handler does everything it does for a real VM:
// sandbox, cgroup, disk overlay, launcher process, session, events, status.
//
// How: the handler's `launcherCommand` (set with --config) points at a small shell
// script written here. It runs the real launcher for the accelerator probe and for
// VMIs named real-*; for every other VMI it registers its pid, uid and handler
// socket with the protocol-client process through a FIFO and idles (`sleep`) inside
// the VM's cgroup as the launcher process the handler supervises.
//
// Measured: create and delete storms (time per VM, and nothing left afterwards),
// handler RSS and idle CPU, Watch fan-out latency to many watchers, unary latency
// under 64-way concurrent load.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MethodDefinition } from '@grpc/proto-loader';
import { connectHandler, type HandlerClient } from '../../handler/cli/client.js';
import { handlerPackageDefinition } from '../../proto/rpc.js';
import { RawGrpcClient, grpcFrame, grpcHeaders, unframe } from './grpc-raw.js';
import { ensureH2load, runUnaryLoad } from './h2load.js';
import type { WatchEvent__Output } from '../../proto/generated/virtnode/handler/v1/WatchEvent.js';
import { HANDLER_NODE_FLAGS, ROOT, type TestHandler } from '../e2e/harness.js';
import { type Bench, FD_SLACK, benchVMI, ensureHandler, leftovers, plannedRestarts, resilientCall, sandboxDirs, sleep, startHandler } from './common.js';
import { MiB, msDetail } from './report.js';
import { cpuPercent, cpuSeconds, openFds, procMem, processTable } from './procfs.js';
import { summarize } from './stats.js';
import { VmiWatch } from './watch.js';

const PART = 'scale';
const WATCHERS = 100;
// Each change reaches all watchers at about the same time, so one stall (a collector
// pause here or in the handler) delays 100 arrivals at once: with 40 changes the p99
// was that one change. 200 make the p99 a property of the distribution.
const FANOUT_CHANGES = 200;
const LOAD_CONCURRENCY = 64;
const LOAD_CLIENTS = 8;
const LOAD_STREAMS = LOAD_CONCURRENCY / LOAD_CLIENTS;
const LOAD_SECONDS = 5;
// The figure is for a sustained load: each measurement starts after this warm-up.
const WARMUP_SECONDS = 3;
const STORM_CONCURRENCY = 16;
const IDLE_WINDOW_MS = 10_000;

export function launcherScript(node: string, fifo: string): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh
# virtnode scale benchmark: the handler's launcherCommand. The accelerator probe and
# VMIs named real-* get the real launcher; every other VMI registers with the
# launcher-protocol clients and idles here, in its cgroup, as its launcher process.
case "$1" in */accel/cli.js) exec ${q(node)} "$@" ;; esac
name= uid= ns= sock= prev=
for a in "$@"; do
  case "$prev" in --name) name=$a ;; --uid) uid=$a ;; --namespace) ns=$a ;; --handler-socket) sock=$a ;; esac
  prev=$a
done
case "$name" in real-*) exec ${q(node)} "$@" ;; esac
echo "$$ $uid $ns $name $sock" > ${q(fifo)}
exec sleep infinity
`;
}

export async function startProtocolClients(b: Bench, dir: string, fifo: string): Promise<ChildProcess> {
  const errLog = openSync(join(dir, 'protocol-clients.log'), 'a');
  const p = spawn(process.execPath, [join(ROOT, 'dist', 'test', 'bench', 'protocol-clients.js'), fifo], { stdio: ['ignore', 'pipe', errLog] });
  closeSync(errLog);
  b.cleanup.add('protocol clients', () => void p.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    p.stdout!.once('data', () => resolve());
    p.once('exit', (c) => reject(new Error(`protocol clients exited (${c})`)));
  });
  return p;
}

/** Runs `fn` over `items` with at most `n` at a time. */
async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

export async function runScale(b: Bench, o: { vmis: number; real: number }): Promise<void> {
  const { report } = b;
  const dir = mkdtempSync('/tmp/vnb-s-');
  b.cleanup.add(`scale dir ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'launchers.fifo');
  execFileSync('mkfifo', ['-m', '0600', fifo]);
  const script = join(dir, 'launcher.sh');
  writeFileSync(script, launcherScript(process.execPath, fifo));
  chmodSync(script, 0o755);
  const clients = await startProtocolClients(b, dir, fifo);
  // Protocol clients stand in for launchers here, so no spare launchers either.
  const { h, destroy } = await startHandler(b, { name: 'scale', logLevel: 'info', config: { launcherCommand: [script, join(ROOT, 'dist', 'launcher', 'main.js')], spareLaunchers: 0, insecureLauncherSocket: true } });
  const watch = new VmiWatch(() => h.client, { onLost: () => ensureHandler(b, h, PART, 'a watch') });
  b.cleanup.add('scale watch', () => watch.close());
  await watch.ready();
  const fdsAtStart = openFds(h.pid!)!;
  await sleep(2000);
  const rssEmpty = procMem(h.pid!)!.rss;
  const real = Math.min(o.real, o.vmis);
  const names = [...Array.from({ length: real }, (_, i) => `real-${i + 1}`), ...Array.from({ length: o.vmis - real }, (_, i) => `pc-${i + 1}`)];
  const uids = new Map<string, string>();

  try {
    // Real guests first, in small batches (two cores), so they idle during the measurements.
    for (let i = 0; i < real; i += 5) {
      const batch = names.slice(i, Math.min(real, i + 5));
      await Promise.all(batch.map((n) => h.client.call('Apply', { manifest: benchVMI(n) })));
      for (const n of batch) uids.set(n, (await watch.runningOrFail(n, 300_000)).vmi.metadata.uid!);
    }
    if (real) {
      await sleep(8000); // boots finish; TCG guests go idle
      b.log(`scale: ${real} real guests running`);
    }

    // Create storm: every protocol-client VMI at once (16 Apply calls in flight).
    const storm = names.slice(real);
    const applied = new Map<string, number>();
    const running = new Map<string, number>();
    const stopRec = watch.onAny((s) => {
      if (s.vmi.status?.phase === 'Running' && !running.has(s.vmi.metadata.name)) running.set(s.vmi.metadata.name, performance.now());
    });
    const t0 = performance.now();
    await pool(storm, STORM_CONCURRENCY, async (n) => {
      applied.set(n, performance.now());
      await resilientCall(b, h, PART, 'the create storm', () => h.client.call('Apply', { manifest: benchVMI(n) }));
    });
    for (const n of storm) uids.set(n, (await watch.runningOrFail(n, 300_000)).vmi.metadata.uid!);
    const createTotal = performance.now() - t0;
    stopRec();
    const toRunning = summarize(storm.map((n) => running.get(n)! - applied.get(n)!));
    report.add({ part: PART, name: `create storm: ${storm.length} VMIs, time per VM`, value: createTotal / storm.length, unit: 'ms', detail: { totalMs: Math.round(createTotal), applyToRunning: msDetail(toRunning) } });
    report.add({ part: PART, name: 'create storm: Apply → Running (p99)', value: toRunning.p99, unit: 'ms', detail: msDetail(toRunning) });
    b.log(`scale: ${names.length} VMIs running`);

    // Idle handler with every VMI running.
    await sleep(5000);
    const mem = procMem(h.pid!)!;
    const cpu = await cpuPercent([h.pid!], IDLE_WINDOW_MS);
    report.add({
      part: PART,
      name: `handler RSS with ${names.length} VMIs`,
      value: mem.rss / MiB,
      unit: 'MiB',
      baseline: { name: 'same handler with 0 VMIs', value: rssEmpty / MiB },
      target: { text: '≤ 150 MiB', pass: mem.rss / MiB <= 150 },
      detail: { pss: mem.pss / MiB, uss: mem.uss / MiB, perVmiKiB: Math.round((mem.rss - rssEmpty) / 1024 / names.length) },
    });
    report.add({ part: PART, name: `handler idle CPU with ${names.length} VMIs (10 s)`, value: cpu.total, unit: '%', target: { text: '≤ 2 % of a core', pass: cpu.total <= 2 } });

    await watchFanout(b, h);
    await unaryLoad(b, h, storm, dir);
    await restart(b, h, names.length);

    // Delete storm, then prove nothing is left: no process, cgroup, socket or directory.
    // A handler that crashes meanwhile is recorded and restarted, and the storm goes on.
    const t1 = performance.now();
    await pool(names, STORM_CONCURRENCY, async (n) => {
      await resilientCall(b, h, PART, 'the delete storm', () => h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name: n }, gracePeriodSeconds: 0 })).catch((e) => {
        if ((e as { code?: string }).code !== 'VN_NOT_FOUND') throw e;
      });
    });
    const stuck = (await Promise.all(names.map((n) => watch.gone(n, 90_000).then(() => undefined, () => n)))).filter((n): n is string => n !== undefined);
    if (stuck.length) report.fail(PART, `still present 90 s after the delete storm: ${stuck.map((n) => `${n} (${watch.latest(n)?.vmi.status?.phase ?? '?'})`).join(', ')}`);
    const deleteTotal = performance.now() - t1;
    if (!stuck.length) report.add({ part: PART, name: `delete storm: ${names.length} VMIs, time per VM`, value: deleteTotal / names.length, unit: 'ms', detail: { totalMs: Math.round(deleteTotal), watchReconnects: watch.reconnects } });
    await sleep(1000);
    const left = [...leftovers(h, [...uids.values()]), ...sandboxDirs(h)];
    const children = [...processTable()].filter(([, p]) => p.ppid === h.pid).map(([pid]) => pid);
    const fdsAfter = openFds(h.pid!)!;
    report.add({
      part: PART,
      name: 'after the storms: leftovers (processes, cgroups, dirs)',
      value: left.length + children.length,
      unit: 'n',
      target: { text: 'none', pass: left.length + children.length === 0 },
      detail: { left: left.slice(0, 20), handlerChildren: children },
    });
    report.add({ part: PART, name: 'handler open fds after the storms', value: fdsAfter, unit: 'n', baseline: { name: 'at start', value: fdsAtStart }, target: { text: `≤ at start + ${FD_SLACK} (no leak)`, pass: fdsAfter <= fdsAtStart + FD_SLACK } });
    report.add({ part: PART, name: 'handler RSS after the storms', value: procMem(h.pid!)!.rss / MiB, unit: 'MiB', baseline: { name: `with ${names.length} VMIs`, value: mem.rss / MiB } });
  } finally {
    watch.close();
    clients.kill('SIGTERM');
    await destroy();
  }
}

/**
 * A handler restart with every VMI running (an upgrade): how long SIGTERM takes to
 * end it (the harness sends SIGKILL after 5 s), and how long the new one takes to
 * answer the API again with every launcher re-attached.
 */
async function restart(b: Bench, h: TestHandler, vmis: number): Promise<void> {
  plannedRestarts.add(h);
  const t0 = performance.now();
  await h.stop();
  const stopMs = performance.now() - t0;
  const t1 = performance.now();
  // A handler that dies while it recovers is a crash: ensureHandler records it.
  await h.start().catch(() => undefined);
  plannedRestarts.delete(h);
  await ensureHandler(b, h, PART, 'the restart');
  const startMs = performance.now() - t1;
  const list = await h.client.call<unknown, { objects: { json: string }[] }>('List', { kind: 'vmi', namespace: '' });
  const running = list.objects.filter((o) => (JSON.parse(o.json) as { status?: { phase?: string } }).status?.phase === 'Running').length;
  b.report.add({ part: PART, name: `handler restart with ${vmis} VMIs: SIGTERM → exit`, value: stopMs, unit: 'ms', detail: { sigkillAfter5s: stopMs >= 5000 } });
  b.report.add({ part: PART, name: `handler restart with ${vmis} VMIs: start → API answers`, value: startMs, unit: 'ms', detail: { runningAfter: running } });
  b.report.add({ part: PART, name: 'VMIs still Running after the restart', value: running, unit: 'n', target: { text: `all ${vmis}`, pass: running === vmis } });
}

/** W watchers on their own connections; K changes; latency from the call to each arrival. */
async function watchFanout(b: Bench, h: TestHandler): Promise<void> {
  const watchers: HandlerClient[] = [];
  const streams: ReturnType<HandlerClient['node']['Watch']>[] = [];
  const arrivals = new Map<string, number[]>();
  const created = new Map<string, number>();
  try {
    for (let i = 0; i < WATCHERS; i++) watchers.push(await connectHandler({ socket: h.socket }));
    await Promise.all(
      watchers.map(
        (c) =>
          new Promise<void>((resolve, reject) => {
            const s = c.node.Watch({ sinceSeq: 0, kinds: [] }, c.md());
            streams.push(s);
            s.on('data', (e: WatchEvent__Output) => {
              if (e.type === 'SNAPSHOT_END') return resolve();
              if (e.kind !== 'VirtualMachine' || e.type !== 'ADDED') return;
              const at = performance.now();
              const m = e.json.match(/"name":"(fan-\d+)"/);
              if (m) arrivals.get(m[1]!)?.push(at);
            });
            s.on('error', (e: Error & { code?: number }) => {
              if (e.code !== 1) reject(e);
            });
          }),
      ),
    );
    const lat: number[] = [];
    const spread: number[] = [];
    for (let k = 1; k <= FANOUT_CHANGES; k++) {
      const name = `fan-${k}`;
      arrivals.set(name, []);
      const t = performance.now();
      created.set(name, t);
      await h.client.call('Apply', { manifest: `apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: ${name}\nspec:\n  runStrategy: Halted\n  template:\n    spec:\n      domain:\n        devices: {}\n        resources:\n          requests:\n            memory: 64M\n` });
      const end = Date.now() + 10_000;
      while (arrivals.get(name)!.length < WATCHERS && Date.now() < end) await sleep(2);
      const got = arrivals.get(name)!;
      lat.push(...got.map((a) => a - t));
      if (got.length) spread.push(Math.max(...got) - Math.min(...got));
      if (got.length < WATCHERS) b.report.note(PART, `${name}: only ${got.length}/${WATCHERS} watchers got the change within 10 s`);
      await sleep(20);
    }
    const s = summarize(lat);
    b.report.add({ part: PART, name: `Watch fan-out to ${WATCHERS} watchers, Apply → arrival (p50)`, value: s.median, unit: 'ms', detail: msDetail(s) });
    b.report.add({ part: PART, name: `Watch fan-out to ${WATCHERS} watchers, Apply → arrival (p99)`, value: s.p99, unit: 'ms', target: { text: '≤ 10 ms', pass: s.p99 <= 10 }, detail: { latency: msDetail(s), firstToLastArrival: msDetail(summarize(spread)) } });
    for (let k = 1; k <= FANOUT_CHANGES; k++) await h.client.call('Delete', { ref: { kind: 'vm', namespace: 'default', name: `fan-${k}` }, gracePeriodSeconds: 0 });
  } finally {
    for (const s of streams) s.cancel();
    for (const c of watchers) c.close();
  }
}

/**
 * A reference server for the unary load, answering what the handler answered (its
 * framed answers, as it sent them): grpc-floor (the baseline: grpc-js with nothing
 * behind it) or http2-floor (node:http2 with no gRPC library, the floor).
 */
async function startFloor(b: Bench, dir: string, script: 'grpc-floor' | 'http2-floor', answers: { get: Buffer; list: Buffer }): Promise<{ pid: number; socket: string; stop(): void }> {
  const socket = join(dir, `${script}.sock`);
  const p = spawn(process.execPath, [...HANDLER_NODE_FLAGS, join(ROOT, 'dist', 'test', 'bench', `${script}.js`), socket], { stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = (): void => void p.kill('SIGKILL');
  b.cleanup.add(script, stop);
  p.stdin!.end(JSON.stringify({ get: answers.get.toString('base64'), list: answers.list.toString('base64') }));
  await new Promise<void>((resolve, reject) => {
    p.stdout!.once('data', () => resolve());
    p.once('exit', (c) => reject(new Error(`${script} server exited (${c})`)));
  });
  return { pid: p.pid!, socket, stop };
}

/**
 * 64 calls always in flight over 8 connections for LOAD_SECONDS, generated by h2load
 * (see h2load.ts why): a Get of one VMI, a List of every VMI, and both at once (56
 * Get and 8 List in flight). The calls say what grpc-js clients say, gzip accepted,
 * so the handler sends its List answer compressed. They run first against the
 * baseline, a grpc-js server with nothing behind it that answers the same messages
 * (grpc-floor.ts; it cannot compress), then against node:http2 writing the handler's
 * answers byte for byte (http2-floor.ts: the floor), then against the handler, each
 * after a warm-up (WARMUP_SECONDS) that is checked but not counted.
 */
async function unaryLoad(b: Bench, h: TestHandler, names: readonly string[], dir: string): Promise<void> {
  const missing = await ensureH2load((m) => b.log(`scale: ${m}`));
  if (missing) {
    b.report.note(PART, `unary load not measured: ${missing}`);
    return;
  }
  const real = await connectHandler({ socket: h.socket });
  const once = new RawGrpcClient(h.socket, real.version);
  const node = handlerPackageDefinition()['virtnode.handler.v1.Node'] as Record<string, MethodDefinition<unknown, unknown>>;
  const get = node.Get!;
  const list = node.List!;
  const name = names[Math.floor(Math.random() * names.length)]!;
  const getBody = grpcFrame(get.requestSerialize({ kind: 'vmi', namespace: 'default', name }));
  const listBody = grpcFrame(list.requestSerialize({ kind: 'vmi', namespace: '' }));
  // The calls h2load will repeat, made once with their answers checked (unpacked
  // when compressed): the load itself checks that every answer is as long as these.
  const answer = async (client: RawGrpcClient, m: MethodDefinition<unknown, unknown>, body: Buffer, verify: (res: unknown) => boolean): Promise<Buffer> => {
    const framed = await client.call(m.path, body);
    if (framed.readUInt32BE(1) !== framed.length - 5 || !verify(m.responseDeserialize(unframe(framed)))) throw new Error(`unary load: the ${m.path} answer did not decode as expected`);
    return framed;
  };
  const isGet = (o: unknown): boolean => (o as { json: string }).json.includes(`"name":"${name}"`);
  const isList = (r: unknown): boolean => (r as { objects: unknown[] }).objects.length >= names.length;
  const answers = { get: await answer(once, get, getBody, isGet), list: await answer(once, list, listBody, isList) };
  const floor = await startFloor(b, dir, 'grpc-floor', answers);
  const http2Floor = await startFloor(b, dir, 'http2-floor', answers);
  const floorOnce = [new RawGrpcClient(floor.socket, real.version), new RawGrpcClient(http2Floor.socket, real.version)];
  try {
    const headers = grpcHeaders(real.version);
    // Each server's answers as it sends them: their length is what the load checks.
    type Calls = { path: string; body: Buffer; answerBytes: number; label: string };
    const servers: { socket: string; pid: number; get: Calls; list: Calls }[] = [];
    const floorAnswers = [];
    for (const c of floorOnce) floorAnswers.push({ get: await answer(c, get, getBody, isGet), list: await answer(c, list, listBody, isList) });
    for (const [i, srv] of [floor, http2Floor, { socket: h.socket, pid: h.pid! }].entries()) {
      const a = floorAnswers[i] ?? answers;
      servers.push({
        ...srv,
        get: { path: get.path, body: getBody, answerBytes: a.get.length, label: 'get' },
        list: { path: list.path, body: listBody, answerBytes: a.list.length, label: 'list' },
      });
    }
    const kinds: { label: string; loads: { calls: 'get' | 'list'; connections: number }[] }[] = [
      { label: 'Get VMI', loads: [{ calls: 'get', connections: LOAD_CLIENTS }] },
      { label: `List ${names.length} VMIs`, loads: [{ calls: 'list', connections: LOAD_CLIENTS }] },
      { label: `Get and List at once (${LOAD_CONCURRENCY - LOAD_STREAMS} + ${LOAD_STREAMS} in flight)`, loads: [{ calls: 'get', connections: LOAD_CLIENTS - 1 }, { calls: 'list', connections: 1 }] },
    ];
    const measure = async (k: (typeof kinds)[number], server: (typeof servers)[number], seconds: number) => {
      const cpu0 = cpuSeconds(server.pid)!;
      const calls = k.loads.map((l): Calls => server[l.calls]);
      const results = await Promise.all(
        k.loads.map((l, i) => runUnaryLoad({ ...calls[i]!, socket: server.socket, headers, connections: l.connections, streams: LOAD_STREAMS, seconds, dir, label: `${l.calls}-${l.connections}` })),
      );
      const serverCpu = ((cpuSeconds(server.pid)! - cpu0) / seconds) * 100;
      const clientCpu = (results.reduce((s, r) => s + r.cpuSeconds, 0) / seconds) * 100;
      const byKind = Object.fromEntries(k.loads.map((l, i) => [l.calls, msDetail(summarize(results[i]!.latencies))]));
      const all = results.flatMap((r) => r.latencies);
      return { s: summarize(all), byKind, callsPerSecond: all.length / seconds, serverCpu: Math.round(serverCpu), clientCpu: Math.round(clientCpu) };
    };
    // One server at a time, its loads back to back: a server left idle for more than
    // 8 s has its heap shrunk by V8's memory reducer and then runs a mark-compact
    // every few hundred ms under load until it has grown back (measured: the handler
    // served half the List calls at 143 % CPU when it idled 16 s between loads).
    const results = [];
    for (const server of servers) {
      const byKind = [];
      for (const k of kinds) {
        await measure(k, server, WARMUP_SECONDS);
        byKind.push(await measure(k, server, LOAD_SECONDS));
      }
      results.push(byKind);
    }
    for (const [i, k] of kinds.entries()) {
      const [base, bare, m] = [results[0]![i]!, results[1]![i]!, results[2]![i]!];
      const baseline = (v: number) => ({ name: 'bare grpc-js server, same messages', value: v });
      b.report.add({
        part: PART,
        name: `unary ${k.label} under ${LOAD_CONCURRENCY}-way load (p99)`,
        value: m.s.p99,
        unit: 'ms',
        baseline: baseline(base.s.p99),
        target: { text: '≤ 20 ms', pass: m.s.p99 <= 20 },
        detail: {
          latency: msDetail(m.s), byMethod: m.byKind, answerBytes: { get: servers[2]!.get.answerBytes, list: servers[2]!.list.answerBytes, listUncompressed: servers[0]!.list.answerBytes }, callsPerSecond: Math.round(m.callsPerSecond), handlerCpuPercent: m.serverCpu, loadGeneratorCpuPercent: m.clientCpu,
          baseline: { latency: msDetail(base.s), byMethod: base.byKind, callsPerSecond: Math.round(base.callsPerSecond), serverCpuPercent: base.serverCpu, loadGeneratorCpuPercent: base.clientCpu },
        },
      });
      b.report.add({ part: PART, name: `unary ${k.label} under ${LOAD_CONCURRENCY}-way load (p50)`, value: m.s.median, unit: 'ms', baseline: baseline(base.s.median) });
      b.report.add({
        part: PART,
        name: `unary ${k.label}: the handler's answers from node:http2 with nothing behind (p99)`,
        value: bare.s.p99,
        unit: 'ms',
        baseline: baseline(base.s.p99),
        detail: { latency: msDetail(bare.s), byMethod: bare.byKind, callsPerSecond: Math.round(bare.callsPerSecond), serverCpuPercent: bare.serverCpu, loadGeneratorCpuPercent: bare.clientCpu },
      });
      b.report.add({
        part: PART,
        name: `unary ${k.label}: calls/s (handler CPU ${m.serverCpu} %, h2load ${m.clientCpu} %; baseline ${base.serverCpu} %, ${base.clientCpu} %)`,
        value: m.callsPerSecond,
        unit: '/s',
        baseline: { name: 'bare grpc-js server', value: base.callsPerSecond },
      });
    }
    // The handler's answers did not change under the load.
    await answer(once, get, getBody, isGet);
    await answer(once, list, listBody, isList);
  } finally {
    once.close();
    for (const c of floorOnce) c.close();
    floor.stop();
    http2Floor.stop();
    real.close();
  }
}
