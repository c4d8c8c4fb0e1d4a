// A preference's CPU topology choices, with KubeVirt's defaults: sockets when it
// names none, and a spread of 2 across sockets and cores.

import type { PreferenceSpec, PreferredCPUTopology, SpreadAcross } from './types.js';

export const PREFERRED_CPU_TOPOLOGIES: readonly PreferredCPUTopology[] = ['sockets', 'cores', 'threads', 'spread', 'any', 'preferSockets', 'preferCores', 'preferThreads', 'preferSpread', 'preferAny'];
export const SPREAD_ACROSS: readonly SpreadAcross[] = ['SocketsCores', 'CoresThreads', 'SocketsCoresThreads'];

/** KubeVirt's deprecated names and the ones that replace them. */
export const DEPRECATED_TOPOLOGIES: Readonly<Record<string, PreferredCPUTopology>> = {
  preferSockets: 'sockets',
  preferCores: 'cores',
  preferThreads: 'threads',
  preferSpread: 'spread',
  preferAny: 'any',
};

export function preferredTopology(p: PreferenceSpec | undefined): PreferredCPUTopology {
  return p?.cpu?.preferredCPUTopology ?? 'sockets';
}

export function isSpread(t: PreferredCPUTopology): boolean {
  return t === 'spread' || t === 'preferSpread';
}

export function spreadOptions(p: PreferenceSpec | undefined): { ratio: number; across: SpreadAcross } {
  let ratio = p?.preferSpreadSocketToCoreRatio || 2;
  let across: SpreadAcross = 'SocketsCores';
  const o = p?.cpu?.spreadOptions;
  if (o?.across) across = o.across;
  if (o?.ratio) ratio = o.ratio;
  return { ratio, across };
}
