// Original file: launcher.proto

import type { DhcpOffer as _virtnode_launcher_v1_DhcpOffer, DhcpOffer__Output as _virtnode_launcher_v1_DhcpOffer__Output } from '../../../virtnode/launcher/v1/DhcpOffer.js';

export interface PreparedInterface {
  /**
   * The persistent tap in the pod's network namespace; the launcher opens it by name.
   */
  'tapName'?: (string);
  'multiQueue'?: (boolean);
  /**
   * The MAC the guest NIC gets (normalised, colon form).
   */
  'mac'?: (string);
  'vhost'?: (boolean);
  /**
   * What the launcher's DHCP server tells the guest; absent: no DHCP on this NIC.
   */
  'dhcp'?: (_virtnode_launcher_v1_DhcpOffer | null);
  /**
   * The address the VMI status shows for this interface (the pod IP, as KubeVirt shows it).
   */
  'statusIp'?: (string);
}

export interface PreparedInterface__Output {
  /**
   * The persistent tap in the pod's network namespace; the launcher opens it by name.
   */
  'tapName': (string);
  'multiQueue': (boolean);
  /**
   * The MAC the guest NIC gets (normalised, colon form).
   */
  'mac': (string);
  'vhost': (boolean);
  /**
   * What the launcher's DHCP server tells the guest; absent: no DHCP on this NIC.
   */
  'dhcp': (_virtnode_launcher_v1_DhcpOffer__Output | null);
  /**
   * The address the VMI status shows for this interface (the pod IP, as KubeVirt shows it).
   */
  'statusIp': (string);
}
