#!/usr/bin/env node
// virtnode: the node-local CLI, kubectl's and virtctl's verbs against the
// handler's root-only socket.
//
// A `get` must start in little more than a bare `node` (test/bench/cli-start.ts
// measures it), so each verb loads what it needs when it needs it: unary calls go
// through unary.ts (its own small HTTP/2 and protobuf code); grpc-js (client.ts)
// is loaded only by the verbs that follow a stream (`-w`, `--wait`, `events`,
// `console`), and yaml only for YAML output.

import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { HandlerClient } from './client.js';
import { connectUnary, DEFAULT_SOCKET, type UnaryClient } from './unary.js';
import { EVENT_HEADERS, eventRow, table, vmRows, vmiRows } from './format.js';
import { getTemplates, templateKinds } from './instancetypes.js';
import { getClaims, isClaimWord } from './claims.js';
import { isVirtnodeError, errorMessage } from '../../proto/errors.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { KubeEvent } from '../store/store.js';
import type { ApplyResponse__Output } from '../../proto/generated/virtnode/handler/v1/ApplyResponse.js';
import type { ListResponse__Output } from '../../proto/generated/virtnode/handler/v1/ListResponse.js';
import type { Object__Output } from '../../proto/generated/virtnode/handler/v1/Object.js';
import type { OperationResponse__Output } from '../../proto/generated/virtnode/handler/v1/OperationResponse.js';
import type { DomainStats__Output } from '../../proto/generated/virtnode/handler/v1/DomainStats.js';
import type { NodeInfo__Output } from '../../proto/generated/virtnode/handler/v1/NodeInfo.js';
import type { ListImagesResponse__Output } from '../../proto/generated/virtnode/handler/v1/ListImagesResponse.js';
import type { WatchEvent__Output } from '../../proto/generated/virtnode/handler/v1/WatchEvent.js';

const USAGE = `virtnode — VMs on this node, the KubeVirt way

usage: virtnode [--socket PATH] [-n NAMESPACE] <command> [args]

  apply -f FILE|-  [--dry-run] [--wait]   create or update VirtualMachines / VMIs,
                                 instance types and preferences (instancetype.kubevirt.io)
  get vms|vmis [NAME] [-o wide|yaml|json] [-A] [-w]
  get pvc [NAME] [-o yaml|json] [-A]   PersistentVolumeClaims (v1), provisioned in the storage dir
  get instancetypes|preferences [NAME] [-o yaml|json]
                                 the common ones (kubevirt/common-instancetypes) and any applied;
                                 also vmcf, vmf, vmcp, vmp, controllerrevisions
  delete vm|vmi NAME [--grace-period N] [--wait]    (or: delete -f FILE; also pvc|vmcf|vmf|vmcp|vmp NAME)
  start NAME                     start a VirtualMachine
  stop NAME [--grace-period N] [--force]
  restart NAME
  pause NAME | unpause NAME      (also: pause vm NAME, pause vmi NAME)
  soft-reboot NAME               reboot the guest: through its agent when it answers, else the ACPI
                                 power button with its poweroff made a reset (the answer says which)
  reset NAME                     hard reset
  addvolume NAME --volume-name=N --path=FILE [--type Disk|DiskOrCreate --capacity Q] [--shared]
            [--disk-type disk] [--bus scsi] [--serial S] [--cache none|writethrough|writeback]
            [--persist] [--dry-run]
                                 hot-plug a hostDisk into a running VMI (virtctl addvolume);
                                 --persist: the VM's template keeps it too
  removevolume NAME --volume-name=N [--persist] [--dry-run]
                                 hot-unplug a volume added by addvolume
  console NAME [--force]         serial console; Ctrl-] detaches; --force takes it over from another client
  logs NAME                      the serial console log (devices.logSerialConsole, bounded)
  vnc NAME [--port N] [--proxy-only]
                                 the VNC display on 127.0.0.1 for a viewer (started if one is on PATH)
  screenshot NAME -o FILE        the guest's screen as PNG
  describe vm|vmi NAME           status, conditions and events, like kubectl describe
  events [-w] [NAME]             node events, like kubectl get events
  images                         containerDisk images on this node
  node [-o json|yaml]           this node: accelerator, CPU, QEMU capabilities, capacity, labels
  stats NAME [-o json|yaml]      a running VMI's CPU, memory, disk and network counters
  guestosinfo NAME | fslist NAME | userlist NAME
                                 what the guest agent answers now (kubevirt.io/v1 JSON)
  freeze NAME [--unfreeze-timeout 5m] | unfreeze NAME
                                 freeze (thaw) the guest's filesystems through its agent;
                                 thawed by itself after the timeout (0: never)

Socket: ${DEFAULT_SOCKET} (or $VIRTNODE_SOCKET)`;

