// The guest's clock, as libvirt builds it for KubeVirt's spec.domain.clock: the RTC's
// base (UTC, UTC plus an offset, or a time zone's wall time, fixed when QEMU starts as
// libvirt fixes it), what the RTC follows (track) and how it makes up lost ticks,
// the HPET and PIT present or not, and KVM's PIT lost tick policy. kvmclock and the
// Hyper-V clock are CPU flags (cpu-features.ts).

import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';

export interface DomainClock {
  /** -rtc base: "utc" or a local date and time ("2026-12-03T21:04:05"). */
  rtcBase?: string;
  /** -rtc clock: vm (stops with the guest) for track guest, host for track wall. */
  rtcClock?: 'vm' | 'host';
  /** -rtc driftfix=slew: the RTC catches up lost ticks. */
  rtcCatchup?: boolean;
  hpet?: false;
  pit?: false;
  pitLostTickPolicy?: 'delay' | 'discard';
}

/** spec.domain.clock at `nowMs` (the base is computed once, at start). */
export function clockFromVMI(vmi: VirtualMachineInstance, nowMs = Date.now()): DomainClock | undefined {
  const clock = vmi.spec.domain.clock;
  if (!clock) return undefined;
  const c: DomainClock = {};
  if (clock.utc) {
    const offset = clock.utc.offsetSeconds;
    c.rtcBase = offset === undefined ? 'utc' : isoLocal(new Date(nowMs + offset * 1000), 'UTC');
  } else if (clock.timezone) {
    c.rtcBase = isoLocal(new Date(nowMs), clock.timezone);
  }
  const t = clock.timer;
  if (t?.rtc?.track) c.rtcClock = t.rtc.track === 'guest' ? 'vm' : 'host';
  if (t?.rtc?.tickPolicy === 'catchup') c.rtcCatchup = true;
  if (t?.hpet?.present === false) c.hpet = false;
  if (t?.pit?.present === false) c.pit = false;
  if (t?.pit?.tickPolicy === 'delay' || t?.pit?.tickPolicy === 'discard') c.pitLostTickPolicy = t.pit.tickPolicy;
  return c;
}

/** The wall time of `tz` at `d`, as QEMU's -rtc base takes it (YYYY-MM-DDTHH:MM:SS). */
export function isoLocal(d: Date, tz: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
}

/** The -machine options of the clock (appended to the machine's). */
export function clockMachineOptions(c: DomainClock | undefined): string {
  return `${c?.hpet === false ? ',hpet=off' : ''}${c?.pit === false ? ',pit=off' : ''}`;
}

/** -rtc and the PIT's -global, when the VMI sets them. */
export function clockArgv(c: DomainClock | undefined): string[] {
  if (!c) return [];
  const rtc = [c.rtcBase ? `base=${c.rtcBase}` : '', c.rtcClock ? `clock=${c.rtcClock}` : '', c.rtcCatchup ? 'driftfix=slew' : ''].filter(Boolean);
  return [...(rtc.length ? ['-rtc', rtc.join(',')] : []), ...(c.pitLostTickPolicy ? ['-global', `kvm-pit.lost_tick_policy=${c.pitLostTickPolicy}`] : [])];
}
