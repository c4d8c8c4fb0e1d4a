// The guest agent's verbs, as virtctl has them: `guestosinfo`, `fslist` and
// `userlist` print what the agent answers now (kubevirt.io/v1 JSON, as virtctl
// prints it); `freeze` and `unfreeze` freeze and thaw the guest's filesystems,
// `--unfreeze-timeout` (a Go duration, default 5m as virtctl's; 0: never) thawing
// them by itself. Loaded only by those verbs.

import type { GuestAgentResponse__Output } from '../../proto/generated/virtnode/handler/v1/GuestAgentResponse.js';
import type { OperationResponse__Output } from '../../proto/generated/virtnode/handler/v1/OperationResponse.js';
import type { UnaryClient } from './unary.js';

export const AGENT_VERBS = ['guestosinfo', 'fslist', 'userlist', 'freeze', 'unfreeze'] as const;
export type AgentVerb = (typeof AGENT_VERBS)[number];

/** virtctl's default unfreeze timeout. */
const DEFAULT_UNFREEZE_TIMEOUT_S = 300;

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Go duration ("5m", "1h30m", "90s", "0") in whole seconds, rounded up; throws on anything else. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) throw new Error(`--unfreeze-timeout: invalid duration ${JSON.stringify(s)} (examples: 5m, 90s, 1h30m, 0)`);
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    at = re.lastIndex;
  }
  if (at === 0) throw new Error(`--unfreeze-timeout: invalid duration ${JSON.stringify(s)} (examples: 5m, 90s, 1h30m, 0)`);
  return Math.ceil(total);
}

export async function runAgentVerb(c: UnaryClient, verb: AgentVerb, ns: string, name: string, flags: { unfreezeTimeout?: string }): Promise<string> {
  switch (verb) {
    case 'guestosinfo':
    case 'fslist':
    case 'userlist': {
      const method = ({ guestosinfo: 'GuestOSInfo', fslist: 'FilesystemList', userlist: 'UserList' } as const)[verb];
      const r = await c.call<unknown, GuestAgentResponse__Output>(method, { namespace: ns, name });
      return `${JSON.stringify(JSON.parse(r.json), null, 2)}\n`;
    }
    case 'freeze': {
      const unfreezeTimeoutSeconds = flags.unfreezeTimeout === undefined ? DEFAULT_UNFREEZE_TIMEOUT_S : parseDuration(flags.unfreezeTimeout);
      const r = await c.call<unknown, OperationResponse__Output>('Freeze', { namespace: ns, name, unfreezeTimeoutSeconds });
      return `${r.message}\n`;
    }
    case 'unfreeze': {
      const r = await c.call<unknown, OperationResponse__Output>('Unfreeze', { namespace: ns, name, gracePeriodSeconds: -1, force: false });
      return `${r.message}\n`;
    }
  }
}
