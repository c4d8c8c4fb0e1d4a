// Admission of an Apply, as KubeVirt's validating and mutating webhooks and the API
// server do it on create: read the manifest, validate every object and apply
// defaults (proto/vmi/admit.ts, run by manifest-reader.ts), check what only this
// node can judge (its pod network against the VM's interfaces, its host disk roots
// and files against the VM's hostDisks), and refuse changes to what cannot change
// (a VMI's spec, an object being deleted). Every document is judged before any is
// stored: a rejected manifest changes nothing.

import { AlreadyExistsError, InvalidSpecError, type FieldError } from '../../proto/errors.js';
import { vmiFromVM, KIND_VM, KIND_VMI, type KubeVirtObject, type VirtualMachine, type VirtualMachineInstance } from '../../proto/vmi/index.js';
import type { ManifestObject } from '../../proto/vmi/manifest.js';
import { isTemplateKind, KIND_CONTROLLER_REVISION, type ControllerRevision, type TemplateObject } from '../../proto/instancetype/types.js';
import { planPodNetwork, podNetworkRequest, type ResolvedNodeNetwork } from '../network/index.js';
import type { HostDisks } from '../hostdisk/host-disks.js';
import type { Store, StoredObject } from '../store/store.js';
import { scopeOf } from '../store/kinds.js';
import { admitTemplatedVM, hasMatchers } from '../instancetype/admit-vm.js';
import type { Lookup } from '../instancetype/resolve.js';
import type { ManifestReader } from './manifest-reader.js';
import type { HotplugRequest } from '../../proto/vmi/validate-hotplug.js';
import type { NodeComputeFacts } from '../../proto/node-capabilities.js';
import { judgeOnNode } from '../../proto/vmi/validate-node.js';
import { KIND_PVC, validatePvcUpdate, type PersistentVolumeClaim } from '../../proto/storage/pvc.js';
import type { Claims } from '../storage/claims.js';

/** virtnode does pod networking (masquerade and bridge bindings on the pod network). */
const NETWORKING = { podNetworking: true } as const;

/** A uid for planning: a VM has none before it is stored, and planning needs none. */
const PLANNING_UID = '00000000-0000-0000-0000-000000000000';

export interface Admitted {
  /** The objects as they would be stored: validated and defaulted, in manifest order. */
  objects: ManifestObject[];
  warnings: string[];
}

/** Judging VMs with instance types holds the event loop per VM: it is let go this often. */
const YIELD_EVERY_MS = 20;

export function namespaceOf(n: string | undefined): string {
  return n || 'default';
}

/**
 * Admits an Apply's manifest: judged by `reader` (off the event loop when large),
 * then checked against this node. Throws one InvalidSpecError naming every bad field.
 */
export async function admit(reader: ManifestReader, text: string, store: Store, node: ResolvedNodeNetwork, hostDisks?: HostDisks, compute?: NodeComputeFacts, claims?: Claims): Promise<Admitted> {
  const judged = await reader.read(text, NETWORKING);
  const admitted: ManifestObject[] = [];
  const errors: FieldError[] = [];
  const warnings = judged.warnings;
  const lookup = manifestLookup(judged.objects.flatMap((j) => (j.object && isTemplateKind(j.object.kind) ? [j.object as TemplateObject] : [])), store);
  let slice = Date.now();
  // Bytes the claims before this one in the manifest take from the storage dir.
  let claimed = 0n;
  for (const j of judged.objects) {
    if (!j.object) {
      errors.push(...j.errors);
      continue;
    }
    try {
      let o = j.object;
      checkMutable(o, store);
      if (o.kind === KIND_PVC) {
        claimed += checkClaim(o as PersistentVolumeClaim, store, claims, claimed);
      } else if (!isTemplateKind(o.kind)) {
        let planned = o as KubeVirtObject;
        if (o.kind === KIND_VM && hasMatchers(o as VirtualMachine)) {
          const stored = store.get<VirtualMachine>(KIND_VM, namespaceOf(o.metadata.namespace), o.metadata.name);
          const a = admitTemplatedVM(o as VirtualMachine, lookup, NETWORKING, stored);
          o = a.vm;
          warnings.push(...a.warnings.map((w) => `${j.prefix}${w}`));
          planned = a.expanded ?? a.vm;
        }
        checkPodNetwork(planned, node);
        if (hostDisks) checkHostDisks(planned, hostDisks);
        if (compute) warnings.push(...checkCompute(planned, compute).map((w) => `${j.prefix}${w}`));
      }
      admitted.push(o);
    } catch (e) {
      if (e instanceof InvalidSpecError) errors.push(...e.fields.map((f) => ({ path: `${j.prefix}${f.path}`, message: f.message })));
      else throw e;
    }
    if (Date.now() - slice > YIELD_EVERY_MS) {
      await new Promise((r) => setImmediate(r));
      slice = Date.now();
    }
  }
  if (errors.length) throw new InvalidSpecError(errors);
  return { objects: admitted, warnings };
}

/** Instance types and preferences of the manifest itself first (a VM may come with its own), then the store's. */
export function manifestLookup(own: TemplateObject[], store: Store): Lookup {
  const mine = new Map(own.map((o) => [`${o.kind}/${scopeOf(o.kind, o.metadata.namespace)}/${o.metadata.name}`, o]));
  return {
    template: (kind, ns, name) => mine.get(`${kind}/${scopeOf(kind, ns)}/${name}`) ?? store.get<TemplateObject>(kind, scopeOf(kind, ns), name),
    revision: (ns, name) => store.get<ControllerRevision>(KIND_CONTROLLER_REVISION, ns, name),
  };
}

/**
 * What only this node can judge of the CPU and timers (proto/vmi/validate-node.ts),
 * once its probe has answered; returns the warnings.
 */
