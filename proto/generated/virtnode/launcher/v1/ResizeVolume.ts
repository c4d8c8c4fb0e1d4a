// Original file: launcher.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Tells QEMU (block_resize) that a volume's file has grown to size_bytes, so the
 * guest sees the new size: a PersistentVolumeClaim expanded while its VMI runs.
 */
export interface ResizeVolume {
  'name'?: (string);
  'sizeBytes'?: (number | string | Long);
}

/**
 * Tells QEMU (block_resize) that a volume's file has grown to size_bytes, so the
 * guest sees the new size: a PersistentVolumeClaim expanded while its VMI runs.
 */
export interface ResizeVolume__Output {
  'name': (string);
  'sizeBytes': (number);
}
