// The ControllerRevision a VM keeps of the instance type or preference it started
// with, named and labelled as KubeVirt's revision/store.go names them
// (<vm>-<object>-<version>-<object uid>-<object generation>): a change to the
// object (a new generation) is a new revision, the same object the same one.

import { VirtnodeError } from '../errors.js';
import type { VirtualMachine } from '../vmi/types.js';
import {
  CONTROLLER_REVISION_API_VERSION,
  INSTANCETYPE_API_VERSION,
  KIND_CONTROLLER_REVISION,
  REVISION_OBJECT_GENERATION_LABEL,
  REVISION_OBJECT_KIND_LABEL,
  REVISION_OBJECT_NAME_LABEL,
  REVISION_OBJECT_UID_LABEL,
  REVISION_OBJECT_VERSION_LABEL,
  isTemplateKind,
  type ControllerRevision,
  type TemplateObject,
} from './types.js';

const VERSION = INSTANCETYPE_API_VERSION.split('/')[1]!;

export function revisionName(vmName: string, o: TemplateObject): string {
  return `${vmName}-${o.metadata.name}-${VERSION}-${o.metadata.uid ?? ''}-${o.metadata.generation ?? 1}`;
}

/** A revision of `o` owned by `vm`: the object as it is, less the metadata a copy must not carry. */
export function makeRevision(vm: VirtualMachine, o: TemplateObject): ControllerRevision {
  const generation = o.metadata.generation ?? 1;
  const { name, uid } = o.metadata;
  return {
    apiVersion: CONTROLLER_REVISION_API_VERSION,
    kind: KIND_CONTROLLER_REVISION,
    metadata: {
      name: revisionName(vm.metadata.name, o),
      namespace: vm.metadata.namespace ?? 'default',
      ownerReferences: [{ apiVersion: vm.apiVersion, kind: vm.kind, name: vm.metadata.name, uid: vm.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      labels: {
        [REVISION_OBJECT_GENERATION_LABEL]: String(generation),
        [REVISION_OBJECT_KIND_LABEL]: o.kind,
        [REVISION_OBJECT_NAME_LABEL]: name,
        [REVISION_OBJECT_UID_LABEL]: uid ?? '',
        [REVISION_OBJECT_VERSION_LABEL]: VERSION,
      },
    },
    data: {
      apiVersion: INSTANCETYPE_API_VERSION,
      kind: o.kind,
      metadata: { name, ...(uid && { uid }), generation, ...(o.metadata.namespace && { namespace: o.metadata.namespace }) },
      spec: structuredClone(o.spec),
    } as TemplateObject,
    revision: 1,
  };
}

/** The object a revision holds; throws when it holds something else. */
export function revisionObject(r: ControllerRevision): TemplateObject {
  if (!isTemplateKind(r.data?.kind) || typeof r.data.spec !== 'object' || r.data.spec === null) {
    throw new VirtnodeError('VN_INVALID_SPEC', `ControllerRevision ${r.metadata.name} holds no instance type or preference`);
  }
  return r.data;
}

/** KubeVirt's Compare: two revisions of one name must hold the same spec. */
export function sameRevision(a: ControllerRevision, b: ControllerRevision): boolean {
  return a.data.kind === b.data.kind && JSON.stringify(a.data.spec) === JSON.stringify(b.data.spec);
}
