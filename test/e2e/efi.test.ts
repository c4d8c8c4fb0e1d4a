// UEFI end to end (firmware.bootloader.efi, features.smm), on the test guest's UEFI
// disks as containerDisks: Debian's shim → grub → kernel chain, and an unsigned kernel.
//
// 1. A VM with EFI without Secure Boot, its NVRAM and TPM persistent: the guest runs
//    under UEFI, writes an EFI variable; the VM stops and starts again (a new VMI,
//    a new QEMU) and the guest reads the variable back from the VM's variable store;
//    the TPM's owner password, set in the first, is still set in the second; the
//    VM's state directory goes with the VM.
// 2. A VMI with Secure Boot (efi: {} and SMM): the firmware refuses the unsigned
//    kernel (its disk boots first) and boots the signed chain, and the guest kernel
//    says Secure Boot is on.
// OVMF is slow under TCG: three boots in all.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGuest, pushImage } from '../guest/index.js';
import { stableFirmwareUUID } from '../../proto/vmi/index.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { TestHandler, testRegistry, useTestHandler } from './harness.js';

let h: TestHandler;
useTestHandler((x) => (h = x), {
  started: async () => {
    const { registry } = await testRegistry();
    const guest = await ensureGuest();
    await pushImage(guest.ociEfiDisk, `${registry.host}/virtnode/efi-disk:latest`);
    await pushImage(guest.ociEfiUnsigned, `${registry.host}/virtnode/efi-unsigned:latest`);
  },
});

/** Waits for Running, failing at once (with its status) if the VMI Failed instead. */
async function running(name: string, ms: number, pred: (v: VirtualMachineInstance) => boolean = () => true): Promise<VirtualMachineInstance> {
  const v = (await h.waitVMI(name, (x) => x !== undefined && pred(x) && (x.status?.phase === 'Running' || x.status?.phase === 'Failed'), 'Running', ms))!;
  assert.equal(v.status?.phase, 'Running', JSON.stringify(v.status));
  return v;
}

const EFI_DISK = 'quay.io/virtnode/efi-disk';
const EFI_UNSIGNED = 'quay.io/virtnode/efi-unsigned';
/** An EFI variable of our own vendor GUID: NV+BS+RT attributes (7, little-endian), then the value. */
const VAR = 'VirtnodeTest-4a3c1b9e-2f1d-4c7e-9a55-3e1f0c2b7d61';
const EFIVARS = '/sys/firmware/efi/efivars';

/** A shell line sending one TPM command (bytes) to /dev/tpm0 and printing the answer in hex. */
function tpmCommand(bytes: number[]): string {
  const octal = bytes.map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
  return `exec 3<>/dev/tpm0; printf '${octal}' >&3; dd bs=256 count=1 <&3 2>/dev/null | od -An -tx1 -v; exec 3<&-`;
}
const hexBytes = (out: string): number[] => out.trim().split(/\s+/).map((x) => parseInt(x, 16));
/** TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES, TPM_PT_PERMANENT, 1). */
const GET_PERMANENT = [0x80, 0x01, 0, 0, 0, 0x16, 0, 0, 0x01, 0x7a, 0, 0, 0, 6, 0, 0, 0x02, 0, 0, 0, 0, 1];
/** TPM2_HierarchyChangeAuth(TPM_RH_OWNER, "vnod") with an empty password session. */
const SET_OWNER_AUTH = [0x80, 0x02, 0, 0, 0, 0x21, 0, 0, 0x01, 0x29, 0x40, 0, 0, 0x01, 0, 0, 0, 9, 0x40, 0, 0, 9, 0, 0, 0, 0, 0, 0, 4, 0x76, 0x6e, 0x6f, 0x64];
/** TPMA_PERMANENT.ownerAuthSet, from a GET_PERMANENT answer (rc must be 0). */
function ownerAuthSet(answer: number[]): boolean {
  assert.deepEqual(answer.slice(6, 10), [0, 0, 0, 0], `TPM2_GetCapability failed: ${answer.join(' ')}`);
  return (answer[answer.length - 1]! & 1) === 1;
}

function efiVM(name: string): string {
  return `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: ${name}
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        firmware:
          bootloader:
            efi:
              secureBoot: false
              persistent: true
        devices:
          tpm:
            persistent: true
          disks:
          - name: root
            disk:
              bus: virtio
        resources:
          requests:
            memory: 256Mi
      volumes:
      - name: root
        containerDisk:
          image: ${EFI_DISK}
`;
}

