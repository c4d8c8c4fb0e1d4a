// Original file: launcher.proto

import type { Hello as _virtnode_launcher_v1_Hello, Hello__Output as _virtnode_launcher_v1_Hello__Output } from '../../../virtnode/launcher/v1/Hello.js';
import type { DomainEvent as _virtnode_launcher_v1_DomainEvent, DomainEvent__Output as _virtnode_launcher_v1_DomainEvent__Output } from '../../../virtnode/launcher/v1/DomainEvent.js';
import type { CommandResult as _virtnode_launcher_v1_CommandResult, CommandResult__Output as _virtnode_launcher_v1_CommandResult__Output } from '../../../virtnode/launcher/v1/CommandResult.js';
import type { GuestAgentStatus as _virtnode_launcher_v1_GuestAgentStatus, GuestAgentStatus__Output as _virtnode_launcher_v1_GuestAgentStatus__Output } from '../../../virtnode/launcher/v1/GuestAgentStatus.js';

export interface LauncherMessage {
  'hello'?: (_virtnode_launcher_v1_Hello | null);
  'event'?: (_virtnode_launcher_v1_DomainEvent | null);
  'result'?: (_virtnode_launcher_v1_CommandResult | null);
  'agent'?: (_virtnode_launcher_v1_GuestAgentStatus | null);
  'kind'?: "hello"|"event"|"result"|"agent";
}

export interface LauncherMessage__Output {
  'hello'?: (_virtnode_launcher_v1_Hello__Output | null);
  'event'?: (_virtnode_launcher_v1_DomainEvent__Output | null);
  'result'?: (_virtnode_launcher_v1_CommandResult__Output | null);
  'agent'?: (_virtnode_launcher_v1_GuestAgentStatus__Output | null);
  'kind'?: "hello"|"event"|"result"|"agent";
}
