// Original file: launcher.proto


/**
 * Freezes the guest's filesystems through the agent (guest-fsfreeze-freeze). Freezing
 * a frozen guest succeeds and restarts the thaw timer.
 */
export interface Freeze {
  /**
   * Thaw by itself after this many seconds (KubeVirt's safety unfreeze); 0: never.
   */
  'unfreezeTimeoutSeconds'?: (number);
}

/**
 * Freezes the guest's filesystems through the agent (guest-fsfreeze-freeze). Freezing
 * a frozen guest succeeds and restarts the thaw timer.
 */
export interface Freeze__Output {
  /**
   * Thaw by itself after this many seconds (KubeVirt's safety unfreeze); 0: never.
   */
  'unfreezeTimeoutSeconds': (number);
}
