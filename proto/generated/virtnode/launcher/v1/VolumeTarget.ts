// Original file: launcher.proto

import type { Long } from '@grpc/proto-loader';

/**
 * One disk as the guest sees it (kubevirt.io/v1 VolumeStatus.target and size).
 */
export interface VolumeTarget {
  /**
   * The VMI volume (and disk) name.
   */
  'name'?: (string);
  /**
   * The guest device name libvirt would give it: vda, vdb, ... for virtio.
   */
  'target'?: (string);
  /**
   * The disk's virtual size in bytes.
   */
  'sizeBytes'?: (number | string | Long);
}

/**
 * One disk as the guest sees it (kubevirt.io/v1 VolumeStatus.target and size).
 */
export interface VolumeTarget__Output {
  /**
   * The VMI volume (and disk) name.
   */
  'name': (string);
  /**
   * The guest device name libvirt would give it: vda, vdb, ... for virtio.
   */
  'target': (string);
  /**
   * The disk's virtual size in bytes.
   */
  'sizeBytes': (number);
}
