// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

/**
 * As the guest sees it: what the tap sent is what the guest received.
 */
export interface DomainInterfaceStats {
  /**
   * the VMI interface name
   */
  'name'?: (string);
  'tap'?: (string);
  'rxBytes'?: (number | string | Long);
  'rxPackets'?: (number | string | Long);
  'rxErrors'?: (number | string | Long);
  'rxDropped'?: (number | string | Long);
  'txBytes'?: (number | string | Long);
  'txPackets'?: (number | string | Long);
  'txErrors'?: (number | string | Long);
  'txDropped'?: (number | string | Long);
}

/**
 * As the guest sees it: what the tap sent is what the guest received.
 */
export interface DomainInterfaceStats__Output {
  /**
   * the VMI interface name
   */
  'name': (string);
  'tap': (string);
  'rxBytes': (number);
  'rxPackets': (number);
  'rxErrors': (number);
  'rxDropped': (number);
  'txBytes': (number);
  'txPackets': (number);
  'txErrors': (number);
  'txDropped': (number);
}
