// devices.tpm: a TPM 2.0 emulated by swtpm (Debian's swtpm), as libvirt's
// <tpm><backend type='emulator' version='2.0'> does. The launcher starts one swtpm
// per VM before QEMU (launcher/domain/swtpm.ts); QEMU reaches it through its control
// socket. The model is KubeVirt's: tpm-tis, or tpm-crb when the state persists.

import { VirtnodeError } from '../../../proto/errors.js';
import { runDirLayout, type LaunchContext } from '../../../proto/launch.js';
import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import { escapeOptValue } from '../qemu-opts.js';
import type { DomainTpm } from '../types.js';

export const TPM_IDS = Object.freeze({ chardev: 'chrtpm', tpmdev: 'tpm-tpm0', device: 'tpm0' });

export function tpmFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext): DomainTpm | undefined {
  const tpm = vmi.spec.domain.devices.tpm;
  if (!tpm || tpm.enabled === false) return undefined;
  const stateDir = ctx.deviceState?.tpmDir;
  if (stateDir === undefined) throw new VirtnodeError('VN_INTERNAL', 'spec.domain.devices.tpm: the handler gave no place for the TPM state (context.deviceState.tpmDir)');
  return { model: tpm.persistent ? 'tpm-crb' : 'tpm-tis', socket: runDirLayout(ctx.runDir).tpmSocket, stateDir };
}

/** -chardev to swtpm's control socket, the emulator backend, the TPM device. */
export function tpmArgv(t: DomainTpm): string[] {
  return [
    '-chardev', `socket,id=${TPM_IDS.chardev},path=${escapeOptValue(t.socket)}`,
    '-tpmdev', `emulator,id=${TPM_IDS.tpmdev},chardev=${TPM_IDS.chardev}`,
    '-device', `${t.model},tpmdev=${TPM_IDS.tpmdev},id=${TPM_IDS.device}`,
  ];
}
