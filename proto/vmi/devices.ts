// The device vocabulary admission (validate-*.ts) and the launcher's device modules
// share, one table per fact: what admission accepts is exactly what the launcher can
// build, so a VMI never passes Apply only to fail at Sync after its sandbox exists.

/**
 * KubeVirt's interface models and the QEMU device behind each; a model KubeVirt knows
 * that this QEMU lacks maps to the reason it is refused at admission.
 */
export const NIC_MODELS: Readonly<Record<string, { device: string } | { unsupported: string }>> = {
  virtio: { device: 'virtio-net-pci' },
  e1000: { device: 'e1000' },
  e1000e: { device: 'e1000e' },
  ne2k_pci: { device: 'ne2k_pci' },
  pcnet: { device: 'pcnet' },
  rtl8139: { device: 'rtl8139' },
  igb: { unsupported: 'not supported yet: model "igb" needs QEMU 8.0' },
};

export const DEFAULT_NIC_MODEL = 'virtio';

/** The QEMU device of an interface model admission accepted, or undefined for one it refuses. */
export function nicDevice(model: string | undefined): string | undefined {
  const m = NIC_MODELS[model || DEFAULT_NIC_MODEL];
  return m && 'device' in m ? m.device : undefined;
}

/** KubeVirt's interface names (pkg/network/admitter): letters, digits, '-' and '_'. */
export const INTERFACE_NAME = /^[A-Za-z0-9_-]+$/;

/** Go's net.ParseMAC forms of a 6-byte address: aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff. */
export const MAC_ADDRESS = /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$/;
/** net.ParseMAC's longer forms (EUI-64, InfiniBand), which a NIC cannot have. */
export const LONG_MAC_ADDRESS = /^([0-9A-Fa-f]{2}[:-]){7,}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){3,}[0-9A-Fa-f]{4}$/;

/** A MAC in any form MAC_ADDRESS accepts, as QEMU and the kernel write it: lower case, colons. */
export function normalizeMac(mac: string): string {
  if (!MAC_ADDRESS.test(mac)) throw new Error(`${JSON.stringify(mac)} is not a MAC address`);
  const hex = mac.replace(/[-:.]/g, '').toLowerCase();
  return hex.match(/../g)!.join(':');
}

/** Disk buses KubeVirt knows, and the ones virtnode builds. */
export const DISK_BUSES = ['virtio', 'sata', 'scsi', 'usb'] as const;
export const SUPPORTED_DISK_BUSES: readonly string[] = ['virtio'];

export const DISK_CACHE_MODES = ['none', 'writethrough', 'writeback'] as const;
export type DiskCacheMode = (typeof DISK_CACHE_MODES)[number];

/**
 * The machine types virtnode runs: q35 and the versioned pc-q35-X.Y machines of the
 * node's QEMU 7.2 (`qemu-system-x86_64 -machine help`; the property test compares
 * them with the binary when it is installed). A version QEMU lacks fails at launch.
 * QEMU's pc-q35-4.0.1 is left out: the launcher's machine type rule takes X.Y only.
 */
export const MACHINE_TYPES: readonly string[] = [
  'q35',
  ...['2.4', '2.5', '2.6', '2.7', '2.8', '2.9', '2.10', '2.11', '2.12', '3.0', '3.1', '4.0', '4.1', '4.2', '5.0', '5.1', '5.2', '6.0', '6.1', '6.2', '7.0', '7.1', '7.2'].map((v) => `pc-q35-${v}`),
];

/**
 * A QEMU -cpu model name (qemu64, Skylake-Client-v4, EPYC-IBPB): no ',' (QEMU's
 * option separator), no '+' or '=' (its feature syntax). host-model and
 * host-passthrough are KubeVirt's words for the host's CPU and match too.
 */
export const CPU_MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
