// What a preference requires of the VM (its requirements: vCPUs, memory,
// architecture) and whether an instance type's vCPUs can be spread as the
// preference asks, with KubeVirt's messages (preference/requirements and
// preference/validation).

import type { FieldError } from '../errors.js';
import { compareQuantities, tryParseQuantity } from '../vmi/quantity.js';
import { isObj, type Obj } from './apply-instancetype.js';
import { isSpread, preferredTopology, spreadOptions } from './topology.js';
import type { InstancetypeSpec, PreferenceSpec } from './types.js';

/** An instance type whose vCPUs do not divide as the preference's spread asks. */
export function checkSpreadTopology(it: InstancetypeSpec | undefined, p: PreferenceSpec | undefined): FieldError | undefined {
  if (!it || !isSpread(preferredTopology(p))) return undefined;
  const guest = it.cpu.guest;
  const { ratio, across } = spreadOptions(p);
  const path = 'instancetype.spec.cpu.guest';
  if (across === 'SocketsCores' && guest % ratio > 0) {
    return { path, message: `${guest} vCPUs provided by the instance type are not divisible by the Spec.PreferSpreadSocketToCoreRatio or Spec.CPU.PreferSpreadOptions.Ratio of ${ratio} provided by the preference` };
  }
  if (across === 'CoresThreads' && guest % ratio > 0) {
    return { path, message: `${guest} vCPUs provided by the instance type are not divisible by the number of threads per core ${ratio}` };
  }
  if (across === 'SocketsCoresThreads' && (guest % 2 > 0 || Math.trunc(guest / 2) % ratio > 0)) {
    return { path, message: `${guest} vCPUs provided by the instance type are not divisible by the number of threads per core 2 and Spec.PreferSpreadSocketToCoreRatio or Spec.CPU.PreferSpreadOptions.Ratio of ${ratio}` };
  }
  return undefined;
}

const num = (o: Obj | undefined, k: string): number => (typeof o?.[k] === 'number' ? (o[k] as number) : 0);

/**
 * The preference's requirements against the expanded, defaulted template spec
 * `spec` (and the instance type, which answers for CPU and memory when there is
 * one). KubeVirt stops at the first unmet one and prefixes it
 * "failure checking preference requirements: ".
 */
export function checkRequirements(it: InstancetypeSpec | undefined, p: PreferenceSpec | undefined, spec: Obj): FieldError | undefined {
  const req = p?.requirements;
  if (!req) return undefined;
  const fail = (paths: string[], msg: string): FieldError => ({ path: paths.join(', '), message: `failure checking preference requirements: ${msg}` });
  const domain = isObj(spec.domain) ? spec.domain : {};
  const cpu = isObj(domain.cpu) ? domain.cpu : undefined;

  if (req.cpu) {
    const want = req.cpu.guest;
    if (it) {
      if (it.cpu.guest < want) return fail(['spec.instancetype'], `insufficient CPU resources of ${it.cpu.guest} vCPU provided by instance type, preference requires ${want} vCPU`);
    } else if (!cpu) {
      return fail(['spec.template.spec.domain.cpu'], `no CPU resources provided by VirtualMachine, preference requires ${want} vCPU`);
    } else {
      const base = 'spec.template.spec.domain.cpu';
      const short = (have: number, as: string, paths: string[]): FieldError | undefined =>
        have < want ? fail(paths.map((x) => `${base}.${x}`), `insufficient CPU resources of ${have} vCPU provided by VirtualMachine, preference requires ${want} vCPU provided as ${as}`) : undefined;
      const [s, c, t] = [num(cpu, 'sockets'), num(cpu, 'cores'), num(cpu, 'threads')];
      let e: FieldError | undefined;
      switch (preferredTopology(p)) {
        case 'threads':
        case 'preferThreads':
          e = short(t, 'threads', ['threads']);
          break;
        case 'cores':
        case 'preferCores':
          e = short(c, 'cores', ['cores']);
          break;
        case 'sockets':
        case 'preferSockets':
          e = short(s, 'sockets', ['sockets']);
          break;
        case 'any':
        case 'preferAny':
          e = short(c * s * t, 'cores, sockets and threads', ['cores', 'sockets', 'threads']);
          break;
        default: {
          const { across } = spreadOptions(p);
          if (across === 'SocketsCores') e = short(s * c, across, ['sockets', 'cores']);
          else if (across === 'CoresThreads') e = short(c * t, across, ['cores', 'threads']);
          else e = short(s * c * t, across, ['sockets', 'cores', 'threads']);
        }
      }
      if (e) return e;
    }
  }

  if (req.memory) {
    const want = tryParseQuantity(req.memory.guest);
    const memory = isObj(domain.memory) ? domain.memory : undefined;
    let provided = tryParseQuantity(it ? it.memory.guest : '0Mi');
    if (memory?.guest != null) provided = tryParseQuantity(memory.guest) ?? provided;
    if (want && provided && compareQuantities(provided, want) < 0) {
      const path = it ? 'spec.instancetype' : 'spec.template.spec.domain.memory';
      const by = it ? 'instance type' : 'VirtualMachine';
      return fail([path], `insufficient Memory resources of ${provided.text} provided by ${by}, preference requires ${want.text}`);
    }
  }

  if (req.architecture !== undefined) {
    // KubeVirt defaults an unset architecture to the node's before it checks; virtnode's is amd64.
    const arch = typeof spec.architecture === 'string' && spec.architecture !== '' ? spec.architecture : 'amd64';
    if (arch !== req.architecture) return fail(['spec.template.spec.architecture'], `preference requires architecture ${req.architecture} but ${arch} is being requested`);
  }
  return undefined;
}
