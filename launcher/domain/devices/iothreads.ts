// IOThreads for virtio-blk disks: KubeVirt's allocation (converter/iothreads and
// assignDiskIOThread) turned into QEMU iothread objects. Policies:
// - shared (or only dedicatedIOThread disks, no policy): one thread for all disks
//   that are not dedicated, plus one per dedicated disk;
// - auto: up to two threads per requested CPU, shared round-robin, plus the dedicated;
// - supplementalPool: supplementalPoolThreadCount threads. libvirt spreads each disk's
//   queues over the whole pool (<driver><iothreads>), which QEMU does from 9.0 on
//   (iothread-vq-mapping); QEMU 7.2 gives a device one thread, so the disks are dealt
//   to the pool's threads round-robin instead.
// As in KubeVirt, the thread count is taken over all disks (a sata disk counts
// towards "auto" threads) while only virtio disks get one.

import { DEFAULT_CDROM_BUS, DEFAULT_DISK_BUS, DEFAULT_LUN_BUS, diskBusOf } from '../../../proto/vmi/devices.js';
import { quantityToMillis } from '../../../proto/vmi/quantity.js';
import type { Disk, VirtualMachineInstance } from '../../../proto/vmi/types.js';
import { checkId, jsonOpt } from '../qemu-opts.js';

export interface IOThreadPlan {
  /** The iothread objects to create. */
  threads: string[];
  /** Per VMI disk (spec order): the thread serving it, for virtio disks. */
  perDisk: (string | undefined)[];
}

function busOf(d: Disk): string {
  return diskBusOf(d) ?? (d.cdrom ? DEFAULT_CDROM_BUS : d.lun ? DEFAULT_LUN_BUS : DEFAULT_DISK_BUS);
}

const threadId = (n: number): string => `iothread${n}`;

export function ioThreadsFromVMI(vmi: VirtualMachineInstance): IOThreadPlan {
  const domain = vmi.spec.domain;
  const disks = domain.devices.disks ?? [];
  const policy = domain.ioThreadsPolicy;
  const dedicated = (d: Disk): boolean => d.dedicatedIOThread === true;
  const none: IOThreadPlan = { threads: [], perDisk: disks.map(() => undefined) };
  if (policy === undefined && !disks.some(dedicated)) return none;

  if (policy === 'supplementalPool') {
    const count = domain.ioThreads?.supplementalPoolThreadCount ?? 0;
    if (count < 1) return none;
    let next = 0;
    return {
      threads: Array.from({ length: count }, (_, i) => threadId(i + 1)),
      perDisk: disks.map((d) => (busOf(d) === 'virtio' ? threadId((next++ % count) + 1) : undefined)),
    };
  }

  const dedicatedCount = disks.filter(dedicated).length;
  let autoThreads = disks.length - dedicatedCount;
  const limit = policy === 'auto' ? 2 * requestedCpus(vmi) : 1;
  if (autoThreads + dedicatedCount > limit) autoThreads = Math.max(1, limit - dedicatedCount);
  const total = autoThreads + dedicatedCount;
  let nextAuto = 1;
  let nextDedicated = autoThreads + 1;
  const perDisk = disks.map((d) => {
    if (busOf(d) !== 'virtio') return undefined;
    if (dedicated(d)) return threadId(nextDedicated++);
    const id = threadId(nextAuto);
    nextAuto = (nextAuto % autoThreads) + 1;
    return id;
  });
  return { threads: Array.from({ length: total }, (_, i) => threadId(i + 1)), perDisk };
}

/** KubeVirt's CPU count for "auto": the CPU request, else the limit, rounded up; else 1. */
function requestedCpus(vmi: VirtualMachineInstance): number {
  const r = vmi.spec.domain.resources;
  const q = r?.requests?.cpu ?? r?.limits?.cpu;
  if (q === undefined || q === null) return 1;
  return Math.max(1, Math.ceil(quantityToMillis(q, 'spec.domain.resources.requests.cpu') / 1000));
}

/** One -object iothread per thread. */
export function ioThreadArgv(threads: string[]): string[] {
  return threads.flatMap((id) => ['-object', jsonOpt({ 'qom-type': 'iothread', id: checkId('iothread id', id) })]);
}