interface Args {
  positional: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(['-f', '--filename', '-o', '--output', '-n', '--namespace', '--socket', '--grace-period', '--timeout', '--volume-name', '--disk-name', '--path', '--type', '--capacity', '--disk-type', '--bus', '--serial', '--cache', '--unfreeze-timeout', '--port']);

/**
 * virtctl addvolume's flags as an AddVolumeOptions with a hostDisk source: the disk
 * takes the volume's name (or --disk-name), its serial defaults to that name, as
 * virtctl's does; the handler judges the rest.
 */
function addVolumeOptions(a: { flags: Map<string, string | true> }): Record<string, unknown> {
  const get = (n: string): string | undefined => {
    const v = a.flags.get(n);
    if (v === true) throw new Error(`${n} needs a value`);
    return v;
  };
  const volumeName = get('--volume-name');
  if (!volumeName) throw new Error('addvolume needs --volume-name=NAME');
  const path = get('--path');
  if (!path) throw new Error('addvolume needs --path=FILE: the hostDisk file (beneath a --host-disk-root of the handler)');
  const name = get('--disk-name') ?? volumeName;
  const diskType = get('--disk-type') ?? 'disk';
  if (diskType !== 'disk' && diskType !== 'lun') throw new Error(`Invalid disk type '${diskType}'. Only LUN and Disk are supported.`);
  const bus = get('--bus') ?? 'scsi';
  const cache = get('--cache');
  const type = get('--type') ?? (a.flags.has('--capacity') ? 'DiskOrCreate' : 'Disk');
  const capacity = get('--capacity');
  return {
    name,
    disk: { name, [diskType]: { bus }, serial: get('--serial') ?? name, ...(cache !== undefined ? { cache } : {}) },
    volumeSource: { hostDisk: { path, type, ...(capacity !== undefined ? { capacity } : {}), ...(a.flags.has('--shared') ? { shared: true } : {}) } },
  };
}

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(0, eq), a.slice(eq + 1));
      else if (VALUE_FLAGS.has(a)) {
        const v = argv[++i];
        if (v === undefined) throw new Error(`${a} needs a value`);
        flags.set(a, v);
      } else flags.set(a, true);
    } else positional.push(a);
  }
  return { positional, flags };
}

function flag(a: Args, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = a.flags.get(n);
    if (typeof v === 'string') return v;
  }
  return undefined;
}

function has(a: Args, ...names: string[]): boolean {
  return names.some((n) => a.flags.has(n));
}

const out = (s: string): boolean => process.stdout.write(s);

function readManifest(file: string): string {
  return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
}

/** The object name of a verb, accepting virtctl's optional kind word: `pause vm NAME`. */
function target(a: Args, verb: string): string {
  const p = a.positional.slice(1);
  const name = p.length >= 2 && /^(vm|vmi|virtualmachine|virtualmachineinstance)s?$/i.test(p[0]!) ? p[1] : p[0];
  if (!name) throw new Error(`${verb} needs a name: virtnode ${verb} NAME`);
  return name;
}

function kindOf(word: string): string {
  const w = word.toLowerCase();
  if (/^(vm|vms|virtualmachine|virtualmachines)$/.test(w)) return 'VirtualMachine';
  if (/^(vmi|vmis|virtualmachineinstance|virtualmachineinstances)$/.test(w)) return 'VirtualMachineInstance';
  const t = templateKinds(w);
  if (t?.length === 1) return t[0]!;
  if (isClaimWord(w)) return 'PersistentVolumeClaim';
  throw new Error(`unknown resource "${word}": use vms, vmis, pvc, instancetypes, preferences (or vmcf, vmf, vmcp, vmp)`);
}

const isVMKind = (k: string): boolean => k === 'VirtualMachine' || k === 'VirtualMachineInstance';

async function toYaml(value: unknown): Promise<string> {
  const { stringify } = await import('yaml');
  return stringify(value);
}

