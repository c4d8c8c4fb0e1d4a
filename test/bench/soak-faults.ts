// The soak's four faults, each on a VMI of its own while the cycles go on: the
// handler SIGKILLed and started again, a running VMI's launcher SIGKILLed, the
// registry cut off in the middle of a pull, the state directory's filesystem full.
// Each runner injects its fault for real, reads how the VMI it aimed at ended
// (phase, reason, message) and says whether that is the defined end; the soak
// then checks the cycles caught in it and that later cycles succeed again.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, cpSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launcherPid } from '../../proto/vmi/annotations.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { TestHandler } from '../e2e/harness.js';
import { tarball } from '../unit/helpers/registry.js';
import { type Bench, benchVMI, ensureHandler, leftovers, plannedRestarts, sleep } from './common.js';
import { type CycleEnd, STEP_TIMEOUT_MS } from './cycle.js';
import type { RegistryRelay } from './registry-relay.js';
import { MiB } from './report.js';
import type { Seen, VmiWatch } from './watch.js';

const PART = 'soak';
/** The fault image's extra layer: random, so it does not compress and its pull takes a while. */
const EXTRA_LAYER_BYTES = 8 * MiB;
/** How much of that layer passes before the registry goes down. */
const CUT_AFTER_BYTES = 1 * MiB;

export type FaultKind = 'handler' | 'launcher' | 'registry' | 'disk';

/**
 * Where each fault comes, as a share of the cycles between the first and the last
 * sample window (those two compare throughput, so no fault falls in them).
 */
export const FAULTS: { kind: FaultKind; at: number; title: string }[] = [
  { kind: 'handler', at: 0.25, title: 'handler SIGKILLed and started again' },
  { kind: 'launcher', at: 0.45, title: "a running VMI's launcher SIGKILLed" },
  { kind: 'registry', at: 0.65, title: 'registry down in the middle of a pull' },
  { kind: 'disk', at: 0.85, title: "state directory's filesystem full" },
];

export interface FaultResult {
  kind: FaultKind;
  title: string;
  at: number;
  /** performance.now() when the fault began and when it was lifted (the node left to recover). */
  began: number;
  lifted: number;
  /** The VMI the fault aimed at, as it ended: phase, reason and message. */
  outcome: string;
  /** Whether that end is the defined one (a final phase with the reason the fault calls for). */
  defined: boolean;
  detail: Record<string, unknown>;
}

export interface FaultEnv {
  b: Bench;
  h: TestHandler;
  watch: VmiWatch;
  relay: RegistryRelay;
  uids: Set<string>;
  /** Names of the cycles' VMIs between their start and their end. */
  inFlight: Set<string>;
  /** Resolves when the cycle of the VMI `name` has ended. */
  cycleEnded(name: string): Promise<CycleEnd>;
  faultImage: string;
  extraLayer: string;
  ballast: string;
}

type FaultRunner = (env: FaultEnv, f: { kind: FaultKind; title: string; at: number }) => Promise<FaultResult>;

