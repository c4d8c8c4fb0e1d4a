// How the guest agent's status, as a launcher reports it, becomes the VMI's, the way
// virt-handler does it: AgentConnected while the agent answers, and
// AgentVersionNotSupported (with KubeVirt's reason) when it lacks a command KubeVirt
// requires; status.guestOSInfo, status.interfaces with the agent's view merged in
// (the launcher merges them), and status.fsFreezeStatus "frozen" while a freeze
// holds. Pure, and it says whether anything changed: a launcher's report that
// changes nothing must not cost a store write.

import type { GuestAgentStatus__Output } from '../../proto/generated/virtnode/launcher/v1/GuestAgentStatus.js';
import type { Condition, GuestOSInfo, VirtualMachineInstance, VMIInterfaceStatus } from '../../proto/vmi/types.js';
import { removeCondition, setCondition, type EventNote } from './status.js';

const OS_FIELDS = ['name', 'kernelRelease', 'version', 'prettyName', 'versionId', 'kernelVersion', 'machine', 'id'] as const;
const IFACE_STRINGS = ['name', 'interfaceName', 'ipAddress', 'mac', 'infoSource'] as const;
/** Interfaces and addresses kept at most: 10 guest-only ones beside the VMI's own, as KubeVirt. */
const MAX_INTERFACES = 64;
const MAX_ADDRESSES = 64;
const MAX_STRING = 1024;

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_STRING;

/** guestOSInfo from the launcher's JSON: known string fields only. */
export function readGuestOSInfo(json: string): GuestOSInfo | undefined {
  const o = parseJson(json);
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const out: GuestOSInfo = {};
  for (const k of OS_FIELDS) {
    const v = (o as Record<string, unknown>)[k];
    if (isStr(v) && v !== '') out[k] = v;
  }
  return out;
}

/** status.interfaces from the launcher's JSON: known fields only, bounded. */
export function readInterfaces(json: string): VMIInterfaceStatus[] | undefined {
  const o = parseJson(json);
  if (!Array.isArray(o)) return undefined;
  return o.slice(0, MAX_INTERFACES).flatMap((i) => {
    if (typeof i !== 'object' || i === null) return [];
    const r = i as Record<string, unknown>;
    const out: VMIInterfaceStatus = {};
    for (const k of IFACE_STRINGS) if (isStr(r[k]) && r[k] !== '') out[k] = r[k];
    if (Array.isArray(r.ipAddresses)) {
      const ips = r.ipAddresses.filter(isStr).slice(0, MAX_ADDRESSES);
      if (ips.length) out.ipAddresses = ips;
    }
    return [out];
  });
}

/** Sets a condition unless it already says exactly that (setCondition would move it). */
function ensure(conds: Condition[], c: Omit<Condition, 'lastTransitionTime' | 'lastProbeTime'>, now: Date): Condition[] {
  const prev = conds.find((x) => x.type === c.type);
  if (prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message) return conds;
  return setCondition(conds, c, now);
}

/** Applies one report; `changed` is false when the VMI's status already said all of it. */
export function applyAgentStatus(vmi: VirtualMachineInstance, s: GuestAgentStatus__Output, now = new Date()): { changed: boolean; notes: EventNote[] } {
  const st = (vmi.status ??= { phase: 'Pending', conditions: [] });
  // Only a running domain has an agent; a late report must not outlive the VMI's end.
  if (st.phase !== 'Running') return { changed: false, notes: [] };
  const before = JSON.stringify([st.conditions, st.guestOSInfo, st.interfaces, st.fsFreezeStatus]);
  const notes: EventNote[] = [];
  let conds = st.conditions;
  if (s.connected) {
    if (!conds.some((c) => c.type === 'AgentConnected' && c.status === 'True')) notes.push({ type: 'Normal', reason: 'AgentConnected', message: `The guest agent${s.version ? ` ${s.version}` : ''} answers` });
    conds = ensure(conds, { type: 'AgentConnected', status: 'True' }, now);
    conds = s.missingCommands.length
      ? ensure(conds, { type: 'AgentVersionNotSupported', status: 'True', reason: "This guest agent doesn't support required basic commands", message: `missing or disabled: ${s.missingCommands.slice(0, 20).join(', ')}` }, now)
      : removeCondition(conds, 'AgentVersionNotSupported');
  } else {
    conds = removeCondition(removeCondition(conds, 'AgentConnected'), 'AgentVersionNotSupported');
  }
  st.conditions = conds;
  const os = s.guestOsInfoJson ? readGuestOSInfo(s.guestOsInfoJson) : undefined;
  if (os && JSON.stringify(os) !== JSON.stringify(st.guestOSInfo)) st.guestOSInfo = os;
  const ifaces = s.interfacesJson ? readInterfaces(s.interfacesJson) : undefined;
  if (ifaces && JSON.stringify(ifaces) !== JSON.stringify(st.interfaces)) st.interfaces = ifaces;
  if (s.fsFreezeStatus === 'frozen') st.fsFreezeStatus = 'frozen';
  else delete st.fsFreezeStatus;
  const changed = JSON.stringify([st.conditions, st.guestOSInfo, st.interfaces, st.fsFreezeStatus]) !== before;
  return { changed, notes };
}

