// Finding what a VM's matchers name — KubeVirt's find packages: the revision the
// matcher pins (revisionName), else the object itself, from the store, else from
// the common bundle (builtin.ts) — after inferFromVolume has had its say.

import type { FieldError } from '../../proto/errors.js';
import {
  inferMatcher,
  instancetypeKindOf,
  preferenceKindOf,
  revisionObject,
  type ControllerRevision,
  type InstancetypeSpec,
  type Matcher,
  type MatcherField,
  type PreferenceSpec,
  type ResolvedTemplates,
  type TemplateKind,
  type TemplateObject,
} from '../../proto/instancetype/index.js';
import type { VirtualMachine } from '../../proto/vmi/types.js';
import { builtin } from './builtin.js';

/** Where objects are looked up: the store (and, at Apply, the manifest's own objects first). */
export interface Lookup {
  template(kind: TemplateKind, namespace: string, name: string): TemplateObject | undefined;
  revision(namespace: string, name: string): ControllerRevision | undefined;
}

export interface Found {
  /** The specs to expand with. */
  templates: ResolvedTemplates;
  /** The objects (current, not a revision) each matcher named, to take a revision of. */
  objects: { instancetype?: TemplateObject; preference?: TemplateObject };
  /** The revisions a matcher's revisionName pinned. */
  pinned: { instancetype?: ControllerRevision; preference?: ControllerRevision };
  /** The matchers after inferFromVolume (undefined: none, or dropped by its Ignore policy). */
  matchers: { instancetype?: Matcher; preference?: Matcher };
  /** Objects or revisions that do not exist, and matchers that cannot be followed. */
  errors: FieldError[];
}

/** The object named, from the store first, then the common bundle. */
export function findTemplate(lookup: Lookup, kind: TemplateKind, namespace: string, name: string): TemplateObject | undefined {
  return lookup.template(kind, namespace, name) ?? builtin(kind, name);
}

export function resolveFor(vm: VirtualMachine, lookup: Lookup): Found {
  const ns = vm.metadata.namespace || 'default';
  const found: Found = { templates: {}, objects: {}, pinned: {}, matchers: {}, errors: [] };
  for (const field of ['instancetype', 'preference'] as MatcherField[]) {
    const given = vm.spec[field];
    if (!given) continue;
    const inferred = inferMatcher(field, given, vm.spec.template.spec.volumes ?? []);
    if ('error' in inferred) {
      found.errors.push(inferred.error);
      continue;
    }
    const m = inferred.matcher;
    if (!m?.name) continue;
    found.matchers[field] = m;
    const kind = field === 'instancetype' ? instancetypeKindOf(m.kind) : preferenceKindOf(m.kind);
    if (!kind) continue; // validateMatchers refused it already
    let object: TemplateObject | undefined;
    if (m.revisionName) {
      const r = lookup.revision(ns, m.revisionName);
      if (!r) {
        found.errors.push({ path: `spec.${field}.revisionName`, message: `ControllerRevision ${ns}/${m.revisionName} not found` });
        continue;
      }
      try {
        object = revisionObject(r);
      } catch (e) {
        found.errors.push({ path: `spec.${field}.revisionName`, message: (e as Error).message });
        continue;
      }
      if (object.kind !== kind) {
        found.errors.push({ path: `spec.${field}.revisionName`, message: `ControllerRevision ${ns}/${m.revisionName} holds a ${object.kind}, not a ${kind}` });
        continue;
      }
      found.pinned[field] = r;
    } else {
      object = findTemplate(lookup, kind, ns, m.name);
      if (!object) {
        const where = kind.includes('Cluster') ? '' : ` in namespace ${ns}`;
        found.errors.push({ path: `spec.${field}.name`, message: `${kind} ${JSON.stringify(m.name)} not found${where}` });
        continue;
      }
      found.objects[field] = object;
    }
    if (field === 'instancetype') found.templates.instancetype = { kind: kind as never, name: m.name, spec: object.spec as InstancetypeSpec };
    else found.templates.preference = { kind: kind as never, name: m.name, spec: object.spec as PreferenceSpec };
  }
  return found;
}
