// What a VM starts with: the instance type and preference as they are at that
// moment, each kept as a ControllerRevision the VM owns (KubeVirt's revision
// store), and the VM expanded from them. The VMI is made from that expansion and
// never changes, so an edited instance type reaches a VM at its next start, not
// before. (KubeVirt goes further and keeps the first revision across restarts
// until the user clears it; virtnode takes a new one at each start unless the
// matcher pins one with revisionName: issue 14 asks for restart semantics.)

import { InvalidSpecError, VirtnodeError } from '../../proto/errors.js';
import {
  expandAndJudge,
  KIND_CONTROLLER_REVISION,
  makeRevision,
  sameRevision,
  type ControllerRevision,
  type MatcherField,
  type StatusRef,
  type TemplateObject,
} from '../../proto/instancetype/index.js';
import type { VirtualMachine } from '../../proto/vmi/types.js';
import { scopeOf } from '../store/kinds.js';
import type { Store } from '../store/store.js';
import { resolveFor, type Lookup } from './resolve.js';

export interface StartTemplates {
  /** The VM to make the VMI from: template expanded, no matchers. */
  vm: VirtualMachine;
  instancetypeRef?: StatusRef;
  preferenceRef?: StatusRef;
}

export function storeLookup(store: Store): Lookup {
  return {
    template: (kind, ns, name) => store.get<TemplateObject>(kind, scopeOf(kind, ns), name),
    revision: (ns, name) => store.get<ControllerRevision>(KIND_CONTROLLER_REVISION, ns, name),
  };
}

/**
 * Resolves, expands and judges `vm` for a start, then stores the revisions it
 * starts with. Throws InvalidSpecError (what it names is missing, conflicts, or
 * asks for what virtnode cannot do) before storing anything.
 */
export async function templatesForStart(store: Store, vm: VirtualMachine): Promise<StartTemplates> {
  const found = resolveFor(vm, storeLookup(store));
  if (found.errors.length) throw new InvalidSpecError(found.errors);
  const expanded = expandAndJudge(vm, found.templates, { podNetworking: true });
  const out: StartTemplates = { vm: expanded.vm };
  const ns = vm.metadata.namespace || 'default';
  for (const field of ['instancetype', 'preference'] as MatcherField[]) {
    const m = found.matchers[field];
    if (!m?.name) continue;
    let revision = found.pinned[field];
    if (!revision) {
      const want = makeRevision(vm, found.objects[field]!);
      const have = store.get<ControllerRevision>(KIND_CONTROLLER_REVISION, ns, want.metadata.name);
      if (have && !sameRevision(have, want)) throw new VirtnodeError('VN_INTERNAL', `found existing ControllerRevision with unexpected data: ${want.metadata.name}`);
      if (!have) await store.create(want).durable;
      revision = have ?? want;
    }
    const ref: StatusRef = { name: m.name, kind: revision.data.kind, controllerRevisionRef: { name: revision.metadata.name } };
    if (field === 'instancetype') out.instancetypeRef = ref;
    else out.preferenceRef = ref;
  }
  return out;
}

/** Deletes the revisions `vm` owns but for those named in `keep`. */
export async function pruneRevisions(store: Store, vm: VirtualMachine, keep: Set<string>): Promise<void> {
  const ns = vm.metadata.namespace || 'default';
  for (const r of store.list<ControllerRevision>(KIND_CONTROLLER_REVISION, ns)) {
    if (keep.has(r.metadata.name)) continue;
    if (!(r.metadata.ownerReferences ?? []).some((o) => o.uid === vm.metadata.uid)) continue;
    await store.delete(KIND_CONTROLLER_REVISION, ns, r.metadata.name);
  }
}

/** The revisions a VM must keep: those its status names and those its matchers pin. */
export function revisionsInUse(vm: VirtualMachine): Set<string> {
  const s = vm.status;
  return new Set(
    [s?.instancetypeRef?.controllerRevisionRef?.name, s?.preferenceRef?.controllerRevisionRef?.name, vm.spec.instancetype?.revisionName, vm.spec.preference?.revisionName].filter(
      (n): n is string => !!n,
    ),
  );
}
