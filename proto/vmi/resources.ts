// What a VMI spec asks of the node: guest RAM in bytes and the vCPU topology, read
// the way KubeVirt reads them, for the launcher (-m, -smp) and the handler (cgroups).

import { InvalidSpecError } from '../errors.js';
import { quantityToBytes, quantityValue, tryParseQuantity } from './quantity.js';
import type { VirtualMachineInstanceSpec } from './types.js';

export interface CpuTopology {
  sockets: number;
  cores: number;
  threads: number;
}

/**
 * Guest RAM in bytes: memory.guest, else requests.memory, else limits.memory (the
 * order of KubeVirt's setGuestMemory). "64M" is 64,000,000 bytes, not 64 MiB.
 */
export function guestMemoryBytes(spec: VirtualMachineInstanceSpec, path = 'spec'): bigint {
  const d = spec.domain;
  const candidates: [unknown, string][] = [
    [d?.memory?.guest, `${path}.domain.memory.guest`],
    [d?.resources?.requests?.memory, `${path}.domain.resources.requests.memory`],
    [d?.resources?.limits?.memory, `${path}.domain.resources.limits.memory`],
  ];
  for (const [q, p] of candidates) {
    if (q === undefined || q === null) continue;
    const bytes = quantityToBytes(q, p);
    if (bytes > 0n) return bytes;
  }
  throw new InvalidSpecError([{ path: `${path}.domain.resources.requests.memory`, message: 'no memory requested' }]);
}

/**
 * The vCPU topology. With none of sockets/cores/threads given, KubeVirt puts every
 * vCPU asked for in resources (limit, else request, rounded up) into sockets, which
 * performs best; an unset count is 1.
 */
export function cpuTopology(spec: VirtualMachineInstanceSpec): CpuTopology {
  const cpu = spec.domain?.cpu;
  const given = (n: number | undefined) => (Number.isSafeInteger(n) && (n as number) > 0 ? (n as number) : undefined);
  const sockets = given(cpu?.sockets);
  const cores = given(cpu?.cores);
  const threads = given(cpu?.threads);
  if (sockets === undefined && cores === undefined && threads === undefined) {
    const r = spec.domain?.resources;
    const q = tryParseQuantity(r?.limits?.cpu ?? r?.requests?.cpu);
    const n = q ? Number(quantityValue(q)) : 1;
    return { sockets: Math.max(1, n), cores: 1, threads: 1 };
  }
  return { sockets: sockets ?? 1, cores: cores ?? 1, threads: threads ?? 1 };
}

/** sockets × cores × threads. */
export function vcpuCount(spec: VirtualMachineInstanceSpec): number {
  const t = cpuTopology(spec);
  return t.sockets * t.cores * t.threads;
}