async function printObjects(objs: (VirtualMachine | VirtualMachineInstance)[], kind: string, output: string | undefined, allNs: boolean, single: boolean): Promise<void> {
  if (output === 'json') {
    out(JSON.stringify(single ? objs[0] : { apiVersion: 'v1', kind: 'List', items: objs }, null, 2) + '\n');
  } else if (output === 'yaml') {
    out(await toYaml(single ? objs[0] : { apiVersion: 'v1', kind: 'List', items: objs }));
  } else if (kind === 'VirtualMachine') {
    out(vmRows(objs as VirtualMachine[], allNs));
  } else {
    out(vmiRows(objs as VirtualMachineInstance[], output === 'wide', allNs));
  }
}

/**
 * Whether the command follows a Watch or Console stream. Those run on grpc-js's
 * client (client.ts); every other command makes unary calls only.
 */
function needsStreams(a: Args): boolean {
  const [verb, what] = a.positional;
  if (verb === 'console' || verb === 'vnc' || verb === 'events' || verb === 'describe' || has(a, '--wait')) return true;
  return verb === 'get' && (has(a, '-w', '--watch') || /^events?$/.test(what ?? ''));
}

/** The grpc-js client of a command that needsStreams. */
function streaming(c: UnaryClient): HandlerClient {
  if (!('node' in c)) throw new Error('internal error: a stream on the unary client');
  return c as HandlerClient;
}

async function watch(c: HandlerClient, req: { kinds?: string[]; namespace?: string; name?: string; sinceSeq?: number }, onEvent: (e: WatchEvent__Output) => void): Promise<void> {
  const { serverError } = await import('./client.js');
  return new Promise((resolve, reject) => {
    const stream: grpc.ClientReadableStream<WatchEvent__Output> = c.node.Watch(req, c.md());
    stream.on('data', onEvent);
    stream.on('error', (e) => {
      if ((e as grpc.ServiceError).code === 1) resolve(); // cancelled by us
      else reject(serverError(e));
    });
    stream.on('end', () => resolve());
    process.once('SIGINT', () => stream.cancel());
  });
}

async function waitFor(c: HandlerClient, ns: string, name: string, done: (vm: VirtualMachine | undefined, vmi: VirtualMachineInstance | undefined) => boolean, timeoutMs: number): Promise<void> {
  const { serverError } = await import('./client.js');
  const seen: { vm?: VirtualMachine; vmi?: VirtualMachineInstance } = {};
  let lastProgress = '';
  await new Promise<void>((resolve, reject) => {
    const stream = c.node.Watch({ namespace: ns, name, kinds: ['vm', 'vmi', 'ImagePull'] }, c.md());
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`timed out after ${timeoutMs / 1000}s waiting for ${name}`));
    }, timeoutMs);
    let snapshotDone = false;
    const check = (): void => {
      let finished: boolean;
      try {
        finished = snapshotDone && done(seen.vm, seen.vmi);
      } catch (e) {
        // The condition says it never will be met (a Failed VMI): one clear line, not a stack.
        clearTimeout(timer);
        stream.cancel();
        reject(e);
        return;
      }
      if (finished) {
        clearTimeout(timer);
        stream.cancel();
        resolve();
      }
    };
    stream.on('data', (e: WatchEvent__Output) => {
      if (e.type === 'SNAPSHOT_END') {
        snapshotDone = true;
        check();
        return;
      }
      if (e.type === 'PROGRESS') {
        const p = JSON.parse(e.json) as { image: string; bytesDone: number; bytesTotal: number };
        const pct = p.bytesTotal ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 0;
        const line = `pulling ${p.image}: ${pct}% (${(p.bytesDone / 1048576).toFixed(1)}/${(p.bytesTotal / 1048576).toFixed(1)} MiB)`;
        if (line !== lastProgress && process.stderr.isTTY) process.stderr.write(`\r${line}`);
        lastProgress = line;
        return;
      }
      const o = JSON.parse(e.json) as VirtualMachine | VirtualMachineInstance;
      if (e.kind === 'VirtualMachine') seen.vm = e.type === 'DELETED' ? undefined : (o as VirtualMachine);
      if (e.kind === 'VirtualMachineInstance') seen.vmi = e.type === 'DELETED' ? undefined : (o as VirtualMachineInstance);
      check();
    });
    stream.on('error', (e) => {
      if ((e as grpc.ServiceError).code === 1) return;
      clearTimeout(timer);
      reject(serverError(e));
    });
  });
  if (lastProgress && process.stderr.isTTY) process.stderr.write('\n');
}

