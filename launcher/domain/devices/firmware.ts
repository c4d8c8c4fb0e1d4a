// Firmware (KubeVirt's firmware.bootloader): SeaBIOS, QEMU's default, optionally
// writing to the serial console through sgabios (bios.useSerial, libvirt's
// <bios useserial='yes'/>); or OVMF from Debian's ovmf package as two pflash chips,
// the code read-only and the VM's own variable store (NVRAM) writable, as libvirt's
// <loader type='pflash'> and <nvram template=...> do. Secure Boot takes the build
// that writes its variables only from SMM, with Microsoft's keys enrolled in its
// template (what KubeVirt's images ship). The variable store is copied from the
// template the first time; where it lives (the VM's directory when persistent, else
// the VMI's) is the handler's choice, in the launch context.

import { copyFileSync, constants, mkdirSync } from 'node:fs';
import { posix } from 'node:path';
import { VirtnodeError } from '../../../proto/errors.js';
import type { LaunchContext } from '../../../proto/launch.js';
import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import type { DomainBoot, DomainEfi } from '../types.js';

/** Debian's OVMF (package ovmf), 4 MiB flash builds. */
export const OVMF_DIR = '/usr/share/OVMF';
export const OVMF = Object.freeze({ code: `${OVMF_DIR}/OVMF_CODE_4M.fd`, vars: `${OVMF_DIR}/OVMF_VARS_4M.fd` });
/** Secure Boot: the SMM build, and variables with Microsoft's KEK and db enrolled (".ms"). */
export const OVMF_SECURE_BOOT = Object.freeze({ code: `${OVMF_DIR}/OVMF_CODE_4M.secboot.fd`, vars: `${OVMF_DIR}/OVMF_VARS_4M.ms.fd` });

/** Node names of the pflash block devices. */
export const PFLASH_NODES = Object.freeze({ code: 'pflash-code', vars: 'pflash-vars' });

export function firmwareFromVMI(vmi: VirtualMachineInstance, ctx: LaunchContext): Pick<DomainBoot, 'firmware' | 'biosSerial' | 'efi'> {
  const bl = vmi.spec.domain.firmware?.bootloader;
  if (bl?.efi) {
    const nvram = ctx.deviceState?.nvram;
    if (nvram === undefined) throw new VirtnodeError('VN_INTERNAL', 'spec.domain.firmware.bootloader.efi: the handler gave no place for the EFI variable store (context.deviceState.nvram)');
    // KubeVirt on amd64: Secure Boot unless turned off.
    const secureBoot = bl.efi.secureBoot !== false;
    const build = secureBoot ? OVMF_SECURE_BOOT : OVMF;
    return { firmware: 'efi', efi: { code: build.code, varsTemplate: build.vars, vars: nvram, secureBoot } };
  }
  return { firmware: 'bios', ...(bl?.bios?.useSerial ? { biosSerial: true } : {}) };
}

/**
 * Makes the VM's variable store from its template if it has none yet (a persistent
 * one is kept from the VM's last run). Root's, 0600: the launcher gives it to QEMU.
 */
export function ensureNvram(efi: DomainEfi): void {
  try {
    mkdirSync(posix.dirname(efi.vars), { recursive: true, mode: 0o700 });
    copyFileSync(efi.varsTemplate, efi.vars, constants.COPYFILE_EXCL);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new VirtnodeError('VN_SANDBOX', `making the EFI variable store ${efi.vars} from ${efi.varsTemplate}: ${(e as Error).message}`, { cause: e });
  }
}

/** The pflash chips' block devices (their machine properties are machine.ts's), and sgabios. */
export function firmwareArgv(b: DomainBoot): string[] {
  if (b.efi) {
    const { code, vars } = PFLASH_NODES;
    const blockdev = (node: string, filename: string, readOnly: boolean): string[] => [
      '-blockdev', JSON.stringify({ driver: 'file', filename, 'node-name': `${node}-file`, 'read-only': readOnly }),
      '-blockdev', JSON.stringify({ driver: 'raw', file: `${node}-file`, 'node-name': node, 'read-only': readOnly }),
    ];
    return [
      ...blockdev(code, b.efi.code, true),
      ...blockdev(vars, b.efi.vars, false),
      // The guest may write the variable store only from SMM: what makes Secure Boot's keys its own.
      ...(b.efi.secureBoot ? ['-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
    ];
  }
  return b.biosSerial ? ['-device', 'sga'] : [];
}
