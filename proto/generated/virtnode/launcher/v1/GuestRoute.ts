// Original file: launcher.proto


export interface GuestRoute {
  'dest'?: (string);
  'prefixLen'?: (number);
  /**
   * 0.0.0.0 for an on-link route.
   */
  'gateway'?: (string);
}

export interface GuestRoute__Output {
  'dest': (string);
  'prefixLen': (number);
  /**
   * 0.0.0.0 for an on-link route.
   */
  'gateway': (string);
}
