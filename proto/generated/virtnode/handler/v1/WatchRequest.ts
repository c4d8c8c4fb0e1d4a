// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

export interface WatchRequest {
  /**
   * 0: start from now, after a snapshot of current objects
   */
  'sinceSeq'?: (number | string | Long);
  /**
   * empty: all
   */
  'namespace'?: (string);
  /**
   * empty: all
   */
  'name'?: (string);
  /**
   * empty: all kinds, events included ("Event")
   */
  'kinds'?: (string)[];
  /**
   * Replay every change the handler still holds (for `virtnode events`), then follow.
   */
  'fromOldest'?: (boolean);
}

export interface WatchRequest__Output {
  /**
   * 0: start from now, after a snapshot of current objects
   */
  'sinceSeq': (number);
  /**
   * empty: all
   */
  'namespace': (string);
  /**
   * empty: all
   */
  'name': (string);
  /**
   * empty: all kinds, events included ("Event")
   */
  'kinds': (string)[];
  /**
   * Replay every change the handler still holds (for `virtnode events`), then follow.
   */
  'fromOldest': (boolean);
}
