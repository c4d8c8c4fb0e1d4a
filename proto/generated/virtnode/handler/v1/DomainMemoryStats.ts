// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

/**
 * -1 where the value is unknown (the guest's balloon driver has not reported it).
 */
export interface DomainMemoryStats {
  /**
   * the guest RAM QEMU was given
   */
  'domainBytes'?: (number | string | Long);
  /**
   * the guest RAM now, as the balloon sees it
   */
  'actualBalloonBytes'?: (number | string | Long);
  /**
   * QEMU's RSS
   */
  'residentBytes'?: (number | string | Long);
  /**
   * guest MemTotal
   */
  'availableBytes'?: (number | string | Long);
  /**
   * guest MemFree
   */
  'unusedBytes'?: (number | string | Long);
  /**
   * guest MemAvailable
   */
  'usableBytes'?: (number | string | Long);
  'cachedBytes'?: (number | string | Long);
  'swapInBytes'?: (number | string | Long);
  'swapOutBytes'?: (number | string | Long);
  'majorFaults'?: (number | string | Long);
  'minorFaults'?: (number | string | Long);
  /**
   * unix seconds of the guest's last report; 0: none yet
   */
  'guestStatsUpdated'?: (number | string | Long);
}

/**
 * -1 where the value is unknown (the guest's balloon driver has not reported it).
 */
export interface DomainMemoryStats__Output {
  /**
   * the guest RAM QEMU was given
   */
  'domainBytes': (number);
  /**
   * the guest RAM now, as the balloon sees it
   */
  'actualBalloonBytes': (number);
  /**
   * QEMU's RSS
   */
  'residentBytes': (number);
  /**
   * guest MemTotal
   */
  'availableBytes': (number);
  /**
   * guest MemFree
   */
  'unusedBytes': (number);
  /**
   * guest MemAvailable
   */
  'usableBytes': (number);
  'cachedBytes': (number);
  'swapInBytes': (number);
  'swapOutBytes': (number);
  'majorFaults': (number);
  'minorFaults': (number);
  /**
   * unix seconds of the guest's last report; 0: none yet
   */
  'guestStatsUpdated': (number);
}
