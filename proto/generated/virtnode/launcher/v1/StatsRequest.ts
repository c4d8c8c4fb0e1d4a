// Original file: launcher.proto


/**
 * What only QMP can tell about the running domain, for the handler's domain stats
 * and metrics. The handler reads the rest (CPU times, RSS, tap counters) from
 * /proc itself, so the launcher is asked once per scrape and does nothing between.
 */
export interface StatsRequest {
  /**
   * How often the guest's balloon driver reports its memory statistics (QEMU's
   * guest-stats-polling-interval); 0 leaves it as it is. Set once, when it changes.
   */
  'guestStatsIntervalSeconds'?: (number);
}

/**
 * What only QMP can tell about the running domain, for the handler's domain stats
 * and metrics. The handler reads the rest (CPU times, RSS, tap counters) from
 * /proc itself, so the launcher is asked once per scrape and does nothing between.
 */
export interface StatsRequest__Output {
  /**
   * How often the guest's balloon driver reports its memory statistics (QEMU's
   * guest-stats-polling-interval); 0 leaves it as it is. Set once, when it changes.
   */
  'guestStatsIntervalSeconds': (number);
}
