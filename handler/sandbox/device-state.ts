// Where a VM's device state lives on the node: the EFI variable store (NVRAM) and the
// TPM's state. KubeVirt keeps what must persist in a "persistent-state-for-<vm>" PVC
// owned by the VM (backend storage); standalone virtnode keeps it in a directory per
// VM, <state>/vms/<vm uid>/, made by the launcher on first use and removed with the
// VM. State that need not persist lives in the VMI's disk directory and goes with its
// sandbox. As in KubeVirt, a VMI no VM owns has nothing to persist beyond itself: its
// "persistent" state is the VMI's and goes with it.

import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { DeviceState } from '../../proto/launch.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';

/** The VirtualMachine that controls `vmi`, by uid, if one does. */
export function owningVmUid(vmi: VirtualMachineInstance): string | undefined {
  return vmi.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachine' && o.controller)?.uid;
}

/** The per-VM directories of persistent device state. */
export class VmStateDirs {
  readonly root: string;

  constructor(stateRoot: string) {
    this.root = join(stateRoot, 'vms');
  }

  dirOf(vmUid: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(vmUid)) throw new Error(`VM uid ${JSON.stringify(vmUid)} is not a plain name`);
    return join(this.root, vmUid);
  }

  /** Removes a VM's device state (the VM is gone). */
  async remove(vmUid: string): Promise<void> {
    await fs.rm(this.dirOf(vmUid), { recursive: true, force: true });
  }

  /** The uids that have state here. */
  async list(): Promise<string[]> {
    try {
      return await fs.readdir(this.root);
    } catch {
      return [];
    }
  }
}

/**
 * Where `vmi`'s devices keep their state: the owning VM's directory for what the spec
 * asks to persist (when `vmDirs` is given and a VM owns it), else `vmiDir` (the VMI's
 * disk directory). The variable store is named by its template (Secure Boot or not),
 * so switching secureBoot on a VM never boots one build on the other's keys.
 */
export function deviceStateOf(vmi: VirtualMachineInstance, vmiDir: string, vmDirs?: VmStateDirs): DeviceState | undefined {
  const efi = vmi.spec.domain.firmware?.bootloader?.efi;
  const tpm = vmi.spec.domain.devices.tpm;
  const hasTpm = tpm !== undefined && tpm.enabled !== false;
  if (!efi && !hasTpm) return undefined;
  const vmUid = owningVmUid(vmi);
  const dirFor = (persistent: boolean | undefined): string => (persistent && vmDirs && vmUid ? vmDirs.dirOf(vmUid) : vmiDir);
  return {
    ...(efi ? { nvram: join(dirFor(efi.persistent), efi.secureBoot === false ? 'efi-vars.fd' : 'efi-vars-secureboot.fd') } : {}),
    ...(hasTpm ? { tpmDir: join(dirFor(tpm.persistent), 'tpm') } : {}),
  };
}
