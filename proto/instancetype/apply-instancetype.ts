// An instance type onto a VM's template, as KubeVirt's instancetype/apply does it:
// the instance type wins, so any VM field it would set that the VM set already is
// a conflict, refused with KubeVirt's message naming the field ("VM field(s)
// spec.template.spec.domain.cpu.sockets conflicts with selected instance type").
// Nothing is applied when there is a conflict. Works on the template as JSON: an
// instance type may set VMI fields virtnode has no type for (dedicatedCPUPlacement,
// hugepages...), which the VMI's validation then refuses by their source.

import type { FieldError } from '../errors.js';
import { tryParseQuantity } from '../vmi/quantity.js';
import { formatBinaryBytes } from './quantity-format.js';
import { Provenance, type Source } from './provenance.js';
import { preferredTopology, spreadOptions } from './topology.js';
import type { InstancetypeSpec, Json, PreferenceSpec } from './types.js';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** o[k] as an object, made when missing. */
export function child(o: Obj, k: string): Obj {
  const v = o[k];
  if (isObj(v)) return v;
  const c: Obj = {};
  o[k] = c;
  return c;
}

/** Set means present and not JSON null, and for strings not empty (Go's zero value). */
export function isSet(o: Obj | undefined, k: string): boolean {
  const v = o?.[k];
  return v !== undefined && v !== null && v !== '' && v !== 0 && v !== false;
}

const conflictMessage = (path: string): string => `VM field(s) ${path} conflicts with selected instance type`;

/**
 * Applies `it` to the template spec `spec` (and its metadata `meta`) found at
 * `base` (spec.template.spec). Returns the conflicts; on none, `spec` holds the
 * instance type and `prov` says which of its fields put what where.
 */
