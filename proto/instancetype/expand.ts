// A VM with an instance type and/or a preference, expanded into the plain VM whose
// template the VMI is made from — the steps KubeVirt's VM controller takes when it
// starts a VMI (SetupVMIFromVM, the autoattach preferences, the default pod
// interface, ApplyToVMI) and its VM admitter takes to judge one. The result is
// judged as any VM is (validate.ts), and what the VMI rules refuse in a value the
// instance type or preference put there is told by that object's field.
//
// Pure: the instance type and preference specs are given (from the stored
// objects, or from the ControllerRevisions the VM started with).

import { InvalidSpecError, type FieldError } from '../errors.js';
import { applyDefaults } from '../vmi/defaults.js';
import type { VirtualMachine } from '../vmi/types.js';
import { validate } from '../vmi/validate.js';
import { applyInstancetype, child, isObj, type Obj } from './apply-instancetype.js';
import { applyAutoattach, applyPreference } from './apply-preference.js';
import { Provenance } from './provenance.js';
import { checkRequirements, checkSpreadTopology } from './requirements.js';
import {
  CLUSTER_INSTANCETYPE_ANNOTATION,
  CLUSTER_PREFERENCE_ANNOTATION,
  INSTANCETYPE_ANNOTATION,
  KIND_CLUSTER_INSTANCETYPE,
  KIND_CLUSTER_PREFERENCE,
  PREFERENCE_ANNOTATION,
  type InstancetypeKind,
  type InstancetypeSpec,
  type PreferenceKind,
  type PreferenceSpec,
} from './types.js';

export interface Resolved<K, S> {
  kind: K;
  name: string;
  spec: S;
}

export interface ResolvedTemplates {
  instancetype?: Resolved<InstancetypeKind, InstancetypeSpec>;
  preference?: Resolved<PreferenceKind, PreferenceSpec>;
}

export interface Expanded {
  /** The VM with its template expanded and no matchers. */
  vm: VirtualMachine;
  /** Which instance type or preference field set what. */
  provenance: Provenance;
}

const BASE = 'spec.template.spec';
const META = 'spec.template.metadata';

/**
 * Expands `vm` with `t`. Throws InvalidSpecError with KubeVirt's conflict (or
 * spread) errors; does not validate the result (judgeExpanded does).
 */
export function expandVM(vm: VirtualMachine, t: ResolvedTemplates, opts: { podNetworking: boolean }): Expanded {
  const copy = structuredClone(vm);
  delete (copy.spec as { instancetype?: unknown }).instancetype;
  delete (copy.spec as { preference?: unknown }).preference;
  const prov = new Provenance();
  if (!t.instancetype && !t.preference) return { vm: copy, provenance: prov };

  const spread = checkSpreadTopology(t.instancetype?.spec, t.preference?.spec);
  if (spread) throw new InvalidSpecError([spread]);

  const template = copy.spec.template as unknown as Obj;
  const spec = child(template, 'spec');
  const meta = child(template, 'metadata');
  const domain = child(spec, 'domain');
  const devices = child(domain, 'devices');
  const itFrom = t.instancetype && { matcher: 'spec.instancetype' as const, object: `${t.instancetype.kind} ${t.instancetype.name}` };
  const prefFrom = t.preference && { matcher: 'spec.preference' as const, object: `${t.preference.kind} ${t.preference.name}` };

  // As the VM controller makes the VMI: a disk for each volume that has none,
  // the autoattach preferences, then the default pod interface, so that the
  // preference's disk and interface choices reach those too.
  defaultVolumeDisks(spec, devices);
  if (t.preference && prefFrom) {
    applyAutoattach(t.preference.spec, devices, (...p) => `${BASE}.${p.join('.')}`, (path, field) => prov.set(path, { ...prefFrom, field }));
  }
  if (opts.podNetworking) defaultPodInterface(spec, devices);

  if (t.instancetype && itFrom) {
    const conflicts = applyInstancetype(t.instancetype.spec, t.preference?.spec, spec, meta, BASE, META, prov, itFrom);
    if (conflicts.length) throw new InvalidSpecError(conflicts);
  }
  if (t.preference && prefFrom) applyPreference(t.preference.spec, spec, meta, BASE, META, prov, prefFrom);

  // KubeVirt names them on the VMI it starts.
  const annotations = child(meta, 'annotations');
  if (t.instancetype) annotations[t.instancetype.kind === KIND_CLUSTER_INSTANCETYPE ? CLUSTER_INSTANCETYPE_ANNOTATION : INSTANCETYPE_ANNOTATION] = t.instancetype.name;
  if (t.preference) annotations[t.preference.kind === KIND_CLUSTER_PREFERENCE ? CLUSTER_PREFERENCE_ANNOTATION : PREFERENCE_ANNOTATION] = t.preference.name;
  return { vm: copy, provenance: prov };
}

/**
 * Judges an expanded VM as admission judges any VM, telling each error in a value
 * an instance type or preference set by that object's field, then checks the
 * preference's requirements against the defaulted result. Throws InvalidSpecError;
 * returns the warnings.
 */
export function judgeExpanded(e: Expanded, t: ResolvedTemplates, opts: { podNetworking: boolean }): string[] {
  let warnings: string[];
  try {
    warnings = validate(e.vm, opts).warnings;
  } catch (err) {
    if (!(err instanceof InvalidSpecError)) throw err;
    throw new InvalidSpecError(dedupe(err.fields.map((f) => e.provenance.attribute(f))));
  }
  const defaulted = applyDefaults(e.vm, opts);
  const unmet = checkRequirements(t.instancetype?.spec, t.preference?.spec, defaulted.spec.template.spec as unknown as Obj);
  if (unmet) throw new InvalidSpecError([unmet]);
  return warnings;
}

/** expandVM then judgeExpanded: the expanded VM, or InvalidSpecError. */
export function expandAndJudge(vm: VirtualMachine, t: ResolvedTemplates, opts: { podNetworking: boolean }): Expanded & { warnings: string[] } {
  const e = expandVM(vm, t, opts);
  return { ...e, warnings: judgeExpanded(e, t, opts) };
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((f) => {
    const k = `${f.path}\0${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** KubeVirt's SetDefaultVolumeDisk: a volume without a disk gets one of its name. */
function defaultVolumeDisks(spec: Obj, devices: Obj): void {
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  if (!volumes.length) return;
  const disks = Array.isArray(devices.disks) ? (devices.disks as unknown[]) : [];
  const named = new Set(disks.map((d) => (isObj(d) ? d.name : undefined)));
  for (const v of volumes) {
    if (isObj(v) && typeof v.name === 'string' && !named.has(v.name)) disks.push({ name: v.name });
  }
  devices.disks = disks;
}

/** The pod interface a VM with none gets (masquerade, as virtnode's defaults give it), model left to the preference. */
function defaultPodInterface(spec: Obj, devices: Obj): void {
  const interfaces = Array.isArray(devices.interfaces) ? devices.interfaces : [];
  const networks = Array.isArray(spec.networks) ? spec.networks : [];
  if (devices.autoattachPodInterface === false || interfaces.length || networks.length) return;
  devices.interfaces = [{ name: 'default', masquerade: {} }];
  spec.networks = [{ name: 'default', pod: {} }];
}
