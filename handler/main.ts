#!/usr/bin/env node
// virtnode-handler: the per-node daemon. Wires the store, the controllers, the
// image service and the API together; owns nothing a VM needs to keep running,
// so stopping or upgrading it never disturbs a guest.

import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { loadConfig, type HandlerConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { Store } from './store/store.js';
import { ImageService } from './images/index.js';
import { detectCgroups, type CgroupLayout } from './sandbox/cgroup.js';
import { VmiController } from './controller/vmi.js';
import { VmController } from './controller/vm.js';
import { startApiServer } from './api/server.js';
import { PodNetworking } from './network/index.js';
import { VmStateDirs } from './sandbox/device-state.js';
import { HostDisks } from './hostdisk/host-disks.js';
import { Claims } from './storage/claims.js';
import { LauncherPool } from './sandbox/pool.js';
import { standaloneSandboxes } from './sandbox/sandbox.js';
import { chooseAccelerator, probeNode } from './accelerator.js';
import type { AcceleratorChoice } from '../proto/accelerator.js';
import { PROTOCOL_VERSIONS } from '../proto/rpc.js';
import { errorMessage } from '../proto/errors.js';
import { VERSION } from '../proto/version.js';
import type { VirtualMachineInstance } from '../proto/vmi/types.js';
import { StatsService } from './metrics/stats-service.js';
import { nodeInfo } from './node-info.js';
import { cgroupLimits } from './controller/vmi-prepare.js';
import type { AcceleratorReport } from '../proto/accelerator.js';
import { startMetricsServer, type MetricsServer } from './metrics/http.js';
import { parseListenAddress } from './config.js';

export interface Handler {
  cfg: HandlerConfig;
  /** The port /metrics listens on, when --metrics-listen asked for it. */
  metricsPort?: number;
  store: Store;
  vmis: VmiController;
  vms: VmController;
  stop(): Promise<void>;
}

export async function startHandler(cfg: HandlerConfig, log: Logger): Promise<Handler> {
  process.umask(0o077);
  const store = await Store.open(join(cfg.stateDir, 'store'), { host: cfg.nodeName });
  store.on('writeError', (e: unknown, c: { seq: number; kind: string }) => log.error({ err: errorMessage(e), seq: c.seq, kind: c.kind }, 'writing desired state to disk failed'));
  let cgroups: CgroupLayout | undefined;
  try {
    cgroups = detectCgroups({ root: cfg.cgroupRoot });
  } catch (e) {
    log.warn({ err: errorMessage(e) }, 'no usable cgroups: VMs run without resource limits');
  }
  const images = new ImageService({
    stateDir: join(cfg.stateDir, 'images'),
    mirrors: cfg.registryMirrors,
    logger: log.child({ component: 'images' }),
  });
  await images.init();
  // The pod network (standalone: the handler is the CNI): bridge and NAT first, so
  // a VM that starts finds them.
  const network = await PodNetworking.open({ stateDir: join(cfg.stateDir, 'network'), node: cfg.network, log: log.child({ component: 'network' }) });
  await network.ensureNode();

  // Once, at start, in a child process: the verdict holds for the node.
  const report = probeNode(cfg.launcherCommand, log);
  report.catch((e) => log.error({ err: errorMessage(e) }, 'accelerator probe failed'));
  // Chosen once: the report does not change while the handler runs.
  const choice = report.then((r) => chooseAccelerator(r, cfg.allowEmulation));
  choice.catch(() => undefined);
  let chosen: AcceleratorChoice | undefined;
  choice.then((c) => (chosen = c), () => undefined);
  const choose = (): Promise<AcceleratorChoice> => choice;

  const launcherEnv = { ...process.env, VIRTNODE_LOG_LEVEL: cfg.logLevel };
  if (cfg.insecureLauncherSocket) log.warn('insecureLauncherSocket: any root process may speak for a VMI on its launcher socket (benchmarks only)');
  let pool: LauncherPool | undefined;
  if (cfg.mode === 'standalone' && cfg.spareLaunchers > 0) {
    pool = new LauncherPool({
      command: cfg.launcherCommand,
      size: cfg.spareLaunchers,
      logFile: join(cfg.stateDir, 'spare-launchers.log'),
      env: launcherEnv,
      log: log.child({ component: 'launcher-pool' }),
    });
    pool.start();
  }

  const hostDisks = new HostDisks(cfg.hostDiskRoots);
  const vmStateDirs = new VmStateDirs(cfg.stateDir);
  const claims = new Claims(cfg.storageDir ?? join(cfg.stateDir, 'storage'), store, log.child({ component: 'storage' }));
  const progress = new EventEmitter();
  progress.setMaxListeners(0);
  const vmis = new VmiController({
    store,
    log,
    nodeName: cfg.nodeName,
    smbios: cfg.smbios,
    hostDisks,
    vmStateDirs,
    claims,
    images,
    network,
    sandboxes: standaloneSandboxes({ runRoot: cfg.runDir, stateRoot: cfg.stateDir, cgroups, launcher: { command: cfg.launcherCommand, env: launcherEnv, pool, anyRootPeer: cfg.insecureLauncherSocket } }),
    chooseAccelerator: choose,
    onPullProgress: (vmi, p) =>
      progress.emit('progress', { vmi: { namespace: vmi.metadata.namespace, name: vmi.metadata.name, uid: vmi.metadata.uid }, image: p.image, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal }),
  });
  claims.resizer = (ns, name, volume, bytes) => vmis.resizeVolume(ns, name, volume, bytes);
  const vms = new VmController({ store, log, vmis, vmStateDirs });
  await claims.start();
  await vmis.start();
  await vms.sweepDeviceState();
  vms.start();

  const stats = new StatsService({
    vmis: {
      runtimes: () => vmis.runtimes(),
      runtime: (ns, name) => vmis.runtime(ns, name),
      list: () => store.list<VirtualMachineInstance>('VirtualMachineInstance'),
    },
    nodeName: cfg.nodeName,
    log: log.child({ component: 'metrics' }),
    guestStatsIntervalSeconds: cfg.guestStatsIntervalSeconds,
  });
  let metrics: MetricsServer | undefined;
  if (cfg.metricsListen) {
    metrics = await startMetricsServer(parseListenAddress(cfg.metricsListen)!, () => stats.scrape(), log);
    log.info({ address: cfg.metricsListen, port: metrics.port }, 'metrics listening (/metrics)');
  }

  let accelJson = '';
  let probed: AcceleratorReport | undefined;
  let probeProblem: string | undefined;
  report.then(
    (r) => {
      probed = r;
      accelJson = JSON.stringify({ kvm: r.kvm, tcg: r.tcg });
    },
    (e: unknown) => (probeProblem = `the accelerator probe failed: ${errorMessage(e)}`),
  );
  // What the VMIs that have a sandbox hold: their cgroups' CPU requests and memory limits.
  const usage = (): Parameters<typeof nodeInfo>[0]['vmis'] => {
    const list = store.list<VirtualMachineInstance>('VirtualMachineInstance');
    const out = { total: list.length, running: list.filter((v) => v.status?.phase === 'Running').length, cpuMillis: 0, memoryBytes: 0 };
    if (!chosen) return out;
    for (const { vmi } of vmis.runtimes()) {
      const l = cgroupLimits(vmi, chosen);
      out.cpuMillis += l.cpuRequestMillis ?? 0;
      out.memoryBytes += l.memoryBytes ?? 0;
    }
    return out;
  };
  const api = await startApiServer(
    cfg,
    {
      store,
      vms,
      vmis,
      images,
      network,
      hostDisks,
      claims,
      progress,
      domainStats: (ns, name) => stats.domainStats(ns, name),
      computeFacts: () => chosen?.compute,
      nodeInfo: () => ({
        nodeName: cfg.nodeName,
        mode: cfg.mode,
        version: VERSION,
        acceleratorJson: accelJson,
        allowEmulation: cfg.allowEmulation,
        protocolVersion: Math.max(...PROTOCOL_VERSIONS),
        infoJson: JSON.stringify(nodeInfo({ report: probed, ...(probeProblem ? { reportProblem: probeProblem } : {}), allowEmulation: cfg.allowEmulation, vmis: usage() })),
      }),
    },
    log,
  );
  log.info({ mode: cfg.mode, node: cfg.nodeName, stateDir: cfg.stateDir, runDir: cfg.runDir, hostDiskRoots: cfg.hostDiskRoots }, 'handler started');

  return {
    cfg,
    metricsPort: metrics?.port,
    store,
    vmis,
    vms,
    async stop() {
      pool?.stop();
      await metrics?.close();
      await api.close();
      vms.stop();
      await vmis.stop();
      await store.close();
    },
  };
}

async function main(): Promise<void> {
  const cfg = loadConfig(process.argv.slice(2));
  const log = createLogger({ level: cfg.logLevel });
  const handler = await startHandler(cfg, log);
  let stopping = false;
  const shutdown = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'handler stopping; VMs keep running');
    handler.stop().then(
      () => {
        log.flush();
        process.exit(0);
      },
      (e) => {
        log.error({ err: errorMessage(e) }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    process.stderr.write(`virtnode-handler: ${errorMessage(e)}\n`);
    process.exit(1);
  });
}