export function applyInstancetype(
  it: InstancetypeSpec,
  preference: PreferenceSpec | undefined,
  spec: Obj,
  meta: Obj,
  base: string,
  metaBase: string,
  prov: Provenance,
  from: Omit<Source, 'field'>,
): FieldError[] {
  const conflicts: string[] = [];
  const domain = child(spec, 'domain');
  const resources = isObj(domain.resources) ? domain.resources : {};
  const requests = isObj(resources.requests) ? resources.requests : {};
  const limits = isObj(resources.limits) ? resources.limits : {};
  const cpu = isObj(domain.cpu) ? domain.cpu : {};
  const memory = isObj(domain.memory) ? domain.memory : {};
  const at = (...p: string[]): string => `${base}.${p.join('.')}`;

  // nodeSelector and schedulerName
  if (it.nodeSelector && spec.nodeSelector != null) conflicts.push(at('nodeSelector'));
  if (it.schedulerName && isSet(spec, 'schedulerName')) conflicts.push(at('schedulerName'));

  // CPU: the VM may not size it in any way.
  const itCpu = it.cpu ?? ({} as InstancetypeSpec['cpu']);
  const cpuConflicts: string[] = [];
  if (requests.cpu != null) cpuConflicts.push(at('domain', 'resources', 'requests', 'cpu'));
  if (limits.cpu != null) cpuConflicts.push(at('domain', 'resources', 'limits', 'cpu'));
  for (const k of ['sockets', 'cores', 'threads']) if (isSet(cpu, k)) cpuConflicts.push(at('domain', 'cpu', k));
  if (isSet(cpu, 'model') && itCpu.model != null) cpuConflicts.push(at('domain', 'cpu', 'model'));
  // The VMI spells it dedicatedCpuPlacement; KubeVirt's conflict names the Go field.
  if (cpu.dedicatedCpuPlacement === true && itCpu.dedicatedCPUPlacement != null) cpuConflicts.push(at('domain', 'cpu', 'dedicatedCPUPlacement'));
  if (cpu.isolateEmulatorThread === true && itCpu.isolateEmulatorThread != null) cpuConflicts.push(at('domain', 'cpu', 'isolateEmulatorThread'));
  if (cpu.numa != null && itCpu.numa != null) cpuConflicts.push(at('domain', 'cpu', 'numa'));
  if (cpu.realtime != null && itCpu.realtime != null) cpuConflicts.push(at('domain', 'cpu', 'realtime'));
  conflicts.push(...cpuConflicts);

  // Memory: KubeVirt reports only the first of these.
  const itMem = it.memory ?? ({} as InstancetypeSpec['memory']);
  const memConflict =
    memory.guest != null ? at('domain', 'memory', 'guest')
    : memory.hugepages != null && itMem.hugepages != null ? at('domain', 'memory', 'hugepages')
    : memory.maxGuest != null && itMem.maxGuest != null ? at('domain', 'memory', 'maxGuest')
    : requests.memory != null ? at('domain', 'resources', 'requests', 'memory')
    : limits.memory != null ? at('domain', 'resources', 'limits', 'memory')
    : undefined;
  if (memConflict) conflicts.push(memConflict);

  const ioThreads = isObj(domain.ioThreads) ? domain.ioThreads : undefined;
  if (it.ioThreads?.supplementalPoolThreadCount != null && ioThreads?.supplementalPoolThreadCount != null) {
    conflicts.push(at('domain', 'ioThreads', 'supplementalPoolThreadCount'));
  }
  if (it.ioThreadsPolicy != null && domain.ioThreadsPolicy != null) conflicts.push(at('domain', 'ioThreadsPolicy'));
  if (it.launchSecurity != null && domain.launchSecurity != null) conflicts.push(at('domain', 'launchSecurity'));
  const devices = isObj(domain.devices) ? domain.devices : {};
  if (it.gpus?.length && Array.isArray(devices.gpus) && devices.gpus.length) conflicts.push(at('domain', 'devices', 'gpus'));
  if (it.hostDevices?.length && Array.isArray(devices.hostDevices) && devices.hostDevices.length) conflicts.push(at('domain', 'devices', 'hostDevices'));

  const annotations = isObj(meta.annotations) ? meta.annotations : {};
  for (const [k, v] of Object.entries(it.annotations ?? {})) {
    if (k in annotations && annotations[k] !== v) conflicts.push(`${metaBase}.annotations.${k}`);
  }
  if (conflicts.length > 0) return conflicts.map((p) => ({ path: p, message: conflictMessage(p) }));

  // No conflicts: apply. Each value set is marked with the field it came from.
  const mark = (path: string, field: string): void => prov.set(path, { ...from, field });
  if (it.nodeSelector) {
    spec.nodeSelector = { ...it.nodeSelector };
    mark(at('nodeSelector'), 'spec.nodeSelector');
  }
  if (it.schedulerName) {
    spec.schedulerName = it.schedulerName;
    mark(at('schedulerName'), 'spec.schedulerName');
  }

  const vcpu = child(domain, 'cpu');
  const cpuFields: [keyof InstancetypeSpec['cpu'], string][] = [
    ['model', 'model'],
    ['dedicatedCPUPlacement', 'dedicatedCpuPlacement'],
    ['isolateEmulatorThread', 'isolateEmulatorThread'],
    ['numa', 'numa'],
    ['realtime', 'realtime'],
    ['maxSockets', 'maxSockets'],
  ];
  for (const [k, vmiField] of cpuFields) {
    if (itCpu[k] == null) continue;
    vcpu[vmiField] = structuredClone(itCpu[k]);
    mark(at('domain', 'cpu', vmiField), `spec.cpu.${k}`);
  }
  Object.assign(vcpu, guestTopology(itCpu.guest, preference));
  for (const k of ['sockets', 'cores', 'threads']) mark(at('domain', 'cpu', k), 'spec.cpu.guest');

  const vmem = child(domain, 'memory');
  vmem.guest = itMem.guest;
  mark(at('domain', 'memory', 'guest'), 'spec.memory.guest');
  const pct = itMem.overcommitPercent ?? 0;
  if (pct > 0) {
    const q = tryParseQuantity(itMem.guest);
    if (q) {
      const req = child(child(domain, 'resources'), 'requests');
      req.memory = overcommittedRequest(q.num / q.den, pct);
      mark(at('domain', 'resources', 'requests', 'memory'), 'spec.memory.overcommitPercent');
    }
  }
  if (itMem.hugepages != null) {
    vmem.hugepages = structuredClone(itMem.hugepages);
    mark(at('domain', 'memory', 'hugepages'), 'spec.memory.hugepages');
  }
  if (itMem.maxGuest != null) {
    vmem.maxGuest = itMem.maxGuest;
    mark(at('domain', 'memory', 'maxGuest'), 'spec.memory.maxGuest');
  }
  if (it.ioThreads?.supplementalPoolThreadCount != null) {
    child(domain, 'ioThreads').supplementalPoolThreadCount = it.ioThreads.supplementalPoolThreadCount;
    mark(at('domain', 'ioThreads', 'supplementalPoolThreadCount'), 'spec.ioThreads.supplementalPoolThreadCount');
  }
  if (it.ioThreadsPolicy != null) {
    domain.ioThreadsPolicy = it.ioThreadsPolicy;
    mark(at('domain', 'ioThreadsPolicy'), 'spec.ioThreadsPolicy');
  }
  if (it.launchSecurity != null) {
    domain.launchSecurity = structuredClone(it.launchSecurity);
    mark(at('domain', 'launchSecurity'), 'spec.launchSecurity');
  }
  if (it.gpus?.length) {
    child(domain, 'devices').gpus = structuredClone(it.gpus);
    mark(at('domain', 'devices', 'gpus'), 'spec.gpus');
  }
  if (it.hostDevices?.length) {
    child(domain, 'devices').hostDevices = structuredClone(it.hostDevices);
    mark(at('domain', 'devices', 'hostDevices'), 'spec.hostDevices');
  }
  if (it.annotations && Object.keys(it.annotations).length) {
    const a = child(meta, 'annotations');
    for (const [k, v] of Object.entries(it.annotations)) {
      if (k in a) continue;
      a[k] = v;
      mark(`${metaBase}.annotations.${k}`, `spec.annotations.${k}`);
    }
  }
  return [];
}

