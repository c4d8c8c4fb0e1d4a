// Admission of a VM that names an instance type or preference, as KubeVirt's VM
// mutator and admitter do it: inferFromVolume first, then the preference's machine
// type and architecture kept in the VM, then the VM expanded (on a copy) and judged
// as a whole — conflicts with the instance type and whatever the VMI rules refuse,
// told by the field that caused it. What it names may not exist yet (KubeVirt
// admits such a VM too): that is a warning, and the VM cannot start until it does.

import { InvalidSpecError } from '../../proto/errors.js';
import { expandAndJudge, validateMatcherUpdate, type MatcherField } from '../../proto/instancetype/index.js';
import { DEFAULT_MACHINE_TYPE } from '../../proto/vmi/defaults.js';
import type { VirtualMachine } from '../../proto/vmi/types.js';
import { resolveFor, type Lookup } from './resolve.js';

export interface AdmittedVM {
  /** The VM to store: matchers after inference, the preference's machine type and architecture set. */
  vm: VirtualMachine;
  /** The VM as its VMI would be made now, for the node's own checks; undefined when something it names is missing. */
  expanded?: VirtualMachine;
  warnings: string[];
}

export function hasMatchers(vm: VirtualMachine): boolean {
  return !!(vm.spec.instancetype || vm.spec.preference);
}

/** Throws InvalidSpecError with every field error. `stored`: the VM this one replaces, if any. */
export function admitTemplatedVM(vm: VirtualMachine, lookup: Lookup, opts: { podNetworking: boolean }, stored?: VirtualMachine): AdmittedVM {
  const out = structuredClone(vm);
  const errors = (['instancetype', 'preference'] as MatcherField[]).flatMap((f) => validateMatcherUpdate(f, vm.spec[f], stored?.spec[f]));
  if (errors.length) throw new InvalidSpecError(errors);

  const found = resolveFor(out, lookup);
  const fatal = found.errors.filter((e) => e.path.endsWith('.inferFromVolume'));
  if (fatal.length) throw new InvalidSpecError(fatal);
  // An inferFromVolume matcher that failed with policy Ignore is dropped, as KubeVirt's mutator does.
  for (const f of ['instancetype', 'preference'] as MatcherField[]) {
    if (out.spec[f]?.inferFromVolume && !found.matchers[f]) delete out.spec[f];
  }
  const warnings = found.errors.map((e) => `${e.path}: ${e.message}: the VirtualMachine cannot start until it exists`);

  const domain = out.spec.template.spec.domain;
  const pref = found.templates.preference?.spec;
  if (pref?.preferredArchitecture && !out.spec.template.spec.architecture) {
    out.spec.template.spec.architecture = pref.preferredArchitecture;
  }
  // Pinned now that the preference is known (defaults.ts leaves it to here).
  if (!domain.machine?.type && (pref || !out.spec.preference)) {
    domain.machine = { ...domain.machine, type: pref?.machine?.preferredMachineType || DEFAULT_MACHINE_TYPE };
  }
  if (found.errors.length) return { vm: out, warnings };
  const e = expandAndJudge(out, found.templates, opts);
  return { vm: out, expanded: e.vm, warnings: [...warnings, ...e.warnings] };
}
