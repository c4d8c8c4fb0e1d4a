// Original file: launcher.proto

import type { GuestLease as _virtnode_launcher_v1_GuestLease, GuestLease__Output as _virtnode_launcher_v1_GuestLease__Output } from '../../../virtnode/launcher/v1/GuestLease.js';

export interface DhcpOffer {
  /**
   * The in-pod bridge the DHCP server listens on.
   */
  'bridge'?: (string);
  'serverIp'?: (string);
  'lease'?: (_virtnode_launcher_v1_GuestLease | null);
}

export interface DhcpOffer__Output {
  /**
   * The in-pod bridge the DHCP server listens on.
   */
  'bridge': (string);
  'serverIp': (string);
  'lease': (_virtnode_launcher_v1_GuestLease__Output | null);
}
