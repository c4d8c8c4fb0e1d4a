// KubeVirt's defaults (its mutating webhooks and pkg/defaults), applied to a deep
// copy of an object entering through the API, so the launcher reads every choice in
// the spec instead of knowing defaults of its own. Where virtnode differs from
// KubeVirt, the line says why.
//
// Not here: uids (the handler's store assigns them) and firmware.uuid (vmiFromVM
// derives a VM's stable one; the launcher uses the VMI uid for a bare VMI, where
// KubeVirt would draw a random one).

import { DEFAULT_CDROM_BUS, DEFAULT_DISK_BUS, DEFAULT_LUN_BUS } from './devices.js';
import { tryParseQuantity } from './quantity.js';
import { cpuTopology } from './resources.js';
import { API_VERSION, KIND_VM, type KubeVirtObject, type VirtualMachine, type VirtualMachineInstanceSpec } from './types.js';
import type { GateOptions } from './schema.js';
import { HYPERV_REQUIRES } from './validate-features.js';

export type DefaultsOptions = GateOptions;

export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_MACHINE_TYPE = 'q35';
/** KubeVirt's DefaultGracePeriodSeconds. */
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;

// Fields the API server owns: a manifest saved with `get -o yaml` carries them.
const SERVER_SET_META = ['creationTimestamp', 'resourceVersion', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/** Returns a defaulted deep copy of a validated VM or VMI; `status` is dropped (input never sets it). */
export function applyDefaults<T extends KubeVirtObject>(object: T, options: Partial<DefaultsOptions> = {}): T {
  const opts: DefaultsOptions = { podNetworking: false, ...options };
  const o = structuredClone(object) as T & { status?: unknown };
  delete o.status;
  o.apiVersion ||= API_VERSION;
  o.metadata ??= { name: '' };
  stripServerSet(o.metadata as unknown as Record<string, unknown>);
  o.metadata.namespace ||= DEFAULT_NAMESPACE;
  // An empty uid is no uid: the store assigns one (a VM needs one before its VMI is made).
  if (!o.metadata.uid) delete o.metadata.uid;
  if (o.kind === KIND_VM) defaultVM(o as VirtualMachine);
  else defaultVMISpec(o.spec as VirtualMachineInstanceSpec, opts);
  return o;
}

function stripServerSet(meta: Record<string, unknown> | undefined): void {
  for (const k of SERVER_SET_META) if (meta) delete meta[k];
}

/**
 * A VM keeps its template as written, as KubeVirt's VM mutator does (it only pins
 * the machine type); the VMI made from it gets the full defaults (vmiFromVM).
 */
function defaultVM(vm: VirtualMachine): void {
  const spec = vm.spec;
  if (!spec.runStrategy) {
    // KubeVirt's mapping of the deprecated field; validate() already refused neither-given.
    spec.runStrategy = spec.running === true ? 'Always' : 'Halted';
  }
  delete spec.running;
  const template = spec.template;
  stripServerSet(template.metadata as Record<string, unknown> | undefined);
  const domain = template.spec.domain;
  // A preference may name the machine type: the handler pins it once it has read the
  // preference (KubeVirt's VM mutator does it in the same order).
  if (spec.preference) return;
  domain.machine = { ...domain.machine, type: domain.machine?.type || DEFAULT_MACHINE_TYPE };
}

/** The defaults of a VMI spec, in place. */
export function defaultVMISpec(spec: VirtualMachineInstanceSpec, opts: DefaultsOptions): void {
  dropUnset(spec as unknown as Record<string, unknown>);
  const domain = spec.domain;
  domain.machine = { ...domain.machine, type: domain.machine?.type || DEFAULT_MACHINE_TYPE };
  defaultResources(spec);
  domain.cpu = { ...domain.cpu, ...cpuTopology(spec) };
  defaultDisks(spec);
  defaultPullPolicies(spec);

  const devices = domain.devices;
  devices.autoattachSerialConsole ??= true;
  devices.autoattachMemBalloon ??= true;
  // KubeVirt attaches a VGA device and VNC unless told not to.
  devices.autoattachGraphicsDevice ??= true;
  if (opts.podNetworking) defaultInterfaces(spec);

  // KubeVirt's Features.ACPI is a value, not a pointer: ACPI is on unless disabled.
  domain.features = { ...domain.features, acpi: { enabled: domain.features?.acpi?.enabled ?? true } };
  fillHypervDependencies(domain);
  spec.terminationGracePeriodSeconds ??= DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
}

/**
 * KubeVirt's mutating webhook (SetHypervFeatureDependencies): an enabled Hyper-V
 * feature whose requirement is unset gets it enabled (validation refused one that
 * was disabled), and evmcs brings the vmx CPU feature with policy require.
 */
function fillHypervDependencies(domain: VirtualMachineInstanceSpec['domain']): void {
  const hv = domain.features?.hyperv as Record<string, { enabled?: boolean } | undefined> | undefined;
  if (!hv) return;
  const on = (k: string): boolean => hv[k] !== undefined && hv[k]!.enabled !== false;
  for (const [feature, needs] of HYPERV_REQUIRES) {
    if (on(feature) && (hv[needs] === undefined || hv[needs]!.enabled === undefined)) hv[needs] = { ...hv[needs], enabled: true };
  }
  if (on('evmcs') && !(domain.cpu?.features ?? []).some((f) => f.name === 'vmx')) {
    domain.cpu = { ...domain.cpu, features: [...(domain.cpu?.features ?? []), { name: 'vmx', policy: 'require' }] };
  }
}

/**
 * Admission reads JSON null and, for an optional string, "" as unset, as Kubernetes'
 * decoding and KubeVirt's `omitempty` types do; the defaulted spec then holds one
 * form, so the launcher and the handler never meet `cache: ""` or `cpu: null`. Map
 * values (nodeSelector) are data, where "" is a value.
 */
function dropUnset(o: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(o)) {
    if (v === null || v === undefined || v === '') delete o[k];
    else if (k === 'nodeSelector') continue;
    else if (Array.isArray(v)) v.forEach((item) => isRecord(item) && dropUnset(item));
    else if (isRecord(v)) dropUnset(v);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A zero request or limit is unset (KubeVirt's Quantity.IsZero() in admission), so it neither sizes nor limits anything. */
function dropZeroQuantities(list: Record<string, unknown> | undefined): void {
  for (const [k, q] of Object.entries(list ?? {})) if (tryParseQuantity(q)?.num === 0n) delete list![k];
}

function defaultResources(spec: VirtualMachineInstanceSpec): void {
  const domain = spec.domain;
  const r = domain.resources;
  dropZeroQuantities(r?.requests);
  dropZeroQuantities(r?.limits);
  if (r?.limits) {
    // KubeVirt copies a CPU limit into the request; Kubernetes does the same for
    // memory when a container gives only a limit, and the launcher pod would get it.
    if (r.limits.cpu !== undefined && r.limits.cpu !== null && (r.requests?.cpu === undefined || r.requests.cpu === null)) {
      r.requests = { ...r.requests, cpu: r.limits.cpu };
    }
    if (r.limits.memory !== undefined && r.limits.memory !== null && (r.requests?.memory === undefined || r.requests.memory === null)) {
      r.requests = { ...r.requests, memory: r.limits.memory };
    }
  }
  const guest = domain.memory?.guest;
  if (guest === undefined || guest === null) {
    const from = r?.requests?.memory ?? r?.limits?.memory;
    if (from !== undefined && from !== null) domain.memory = { ...domain.memory, guest: from };
  }
}

function defaultDisks(spec: VirtualMachineInstanceSpec): void {
  const devices = spec.domain.devices;
  const disks = (devices.disks ??= []);
  // KubeVirt gives every volume without a disk one of its own (SetDefaultVolumeDisk).
  const named = new Set(disks.map((d) => d.name));
  for (const v of spec.volumes ?? []) {
    if (!named.has(v.name)) disks.push({ name: v.name });
  }
  for (const d of disks) {
    if (!d.disk && !d.cdrom && !d.lun) d.disk = {};
    // devices.ts says why these differ from KubeVirt's amd64 default (sata for all).
    if (d.disk && !d.disk.bus) d.disk.bus = DEFAULT_DISK_BUS;
    if (d.cdrom && !d.cdrom.bus) d.cdrom.bus = DEFAULT_CDROM_BUS;
    if (d.lun && !d.lun.bus) d.lun.bus = DEFAULT_LUN_BUS;
  }
}

/**
 * Always for ":latest" or an untagged image, IfNotPresent otherwise, as the kubelet
 * decides. (KubeVirt looks for ':' anywhere, so a registry port hides a missing tag.)
 */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  return image.endsWith(':latest') || !/[:@]/.test(image.slice(image.lastIndexOf('/') + 1)) ? 'Always' : 'IfNotPresent';
}

function defaultPullPolicies(spec: VirtualMachineInstanceSpec): void {
  for (const v of spec.volumes ?? []) {
    if (v.containerDisk && !v.containerDisk.imagePullPolicy) v.containerDisk.imagePullPolicy = defaultPullPolicy(v.containerDisk.image);
  }
  const c = spec.domain.firmware?.kernelBoot?.container;
  if (c && !c.imagePullPolicy) c.imagePullPolicy = defaultPullPolicy(c.image);
}

function defaultInterfaces(spec: VirtualMachineInstanceSpec): void {
  const devices = spec.domain.devices;
  // KubeVirt's cluster default binding is bridge; virtnode picks masquerade, the one
  // KubeVirt recommends for the pod network and the one its examples use.
  if (devices.autoattachPodInterface !== false && !devices.interfaces?.length && !spec.networks?.length) {
    devices.interfaces = [{ name: 'default', masquerade: {} }];
    spec.networks = [{ name: 'default', pod: {} }];
  }
  for (const iface of devices.interfaces ?? []) {
    iface.model ||= 'virtio';
    for (const port of iface.ports ?? []) port.protocol ||= 'TCP';
  }
}
