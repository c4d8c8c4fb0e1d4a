// The machine itself: identity (name, UUID, SMBIOS), machine type, accelerator, vCPUs
// and memory, as KubeVirt's converter fills libvirt's <name>, <uuid>, <sysinfo>,
// <os type machine>, <cpu> and <memory>.

import { InvalidSpecError, VirtnodeError } from '../../../proto/errors.js';
import type { VirtualMachineInstance } from '../../../proto/vmi/types.js';
import { TCG_TB_SIZE_MIB, type LaunchContext } from '../../../proto/launch.js';
import { CPU_MODEL_NAME, MACHINE_TYPES } from '../../../proto/vmi/devices.js';
import { escapeOptValue } from '../qemu-opts.js';
import { clockArgv, clockFromVMI, clockMachineOptions } from './clock.js';
import { CPU_FLAG, cpuFlagsFromVMI } from './cpu-features.js';
import { PFLASH_NODES } from './firmware.js';
import { quantityToBytes } from '../quantity.js';
import type { Accelerator, Domain, DomainCpu, DomainMachine } from '../types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * TCG's default model with an always-running APIC timer: without ARAT the guest
 * kernel keeps a periodic tick and an idle TCG guest burns a core (~0.7% with it).
 */
const TCG_CPU: Pick<DomainCpu, 'model' | 'features'> = { model: 'qemu64', features: ['arat=on'] };

export function domainName(vmi: VirtualMachineInstance): string {
  return `${vmi.metadata.namespace ?? 'default'}_${vmi.metadata.name}`;
}

export function domainUuid(vmi: VirtualMachineInstance): string {
  const fw = vmi.spec.domain.firmware?.uuid;
  if (fw !== undefined) {
    if (!UUID.test(fw)) throw new InvalidSpecError([{ path: 'spec.domain.firmware.uuid', message: `${JSON.stringify(fw)} is not a UUID` }]);
    return fw.toLowerCase();
  }
  const uid = vmi.metadata.uid;
  if (uid === undefined || !UUID.test(uid)) throw new VirtnodeError('VN_INTERNAL', `VMI ${domainName(vmi)} has no firmware.uuid and no UUID uid (${JSON.stringify(uid)})`);
  return uid.toLowerCase();
}

export function machineFromVMI(vmi: VirtualMachineInstance): DomainMachine {
  const type = vmi.spec.domain.machine?.type ?? 'q35';
  if (!MACHINE_TYPES.includes(type)) throw new VirtnodeError('VN_UNSUPPORTED', `spec.domain.machine.type: ${JSON.stringify(type)} is not supported; virtnode runs the q35 machines of QEMU 7.2 ("q35" or "pc-q35-X.Y")`);
  // KubeVirt's features.smm: {} is on; unset leaves QEMU's default (on for q35 where the accelerator can).
  const smm = vmi.spec.domain.features?.smm;
  return { type, acpi: vmi.spec.domain.features?.acpi?.enabled ?? true, ...(smm && { smm: smm.enabled ?? true }) };
}

export function cpuFromVMI(vmi: VirtualMachineInstance, accelerator: Accelerator): DomainCpu {
  const cpu = vmi.spec.domain.cpu ?? {};
  const count = (field: 'sockets' | 'cores' | 'threads'): number => {
    const n = cpu[field] ?? 1;
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidSpecError([{ path: `spec.domain.cpu.${field}`, message: `must be a positive integer, not ${JSON.stringify(n)}` }]);
    return n;
  };
  const topology = { sockets: count('sockets'), cores: count('cores'), threads: count('threads') };
  const model = cpu.model;
  const flags = cpuFlagsFromVMI(vmi);
  if (model === undefined || model === 'host-model' || model === 'host-passthrough') {
    // Without KVM there is no host CPU to pass through: TCG emulates its own model.
    const base = accelerator === 'kvm' ? { model: 'host', features: [] } : TCG_CPU;
    // A flag the VMI sets replaces the default's for the same property.
    const named = new Set(flags.map((f) => f.slice(0, f.indexOf('='))));
    return { model: base.model, features: [...base.features.filter((f) => !named.has(f.slice(0, f.indexOf('=')))), ...flags], ...topology };
  }
  if (!CPU_MODEL_NAME.test(model)) throw new InvalidSpecError([{ path: 'spec.domain.cpu.model', message: `${JSON.stringify(model)} is not a CPU model name` }]);
  return { model, features: flags, ...topology };
}

export function memoryFromVMI(vmi: VirtualMachineInstance): { bytes: number } {
  const d = vmi.spec.domain;
  const candidates: [unknown, string][] = [
    [d.memory?.guest, 'spec.domain.memory.guest'],
    [d.resources?.requests?.memory, 'spec.domain.resources.requests.memory'],
    [d.resources?.limits?.memory, 'spec.domain.resources.limits.memory'],
  ];
  for (const [q, path] of candidates) {
    if (q === undefined || q === null) continue;
    const bytes = quantityToBytes(q, path);
    if (bytes <= 0n) throw new InvalidSpecError([{ path, message: 'must be positive' }]);
    if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidSpecError([{ path, message: 'is too large' }]);
    return { bytes: Number(bytes) };
  }
  throw new InvalidSpecError([{ path: 'spec.domain.resources.requests.memory', message: 'no guest memory given' }]);
}

