// The API's kind names (kubectl's resource names and KubeVirt's short names), and
// the reads of kinds the common bundle adds to (builtin.ts): Get and List of a
// cluster instance type or preference see the store's objects over the bundle's.

import { InvalidSpecError } from '../../proto/errors.js';
import {
  KIND_CLUSTER_INSTANCETYPE,
  KIND_CLUSTER_PREFERENCE,
  KIND_CONTROLLER_REVISION,
  KIND_INSTANCETYPE,
  KIND_PREFERENCE,
  isTemplateKind,
} from '../../proto/instancetype/types.js';
import { KIND_VM, KIND_VMI } from '../../proto/vmi/types.js';
import { KIND_PVC } from '../../proto/storage/pvc.js';
import { builtin, builtins } from '../instancetype/builtin.js';
import { scopeOf, type Kind } from '../store/kinds.js';
import type { Store } from '../store/store.js';

const NAMES: [Kind, string[]][] = [
  [KIND_VM, ['virtualmachine', 'vm']],
  [KIND_VMI, ['virtualmachineinstance', 'vmi']],
  [KIND_INSTANCETYPE, ['virtualmachineinstancetype', 'vminstancetype', 'vmf']],
  [KIND_CLUSTER_INSTANCETYPE, ['virtualmachineclusterinstancetype', 'vmclusterinstancetype', 'vmcf']],
  [KIND_PREFERENCE, ['virtualmachinepreference', 'vmpref', 'vmp']],
  [KIND_CLUSTER_PREFERENCE, ['virtualmachineclusterpreference', 'vmclusterpref', 'vmcp']],
  [KIND_CONTROLLER_REVISION, ['controllerrevision']],
  [KIND_PVC, ['persistentvolumeclaim', 'pvc']],
];

const KINDS = new Map<string, Kind>(NAMES.flatMap(([kind, names]) => names.flatMap((n) => [[n, kind] as const, [`${n}s`, kind] as const])));

export function normalizeKind(kind: string): Kind {
  const k = KINDS.get(kind.toLowerCase());
  if (!k) {
    throw new InvalidSpecError([{ path: 'kind', message: `unknown kind "${kind}": use VirtualMachine (vm), VirtualMachineInstance (vmi), an instance type or preference kind (vmcf, vmf, vmcp, vmp) ControllerRevision or PersistentVolumeClaim (pvc)` }]);
  }
  return k;
}

/** kubectl's resource name of a kind: "virtualmachine.kubevirt.io". */
export function resourceName(kind: string): string {
  if (kind === KIND_PVC) return 'persistentvolumeclaim';
  const group = kind === KIND_VM || kind === KIND_VMI ? 'kubevirt.io' : kind === KIND_CONTROLLER_REVISION ? 'apps' : 'instancetype.kubevirt.io';
  return `${kind.toLowerCase()}.${group}`;
}

type Entry = { json: string; resourceVersion: number };

/** An object as Get serves it: the store's, else for a cluster instance type or preference the bundle's. */
export function getObject(store: Store, kind: Kind, namespace: string, name: string): Entry | undefined {
  const ns = scopeOf(kind, namespace);
  const o = store.getJSON(kind, ns, name);
  if (o || !isTemplateKind(kind)) return o;
  const b = builtin(kind, name);
  return b && { json: JSON.stringify(b), resourceVersion: 0 };
}

/** A List: the store's objects, and for the cluster kinds the bundle's that no stored one replaces, by name. */
export function listObjects(store: Store, kind: Kind, namespace: string | undefined): Entry[] {
  const ns = namespace ? scopeOf(kind, namespace) || undefined : undefined;
  const stored = store.listJSON(kind, ns);
  if (!isTemplateKind(kind) || (kind !== KIND_CLUSTER_INSTANCETYPE && kind !== KIND_CLUSTER_PREFERENCE)) return stored;
  const have = new Set(stored.map((e) => (JSON.parse(e.json) as { metadata: { name: string } }).metadata.name));
  const common = builtins(kind).filter((o) => !have.has(o.metadata.name)).map((o) => ({ name: o.metadata.name, json: JSON.stringify(o), resourceVersion: 0 }));
  const all = [...stored.map((e) => ({ ...e, name: (JSON.parse(e.json) as { metadata: { name: string } }).metadata.name })), ...common];
  return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(({ json, resourceVersion }) => ({ json, resourceVersion }));
}

/** Whether `name` of `kind` comes with the handler (the bundle), so cannot be deleted. */
export function isBuiltin(kind: Kind, name: string): boolean {
  return isTemplateKind(kind) && builtin(kind, name) !== undefined;
}
