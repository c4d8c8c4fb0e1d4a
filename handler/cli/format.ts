// Human output for the CLI: kubectl-style tables and ages.

import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import { launcherPid, qemuPid, vmiAccelerator } from '../../proto/vmi/annotations.js';
import type { KubeEvent } from '../store/store.js';

/** kubectl's age: 45s, 3m12s, 2h5m, 4d. */
export function age(from: string | undefined, now = Date.now()): string {
  if (!from) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(from)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d`;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function vmiRows(vmis: VirtualMachineInstance[], wide: boolean, allNamespaces: boolean): string {
  const headers = [...(allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'AGE', 'PHASE', 'IP', 'NODENAME', 'READY', ...(wide ? ['ACCEL', 'LAUNCHER', 'QEMU', 'REASON'] : [])];
  const rows = vmis.map((v) => {
    const ready = v.status?.conditions.find((c) => c.type === 'Ready')?.status === 'True';
    const paused = v.status?.conditions.find((c) => c.type === 'Paused')?.status === 'True';
    return [
      ...(allNamespaces ? [v.metadata.namespace ?? 'default'] : []),
      v.metadata.name,
      age(v.metadata.creationTimestamp),
      v.metadata.deletionTimestamp ? 'Terminating' : (v.status?.phase ?? 'Pending') + (paused ? ' (Paused)' : ''),
      v.status?.interfaces?.[0]?.ipAddress ?? '',
      v.status?.nodeName ?? '',
      ready ? 'True' : 'False',
      ...(wide ? [vmiAccelerator(v) ?? '', String(launcherPid(v) ?? ''), String(qemuPid(v) ?? ''), v.status?.reason ?? ''] : []),
    ];
  });
  return table(headers, rows);
}

export function vmRows(vms: VirtualMachine[], allNamespaces: boolean): string {
  const headers = [...(allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'AGE', 'STATUS', 'READY'];
  const rows = vms.map((v) => [
    ...(allNamespaces ? [v.metadata.namespace ?? 'default'] : []),
    v.metadata.name,
    age(v.metadata.creationTimestamp),
    v.status?.printableStatus ?? 'Stopped',
    v.status?.ready ? 'True' : 'False',
  ]);
  return table(headers, rows);
}

export const EVENT_HEADERS = ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];

export function eventRow(e: KubeEvent): string[] {
  const kind = e.involvedObject.kind === 'VirtualMachine' ? 'virtualmachine' : 'virtualmachineinstance';
  return [age(e.lastTimestamp), e.type, e.reason, `${kind}/${e.involvedObject.name}`, e.message];
}
