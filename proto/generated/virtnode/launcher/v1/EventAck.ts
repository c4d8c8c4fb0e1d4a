// Original file: launcher.proto

import type { Long } from '@grpc/proto-loader';

export interface EventAck {
  /**
   * Every event with seq <= this one is stored by the handler.
   */
  'seq'?: (number | string | Long);
}

export interface EventAck__Output {
  /**
   * Every event with seq <= this one is stored by the handler.
   */
  'seq': (number);
}