async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  const verb = a.positional[0];
  if (!verb || has(a, '-h', '--help') || verb === 'help') {
    out(USAGE + '\n');
    return verb ? 0 : 2;
  }
  const ns = flag(a, '-n', '--namespace') ?? 'default';
  const allNs = has(a, '-A', '--all-namespaces');
  const socket = flag(a, '--socket');
  const c: UnaryClient = needsStreams(a) ? await (await import('./client.js')).connectHandler({ socket }) : await connectUnary({ socket });
  try {
    switch (verb) {
      case 'apply':
      case 'create': {
        const file = flag(a, '-f', '--filename');
        if (!file) throw new Error('apply needs -f FILE (or -f - for stdin)');
        const res = await c.call<unknown, ApplyResponse__Output>('Apply', { manifest: readManifest(file), dryRun: has(a, '--dry-run') });
        for (const w of res.warnings) process.stderr.write(`Warning: ${w}\n`);
        for (const r of res.results) out(r + '\n');
        if (has(a, '--wait')) {
          for (const o of res.objects) {
            if (!isVMKind(o.kind)) continue;
            const obj = JSON.parse(o.json) as VirtualMachine | VirtualMachineInstance;
            await waitFor(streaming(c), obj.metadata.namespace ?? ns, obj.metadata.name, (vm, vmi) => {
              if (vmi?.status?.phase === 'Failed') throw new Error(`${obj.metadata.name} failed: ${vmi.status.reason ?? ''}`);
              return vmi?.status?.phase === 'Running' || (vm !== undefined && vm.spec.runStrategy === 'Halted');
            }, Number(flag(a, '--timeout') ?? 300) * 1000);
            out(`${obj.metadata.name} is running\n`);
          }
        }
        return 0;
      }
      case 'get': {
        const what = a.positional[1];
        if (!what) throw new Error('get needs a resource: vms or vmis');
        if (/^events?$/.test(what)) return await events(streaming(c), a, ns);
        const tk = templateKinds(what);
        if (tk) return await getTemplates(c, tk, a.positional[2], flag(a, '-o', '--output'), ns, allNs, out);
        if (isClaimWord(what)) return await getClaims(c, a.positional[2], flag(a, '-o', '--output'), ns, allNs, out);
        const kind = kindOf(what);
        const name = a.positional[2];
        const output = flag(a, '-o', '--output');
        const render = async (): Promise<void> => {
          if (name) {
            const o = await c.call<unknown, Object__Output>('Get', { kind, namespace: ns, name });
            await printObjects([JSON.parse(o.json)], kind, output, false, true);
          } else {
            const l = await c.call<unknown, ListResponse__Output>('List', { kind, namespace: allNs ? '' : ns });
            const objs = l.objects.map((o) => JSON.parse(o.json));
            if (objs.length === 0 && !output) out(`No resources found${allNs ? '' : ` in ${ns} namespace`}.\n`);
            else await printObjects(objs, kind, output, allNs, false);
          }
        };
        await render();
        if (has(a, '-w', '--watch')) {
          await watch(streaming(c), { kinds: [kind], namespace: allNs ? '' : ns, name: name ?? '', sinceSeq: 0 }, (e) => {
            if (e.type === 'ADDED' || e.type === 'SNAPSHOT_END') return;
            const o = JSON.parse(e.json);
            const text = kind === 'VirtualMachine' ? vmRows([o], allNs) : vmiRows([o], output === 'wide', allNs);
            out(text.split('\n').slice(1).join('\n'));
          });
        }
        return 0;
      }
      case 'delete': {
        const file = flag(a, '-f', '--filename');
        const grace = flag(a, '--grace-period');
        const refs: { kind: string; name: string; namespace: string }[] = [];
        if (file) {
          const { parseManifests } = await import('../../proto/vmi/index.js');
          for (const o of parseManifests(readManifest(file)).objects) refs.push({ kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace ?? ns });
        } else {
          if (a.positional.length < 3) throw new Error('delete needs: delete vm|vmi NAME, or delete -f FILE');
          refs.push({ kind: kindOf(a.positional[1]!), name: a.positional[2]!, namespace: ns });
        }
        for (const r of refs) {
          const res = await c.call<unknown, OperationResponse__Output>('Delete', { ref: r, gracePeriodSeconds: grace !== undefined ? Number(grace) : -1 });
          out(res.message + '\n');
          if (has(a, '--wait') && isVMKind(r.kind)) await waitFor(streaming(c), r.namespace, r.name, (vm, vmi) => (r.kind === 'VirtualMachine' ? !vm : !vmi), Number(flag(a, '--timeout') ?? 300) * 1000);
        }
        return 0;
      }
      case 'start':
      case 'stop':
      case 'restart':
      case 'pause':
      case 'unpause':
      case 'soft-reboot':
      case 'reset': {
        const name = target(a, verb);
        const grace = flag(a, '--grace-period');
        const method = ({ start: 'Start', stop: 'Stop', restart: 'Restart', pause: 'Pause', unpause: 'Unpause', 'soft-reboot': 'SoftReboot', reset: 'Reset' } as const)[verb];
        const res = await c.call<unknown, OperationResponse__Output>(method, { namespace: ns, name, gracePeriodSeconds: grace !== undefined ? Number(grace) : -1, force: has(a, '--force') });
        out(res.message + '\n');
        return 0;
      }
      case 'addvolume':
      case 'removevolume': {
        const name = target(a, verb);
        const persist = has(a, '--persist');
        const dryRun = has(a, '--dry-run');
        const res =
          verb === 'addvolume'
            ? await c.call<unknown, OperationResponse__Output>('AddVolume', { namespace: ns, name, optionsJson: JSON.stringify(addVolumeOptions(a)), persist, dryRun })
            : await c.call<unknown, OperationResponse__Output>('RemoveVolume', {
                namespace: ns,
                name,
                volumeName:
                  flag(a, '--volume-name') ??
                  (() => {
                    throw new Error('removevolume needs --volume-name=NAME');
                  })(),
                persist,
                dryRun,
              });
        out(res.message + '\n');
        return 0;
      }
      case 'console': {
        const { runConsole } = await import('./console.js');
        return await runConsole(streaming(c), ns, target(a, verb), has(a, '--force'));
      }
      case 'logs':
        return await (await import('./guest-output.js')).runLogs(c, ns, target(a, verb));
      case 'vnc': {
        const port = flag(a, '--port');
        return await (await import('./vnc.js')).runVnc(streaming(c), ns, target(a, verb), { port: port === undefined ? undefined : Number(port), proxyOnly: has(a, '--proxy-only') });
      }
      case 'screenshot':
        return await (await import('./guest-output.js')).runScreenshot(c, ns, target(a, verb), flag(a, '-o', '--output'));
      case 'events':
        return await events(streaming(c), a, ns);
      case 'describe': {
        const what = a.positional[1];
        const name = a.positional[2];
        if (!what || !name) throw new Error('describe needs: describe vm|vmi NAME');
        const kind = kindOf(what);
        const o = await c.call<unknown, Object__Output>('Get', { kind, namespace: ns, name });
        const evs = (await replayEvents(streaming(c), ns, name)).filter((e) => e.involvedObject.kind === kind);
        const { describeVm, describeVmi } = await import('./describe.js');
        out(kind === 'VirtualMachine' ? describeVm(JSON.parse(o.json), evs) : describeVmi(JSON.parse(o.json), evs));
        return 0;
      }
      case 'images': {
        const res = await c.call<unknown, ListImagesResponse__Output>('ListImages', {});
        out(
          table(
            ['IMAGE', 'DIGEST', 'SIZE', 'VMS'],
            res.images.map((i) => [i.reference, i.digest.slice(0, 19), `${(Number(i.sizeBytes) / 1048576).toFixed(1)}Mi`, String(i.users)]),
          ),
        );
        return 0;
      }
      case 'stats': {
        const name = target(a, verb);
        const s = await c.call<unknown, DomainStats__Output>('GetDomainStats', { namespace: ns, name });
        const output = flag(a, '-o', '--output');
        if (output === 'json') out(JSON.stringify(s, null, 2) + '\n');
        else if (output === 'yaml') out(await toYaml(s));
        else if (output) throw new Error(`stats: -o ${output}: use json or yaml`);
        else out((await import('./stats.js')).formatDomainStats(s));
        return 0;
      }
      case 'guestosinfo':
      case 'fslist':
      case 'userlist':
      case 'freeze':
      case 'unfreeze': {
        const { runAgentVerb } = await import('./agent.js');
        out(await runAgentVerb(c, verb, ns, target(a, verb), { unfreezeTimeout: flag(a, '--unfreeze-timeout') }));
        return 0;
      }
      case 'node': {
        const n = await c.call<unknown, NodeInfo__Output>('GetNodeInfo', {});
        const doc = { nodeName: n.nodeName, mode: n.mode, version: n.version, protocolVersion: n.protocolVersion, allowEmulation: n.allowEmulation, ...(n.infoJson ? (JSON.parse(n.infoJson) as object) : { accelerators: n.acceleratorJson ? JSON.parse(n.acceleratorJson) : undefined }) };
        const output = flag(a, '-o', '--output');
        if (output === 'json') out(JSON.stringify(doc, null, 2) + '\n');
        else if (output && output !== 'yaml') throw new Error(`node: -o ${output}: use json or yaml`);
        else out(await toYaml(doc));
        return 0;
      }
      default:
        process.stderr.write(`unknown command "${verb}"\n\n${USAGE}\n`);
        return 2;
    }
  } finally {
    c.close();
  }
}

