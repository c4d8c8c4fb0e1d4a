// Original file: launcher.proto

import type { DiskImage as _virtnode_launcher_v1_DiskImage, DiskImage__Output as _virtnode_launcher_v1_DiskImage__Output } from '../../../virtnode/launcher/v1/DiskImage.js';
import type { HostFile as _virtnode_launcher_v1_HostFile, HostFile__Output as _virtnode_launcher_v1_HostFile__Output } from '../../../virtnode/launcher/v1/HostFile.js';

export interface PreparedVolume {
  'path'?: (string);
  'format'?: (string);
  /**
   * The read-only image under a qcow2 overlay (a containerDisk), opened explicitly.
   */
  'backing'?: (_virtnode_launcher_v1_DiskImage | null);
  /**
   * The file's filesystem takes O_DIRECT (tmpfs does not): KubeVirt's default cache
   * is "none" only then, "writethrough" otherwise.
   */
  'directIo'?: (boolean);
  /**
   * A hostDisk: the node's file as the handler vetted it. The launcher opens it
   * beneath its root (never by `path`), checks it is still that file, and hands
   * QEMU the fd.
   */
  'hostFile'?: (_virtnode_launcher_v1_HostFile | null);
}

export interface PreparedVolume__Output {
  'path': (string);
  'format': (string);
  /**
   * The read-only image under a qcow2 overlay (a containerDisk), opened explicitly.
   */
  'backing': (_virtnode_launcher_v1_DiskImage__Output | null);
  /**
   * The file's filesystem takes O_DIRECT (tmpfs does not): KubeVirt's default cache
   * is "none" only then, "writethrough" otherwise.
   */
  'directIo': (boolean);
  /**
   * A hostDisk: the node's file as the handler vetted it. The launcher opens it
   * beneath its root (never by `path`), checks it is still that file, and hands
   * QEMU the fd.
   */
  'hostFile': (_virtnode_launcher_v1_HostFile__Output | null);
}
