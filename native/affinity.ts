// CPU pinning for dedicated vCPUs (KubeVirt's dedicatedCpuPlacement pins each vCPU
// thread to one host CPU).
import { libcFunction, check } from './libc.js';
import { NativeError } from './errors.js';

/** cpu_set_t as glibc defines it: 1024 bits. */
const CPU_SET_BYTES = 128;
const MAX_CPUS = CPU_SET_BYTES * 8;

/** Restricts `pid` (a process or a thread id; 0 = the calling thread) to `cpus`. */
export function setCpuAffinity(pid: number, cpus: number[]): void {
  const call = `sched_setaffinity(${pid}, [${cpus.join(',')}])`;
  if (cpus.length === 0) throw new NativeError(call, 'the CPU list must not be empty');
  const mask = Buffer.alloc(CPU_SET_BYTES);
  for (const cpu of cpus) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= MAX_CPUS) throw new NativeError(call, `CPU ${cpu} is out of range 0-${MAX_CPUS - 1}`);
    mask[cpu >> 3]! |= 1 << (cpu & 7);
  }
  const fn = libcFunction(call, 'int sched_setaffinity(int pid, size_t cpusetsize, void *mask)');
  check(call, fn(pid, CPU_SET_BYTES, mask), 'EINVAL means none of these CPUs is online or allowed by the cpuset');
}

/** The CPUs `pid` may run on (0 = the calling thread), ascending. */
export function getCpuAffinity(pid: number): number[] {
  const call = `sched_getaffinity(${pid})`;
  const mask = Buffer.alloc(CPU_SET_BYTES);
  const fn = libcFunction(call, 'int sched_getaffinity(int pid, size_t cpusetsize, void *mask)');
  check(call, fn(pid, CPU_SET_BYTES, mask));
  const cpus: number[] = [];
  for (let cpu = 0; cpu < MAX_CPUS; cpu++) if (mask[cpu >> 3]! & (1 << (cpu & 7))) cpus.push(cpu);
  return cpus;
}