export function machinePart(vmi: VirtualMachineInstance, ctx: LaunchContext): Pick<Domain, 'name' | 'uuid' | 'machine' | 'accelerator' | 'cpu' | 'memory' | 'smbios' | 'chassis' | 'clock'> {
  const serial = vmi.spec.domain.firmware?.serial;
  const smbios = { ...ctx.smbios, ...(serial !== undefined ? { serial } : {}) };
  const chassis = vmi.spec.domain.chassis;
  const clock = clockFromVMI(vmi);
  return {
    ...(chassis && Object.keys(chassis).length ? { chassis } : {}),
    ...(clock ? { clock } : {}),
    name: domainName(vmi),
    uuid: domainUuid(vmi),
    machine: machineFromVMI(vmi),
    accelerator: ctx.accelerator,
    cpu: cpuFromVMI(vmi, ctx.accelerator),
    memory: memoryFromVMI(vmi),
    ...(Object.keys(smbios).length ? { smbios } : {}),
  };
}

/** SMBIOS type 1 fields in the order -smbios writes them. */
const SMBIOS_FIELDS = ['manufacturer', 'product', 'version', 'sku', 'family', 'serial'] as const;

/** SMBIOS type 3 (chassis) fields in the order -smbios writes them. */
const CHASSIS_FIELDS = ['manufacturer', 'version', 'serial', 'asset', 'sku'] as const;

/** -name, -uuid, -smbios, -machine, -accel, -cpu, -smp, -m, and the clock's -rtc. */
export function machineArgv(d: Pick<Domain, 'name' | 'uuid' | 'machine' | 'accelerator' | 'cpu' | 'memory' | 'smbios' | 'chassis' | 'clock' | 'boot'>): string[] {
  if (!UUID.test(d.uuid)) throw new VirtnodeError('VN_INTERNAL', `domain uuid ${JSON.stringify(d.uuid)} is not a UUID`);
  if (!MACHINE_TYPES.includes(d.machine.type)) throw new VirtnodeError('VN_INTERNAL', `machine type ${JSON.stringify(d.machine.type)}`);
  if (!CPU_MODEL_NAME.test(d.cpu.model) || !d.cpu.features.every((f) => CPU_FLAG.test(f))) {
    throw new VirtnodeError('VN_INTERNAL', `cpu ${JSON.stringify([d.cpu.model, ...d.cpu.features])}`);
  }
  const { sockets, cores, threads } = d.cpu;
  const vcpus = sockets * cores * threads;
  // Legacy options: no JSON form in 7.2. The SMBIOS strings (the node's and the VMI's
  // serial) are escaped, and come after the uuid: were the escaping wrong, a forged
  // ",uuid=" could still not replace the one given first.
  let smbios = `type=1,uuid=${d.uuid}`;
  for (const k of SMBIOS_FIELDS) {
    const v = d.smbios?.[k];
    if (v !== undefined && v !== '') smbios += `,${k}=${escapeOptValue(v)}`;
  }
  const chassis: string[] = [];
  if (d.chassis) {
    let t3 = 'type=3';
    for (const k of CHASSIS_FIELDS) {
      const v = d.chassis[k];
      if (v !== undefined && v !== '') t3 += `,${k}=${escapeOptValue(v)}`;
    }
    chassis.push('-smbios', t3);
  }
  return [
    '-name', `guest=${escapeOptValue(d.name)},debug-threads=on`,
    '-uuid', d.uuid,
    '-smbios', smbios,
    ...chassis,
    // dump-guest-core=off keeps guest RAM out of QEMU core dumps; no USB, no VMware port.
    '-machine', `${d.machine.type},usb=off,vmport=off,dump-guest-core=off${d.machine.acpi ? '' : ',acpi=off'}${d.machine.smm === undefined ? '' : `,smm=${d.machine.smm ? 'on' : 'off'}`}${clockMachineOptions(d.clock)}` +
      // OVMF's pflash chips are block nodes of firmware.ts.
      (d.boot.efi ? `,pflash0=${PFLASH_NODES.code},pflash1=${PFLASH_NODES.vars}` : ''),
    // TCG's translation cache is otherwise up to 1 GiB and grows into the VM's
    // cgroup limit over a long run; the handler budgets exactly this much for it.
    '-accel', d.accelerator === 'tcg' ? `tcg,tb-size=${TCG_TB_SIZE_MIB}` : d.accelerator,
    '-cpu', [d.cpu.model, ...d.cpu.features].join(','),
    '-smp', `${vcpus},sockets=${sockets},cores=${cores},threads=${threads}`,
    // A bare number is MiB to QEMU; the "b" suffix makes it bytes (QEMU rounds up to 8 KiB).
    '-m', `size=${d.memory.bytes}b`,
    ...clockArgv(d.clock),
  ];
}
