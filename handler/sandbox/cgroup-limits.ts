// VMI resources → cgroup files, the way kubelet does it for the virt-launcher pod:
// cpu request → cpu.shares (v1) or cpu.weight (v2), cpu limit → CFS quota, memory
// limit → hard memory limit. The conversions are Kubernetes' (pkg/kubelet/cm) so a VM
// weighs the same here as in a pod.
import { CgroupError } from './cgroup-files.js';

export interface VmCgroupLimits {
  /** Hard memory limit in bytes (memory.limit_in_bytes / memory.max). */
  memoryBytes?: number;
  /** CPU request in millicores: the VM's share of contended CPU time. */
  cpuRequestMillis?: number;
  /** CPU limit in millicores: CFS quota per period. */
  cpuLimitMillis?: number;
  /** CFS period for the quota; default 100000 µs (100 ms), as kubelet's. */
  cpuPeriodMicros?: number;
  /** Most tasks (processes + threads) the VM may have; QEMU makes a thread per vCPU and per I/O worker. */
  pidsMax?: number;
}

export const MIN_SHARES = 2;
export const MAX_SHARES = 262144;
export const DEFAULT_CPU_PERIOD_MICROS = 100_000;
const MIN_QUOTA_MICROS = 1000;

/** kubelet's MilliCPUToShares: 1000m = 1024 shares, clamped to 2..262144. */
export function cpuSharesFromMillis(millis: number): number {
  const shares = Math.floor((millis * 1024) / 1000);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** The cgroup v2 weight for v1 shares (1..10000), with the formula runc and kubelet use. */
export function cpuWeightFromShares(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** kubelet's MilliCPUToQuota: quota per period, at least 1 ms. */
export function cpuQuotaFromMillis(millis: number, periodMicros = DEFAULT_CPU_PERIOD_MICROS): number {
  return Math.max(MIN_QUOTA_MICROS, Math.floor((millis * periodMicros) / 1000));
}

/** One file to write: `controller` says which v1 tree holds it. */
export interface LimitWrite {
  controller: 'memory' | 'cpu' | 'pids';
  file: string;
  value: string;
}

function positiveInteger(field: string, v: number | undefined, min = 1): void {
  if (v === undefined) return;
  if (!Number.isSafeInteger(v) || v < min) throw new CgroupError(`cgroup limit ${field} must be an integer >= ${min}, got ${v}`);
}

/** The writes that apply `limits` on a cgroup of `version`, in a safe order. Fields left out stay as they are. */
export function limitWrites(version: 1 | 2, limits: VmCgroupLimits): LimitWrite[] {
  positiveInteger('memoryBytes', limits.memoryBytes, 4096);
  positiveInteger('cpuRequestMillis', limits.cpuRequestMillis);
  positiveInteger('cpuLimitMillis', limits.cpuLimitMillis);
  positiveInteger('cpuPeriodMicros', limits.cpuPeriodMicros, 1000);
  positiveInteger('pidsMax', limits.pidsMax);
  if (limits.cpuPeriodMicros !== undefined && limits.cpuPeriodMicros > 1_000_000) {
    throw new CgroupError(`cgroup limit cpuPeriodMicros must be at most 1000000, got ${limits.cpuPeriodMicros}`);
  }
  const writes: LimitWrite[] = [];
  const period = limits.cpuPeriodMicros ?? DEFAULT_CPU_PERIOD_MICROS;
  if (limits.memoryBytes !== undefined) {
    writes.push({ controller: 'memory', file: version === 1 ? 'memory.limit_in_bytes' : 'memory.max', value: String(limits.memoryBytes) });
  }
  if (limits.cpuRequestMillis !== undefined) {
    const shares = cpuSharesFromMillis(limits.cpuRequestMillis);
    writes.push(version === 1
      ? { controller: 'cpu', file: 'cpu.shares', value: String(shares) }
      : { controller: 'cpu', file: 'cpu.weight', value: String(cpuWeightFromShares(shares)) });
  }
  if (limits.cpuLimitMillis !== undefined) {
    const quota = cpuQuotaFromMillis(limits.cpuLimitMillis, period);
    if (version === 1) {
      // The period first: the quota is checked against it.
      writes.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(period) });
      writes.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(quota) });
    } else {
      writes.push({ controller: 'cpu', file: 'cpu.max', value: `${quota} ${period}` });
    }
  }
  if (limits.pidsMax !== undefined) writes.push({ controller: 'pids', file: 'pids.max', value: String(limits.pidsMax) });
  return writes;
}