export const FAULT_RUNNERS: Record<FaultKind, FaultRunner> = {
  /**
   * The handler dies with VMIs in flight, one of them Running at least (the kill
   * waits for one), and a supervisor starts it again. A Running guest's launcher
   * lives on without its handler, the new handler takes it back, and its cycle ends
   * well; any other VMI caught in flight goes on, or ends with a reason.
   */
  async handler({ b, h, watch, inFlight, cycleEnded }, f) {
    await runningInFlight(watch, inFlight, 60_000);
    const before = new Map([...inFlight].map((n) => [n, watch.latest(n)]));
    const running = [...before].filter(([, s]) => phaseOf(s) === 'Running').map(([n, s]) => ({ name: n, uid: s!.vmi.metadata.uid!, launcher: launcherPid(s!.vmi) }));
    const oldPid = h.pid;
    const began = performance.now();
    let aliveWhileDown: string[] = [];
    plannedRestarts.add(h);
    try {
      await h.kill9();
      await sleep(1000); // VMs run on without their handler for a moment
      aliveWhileDown = running.filter((r) => r.launcher !== undefined && isLauncherOf(r.launcher, r.uid)).map((r) => r.name);
      await h.start().catch(() => undefined); // a start that fails is a crash: ensureHandler records it
    } finally {
      plannedRestarts.delete(h);
    }
    await ensureHandler(b, h, PART, 'the restart after SIGKILL');
    const lifted = performance.now();
    const restarted = h.pid !== undefined && h.pid !== oldPid;
    const after: string[] = [];
    let unexplained = 0;
    for (const [name, seen] of before) {
      const now = await getVmi(h, name);
      const phase = now?.status?.phase;
      const pid = now && launcherPid(now);
      const same = pid && seen && pid === launcherPid(seen.vmi) ? ' (same launcher)' : '';
      // Defined: still on its way or running, gone (deleted), or ended with a reason.
      if (now && (phase === 'Failed' || phase === 'Succeeded') && !now.status?.reason) unexplained++;
      after.push(`${name}: ${phaseOf(seen)} → ${now ? `${phase ?? 'Pending'}${now.status?.reason ? `/${now.status.reason}` : ''}${same}` : 'deleted'}`);
    }
    // The Running ones' cycles (Delete through the new handler, then the leftover
    // check) must succeed: the new handler took their launchers back.
    const runningEnds = await Promise.all(running.map((r) => cycleEnded(r.name)));
    const runningFailed = runningEnds.filter((e) => e.error).map((e) => `${e.name}: ${e.error!.message.slice(0, 300)}`);
    return {
      ...f,
      began,
      lifted,
      outcome: `${before.size} in flight, ${running.length} Running: ${aliveWhileDown.length} launchers lived on, ${running.length - runningFailed.length} cycles ended well`,
      defined: restarted && running.length > 0 && aliveWhileDown.length === running.length && runningFailed.length === 0 && unexplained === 0,
      detail: { handlerPids: [oldPid, h.pid], inFlight: after, launchersAliveWhileDown: aliveWhileDown, runningCyclesFailed: runningFailed },
    };
  },

  /** A running VMI's launcher is SIGKILLed: it ends Failed, LauncherExited, and leaves nothing. */
  async launcher({ h, watch, uids }, f) {
    const name = 'soak-fault-launcher';
    await h.client.call('Apply', { manifest: benchVMI(name, { network: true }) });
    const running = await watch.runningOrFail(name, STEP_TIMEOUT_MS);
    const uid = running.vmi.metadata.uid!;
    uids.add(uid);
    const pid = launcherPid(running.vmi);
    if (!pid || !isLauncherOf(pid, uid)) throw new Error(`${name} runs without a live launcher (annotation: ${pid})`);
    const began = performance.now();
    process.kill(pid, 'SIGKILL');
    const end = await watch.wait(name, (s) => s?.type === 'DELETED' || s?.vmi.status?.phase === 'Failed' || s?.vmi.status?.phase === 'Succeeded', 'ended', 60_000);
    const ms = performance.now() - began;
    const st = end.vmi.status;
    // Ended and torn down while the Failed VMI is still stored (its launcher log stays until it is deleted).
    const leftWhileStored = await settle(() => leftovers(h, [uid]).filter((l) => !l.startsWith('state directory')), 20_000);
    await h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name }, gracePeriodSeconds: 0 });
    await watch.gone(name, STEP_TIMEOUT_MS);
    const leftAfter = await settle(() => leftovers(h, [uid]), 10_000);
    return {
      ...f,
      began,
      lifted: performance.now(),
      outcome: `${st?.phase}/${st?.reason ?? '(no reason)'}`,
      defined: st?.phase === 'Failed' && st.reason === 'LauncherExited' && leftWhileStored.length === 0 && leftAfter.length === 0,
      detail: { launcherPid: pid, msToFinalPhase: Math.round(ms), message: failureMessage(end.vmi), leftWhileStored, leftAfterDelete: leftAfter },
    };
  },

  /**
   * A VMI whose image (imagePullPolicy Always) has a layer the node lacks; the
   * registry goes down 1 MiB into that layer. The VMI ends Failed, ErrImagePull. With
   * the registry back, the same image pulls and runs.
   */
  async registry({ h, watch, relay, uids, faultImage, extraLayer }, f) {
    const name = 'soak-fault-registry';
    const cut = relay.cutDuring(`/v2/kubevirt/cirros-container-disk-demo/blobs/${extraLayer}`, CUT_AFTER_BYTES);
    let cutAt = 0;
    void cut.then(() => (cutAt = performance.now()));
    const began = performance.now();
    await h.client.call('Apply', { manifest: benchVMI(name, { network: true, image: faultImage, pullPolicy: 'Always' }) });
    const end = await watch.wait(name, (s) => ['Failed', 'Succeeded', 'Running'].includes(s?.vmi.status?.phase ?? ''), 'ended or running', STEP_TIMEOUT_MS);
    const uid = end.vmi.metadata.uid!;
    uids.add(uid);
    const st = end.vmi.status;
    const midPull = cutAt > 0;
    const leftWhileStored = await settle(() => leftovers(h, [uid]).filter((l) => !l.startsWith('state directory')), 20_000);
    await h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name }, gracePeriodSeconds: 0 });
    await watch.gone(name, STEP_TIMEOUT_MS);
    // The registry is back: the node pulls the same image again, unaided.
    await relay.start();
    const lifted = performance.now();
    const again = `${name}-again`;
    let recovered = '';
    try {
      await h.client.call('Apply', { manifest: benchVMI(again, { network: true, image: faultImage, pullPolicy: 'Always' }) });
      const r = await watch.runningOrFail(again, STEP_TIMEOUT_MS);
      uids.add(r.vmi.metadata.uid!);
      recovered = `Running after ${Math.round(performance.now() - lifted)} ms`;
    } catch (e) {
      recovered = `not running: ${(e as Error).message.slice(0, 300)}`;
    } finally {
      await h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name: again }, gracePeriodSeconds: 0 }).catch(() => undefined);
      await watch.gone(again, STEP_TIMEOUT_MS).catch(() => undefined);
    }
    return {
      ...f,
      began,
      lifted,
      outcome: `${st?.phase}/${st?.reason ?? '(no reason)'}${midPull ? '' : ' (the registry was not cut mid-pull)'}`,
      defined: midPull && st?.phase === 'Failed' && st.reason === 'ErrImagePull' && leftWhileStored.length === 0 && recovered.startsWith('Running'),
      detail: { message: failureMessage(end.vmi), msCutToFailed: midPull ? Math.round(end.at - (performance.timeOrigin + cutAt)) : null, leftWhileStored, samePullAfterwards: recovered },
    };
  },

  /**
   * The state directory's filesystem is filled to the last page; the next VMI must
   * end with a reason naming the cause (or be refused with it, and not exist). The
   * cycles in flight meet the full disk too; later ones wait until it has room again.
   */
  async disk({ h, watch, uids, inFlight, ballast }, f) {
    const name = 'soak-fault-disk';
    // The disk fills the moment one of the cycles let in is seen Running, before its
    // cycle deletes it: that teardown, and the others' starts, meet the full disk.
    const running = await runningInFlight(watch, inFlight, 60_000);
    const began = performance.now();
    const filled = fill(ballast);
    let applied = '';
    try {
      await h.client.call('Apply', { manifest: benchVMI(name, { network: true }) });
      applied = 'accepted';
    } catch (e) {
      applied = `refused: ${(e as Error).message.slice(0, 300)}`;
    }
    let end: Seen | undefined;
    let outcome: string;
    let defined: boolean;
    const noSpace = (text: string): boolean => /ENOSPC|no space/i.test(text);
    if (applied !== 'accepted') {
      // Refused: it must not exist, or only on its way out (its own deletion).
      const stored = await getVmi(h, name);
      if (stored) uids.add(stored.metadata.uid!);
      const gone = !stored || (await watch.gone(name, 60_000).then(() => true, () => false));
      outcome = `Apply refused (${noSpace(applied) ? 'no space' : 'another cause'})${gone ? '' : ', yet the VMI stays'}`;
      defined = noSpace(applied) && gone;
    } else {
      end = await watch.wait(name, (s) => ['Failed', 'Succeeded', 'Running'].includes(s?.vmi.status?.phase ?? ''), 'ended or running', STEP_TIMEOUT_MS).catch(() => undefined);
      const st = end?.vmi.status;
      if (end) uids.add(end.vmi.metadata.uid!);
      outcome = end ? `${st?.phase}/${st?.reason ?? '(no reason)'}` : 'no final phase (hung)';
      defined = st?.phase === 'Failed' && !!st.reason && noSpace(`${st.reason} ${failureMessage(end!.vmi)}`);
    }
    // Deleted while the disk is still full: recorded (a delete the store cannot
    // write is refused with the cause, as the caught cycles' deletes are).
    let deleteWhileFull = 'ok';
    await h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name }, gracePeriodSeconds: 0 }).catch((e: Error) => {
      deleteWhileFull = e.message.slice(0, 200);
    });
    unlinkSync(ballast);
    const lifted = performance.now();
    // A refused Apply made no VMI: there is nothing to wait out.
    if (await getVmi(h, name)) {
      await h.client.call('Delete', { ref: { kind: 'vmi', namespace: 'default', name }, gracePeriodSeconds: 0 }).catch(() => undefined);
      await watch.gone(name, STEP_TIMEOUT_MS).catch(() => undefined);
    }
    const uid = end?.vmi.metadata.uid;
    const leftAfter = uid ? await settle(() => leftovers(h, [uid]), 10_000) : [];
    return {
      ...f,
      began,
      lifted,
      outcome,
      defined: defined && leftAfter.length === 0,
      detail: { ballastMiB: Math.round(filled / MiB), runningWhenFilled: running || null, apply: applied, message: end ? failureMessage(end.vmi) : '', deleteWhileFull, leftAfterDelete: leftAfter },
    };
  },
};

