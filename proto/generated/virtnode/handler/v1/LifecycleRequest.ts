// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

export interface LifecycleRequest {
  'namespace'?: (string);
  'name'?: (string);
  /**
   * Stop only: -1 keeps the VMI's terminationGracePeriodSeconds; 0 kills at once.
   */
  'gracePeriodSeconds'?: (number | string | Long);
  /**
   * Stop only: do not wait for the guest (virtctl stop --force).
   */
  'force'?: (boolean);
}

export interface LifecycleRequest__Output {
  'namespace': (string);
  'name': (string);
  /**
   * Stop only: -1 keeps the VMI's terminationGracePeriodSeconds; 0 kills at once.
   */
  'gracePeriodSeconds': (number);
  /**
   * Stop only: do not wait for the guest (virtctl stop --force).
   */
  'force': (boolean);
}
