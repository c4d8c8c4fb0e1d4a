// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchEvent {
  'seq'?: (number | string | Long);
  /**
   * ADDED | MODIFIED | DELETED for objects; EVENT for node events; SNAPSHOT_END
   * once the initial state has been sent; PROGRESS (kind "ImagePull", seq 0, not
   * stored, never replayed) for a pull in flight: {vmi, image, bytesDone, bytesTotal}.
   */
  'type'?: (string);
  'kind'?: (string);
  'json'?: (string);
}

export interface WatchEvent__Output {
  'seq': (number);
  /**
   * ADDED | MODIFIED | DELETED for objects; EVENT for node events; SNAPSHOT_END
   * once the initial state has been sent; PROGRESS (kind "ImagePull", seq 0, not
   * stored, never replayed) for a pull in flight: {vmi, image, bytesDone, bytesTotal}.
   */
  'type': (string);
  'kind': (string);
  'json': (string);
}
