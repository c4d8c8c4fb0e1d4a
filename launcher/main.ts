#!/usr/bin/env node
// virtnode-launcher: one per VM. Dials the handler, waits for the VMI (Sync),
// runs its domain, reports every state change, and exits once the handler has
// stored the final one — taking QEMU, its sockets and its console with it.

import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { errorMessage, InvalidSpecError, VirtnodeError } from '../proto/errors.js';
import { CLONE_NEWNET, getParentDeathSignal, redirectStdoutStderr, setns } from '../native/index.js';
import type { Command__Output } from '../proto/generated/virtnode/launcher/v1/Command.js';
import type { Disk, VirtualMachineInstance, Volume } from '../proto/vmi/types.js';
import { createLauncherLogger, forVmi } from './log.js';
import { HandlerSession, preloadSession } from './session.js';
import { DomainManager } from './domain/manager.js';
import { decodeLaunchContext, decodePreparedVolume, runDirLayout } from '../proto/launch.js';
import { isFinal } from './domain/state.js';
import { dropLauncherPrivileges } from './privileges.js';
import { agentCommand, agentStatusMessage } from './agent/commands.js';

interface LauncherArgs {
  namespace: string;
  name: string;
  uid: string;
  runDir: string;
  handlerSocket: string;
  /** Spare launchers only: the VM's log file, and the VM cgroup's cgroup.procs files to join. */
  logFile?: string;
  cgroupProcs?: string[];
}

/**
 * A spare launcher: started ahead of need with its modules loaded, it waits for the
 * handler to hand it a VMI on stdin (one JSON line, the same fields as the flags).
 * Until then it serves nobody; if the handler goes away first (stdin ends), it exits.
 */
function awaitAssignment(): Promise<LauncherArgs> {
  return new Promise((resolve) => {
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      process.stdin.removeAllListeners('data');
      process.stdin.destroy();
      resolve(JSON.parse(buf.slice(0, nl)) as LauncherArgs);
    });
    process.stdin.on('end', () => process.exit(0));
  });
}

/**
 * Joins the pod's network namespace. Only this (the main) thread moves, which is
 * where everything namespaced happens: opening taps, the DHCP socket, spawning QEMU.
 */
function enterNetns(path: string): void {
  const fd = openSync(path, 'r');
  try {
    setns(fd, CLONE_NEWNET);
  } finally {
    closeSync(fd);
  }
}

/** Writes this process's pid to each cgroup.procs file; returns the ones that refused. */
async function joinCgroup(files: string[]): Promise<string[]> {
  const results = await Promise.allSettled(files.map((f) => writeFile(f, String(process.pid))));
  return files.filter((_, i) => results[i]!.status === 'rejected');
}

function parseArgs(argv: string[]): LauncherArgs {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (!k.startsWith('--') || v === undefined) throw new InvalidSpecError([{ path: k, message: 'expected --flag value pairs' }]);
    m.set(k.slice(2), v);
  }
  const need = (k: string): string => {
    const v = m.get(k) ?? process.env[`VIRTNODE_${k.toUpperCase().replace(/-/g, '_')}`];
    if (!v) throw new InvalidSpecError([{ path: `--${k}`, message: 'required' }]);
    return v;
  };
  return { namespace: need('namespace'), name: need('name'), uid: need('uid'), runDir: need('run-dir'), handlerSocket: need('handler-socket') };
}

/** How long a launcher waits for its VMI before giving up (the handler never came). */
const SYNC_TIMEOUT_MS = 5 * 60_000;
/** How long it keeps its final events for a handler that is away, before exiting anyway. */
const FINAL_ACK_TIMEOUT_MS = 10 * 60_000;

