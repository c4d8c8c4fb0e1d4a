// Original file: handler.proto

import type { Object as _virtnode_handler_v1_Object, Object__Output as _virtnode_handler_v1_Object__Output } from '../../../virtnode/handler/v1/Object.js';
import type { Long } from '@grpc/proto-loader';

export interface ListResponse {
  'objects'?: (_virtnode_handler_v1_Object)[];
  /**
   * the sequence number the list is consistent with
   */
  'resourceVersion'?: (number | string | Long);
}

export interface ListResponse__Output {
  'objects': (_virtnode_handler_v1_Object__Output)[];
  /**
   * the sequence number the list is consistent with
   */
  'resourceVersion': (number);
}