/** The events the handler still holds of `name` in `ns`, oldest first. */
async function replayEvents(c: HandlerClient, ns: string, name: string): Promise<KubeEvent[]> {
  const { serverError } = await import('./client.js');
  const got: KubeEvent[] = [];
  await new Promise<void>((resolve, reject) => {
    const stream = c.node.Watch({ kinds: ['Event'], namespace: ns, name, fromOldest: true }, c.md());
    let idle: NodeJS.Timeout | undefined;
    // The replay ends where live changes would begin: no message for a moment.
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => stream.cancel(), 150);
    };
    arm();
    stream.on('data', (e: WatchEvent__Output) => {
      if (e.type === 'EVENT') got.push(JSON.parse(e.json) as KubeEvent);
      arm();
    });
    stream.on('error', (e) => {
      clearTimeout(idle);
      const code = (e as grpc.ServiceError).code;
      if (code === 1 || code === 11) resolve();
      else reject(serverError(e));
    });
    stream.on('end', () => resolve());
  });
  return got;
}

async function events(c: HandlerClient, a: Args, ns: string): Promise<number> {
  const { serverError } = await import('./client.js');
  const name = a.positional[0] === 'events' ? a.positional[1] : a.positional[2];
  const follow = has(a, '-w', '--watch');
  const rows: string[][] = [];
  let header = false;
  // Events are kept in the handler's journal: replay what it still holds, then follow.
  await new Promise<void>((resolve, reject) => {
    const stream = c.node.Watch({ kinds: ['Event'], namespace: ns, name: name ?? '', fromOldest: true }, c.md());
    let idle: NodeJS.Timeout | undefined;
    const flush = (): void => {
      if (!header) {
        out(table(EVENT_HEADERS, rows));
        header = true;
      } else if (rows.length) out(table(EVENT_HEADERS, rows).split('\n').slice(1).join('\n'));
      rows.length = 0;
    };
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        flush();
        if (!follow) stream.cancel();
      }, 150);
    };
    arm();
    stream.on('data', (e: WatchEvent__Output) => {
      if (e.type !== 'EVENT') return;
      rows.push(eventRow(JSON.parse(e.json) as KubeEvent));
      if (header) flush();
      else arm();
    });
    stream.on('error', (e) => {
      clearTimeout(idle);
      if ((e as grpc.ServiceError).code === 1) resolve();
      else if ((e as grpc.ServiceError).code === 11) {
        // OUT_OF_RANGE: the journal moved on; follow from now.
        resolve();
      } else reject(serverError(e));
    });
    stream.on('end', () => resolve());
    process.once('SIGINT', () => stream.cancel());
  });
  return 0;
}

/**
 * Exits once stdout and stderr have taken everything written: on a pipe their
 * writes are asynchronous, and process.exit() at once cut output at 64 KiB.
 */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

let settled = false;
// A call that never answers leaves nothing for the event loop to wait on: without
// this the CLI exited 0, having printed nothing.
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  process.stderr.write('error: the handler did not answer\n');
  exitAfterFlush(1);
});

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    exitAfterFlush(code);
  },
  (e) => {
    settled = true;
    const msg = errorMessage(e);
    if (isVirtnodeError(e) && e.code === 'VN_INVALID_SPEC') process.stderr.write(`error: the object is invalid: ${msg}\n`);
    else process.stderr.write(`error: ${msg}\n`);
    exitAfterFlush(1);
  },
);
