// The kinds the store keeps, and where: VMs and VMIs, and the objects standalone
// mode holds for them that a cluster's API server would (instance types,
// preferences, and the ControllerRevisions VMs keep of them; PersistentVolumeClaims). A cluster-scoped
// kind has no namespace: its objects are keyed under '' and filed under
// objects/<kind>/_cluster/ ('_' is in no namespace name).

import { KIND_VM, KIND_VMI } from '../../proto/vmi/types.js';
import {
  KIND_CLUSTER_INSTANCETYPE,
  KIND_CLUSTER_PREFERENCE,
  KIND_CONTROLLER_REVISION,
  KIND_INSTANCETYPE,
  KIND_PREFERENCE,
  isClusterScoped,
} from '../../proto/instancetype/types.js';
import { KIND_PVC } from '../../proto/storage/pvc.js';

export const STORED_KINDS = [
  KIND_VM,
  KIND_VMI,
  KIND_INSTANCETYPE,
  KIND_CLUSTER_INSTANCETYPE,
  KIND_PREFERENCE,
  KIND_CLUSTER_PREFERENCE,
  KIND_CONTROLLER_REVISION,
  KIND_PVC,
] as const;

export type Kind = (typeof STORED_KINDS)[number];

/** The store's namespace of an object of `kind`: '' for a cluster-scoped kind, else its namespace (default: "default"). */
export function scopeOf(kind: string, namespace: string | undefined): string {
  return isClusterScoped(kind) ? '' : namespace || 'default';
}

/** The directory name of a scope. */
export const CLUSTER_DIR = '_cluster';
