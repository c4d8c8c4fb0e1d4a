// Original file: handler.proto

import type { ObjectRef as _virtnode_handler_v1_ObjectRef, ObjectRef__Output as _virtnode_handler_v1_ObjectRef__Output } from '../../../virtnode/handler/v1/ObjectRef.js';
import type { Long } from '@grpc/proto-loader';

export interface DeleteRequest {
  'ref'?: (_virtnode_handler_v1_ObjectRef | null);
  /**
   * -1: use the object's terminationGracePeriodSeconds.
   */
  'gracePeriodSeconds'?: (number | string | Long);
}

export interface DeleteRequest__Output {
  'ref': (_virtnode_handler_v1_ObjectRef__Output | null);
  /**
   * -1: use the object's terminationGracePeriodSeconds.
   */
  'gracePeriodSeconds': (number);
}
