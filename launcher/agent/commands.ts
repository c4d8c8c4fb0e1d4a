// The handler's guest agent commands (guest_agent, freeze, unfreeze) carried out on
// the domain's agent, and the agent's status in the session's words.

import { InvalidSpecError, VirtnodeError } from '../../proto/errors.js';
import type { Command__Output } from '../../proto/generated/virtnode/launcher/v1/Command.js';
import type { GuestAgentStatus } from '../../proto/generated/virtnode/launcher/v1/GuestAgentStatus.js';
import type { CommandAnswer } from '../session.js';
import type { AgentQuery, AgentStatus, GuestAgent } from './agent.js';

const QUERIES: readonly string[] = ['guestosinfo', 'fslist', 'userlist'] satisfies AgentQuery[];

export async function agentCommand(manager: { agent: GuestAgent | undefined }, cmd: Command__Output): Promise<CommandAnswer | void> {
  const agent = manager.agent;
  if (!agent) throw new VirtnodeError('VN_UNAVAILABLE', 'the domain has no guest agent channel (it is not running)');
  switch (cmd.op) {
    case 'guestAgent': {
      const what = cmd.guestAgent!.what;
      if (!QUERIES.includes(what)) throw new InvalidSpecError([{ path: 'guestAgent.what', message: `unknown query ${JSON.stringify(what)}: use ${QUERIES.join(', ')}` }]);
      return { agentJson: JSON.stringify(await agent.query(what as AgentQuery)) };
    }
    case 'freeze':
      return agent.freeze(cmd.freeze!.unfreezeTimeoutSeconds);
    case 'unfreeze':
      return agent.unfreeze();
    default:
      throw new VirtnodeError('VN_PROTOCOL', `not a guest agent command: ${String(cmd.op)}`);
  }
}

export function agentStatusMessage(a: AgentStatus): GuestAgentStatus {
  return {
    connected: a.connected,
    version: a.version,
    missingCommands: a.missingCommands,
    guestOsInfoJson: a.guestOSInfo ? JSON.stringify(a.guestOSInfo) : '',
    interfacesJson: JSON.stringify(a.interfaces),
    fsFreezeStatus: a.fsFreezeStatus,
  };
}
