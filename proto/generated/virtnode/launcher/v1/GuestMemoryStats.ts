// Original file: launcher.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The balloon driver's report from inside the guest, in bytes (counts for faults);
 * -1 where the guest has not reported the value.
 */
export interface GuestMemoryStats {
  /**
   * Unix seconds of the guest's last report; 0: none yet.
   */
  'lastUpdate'?: (number | string | Long);
  /**
   * stat-total-memory (MemTotal)
   */
  'totalBytes'?: (number | string | Long);
  /**
   * stat-free-memory (MemFree)
   */
  'freeBytes'?: (number | string | Long);
  /**
   * stat-available-memory (MemAvailable)
   */
  'availableBytes'?: (number | string | Long);
  'diskCachesBytes'?: (number | string | Long);
  'swapInBytes'?: (number | string | Long);
  'swapOutBytes'?: (number | string | Long);
  'majorFaults'?: (number | string | Long);
  'minorFaults'?: (number | string | Long);
}

/**
 * The balloon driver's report from inside the guest, in bytes (counts for faults);
 * -1 where the guest has not reported the value.
 */
export interface GuestMemoryStats__Output {
  /**
   * Unix seconds of the guest's last report; 0: none yet.
   */
  'lastUpdate': (number);
  /**
   * stat-total-memory (MemTotal)
   */
  'totalBytes': (number);
  /**
   * stat-free-memory (MemFree)
   */
  'freeBytes': (number);
  /**
   * stat-available-memory (MemAvailable)
   */
  'availableBytes': (number);
  'diskCachesBytes': (number);
  'swapInBytes': (number);
  'swapOutBytes': (number);
  'majorFaults': (number);
  'minorFaults': (number);
}