/**
 * Resolves, with its name, once a cycle's VMI is seen Running (at once if one is),
 * or with '' after `ms`.
 */
function runningInFlight(watch: VmiWatch, inFlight: Set<string>, ms: number): Promise<string> {
  const isRunning = (s: Seen | undefined): boolean => !!s && s.type !== 'DELETED' && s.vmi.status?.phase === 'Running';
  const now = [...inFlight].find((n) => isRunning(watch.latest(n)));
  if (now) return Promise.resolve(now);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      off();
      resolve('');
    }, ms);
    const off = watch.onAny((s) => {
      if (!inFlight.has(s.vmi.metadata.name) || !isRunning(s)) return;
      off();
      clearTimeout(t);
      resolve(s.vmi.metadata.name);
    });
  });
}

/**
 * Whether `pid` is the live launcher of the VMI `uid` (not a pid reused by something
 * else): in that VM's cgroup, and a launcher by its command line (a spare launcher
 * renames itself "virt-launcher <namespace>/<name>" when it is assigned).
 */
function isLauncherOf(pid: number, uid: string): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(uid) && (cmd.includes('launcher/main.js') || cmd.startsWith('virt-launcher '));
  } catch {
    return false;
  }
}

/** The stored VMI as the API returns it, or undefined when there is none. */
async function getVmi(h: TestHandler, name: string): Promise<VirtualMachineInstance | undefined> {
  try {
    const o = await h.client.call<unknown, { json: string }>('Get', { kind: 'vmi', namespace: 'default', name });
    return JSON.parse(o.json) as VirtualMachineInstance;
  } catch {
    return undefined;
  }
}

