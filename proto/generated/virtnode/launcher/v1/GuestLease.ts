// Original file: launcher.proto

import type { GuestRoute as _virtnode_launcher_v1_GuestRoute, GuestRoute__Output as _virtnode_launcher_v1_GuestRoute__Output } from '../../../virtnode/launcher/v1/GuestRoute.js';

export interface GuestLease {
  'mac'?: (string);
  'ip'?: (string);
  'prefixLength'?: (number);
  'gateway'?: (string);
  'dns'?: (string)[];
  'searchDomains'?: (string)[];
  'hostname'?: (string);
  'mtu'?: (number);
  'routes'?: (_virtnode_launcher_v1_GuestRoute)[];
}

export interface GuestLease__Output {
  'mac': (string);
  'ip': (string);
  'prefixLength': (number);
  'gateway': (string);
  'dns': (string)[];
  'searchDomains': (string)[];
  'hostname': (string);
  'mtu': (number);
  'routes': (_virtnode_launcher_v1_GuestRoute__Output)[];
}
