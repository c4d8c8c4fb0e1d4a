// `virtnode describe vm|vmi NAME`: kubectl describe's layout for a VM or a VMI — its
// metadata, the kubevirt.io/v1 status fields by their KubeVirt names, conditions as a
// table, and the object's events last.

import { launcherPid, qemuPid, vmiAccelerator } from '../../proto/vmi/annotations.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { KubeEvent } from '../store/store.js';
import { EVENT_HEADERS, eventRow, table } from './format.js';

type Line = [label: string, value: string | number | undefined] | string;

/** Label/value lines at two-space indents, kubectl's way; nested blocks as plain strings. */
function block(lines: Line[]): string {
  const pairs = lines.filter((l): l is [string, string | number | undefined] => typeof l !== 'string');
  const width = Math.max(0, ...pairs.map(([l]) => l.length + 1)) + 2;
  return lines
    .map((l) => (typeof l === 'string' ? l : `${`${l[0]}:`.padEnd(width)}${l[1] ?? '<none>'}`))
    .join('\n');
}

function map(m: Record<string, string> | undefined, indent: number): string {
  const entries = Object.entries(m ?? {});
  if (entries.length === 0) return '<none>';
  return entries.map(([k, v], i) => `${i ? ' '.repeat(indent) : ''}${k}=${v}`).join('\n');
}

function conditions(conds: { type: string; status: string; reason?: string; message?: string }[] | undefined): string {
  if (!conds?.length) return '  <none>';
  return table(['Type', 'Status', 'Reason', 'Message'], conds.map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']))
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

function events(evs: KubeEvent[]): string {
  if (!evs.length) return 'Events:  <none>';
  return `Events:\n${table(EVENT_HEADERS, evs.map(eventRow)).trimEnd().split('\n').map((l) => `  ${l}`).join('\n')}`;
}

export function describeVmi(v: VirtualMachineInstance, evs: KubeEvent[]): string {
  const st = v.status;
  const ifaces = (st?.interfaces ?? []).map((i) => `  ${i.name ?? ''}: ${i.ipAddress ?? '<no address>'}${i.mac ? ` mac ${i.mac}` : ''}${i.infoSource ? ` (${i.infoSource})` : ''}`);
  const volumes = (st?.volumeStatus ?? []).map((s) => `  ${s.name}: ${s.target ?? ''}${s.size !== undefined ? `, ${s.size} bytes` : ''}`);
  const topo = st?.currentCPUTopology;
  return (
    block([
      ['Name', v.metadata.name],
      ['Namespace', v.metadata.namespace ?? 'default'],
      ['UID', v.metadata.uid],
      ['Labels', map(v.metadata.labels, 14)],
      ['Annotations', map(v.metadata.annotations, 14)],
      ['Created', v.metadata.creationTimestamp],
      ['Phase', `${st?.phase ?? 'Pending'}${st?.reason ? ` (${st.reason})` : ''}`],
      ['Node', st?.nodeName],
      ['Machine', st?.machine?.type],
      ['CPU topology', topo ? `${topo.sockets} sockets, ${topo.cores} cores, ${topo.threads} threads` : undefined],
      ['Memory', st?.memory ? `requested ${st.memory.guestRequested ?? '?'}, at boot ${st.memory.guestAtBoot ?? '?'}, now ${st.memory.guestCurrent ?? '?'}` : undefined],
      ['QoS class', st?.qosClass],
      ['Accelerator', vmiAccelerator(v)],
      ['Launcher pid', launcherPid(v)],
      ['QEMU pid', qemuPid(v)],
      ifaces.length ? 'Interfaces:' : ['Interfaces', undefined],
      ...ifaces,
      volumes.length ? 'Volumes:' : ['Volumes', undefined],
      ...volumes,
      'Conditions:',
      conditions(st?.conditions),
    ]) + `\n${events(evs)}\n`
  );
}

export function describeVm(v: VirtualMachine, evs: KubeEvent[]): string {
  const st = v.status;
  const failure = st?.startFailure;
  return (
    block([
      ['Name', v.metadata.name],
      ['Namespace', v.metadata.namespace ?? 'default'],
      ['UID', v.metadata.uid],
      ['Labels', map(v.metadata.labels, 14)],
      ['Annotations', map(v.metadata.annotations, 14)],
      ['Created', v.metadata.creationTimestamp],
      ['Status', st?.printableStatus],
      ['Ready', String(st?.ready ?? false)],
      ['Run strategy', st?.runStrategy ?? v.spec.runStrategy],
      ['Generation', st ? `desired ${st.desiredGeneration ?? '?'}, observed ${st.observedGeneration ?? '?'}` : undefined],
      ['Start failure', failure ? `${failure.consecutiveFailCount} in a row, retry after ${failure.retryAfterTimestamp}` : undefined],
      'Conditions:',
      conditions(st?.conditions),
    ]) + `\n${events(evs)}\n`
  );
}
