// `virtnode get pvc [NAME]`: the PersistentVolumeClaims this node provisions, as
// kubectl's table shows them (the volume is the claim's directory in the storage dir).

import type { UnaryClient } from './unary.js';
import { age, table } from './format.js';
import type { ListResponse__Output } from '../../proto/generated/virtnode/handler/v1/ListResponse.js';
import type { Object__Output } from '../../proto/generated/virtnode/handler/v1/Object.js';
import { KIND_PVC, type PersistentVolumeClaim } from '../../proto/storage/pvc.js';

/** Whether a `get`/`delete` word names claims. */
export function isClaimWord(word: string): boolean {
  return /^(pvcs?|persistentvolumeclaims?)$/i.test(word);
}

const SHORT: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };

/** kubectl prints capacities in binary units when they are whole ones. */
function capacity(bytes: string | undefined): string {
  if (!bytes || !/^\d+$/.test(bytes)) return bytes ?? '';
  const n = BigInt(bytes);
  for (const [unit, size] of [['Ti', 1n << 40n], ['Gi', 1n << 30n], ['Mi', 1n << 20n], ['Ki', 1n << 10n]] as const) {
    if (n >= size && n % size === 0n) return `${n / size}${unit}`;
  }
  return bytes;
}

export function claimRows(objs: PersistentVolumeClaim[], allNs: boolean): string {
  return table([...(allNs ? ['NAMESPACE'] : []), 'NAME', 'STATUS', 'VOLUME', 'CAPACITY', 'ACCESS MODES', 'STORAGECLASS', 'VOLUMEMODE', 'AGE'], objs.map((o) => [
    ...(allNs ? [o.metadata.namespace ?? ''] : []),
    o.metadata.name,
    o.metadata.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? 'Pending'),
    o.status?.phase === 'Bound' ? `pvc-${o.metadata.uid}` : '',
    capacity(o.status?.capacity?.storage),
    (o.status?.accessModes ?? []).map((m) => SHORT[m] ?? m).join(','),
    o.spec.storageClassName ?? '',
    o.spec.volumeMode ?? 'Filesystem',
    age(o.metadata.creationTimestamp),
  ]));
}

export async function getClaims(c: UnaryClient, name: string | undefined, output: string | undefined, ns: string, allNs: boolean, out: (s: string) => void): Promise<number> {
  const objs: PersistentVolumeClaim[] = name
    ? [JSON.parse((await c.call<unknown, Object__Output>('Get', { kind: KIND_PVC, namespace: ns, name })).json)]
    : (await c.call<unknown, ListResponse__Output>('List', { kind: KIND_PVC, namespace: allNs ? '' : ns })).objects.map((o) => JSON.parse(o.json));
  if (output === 'json' || output === 'yaml') {
    const value = name ? objs[0] : { apiVersion: 'v1', kind: 'List', items: objs };
    out(output === 'json' ? JSON.stringify(value, null, 2) + '\n' : (await import('yaml')).stringify(value));
    return 0;
  }
  if (objs.length === 0) out(`No resources found${allNs ? '' : ` in ${ns} namespace`}.\n`);
  else out(claimRows(objs, allNs));
  return 0;
}
