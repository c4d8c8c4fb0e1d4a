// spec.domain.cpu.features, spec.domain.features (apic, kvm, pvspinlock, hyperv,
// hypervPassthrough), spec.domain.clock and spec.domain.chassis: what any node
// judges. What depends on this node (its accelerator, its QEMU's CPU models and
// features) is validate-node.ts's. KubeVirt's messages where it has them (its
// vmi-create-admitter and webhooks/hyperv.go); libvirt's rules where KubeVirt leaves
// the refusal to libvirt.

import { bool, fail, int, list, obj, str, unsupportedValue, type Ctx, type Obj } from './validate-context.js';

export const CPU_FEATURE_POLICIES = ['force', 'require', 'optional', 'disable', 'forbid'] as const;
export const TICK_POLICIES = ['delay', 'catchup', 'merge', 'discard'] as const;
/** A QEMU CPU feature name as KubeVirt and libvirt write it (sse4.2, lahf_lm, avx512-bf16). */
export const CPU_FEATURE_NAME = /^[a-z0-9][a-z0-9._-]*$/;
/** libvirt's floor for hv-spinlocks retries. */
export const MIN_SPINLOCK_RETRIES = 4095;
/** Hyper-V's vendor id is a CPUID leaf of 12 bytes. */
export const MAX_VENDOR_ID = 12;
/** ±100 years: QEMU's RTC base is a calendar date. */
const MAX_CLOCK_OFFSET_SECONDS = 100 * 366 * 24 * 3600;

export function validateDomainFeatures(spec: Obj, p: string, ctx: Ctx): void {
  const domain = obj(spec, 'domain');
  if (!domain) return;
  validateCpuFeatures(obj(domain, 'cpu'), `${p}.domain.cpu`, ctx);
  const features = obj(domain, 'features');
  if (features) validateFeatures(features, `${p}.domain.features`, obj(domain, 'cpu'), ctx);
  const clock = obj(domain, 'clock');
  if (clock) validateClock(clock, `${p}.domain.clock`, ctx);
  const chassis = obj(domain, 'chassis');
  if (chassis) {
    for (const k of ['manufacturer', 'version', 'serial', 'asset', 'sku']) {
      const v = str(chassis, k);
      if (v !== undefined && /[\x00-\x1f\x7f]/.test(v)) fail(ctx, `${p}.domain.chassis.${k}`, 'must not contain control characters');
    }
  }
}

function validateCpuFeatures(cpu: Obj | undefined, p: string, ctx: Ctx): void {
  const seen = new Map<string, number>();
  list(cpu, 'features').forEach((f, i) => {
    const fp = `${p}.features[${i}]`;
    const name = str(f as Obj, 'name');
    const policy = str(f as Obj, 'policy') ?? '';
    if (!name) fail(ctx, `${fp}.name`, 'Required value');
    else if (!CPU_FEATURE_NAME.test(name)) fail(ctx, `${fp}.name`, `${JSON.stringify(name)} is not a CPU feature name (lower case letters, digits, '.', '_' and '-')`);
    else {
      const key = qemuFeatureName(name);
      const first = seen.get(key);
      if (first !== undefined) fail(ctx, `${fp}.name`, `CPU feature ${name} is already given at ${p}.features[${first}]`);
      else seen.set(key, i);
    }
    if (policy !== '' && !(CPU_FEATURE_POLICIES as readonly string[]).includes(policy)) {
      fail(ctx, `${fp}.policy`, `CPU feature ${name ?? ''} uses policy ${policy} that is not supported.`);
    }
  });
}

/** The name QEMU registers a feature under: libvirt's underscores are QEMU's dashes. */
export function qemuFeatureName(name: string): string {
  return name.replace(/_/g, '-');
}

type HvKey = 'relaxed' | 'vapic' | 'spinlocks' | 'vpindex' | 'runtime' | 'synic' | 'synictimer' | 'reset' | 'vendorid' | 'frequencies' | 'reenlightenment' | 'tlbflush' | 'ipi' | 'evmcs';

/** Whether a hyperv feature is on: present with enabled unset or true (KubeVirt's FeatureState). */
export function hypervOn(hv: Obj | undefined, k: HvKey): boolean {
  const f = obj(hv, k);
  return f !== undefined && bool(f, 'enabled') !== false;
}

/** Explicitly off: present with enabled false. */
function hypervOff(hv: Obj | undefined, k: HvKey): boolean {
  const f = obj(hv, k);
  return f !== undefined && bool(f, 'enabled') === false;
}

/** KubeVirt's hyperv dependencies (webhooks/hyperv.go): feature → the one it needs. */
export const HYPERV_REQUIRES: readonly (readonly [HvKey, HvKey])[] = [
  ['evmcs', 'vapic'],
  ['ipi', 'vpindex'],
  ['tlbflush', 'vpindex'],
  ['synictimer', 'synic'],
  ['synic', 'vpindex'],
];

