// What the handler prepared for one VMI before its launcher runs: where the sockets
// live, which accelerator was probed to work, the disk images it made, the kernel it
// pulled, the taps it opened. It travels to the launcher as JSON (Sync command), so it
// holds only plain data. convert.ts reads it; it never looks at the node itself.

import type { Accelerator, DiskFormat } from './types.js';
import type { DhcpLease } from '../network/dhcp-lease.js';

export interface LaunchContext {
  /** The VM's run directory: QEMU's sockets are made here. */
  runDir: string;
  accelerator: Accelerator;
  /** volume name → the image the disk of that name opens. */
  volumes: Record<string, PreparedVolume>;
  /**
   * The kernel and initrd of firmware.kernelBoot, extracted from its container image
   * (KubeVirt requires only one of kernelPath/initrdPath; QEMU needs the kernel).
   */
  kernelBoot?: { kernel?: string; initrd?: string };
  /** interface name → its tap (virtnode networking fills this in). */
  interfaces?: Record<string, PreparedInterface>;
  /**
   * The pod's network namespace (a path under /run/netns). A spare launcher is handed
   * its VM before the pod network exists, and enters it here, before the domain starts.
   */
  netns?: string;
}

export interface PreparedVolume {
  path: string;
  format: DiskFormat;
  /** The read-only image under a qcow2 overlay (a containerDisk), opened explicitly. */
  backing?: { path: string; format: DiskFormat };
  /**
   * The file's filesystem takes O_DIRECT (tmpfs does not). KubeVirt's default cache
   * is "none" only then, "writethrough" otherwise.
   */
  directIo?: boolean;
}

export interface PreparedInterface {
  /**
   * The persistent tap the handler made in the pod's network namespace; the
   * launcher, running in that namespace, opens it by name (one fd per queue).
   */
  tapName: string;
  multiQueue?: boolean;
  /** The MAC the guest NIC gets (for the bridge binding, the pod's own). */
  mac?: string;
  vhost?: boolean;
  /** What the guest's DHCP client is told, by the launcher's DHCP server on `bridge`. */
  dhcp?: { bridge: string; serverIp: string; lease: DhcpLease };
  /** The address the VMI status shows for this interface (the pod IP, as KubeVirt shows it). */
  statusIP?: string;
  /**
   * Set by the launcher, not the handler: the fd numbers QEMU inherits the opened
   * tap queues at.
   */
  tapFds?: number[];
}
