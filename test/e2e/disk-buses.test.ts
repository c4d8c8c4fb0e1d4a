// Every disk bus through the handler, seen from inside the guest: a VMI with a
// sata, a scsi and a usb empty disk, a sata cdrom holding its cloud-init NoCloud
// ISO and a scsi cdrom. The guest must find each in /sys/block on its controller
// with the size it was given, the cdroms read-only and readable, and
// status.volumeStatus must name libvirt's targets with QEMU's sizes.
//
// The usual test guest cannot see them: Debian's cloud kernel has no AHCI
// (CONFIG_SATA_AHCI unset) and no USB (CONFIG_USB_SUPPORT unset). This test boots
// Debian's generic kernel of the same ABI instead, as a kernelBoot image
// (test/guest/build-full-kernel.sh), with the same userland.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pushImage } from '../guest/index.js';
import { makeTmp, writeOciLayout } from '../unit/helpers/registry.js';
import { TestHandler, cirrosVMI, testRegistry, useTestHandler } from './harness.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

const FULL_KERNEL_IMAGE = 'quay.io/virtnode/test-kernel-full';
const MiB = 1024 * 1024;

before(async () => {
  const { registry, guest } = await testRegistry();
  await promisify(execFile)('bash', [join(guest.cacheDir, '..', 'build-full-kernel.sh')], { env: { ...process.env, VIRTNODE_GUEST_CACHE: guest.cacheDir }, timeout: 600_000 });
  const full = join(guest.cacheDir, 'full');
  const tmp = await makeTmp('vn-full-kernel-');
  try {
    const layout = join(tmp, 'oci');
    const file = (path: string, name: string) => ({ path, data: readFileSync(join(full, name)), mode: 0o444 });
    await writeOciLayout(layout, 'latest', { layers: [[{ path: 'boot/', type: 'dir' as const, mode: 0o555 }, file('boot/vmlinuz', 'vmlinuz'), file('boot/initrd.img', 'initrd.img')]] });
    await pushImage(layout, `${registry.host}/virtnode/test-kernel-full:latest`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('sata, scsi and usb disks, a sata and a scsi cdrom: the guest sees each, sized, the cdroms read-only', async () => {
  const vmi = cirrosVMI('buses', {
    memory: '256Mi',
    uuid: '5d3c1a4e-8f0b-4c6d-9e2a-7b1f0c3d4e5f',
    kernelBoot: { image: FULL_KERNEL_IMAGE, kernelArgs: 'console=ttyS0 quiet' },
    disks: [
      { name: 'sata', bus: 'sata', source: 'emptyDisk:\n  capacity: 64Mi' },
      { name: 'scsi', bus: 'scsi', source: 'emptyDisk:\n  capacity: 96Mi' },
      { name: 'usb', bus: 'usb', source: 'emptyDisk:\n  capacity: 32Mi' },
      { name: 'cloudinit', cdrom: true, bus: 'sata', source: 'cloudInitNoCloud:\n  userData: |\n    #!/bin/sh\n    echo hi' },
      { name: 'scsicd', cdrom: true, bus: 'scsi', source: 'emptyDisk:\n  capacity: 2Mi' },
    ],
  });
  const r = await h.cli(['apply', '-f', '-'], vmi);
  assert.equal(r.code, 0, r.stderr);
  const v = (await h.waitVMI('buses', (x) => x?.status?.phase === 'Running' || x?.status?.phase === 'Failed', 'Running or Failed', 180_000))!;
  assert.equal(v.status?.phase, 'Running', JSON.stringify(v.status));

  // libvirt's targets: sata, scsi and usb share the sd letters, in spec order.
  const status = Object.fromEntries((v.status?.volumeStatus ?? []).map((s) => [s.name, s]));
  assert.deepEqual(
    ['containerdisk', 'sata', 'scsi', 'usb', 'cloudinit', 'scsicd'].map((n) => status[n]?.target),
    ['vda', 'sda', 'sdb', 'sdc', 'sdd', 'sde'],
  );
  assert.deepEqual([status.sata?.size, status.scsi?.size, status.usb?.size], [64 * MiB, 96 * MiB, 32 * MiB]);
  assert.ok((status.cloudinit?.size ?? 0) > 0, 'the cloud-init ISO has a size');

  const con = h.console('buses');
  await con.login('root');
  // PCI coldplug (rcS) loads ahci, xhci_pci and virtio_scsi; the disk drivers on
  // the SCSI, ATA and USB buses come after them.
  await con.run('modprobe -a sd_mod sr_mod usb_storage');
  let listing = '';
  for (let i = 0; i < 60; i++) {
    listing = await con.run('for d in /sys/block/*; do n=${d##*/}; echo "$n $(blockdev --getsize64 /dev/$n 2>/dev/null || echo -) ro=$(cat $d/ro) $(readlink -f $d/device | sed "s|/sys/devices/||")"; done');
    if (/^sr0 /m.test(listing) && /^sr1 /m.test(listing) && (listing.match(/^sd[a-z] /gm) ?? []).length === 3) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  console.log(`# /sys/block in the guest:\n${listing.trim().split('\n').map((l) => `#   ${l}`).join('\n')}`);
  const lines = listing.trim().split('\n').map((l) => l.split(' '));
  const dev = (pred: (path: string) => boolean) => lines.find(([n, , , path]) => n!.startsWith('sd') && pred(path ?? ''));
  // Each bus's disk, told apart by where it hangs in the guest's device tree.
  const sata = dev((p) => /\/ata\d+\//.test(p));
  const scsi = dev((p) => /\/virtio\d+\//.test(p));
  const usb = dev((p) => /\/usb\d+\//.test(p));
  assert.ok(sata && scsi && usb, `a disk on each of the ATA, virtio-scsi and USB buses:\n${listing}`);
  assert.deepEqual([sata[1], scsi[1], usb[1]].map(Number), [64 * MiB, 96 * MiB, 32 * MiB]);
  assert.deepEqual([sata[2], scsi[2], usb[2]], ['ro=0', 'ro=0', 'ro=0']);
  const sr = lines.find(([n, , , path]) => n!.startsWith('sr') && /\/ata\d+\//.test(path ?? ''));
  assert.ok(sr, `the sata cdrom is an sr device on the ATA bus:\n${listing}`);
  assert.equal(sr[2], 'ro=1', 'the cdrom is read-only');
  const scsiCd = lines.find(([n, , , path]) => n!.startsWith('sr') && /\/virtio\d+\//.test(path ?? ''));
  assert.ok(scsiCd, `the scsi cdrom is an sr device on virtio-scsi:\n${listing}`);
  assert.deepEqual([scsiCd[1], scsiCd[2]], [String(2 * MiB), 'ro=1']);
  assert.ok(lines.some(([n, size]) => n === 'vda' && Number(size) > 0), 'the containerDisk is vda');

  // The cdrom holds the NoCloud data the handler wrote, and refuses writes.
  const iso = await con.run(`mkdir -p /mnt/ci && mount -t iso9660 -o ro /dev/${sr[0]} /mnt/ci && cat /mnt/ci/user-data; umount /mnt/ci`);
  assert.match(iso, /echo hi/);
  assert.match(await con.run(`dd if=/dev/zero of=/dev/${sr[0]} bs=512 count=1 2>&1; echo rc=$?`), /rc=1/);
  // The disks take writes.
  assert.match(await con.run(`dd if=/dev/zero of=/dev/${usb[0]} bs=4096 count=1 2>/dev/null; echo rc=$?`), /rc=0/);
  con.close();

  const del = await h.cli(['delete', 'vmi', 'buses', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(v.metadata.uid!);
});