function phaseOf(s: Seen | undefined): string {
  if (!s) return 'not seen';
  return s.type === 'DELETED' ? 'deleted' : (s.vmi.status?.phase ?? 'Pending');
}

/** The reason's words: the Failed condition's message (or the Synchronized/Ready one). */
function failureMessage(vmi: VirtualMachineInstance): string {
  const c = (vmi.status?.conditions ?? []).find((x) => x.status === 'False' && x.message) ?? (vmi.status?.conditions ?? []).find((x) => x.message);
  return (c?.message ?? '').slice(0, 400);
}

/** Polls `probe` until it finds nothing or `ms` pass; what it found last. */
async function settle(probe: () => string[], ms: number): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found.length === 0 || Date.now() > end) return found;
    await sleep(200);
  }
}

/** Writes `file` until its filesystem has no page left; the bytes written. */
function fill(file: string): number {
  const fd = openSync(file, 'w', 0o600);
  let total = 0;
  try {
    for (const size of [MiB, 4096, 1]) {
      const buf = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          total += writeSync(fd, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

/**
 * The guest's OCI layout at `dest`, tagged `tag`, with one more layer: a random
 * file outside /disk/ (the disk stays the one file there).
 */
export function layeredImage(src: string, dest: string, tag: string): { layerDigest: string } {
  cpSync(src, dest, { recursive: true });
  const blobs = join(dest, 'blobs', 'sha256');
  const blob = (digest: string): Buffer => readFileSync(join(blobs, digest.slice('sha256:'.length)));
  const put = (bytes: Buffer): { digest: string; size: number } => {
    const digest = `sha256:${createHashHex(bytes)}`;
    writeFileSync(join(blobs, digest.slice('sha256:'.length)), bytes);
    return { digest, size: bytes.length };
  };
  const index = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString('utf8')) as {
    config: { mediaType: string; digest: string; size: number };
    layers: { mediaType: string; digest: string; size: number }[];
  };
  const config = JSON.parse(blob(manifest.config.digest).toString('utf8')) as { rootfs: { diff_ids: string[] } };
  const tar = tarball([{ path: 'soak/', type: 'dir' }, { path: 'soak/pad', data: randomBytes(EXTRA_LAYER_BYTES) }]);
  const layer = put(gzipSync(tar, { level: 1 }));
  config.rootfs.diff_ids.push(`sha256:${createHashHex(tar)}`);
  const cfg = put(Buffer.from(JSON.stringify(config)));
  manifest.layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer });
  manifest.config = { ...manifest.config, ...cfg };
  const m = put(Buffer.from(JSON.stringify(manifest)));
  writeFileSync(join(dest, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return { layerDigest: layer.digest };
}

function createHashHex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}