async function main(): Promise<void> {
  const spare = process.argv[2] === '--spare';
  const base = createLauncherLogger();
  if (spare) {
    // Load koffi now (setns needs it first thing after the assignment) and ready the
    // session (protocol parsed, gRPC client path warm: ~30 ms), then tell the handler
    // this spare is ready.
    getParentDeathSignal();
    await preloadSession().catch((e: unknown) => base.warn({ err: errorMessage(e) }, 'warming up the session failed'));
    process.stdout.write('ready\n');
  }
  const args = spare ? await awaitAssignment() : parseArgs(process.argv.slice(2));
  // Into the VM's cgroup (every thread goes along) while the session and the pod
  // network are being set up; QEMU, born in this cgroup, starts only after the join.
  const joined = joinCgroup(args.cgroupProcs ?? []);
  if (args.logFile) {
    // From here on everything this process writes belongs to the VM's log.
    const fd = openSync(args.logFile, 'a', 0o600);
    redirectStdoutStderr(fd);
    closeSync(fd);
  }
  const log = forVmi(base, args);
  if (spare) {
    process.title = `virt-launcher ${args.namespace}/${args.name}`;
    log.info('spare launcher assigned');
    const t0 = performance.now();
    void joined.then((failed) => log.debug({ ms: Math.round(performance.now() - t0), failed }, 'joined the VM cgroup'));
  }
  const manager = new DomainManager(log);
  // The console socket does not depend on the VMI: serve it now rather than on QEMU's
  // start path (start() waits for this, and reports it if it failed).
  const consoleSocket = runDirLayout(args.runDir).consoleSocket;
  manager.console.listen(consoleSocket).catch(() => undefined);
  let synced = false;

  const session = new HandlerSession({
    socketPath: args.handlerSocket,
    log,
    callbacks: {
      domainDefined: () => manager.defined,
      onCommand: async (cmd: Command__Output) => {
        switch (cmd.op) {
          case 'sync': {
            if (manager.defined) return; // a resend after a reconnect: already running it
            log.debug('Sync received');
            const vmi = JSON.parse(cmd.sync!.vmiJson) as VirtualMachineInstance;
            if (vmi.metadata.uid !== args.uid) {
              throw new VirtnodeError('VN_PROTOCOL', `this launcher runs VMI ${args.uid}, not ${vmi.metadata.uid}`);
            }
            const ctx = decodeLaunchContext(cmd.sync!.context);
            // Nothing starts outside the VM's cgroup (its limits, and how the handler finds what to kill).
            const notJoined = await joined;
            if (notJoined.length) throw new VirtnodeError('VN_SANDBOX', `could not join the VM cgroup (${notJoined.join(', ')})`);
            // A spare joins the pod here; a launcher started in it re-enters the same namespace.
            if (ctx.netns) enterNetns(ctx.netns);
            synced = true;
            await manager.start(vmi, ctx, { consoleSocket });
            // QEMU runs, confined: what the launcher needed root's capabilities for is done.
            await dropLauncherPrivileges(log);
            return;
          }
          case 'pause':
            return manager.pause();
          case 'unpause':
            return manager.unpause();
          case 'shutdown':
            return manager.shutdown(cmd.shutdown!.gracePeriodSeconds);
          case 'kill':
            return manager.kill();
          case 'softReboot':
            return { message: await manager.softReboot() };
          case 'reset':
            return manager.reset();
          case 'attachVolume': {
            const a = cmd.attachVolume!;
            const volume = await manager.attachDisk({ disk: JSON.parse(a.diskJson) as Disk, volume: JSON.parse(a.volumeJson) as Volume, prepared: decodePreparedVolume('attachVolume.prepared', a.prepared) });
            return { volume };
          }
          case 'detachVolume': {
            const d = cmd.detachVolume!;
            return manager.detachDisk(d.name, d.timeoutSeconds ? d.timeoutSeconds * 1000 : undefined);
          }
          case 'resizeVolume':
            return manager.resizeDisk(cmd.resizeVolume!.name, Number(cmd.resizeVolume!.sizeBytes));
          case 'stats':
            return { stats: await manager.stats(cmd.stats!.guestStatsIntervalSeconds) };
          case 'guestAgent':
          case 'freeze':
          case 'unfreeze':
            return agentCommand(manager, cmd);
          case 'screenshot':
            return { screenshotPng: await manager.screenshot() };
          default:
            throw new VirtnodeError('VN_PROTOCOL', `unknown command ${String(cmd.op)}`);
        }
      },
    },
  });

  manager.on('agent', (a) => session.setAgentStatus(agentStatusMessage(a)));

  manager.on('state', (c) => {
    const final = isFinal(c.state);
    session.emit({ state: c.state, reason: c.reason, message: c.message, qemuPid: c.qemuPid, accelerator: c.accelerator, interfaces: c.interfaces, resolved: c.resolved, final });
    if (final) void finish(0);
  });

  let finishing = false;
  const finish = async (code: number): Promise<void> => {
    if (finishing) return;
    finishing = true;
    await manager.exited();
    await manager.close();
    const acked = await session.allAcked(FINAL_ACK_TIMEOUT_MS);
    if (!acked) log.error('the handler did not acknowledge the final state; exiting anyway');
    session.close();
    log.info('launcher exiting');
    process.exit(code);
  };

  // kubelet (or a user) stopping the launcher: shut the guest down first, as
  // virt-launcher does on SIGTERM.
  process.on('SIGTERM', () => {
    if (manager.defined && !isFinal(manager.state)) manager.shutdown(30).catch(() => manager.kill());
    else void finish(0);
  });
  process.on('SIGINT', () => void manager.kill().catch(() => undefined).then(() => finish(0)));

  session.start();
  log.info('launcher started; waiting for the handler');
  setTimeout(() => {
    if (!synced) {
      log.error({ timeoutMs: SYNC_TIMEOUT_MS }, 'no VMI received from the handler; exiting');
      void finish(1);
    }
  }, SYNC_TIMEOUT_MS).unref();
}

main().catch((e) => {
  process.stderr.write(`virtnode-launcher: ${errorMessage(e)}\n`);
  process.exit(1);
});
