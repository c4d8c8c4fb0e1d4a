// A VM's spec.instancetype and spec.preference matchers: their rules (KubeVirt's
// VM mutator, webhooks/vm/mutator.go), the kind each names, and inferFromVolume.

import type { FieldError } from '../errors.js';
import {
  KIND_CLUSTER_INSTANCETYPE,
  KIND_CLUSTER_PREFERENCE,
  KIND_INSTANCETYPE,
  KIND_PREFERENCE,
  type InstancetypeKind,
  type Matcher,
  type PreferenceKind,
} from './types.js';

type Obj = Record<string, unknown>;
export type MatcherField = 'instancetype' | 'preference';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Obj, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');

/** The matcher rules of a VM spec (types were checked by the shape walker). */
export function validateMatchers(spec: Obj): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of ['instancetype', 'preference'] as const) {
    const m = spec[field];
    if (!isObj(m)) continue;
    const label = field === 'instancetype' ? 'InstancetypeMatcher' : 'PreferenceMatcher';
    const p = `spec.${field}`;
    const name = str(m, 'name');
    const infer = str(m, 'inferFromVolume');
    if (!name && !infer) errors.push({ path: p, message: `Either Name or InferFromVolume should be provided within the ${label}` });
    if (infer) {
      if (name) errors.push({ path: `${p}.name`, message: 'Name already set, should be cleared before setting inferFromVolume' });
      if (str(m, 'kind')) errors.push({ path: `${p}.kind`, message: 'Kind already set, should be cleared before setting inferFromVolume' });
    }
    const policy = m.inferFromVolumeFailurePolicy;
    if (typeof policy === 'string' && policy !== 'Ignore' && policy !== 'Reject') {
      errors.push({ path: `${p}.inferFromVolumeFailurePolicy`, message: `Invalid value '${policy}' for InferFromVolumeFailurePolicy` });
    }
    const kind = str(m, 'kind');
    if (kind && (field === 'instancetype' ? instancetypeKindOf(kind) : preferenceKindOf(kind)) === undefined) {
      errors.push({ path: `${p}.kind`, message: `got unexpected kind in ${label}: ${kind}` });
    }
  }
  return errors;
}

/** KubeVirt's rule for an update: a matcher that had a revisionName may not change its name and keep that revision. */
export function validateMatcherUpdate(field: MatcherField, next: Matcher | undefined, prev: Matcher | undefined): FieldError[] {
  if (!next || !prev || !prev.revisionName) return [];
  if (JSON.stringify(next) === JSON.stringify(prev)) return [];
  if (prev.name !== next.name && prev.revisionName === next.revisionName) {
    return [{ path: `spec.${field}.revisionName`, message: 'the Matcher Name has been updated without updating the RevisionName' }];
  }
  return [];
}

/** The kind an instance type matcher names: lower-cased singular or plural resource names; none is the cluster kind. */
export function instancetypeKindOf(kind: string | undefined): InstancetypeKind | undefined {
  switch ((kind ?? '').toLowerCase()) {
    case 'virtualmachineinstancetype':
    case 'virtualmachineinstancetypes':
      return KIND_INSTANCETYPE;
    case '':
    case 'virtualmachineclusterinstancetype':
    case 'virtualmachineclusterinstancetypes':
      return KIND_CLUSTER_INSTANCETYPE;
    default:
      return undefined;
  }
}

export function preferenceKindOf(kind: string | undefined): PreferenceKind | undefined {
  switch ((kind ?? '').toLowerCase()) {
    case 'virtualmachinepreference':
    case 'virtualmachinepreferences':
      return KIND_PREFERENCE;
    case '':
    case 'virtualmachineclusterpreference':
    case 'virtualmachineclusterpreferences':
      return KIND_CLUSTER_PREFERENCE;
    default:
      return undefined;
  }
}

/**
 * inferFromVolume, as KubeVirt's infer handler: the volume must exist; a volume
 * that cannot carry the default-instancetype labels (only PVCs and DataVolumes
 * can, and virtnode has neither yet) fails, and with failure policy Ignore the
 * matcher is dropped instead. Returns the matcher to use (undefined: dropped),
 * or the error.
 */
export function inferMatcher(field: MatcherField, m: Matcher, volumes: { name: string }[]): { matcher: Matcher | undefined } | { error: FieldError } {
  if (!m.inferFromVolume) return { matcher: m };
  const path = `spec.${field}.inferFromVolume`;
  if (!volumes.some((v) => v.name === m.inferFromVolume)) return { error: { path, message: `unable to find volume ${m.inferFromVolume} to infer defaults` } };
  if (m.inferFromVolumeFailurePolicy === 'Ignore') return { matcher: undefined };
  return { error: { path, message: `unable to infer defaults from volume ${m.inferFromVolume} as type is not supported` } };
}
