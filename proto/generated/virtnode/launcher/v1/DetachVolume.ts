// Original file: launcher.proto


/**
 * Unplugs a hot-plugged disk: device_del, QEMU's DEVICE_DELETED awaited, then its
 * block nodes and fd set go. Detaching a volume not attached succeeds.
 */
export interface DetachVolume {
  'name'?: (string);
  /**
   * How long to wait for DEVICE_DELETED; 0: the launcher's default.
   */
  'timeoutSeconds'?: (number);
}

/**
 * Unplugs a hot-plugged disk: device_del, QEMU's DEVICE_DELETED awaited, then its
 * block nodes and fd set go. Detaching a volume not attached succeeds.
 */
export interface DetachVolume__Output {
  'name': (string);
  /**
   * How long to wait for DEVICE_DELETED; 0: the launcher's default.
   */
  'timeoutSeconds': (number);
}