test('EFI without Secure Boot: the guest runs under UEFI; its EFI variables and TPM state persist with the VM, and go with it', { timeout: 600_000 }, async (t) => {
  const apply = await h.cli(['apply', '-f', '-'], efiVM('efi-vm'));
  assert.equal(apply.code, 0, apply.stderr);
  const first = await running('efi-vm', 180_000);
  const vmUid = (await h.getVM('efi-vm'))!.metadata.uid!;
  const stateDir = join(h.stateDir, 'vms', vmUid);
  let con = h.console('efi-vm');
  const t0 = Date.now();
  await con.login('root');
  t.diagnostic(`UEFI boot to a root shell: ${Date.now() - t0} ms after Running`);
  assert.match(con.output, /BdsDxe: starting Boot\d+/, 'OVMF booted the disk');
  assert.equal((await con.run(`[ -d /sys/firmware/efi ] && echo uefi`)).trim(), 'uefi');
  assert.match(await con.run('dmesg | grep -i "secure boot"'), /Secure boot disabled/);
  // The guest writes a variable of its own through efivarfs.
  await con.run(`modprobe efivarfs; mount -t efivarfs efivarfs ${EFIVARS}`);
  // efivarfs takes a variable in one write(): attributes and value from a file, by dd.
  await con.run(`printf '\\007\\000\\000\\000virtnode-persisted' > /tmp/var`);
  assert.equal((await con.run(`dd if=/tmp/var of=${EFIVARS}/${VAR} bs=4096 conv=notrunc 2>&1 >/dev/null | grep -v records`)).trim(), '');
  assert.equal((await con.run(`tail -c +5 ${EFIVARS}/${VAR}; echo`)).trim(), 'virtnode-persisted');
  // The TPM (tpm-crb: persistent) is there; the guest gives its owner hierarchy a
  // password, which lives in the TPM's persistent state; swtpm keeps it in the VM's directory.
  assert.equal((await con.run('cat /sys/class/tpm/tpm0/tpm_version_major')).trim(), '2');
  assert.equal(ownerAuthSet(hexBytes(await con.run(tpmCommand(GET_PERMANENT)))), false);
  assert.deepEqual(hexBytes(await con.run(tpmCommand(SET_OWNER_AUTH))).slice(6, 10), [0, 0, 0, 0], 'TPM2_HierarchyChangeAuth');
  assert.equal(ownerAuthSet(hexBytes(await con.run(tpmCommand(GET_PERMANENT)))), true);
  // firmware.uuid: the VM's stable one (KubeVirt's name-based UUID), under UEFI too.
  assert.equal((await con.run('cat /sys/class/dmi/id/product_uuid')).trim(), stableFirmwareUUID('efi-vm'));
  assert.ok(existsSync(join(stateDir, 'efi-vars.fd')), 'the VM\'s variable store');
  assert.ok(existsSync(join(stateDir, 'tpm', 'tpm2-00.permall')), 'swtpm\'s state');
  con.close();

  // A new VMI: a new QEMU reads the VM's variable store.
  const stop = await h.cli(['stop', 'efi-vm']);
  assert.equal(stop.code, 0, stop.stderr);
  await h.waitVMI('efi-vm', (v) => v === undefined, 'gone after stop', 90_000);
  await h.nothingLeft(first.metadata.uid!);
  assert.match(readFileSync(join(stateDir, 'efi-vars.fd')).toString('utf16le'), /VirtnodeTest/, 'the variable is in the store on the node');
  assert.equal((await h.cli(['start', 'efi-vm'])).code, 0);
  const second = await running('efi-vm', 180_000, (v) => v.metadata.uid !== first.metadata.uid);
  con = h.console('efi-vm');
  await con.login('root');
  await con.run(`modprobe efivarfs; mount -t efivarfs efivarfs ${EFIVARS}`);
  assert.equal((await con.run(`tail -c +5 ${EFIVARS}/${VAR}; echo`)).trim(), 'virtnode-persisted', 'the variable survived the VMI');
  assert.equal(ownerAuthSet(hexBytes(await con.run(tpmCommand(GET_PERMANENT)))), true, 'the TPM\'s owner password survived the VMI');
  con.close();

  // Deleting the VM removes its device state.
  const del = await h.cli(['delete', 'vm', 'efi-vm', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(second!.metadata.uid!);
  assert.ok(!existsSync(stateDir), `${stateDir} left behind`);
});

test('Secure Boot with SMM: the unsigned kernel is refused, Debian\'s signed shim → grub → kernel boots', { timeout: 600_000 }, async (t) => {
  const yaml = `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: efi-sb
spec:
  terminationGracePeriodSeconds: 0
  domain:
    firmware:
      bootloader:
        efi: {}
    features:
      smm: {}
    devices:
      disks:
      - name: unsigned
        bootOrder: 1
        disk:
          bus: virtio
      - name: signed
        bootOrder: 2
        disk:
          bus: virtio
    resources:
      requests:
        memory: 512Mi
  volumes:
  - name: unsigned
    containerDisk:
      image: ${EFI_UNSIGNED}
  - name: signed
    containerDisk:
      image: ${EFI_DISK}
`;
  const apply = await h.cli(['apply', '-f', '-'], yaml);
  assert.equal(apply.code, 0, apply.stderr);
  const vmi = await running('efi-sb', 180_000);
  const con = h.console('efi-sb');
  const t0 = Date.now();
  // The unsigned disk boots first (bootOrder 1): OVMF will not load its kernel.
  const denied = await con.expect(/BdsDxe: failed to load (Boot\d+) [^\r\n]*: Access Denied/, 180_000);
  t.diagnostic(`refused: ${denied[0]}`);
  await con.login('root');
  t.diagnostic(`Secure Boot to a root shell: ${Date.now() - t0} ms after Running`);
  assert.match(await con.run('dmesg | grep -i "secure boot"'), /Secure boot enabled/);
  con.close();
  const del = await h.cli(['delete', 'vmi', 'efi-sb', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(vmi.metadata.uid!);
});
