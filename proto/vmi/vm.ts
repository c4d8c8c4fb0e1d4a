// The VMI a VirtualMachine starts, built as KubeVirt's VM controller builds it
// (SetupVMIFromVM) and completed by the defaults its VMI mutating webhook applies.

import { createHash } from 'node:crypto';
import { VirtnodeError } from '../errors.js';
import { applyDefaults, DEFAULT_NAMESPACE, type DefaultsOptions } from './defaults.js';
import { API_VERSION, KIND_VM, KIND_VMI, type VirtualMachine, type VirtualMachineInstance } from './types.js';

/** Annotation on the VMI: the VM generation it was made from. */
export const VM_GENERATION_ANNOTATION = 'kubevirt.io/vm-generation';

// KubeVirt's namespace for name-based firmware UUIDs (virt-controller's firmware.go):
// the same VM name yields the same SMBIOS UUID here as under KubeVirt.
const FIRMWARE_UUID_NAMESPACE = '6a1a24a1-4061-4607-8bf4-a3963d0c5895';

/** RFC 4122 version 5 (SHA-1, name-based) UUID. */
export function uuidV5(namespace: string, name: string): string {
  const h = createHash('sha1').update(Buffer.from(namespace.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The firmware UUID KubeVirt gives a VM that names none: stable across restarts. */
export function stableFirmwareUUID(vmName: string): string {
  return uuidV5(FIRMWARE_UUID_NAMESPACE, vmName);
}

/**
 * The VMI for `vm`: its name and namespace, the template's labels and annotations,
 * a controller ownerReference to the VM, and the template spec with defaults. `uid`
 * is the new VMI's uid (the handler's store makes it). The VM must have a uid.
 */
export function vmiFromVM(vm: VirtualMachine, uid?: string, options: Partial<DefaultsOptions> = {}): VirtualMachineInstance {
  const vmUid = vm.metadata.uid;
  if (!vmUid) throw new VirtnodeError('VN_INTERNAL', `VirtualMachine ${vm.metadata.name} has no uid: store it before starting it`);
  const template = structuredClone(vm.spec.template);
  const annotations = { ...template.metadata?.annotations };
  if (vm.metadata.generation !== undefined) annotations[VM_GENERATION_ANNOTATION] = String(vm.metadata.generation);

  const spec = template.spec;
  spec.domain.firmware = { ...spec.domain.firmware, uuid: spec.domain.firmware?.uuid || stableFirmwareUUID(vm.metadata.name) };

  const vmi: VirtualMachineInstance = {
    apiVersion: API_VERSION,
    kind: KIND_VMI,
    metadata: {
      name: vm.metadata.name,
      namespace: vm.metadata.namespace || DEFAULT_NAMESPACE,
      ...(uid && { uid }),
      // KubeVirt overrides the VMI's labels with the template's, whatever they were.
      ...(template.metadata?.labels && { labels: { ...template.metadata.labels } }),
      ...(Object.keys(annotations).length > 0 && { annotations }),
      ownerReferences: [{ apiVersion: API_VERSION, kind: KIND_VM, name: vm.metadata.name, uid: vmUid, controller: true, blockOwnerDeletion: true }],
    },
    spec,
  };
  return applyDefaults(vmi, options);
}
