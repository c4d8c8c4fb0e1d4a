// Original file: launcher.proto

import type { EventAck as _virtnode_launcher_v1_EventAck, EventAck__Output as _virtnode_launcher_v1_EventAck__Output } from '../../../virtnode/launcher/v1/EventAck.js';
import type { Command as _virtnode_launcher_v1_Command, Command__Output as _virtnode_launcher_v1_Command__Output } from '../../../virtnode/launcher/v1/Command.js';

export interface HandlerMessage {
  'ack'?: (_virtnode_launcher_v1_EventAck | null);
  'command'?: (_virtnode_launcher_v1_Command | null);
  'kind'?: "ack"|"command";
}

export interface HandlerMessage__Output {
  'ack'?: (_virtnode_launcher_v1_EventAck__Output | null);
  'command'?: (_virtnode_launcher_v1_Command__Output | null);
  'kind'?: "ack"|"command";
}