function validateFeatures(features: Obj, p: string, cpu: Obj | undefined, ctx: Ctx): void {
  const apic = obj(features, 'apic');
  if (apic && bool(apic, 'enabled') === false) {
    ctx.warnings.push(`${p}.apic.enabled: false has no effect: as under KubeVirt (libvirt), a q35 guest keeps its local APIC`);
  }
  if (apic && bool(apic, 'endOfInterrupt') !== undefined) {
    ctx.warnings.push(`${p}.apic.endOfInterrupt has no effect: KubeVirt does not pass it to the domain either`);
  }
  const hv = obj(features, 'hyperv');
  if (hv && obj(features, 'hypervPassthrough')) {
    fail(ctx, p, 'Cannot explicitly set hyperV features if HypervPassthrough is being used. Please use either HyperV or HypervPassthrough.');
  }
  if (!hv) return;
  const hp = `${p}.hyperv`;
  for (const [feature, needs] of HYPERV_REQUIRES) {
    // Missing requirements are filled in by the defaults, as KubeVirt's mutating webhook does.
    if (hypervOn(hv, feature) && hypervOff(hv, needs)) fail(ctx, `${hp}.${feature}`, `'${hp}.${feature}' requires '${hp}.${needs}', which was disabled.`);
  }
  const spin = obj(hv, 'spinlocks');
  const retries = int(spin, 'spinlocks');
  if (retries !== undefined && retries < MIN_SPINLOCK_RETRIES) fail(ctx, `${hp}.spinlocks.spinlocks`, `must be at least ${MIN_SPINLOCK_RETRIES} (got ${retries}): the Hyper-V spinlock retry count libvirt takes`);
  const vendor = obj(hv, 'vendorid');
  if (vendor && bool(vendor, 'enabled') !== false) {
    const id = str(vendor, 'vendorid') ?? '';
    if (id === '') fail(ctx, `${hp}.vendorid.vendorid`, 'Required value: the vendor id to show the guest');
    // QEMU reads it inside -cpu's own option syntax, where ',' and '=' have meanings.
    else if (id.length > MAX_VENDOR_ID || !/^[A-Za-z0-9_.-]+$/.test(id)) fail(ctx, `${hp}.vendorid.vendorid`, `must be 1 to ${MAX_VENDOR_ID} letters, digits, '_', '.' or '-' (got ${JSON.stringify(id)})`);
  }
  if (hypervOn(hv, 'evmcs')) {
    // KubeVirt's mutating webhook adds vmx with policy require when no cpu feature is given.
    list(cpu, 'features').forEach((f, i) => {
      const fo = f as Obj;
      if (str(fo, 'name') === 'vmx' && (str(fo, 'policy') ?? 'require') !== 'require' && str(fo, 'policy') !== '') {
        fail(ctx, `spec.domain.cpu.features[${i}].policy`, 'vmx cpu feature has to be set to require policy');
      }
    });
  }
}

function validateClock(clock: Obj, p: string, ctx: Ctx): void {
  const utc = obj(clock, 'utc');
  const tz = str(clock, 'timezone');
  if (utc && tz !== undefined) fail(ctx, p, 'only one of utc and timezone may be given');
  const offset = int(utc, 'offsetSeconds');
  if (offset !== undefined && Math.abs(offset) > MAX_CLOCK_OFFSET_SECONDS) fail(ctx, `${p}.utc.offsetSeconds`, `must be within ±${MAX_CLOCK_OFFSET_SECONDS} seconds (100 years)`);
  if (tz !== undefined && !isTimeZone(tz)) fail(ctx, `${p}.timezone`, `${JSON.stringify(tz)} is not a time zone of the IANA database (such as Europe/Paris or UTC)`);
  const timer = obj(clock, 'timer');
  if (!timer) return;
  const tp = `${p}.timer`;
  for (const t of ['hpet', 'pit', 'rtc'] as const) {
    const policy = str(obj(timer, t), 'tickPolicy');
    if (policy === undefined || policy === '') continue;
    if (!(TICK_POLICIES as readonly string[]).includes(policy)) {
      fail(ctx, `${tp}.${t}.tickPolicy`, unsupportedValue(policy, TICK_POLICIES));
      continue;
    }
    // What QEMU can do (libvirt refuses the rest when it builds the command line).
    if (t === 'hpet') fail(ctx, `${tp}.hpet.tickPolicy`, 'not supported: QEMU\'s HPET has no lost tick policy (libvirt refuses it too)');
    if (t === 'rtc' && policy !== 'delay' && policy !== 'catchup') fail(ctx, `${tp}.rtc.tickPolicy`, `${policy} is not supported for the RTC: QEMU's RTC delays or catches up (delay, catchup)`);
    if (t === 'pit' && policy !== 'delay' && policy !== 'discard') fail(ctx, `${tp}.pit.tickPolicy`, `${policy} is not supported for the PIT: KVM's PIT delays or discards lost ticks (delay, discard)`);
  }
  const rtc = obj(timer, 'rtc');
  if (rtc && bool(rtc, 'present') === false) fail(ctx, `${tp}.rtc.present`, 'a q35 machine always has its RTC (it cannot be removed)');
  const track = str(rtc, 'track');
  if (track !== undefined && track !== '' && track !== 'guest' && track !== 'wall') fail(ctx, `${tp}.rtc.track`, unsupportedValue(track, ['guest', 'wall']));
}

function isTimeZone(tz: string): boolean {
  if (tz === '' || tz.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