/**
 * The vCPUs of the instance type as sockets, cores and threads, by the
 * preference's preferredCPUTopology (sockets when it has none), as KubeVirt lays them out.
 */
export function guestTopology(vcpus: number, preference: PreferenceSpec | undefined): { sockets: number; cores: number; threads: number } {
  const t = { sockets: 1, cores: 1, threads: 1 };
  if (vcpus === 1) return t;
  switch (preferredTopology(preference)) {
    case 'cores':
    case 'preferCores':
      t.cores = vcpus;
      break;
    case 'threads':
    case 'preferThreads':
      t.threads = vcpus;
      break;
    case 'spread':
    case 'preferSpread': {
      const { ratio, across } = spreadOptions(preference);
      if (across === 'SocketsCores') {
        t.cores = ratio;
        t.sockets = Math.trunc(vcpus / ratio);
      } else if (across === 'CoresThreads') {
        t.threads = ratio;
        t.cores = Math.trunc(vcpus / ratio);
      } else {
        t.threads = 2;
        t.cores = ratio;
        t.sockets = Math.trunc(vcpus / 2 / ratio);
      }
      break;
    }
    default:
      t.sockets = vcpus;
  }
  return t;
}

/**
 * The memory request an overcommitted instance type gives the VM: the guest less
 * `pct` percent, computed in float32 and truncated as KubeVirt's Go code does, in
 * the binary form Kubernetes writes it ("512Mi" at 50% is "256Mi").
 */
export function overcommittedRequest(guestBytes: bigint, pct: number): string {
  const f = Math.fround;
  const bytes = Math.trunc(f(f(Number(guestBytes)) * f(1 - f(f(pct) / 100))));
  return formatBinaryBytes(BigInt(bytes));
}

export type { Json };
