// devices.tpm end to end, with bios.useSerial, firmware.uuid and firmware.serial in the same boot: a bare VMI on SeaBIOS
// whose messages reach the serial console through sgabios, with a TPM 2.0 (tpm-tis,
// state not persistent) that the guest kernel finds as /dev/tpm0 and that answers a
// TPM2_GetRandom. Its swtpm runs as 107 with no capabilities, no_new_privs, seccomp,
// in a mount namespace of its own and in the VM's cgroup; it goes with the VM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { TestHandler, useTestHandler, DEMO_IMAGE } from './harness.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

/** Waits for Running, failing at once (with its status) if the VMI Failed instead. */
async function running(name: string, ms: number, pred: (v: VirtualMachineInstance) => boolean = () => true): Promise<VirtualMachineInstance> {
  const v = (await h.waitVMI(name, (x) => x !== undefined && pred(x) && (x.status?.phase === 'Running' || x.status?.phase === 'Failed'), 'Running', ms))!;
  assert.equal(v.status?.phase, 'Running', JSON.stringify(v.status));
  return v;
}

/** Live processes whose argv starts with `/usr/bin/swtpm` and mentions `needle`. */
function swtpmPids(needle: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0] === '/usr/bin/swtpm' && argv.some((a) => a.includes(needle))) out.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return out;
}

function status(pid: number, field: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))!;
  return line.slice(field.length + 1).trim().replace(/\s+/g, ' ');
}

test('TPM 2.0 through swtpm (/dev/tpm0 answers), and SeaBIOS on the serial console with useSerial', { timeout: 300_000 }, async (t) => {
  const yaml = `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: tpm-bios
spec:
  terminationGracePeriodSeconds: 0
  domain:
    firmware:
      uuid: 5c6a3e8e-0b4f-4d2a-9f3e-7a1b2c3d4e5f
      serial: VN-SERIAL-42
      bootloader:
        bios:
          useSerial: true
    devices:
      tpm: {}
      disks:
      - name: containerdisk
        disk:
          bus: virtio
    resources:
      requests:
        memory: 128Mi
  volumes:
  - name: containerdisk
    containerDisk:
      image: ${DEMO_IMAGE}
`;
  const apply = await h.cli(['apply', '-f', '-'], yaml);
  assert.equal(apply.code, 0, apply.stderr);
  const vmi = await running('tpm-bios', 120_000);
  const uid = vmi.metadata.uid!;
  const con = h.console('tpm-bios');
  await con.login('root');
  // sgabios: SeaBIOS's own lines, before the kernel's, on ttyS0. With the VGA device
  // attached (the default) it mirrors the text screen, a cursor move before each character.
  const plain = con.output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  assert.match(plain, /SeaBIOS \(version [^)]+\)/);
  assert.match(plain, /Booting from Hard Disk/);
  // firmware.uuid and firmware.serial: SMBIOS type 1 as the guest reads it.
  assert.equal((await con.run('cat /sys/class/dmi/id/product_uuid')).trim(), '5c6a3e8e-0b4f-4d2a-9f3e-7a1b2c3d4e5f');
  assert.equal((await con.run('cat /sys/class/dmi/id/product_serial')).trim(), 'VN-SERIAL-42');
  assert.equal((await con.run('cat /sys/class/tpm/tpm0/tpm_version_major')).trim(), '2');
  assert.match(await con.run('ls -l /dev/tpm0'), /^c.* \/dev\/tpm0$/m);
  // TPM2_GetRandom(8): tag 0x8001, size 12, command 0x17b; the answer starts 80 01, size 0x14, rc 0, 8 bytes.
  const hex = await con.run("exec 3<>/dev/tpm0; printf '\\200\\001\\000\\000\\000\\014\\000\\000\\001\\173\\000\\010' >&3; dd bs=64 count=1 <&3 2>/dev/null | od -An -tx1; exec 3<&-");
  t.diagnostic(`TPM2_GetRandom answer: ${hex.trim().replace(/\s+/g, ' ')}`);
  assert.match(hex.replace(/\s+/g, ' '), /^ ?80 01 00 00 00 14 00 00 00 00 00 08( [0-9a-f]{2}){8} ?$/);
  con.close();

  // One swtpm, confined as QEMU is, in the VM's cgroup.
  const pids = swtpmPids(uid);
  assert.equal(pids.length, 1, `one swtpm for the VM: ${pids.join(' ')}`);
  const pid = pids[0]!;
  assert.equal(status(pid, 'Uid'), '107 107 107 107');
  assert.equal(status(pid, 'CapEff'), '0000000000000000');
  assert.equal(status(pid, 'CapBnd'), '0000000000000000');
  assert.equal(status(pid, 'NoNewPrivs'), '1');
  assert.equal(status(pid, 'Seccomp'), '2');
  assert.notEqual(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'a mount namespace of its own');
  assert.ok(readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').filter(Boolean).some((l) => l.includes(uid)), 'in the VM\'s cgroup');
  const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').trim().split('\n').map((l) => l.split(' ')[4]!);
  t.diagnostic(`swtpm's mounts: ${mounts.join(' ')}`);
  assert.ok(!mounts.some((m) => m.startsWith(h.stateDir) && !m.endsWith('/tpm')), 'nothing of the handler\'s state but the TPM\'s');

  const del = await h.cli(['delete', 'vmi', 'tpm-bios', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(uid);
  assert.deepEqual(swtpmPids(uid), [], 'swtpm went with the VM');
});