export function checkCompute(obj: KubeVirtObject, facts: NodeComputeFacts): string[] {
  const vm = obj.kind === KIND_VM;
  const spec = vm ? (obj as VirtualMachine).spec.template.spec : (obj as VirtualMachineInstance).spec;
  const { errors, warnings } = judgeOnNode(spec, vm ? 'spec.template.spec' : 'spec', facts);
  if (errors.length) throw new InvalidSpecError(errors);
  return warnings;
}

/** What only this node can judge: its pod CIDR and bindings against the VM's network. */
function checkPodNetwork(obj: KubeVirtObject, node: ResolvedNodeNetwork): void {
  const uid = obj.metadata.uid ?? PLANNING_UID;
  const planned = { ...obj, metadata: { ...obj.metadata, uid } };
  const vmi = obj.kind === KIND_VM ? vmiFromVM(planned as VirtualMachine, uid) : (planned as VirtualMachineInstance);
  try {
    planPodNetwork(podNetworkRequest(vmi, '/'), node);
  } catch (e) {
    if (!(e instanceof InvalidSpecError) || obj.kind !== KIND_VM) throw e;
    // The plan speaks of the VMI; the user wrote the VM's template.
    throw new InvalidSpecError(e.fields.map((f) => ({ ...f, path: f.path.replace(/^spec\./, 'spec.template.spec.') })));
  }
}

/**
 * What only this node can judge of the VM's hostDisks: a root of this node holds
 * each path, the file is a regular file beneath it (or, for DiskOrCreate, its
 * directory is), and no other VMI holds it writable. Preparation judges again.
 */
export function checkHostDisks(obj: KubeVirtObject, hostDisks: HostDisks): void {
  const vmi = obj.kind === KIND_VM ? vmiFromVM({ ...obj, metadata: { ...obj.metadata, uid: obj.metadata.uid ?? PLANNING_UID } } as VirtualMachine, PLANNING_UID) : (obj as VirtualMachineInstance);
  if (!vmi.spec.volumes?.some((v) => v.hostDisk)) return;
  // A VM's VMI has the VM's name: re-applying a running VM is not a second holder.
  const errors = hostDisks.check(vmi, { namespace: namespaceOf(obj.metadata.namespace), name: obj.metadata.name });
  if (errors.length === 0) return;
  throw new InvalidSpecError(obj.kind === KIND_VM ? errors.map((f) => ({ ...f, path: f.path.replace(/^spec\./, 'spec.template.spec.') })) : errors);
}

/**
 * What only this node can judge of a claim: standalone mode provisions it here (a
 * handler without a storage dir has no claims), its disk must fit the storage dir,
 * and a stored claim changes only by growing. Returns the bytes it takes.
 */
function checkClaim(pvc: PersistentVolumeClaim, store: Store, claims: Claims | undefined, pending: bigint): bigint {
  if (!claims) throw new InvalidSpecError([{ path: 'kind', message: 'this handler provisions no PersistentVolumeClaims (it has no storage dir)' }]);
  const cur = store.get<PersistentVolumeClaim>(KIND_PVC, namespaceOf(pvc.metadata.namespace), pvc.metadata.name);
  if (cur) {
    const errors = validatePvcUpdate(pvc, cur);
    if (errors.length) throw new InvalidSpecError(errors);
  }
  const { errors, bytes } = claims.checkFits(pvc, cur, pending);
  if (errors.length) throw new InvalidSpecError(errors);
  return bytes;
}

/** A VMI's spec is immutable, as in KubeVirt; nothing may be applied over an object being deleted. */
function checkMutable(obj: ManifestObject, store: Store): void {
  const ns = scopeOf(obj.kind, obj.metadata.namespace);
  const cur = store.get<StoredObject>(obj.kind, ns, obj.metadata.name);
  if (cur && obj.kind === KIND_VMI && JSON.stringify((cur as VirtualMachineInstance).spec) !== JSON.stringify(obj.spec)) {
    throw new InvalidSpecError([{ path: 'spec', message: 'a VirtualMachineInstance spec cannot be changed after creation; delete it and create it again, or use a VirtualMachine' }]);
  }
  if (cur?.metadata.deletionTimestamp) throw new AlreadyExistsError(`${obj.kind} ${ns}/${obj.metadata.name} is being deleted;`);
}

/**
 * What only this node can judge of a hot-plugged hostDisk (as checkHostDisks for an
 * Apply): judged with the VMI's other volumes, errors named in the request's terms.
 */
export function checkHotplugHostDisk(vmi: VirtualMachineInstance, req: HotplugRequest, hostDisks: HostDisks | undefined): void {
  if (!req.volume.hostDisk) return;
  if (!hostDisks || hostDisks.roots.length === 0) {
    throw new InvalidSpecError([{ path: 'volumeSource.hostDisk', message: 'HostDisk feature gate is not enabled: this node has no host disk root (--host-disk-root)' }]);
  }
  const volumes = [...(vmi.spec.volumes ?? []), req.volume];
  const candidate: VirtualMachineInstance = {
    ...vmi,
    spec: { ...vmi.spec, domain: { ...vmi.spec.domain, devices: { ...vmi.spec.domain.devices, disks: [...(vmi.spec.domain.devices.disks ?? []), req.disk] } }, volumes },
  };
  const prefix = `spec.volumes[${volumes.length - 1}]`;
  const errors = hostDisks.check(candidate, { uid: vmi.metadata.uid! }).filter((f) => f.path === prefix || f.path.startsWith(`${prefix}.`));
  if (errors.length) throw new InvalidSpecError(errors.map((f) => ({ ...f, path: `volumeSource${f.path.slice(prefix.length)}` })));
}
