// Reads a QEMU 7.2 command line back the way QEMU reads it, so a test can check that
// what the launcher meant to say is what QEMU will hear: which argv element is an
// option and which its value, JSON option values, and QEMU's legacy "k=v,k=v"
// options (util/qemu-option.c: ',,' is a literal ',', an element without '=' is
// the implied first key's value in first place and a flag after it, "noX" is X=off).
// Anything it does not know is an error: an unknown option, a missing value, a key
// an option never has, a key given twice.

/** How QEMU reads an option's value. */
type Syntax =
  | { kind: 'flag' }
  /** Taken as it is (a path, a kernel command line, a UUID). */
  | { kind: 'verbatim' }
  /** JSON (QEMU 7.2 takes it for these four); the launcher never writes their legacy form. */
  | { kind: 'json' }
  /** QemuOpts: `implied` names the first element when it has no '='; `keys` are the only keys it may have. */
  | { kind: 'opts'; implied?: string; keys: readonly string[] }
  /** -cpu: a model, then ','-separated features (+f, -f, f=v) with no escaping at all. */
  | { kind: 'cpu' };

const SYNTAX: Record<string, Syntax> = {
  '-S': { kind: 'flag' },
  '-nodefaults': { kind: 'flag' },
  '-no-user-config': { kind: 'flag' },
  '-kernel': { kind: 'verbatim' },
  '-initrd': { kind: 'verbatim' },
  '-append': { kind: 'verbatim' },
  '-uuid': { kind: 'verbatim' },
  '-blockdev': { kind: 'json' },
  '-device': { kind: 'json' },
  '-object': { kind: 'json' },
  '-netdev': { kind: 'json' },
  '-cpu': { kind: 'cpu' },
  '-display': { kind: 'opts', implied: 'type', keys: ['type'] },
  // Only `-vnc none` (devices/graphics.ts): a display with no listening socket.
  '-vnc': { kind: 'opts', implied: 'vnc', keys: ['vnc'] },
  '-msg': { kind: 'opts', keys: ['timestamp'] },
  '-sandbox': { kind: 'opts', implied: 'enable', keys: ['enable', 'obsolete', 'elevateprivileges', 'spawn', 'resourcecontrol'] },
  '-name': { kind: 'opts', implied: 'guest', keys: ['guest', 'debug-threads'] },
  '-smbios': { kind: 'opts', keys: ['type', 'uuid', 'manufacturer', 'product', 'version', 'sku', 'family', 'serial'] },
  '-machine': { kind: 'opts', implied: 'type', keys: ['type', 'usb', 'vmport', 'dump-guest-core', 'acpi'] },
  '-accel': { kind: 'opts', implied: 'accel', keys: ['accel', 'tb-size'] },
  '-smp': { kind: 'opts', implied: 'cpus', keys: ['cpus', 'sockets', 'cores', 'threads'] },
  '-m': { kind: 'opts', implied: 'size', keys: ['size'] },
  '-action': { kind: 'opts', keys: ['reboot', 'shutdown', 'panic'] },
  '-chardev': { kind: 'opts', implied: 'backend', keys: ['backend', 'id', 'path', 'server', 'wait'] },
  '-mon': { kind: 'opts', implied: 'chardev', keys: ['chardev', 'id', 'mode'] },
  '-boot': { kind: 'opts', implied: 'order', keys: ['order', 'strict'] },
  '-add-fd': { kind: 'opts', keys: ['fd', 'set'] },
};

export interface QemuOption {
  /** "-smbios", "-device", ... */
  option: string;
  /** The value as the argv element holds it (undefined for a flag). */
  raw?: string;
  /** A JSON value, parsed. */
  json?: Record<string, unknown>;
  /** A legacy value as QEMU splits it: [key, value] in order. */
  opts?: [string, string][];
  /** -cpu: the model and its features. */
  cpu?: { model: string; features: string[] };
}

/** get_opt_value: up to the next single ',', with ',,' read as ','. Returns the value and the rest after its ','. */
function optValue(s: string): [string, string | undefined] {
  let value = '';
  let i = 0;
  for (;;) {
    const comma = s.indexOf(',', i);
    if (comma < 0) return [value + s.slice(i), undefined];
    if (s[comma + 1] === ',') {
      value += s.slice(i, comma + 1);
      i = comma + 2;
      continue;
    }
    return [value + s.slice(i, comma), s.slice(comma + 1)];
  }
}

/** QEMU's opts_do_parse on one option's value. */
export function parseQemuOpts(params: string, implied?: string): [string, string][] {
  const out: [string, string][] = [];
  let rest: string | undefined = params;
  let first = true;
  while (rest !== undefined && rest !== '') {
    const len = rest.search(/[=,]/) < 0 ? rest.length : rest.search(/[=,]/);
    if (rest[len] !== '=') {
      if (first && implied !== undefined) {
        const [v, r] = optValue(rest);
        out.push([implied, v]);
        rest = r;
      } else {
        // A flag: "foo" is foo=on, "nofoo" is foo=off (deprecated, still read in 7.2).
        const name = rest.slice(0, len);
        out.push(name.startsWith('no') ? [name.slice(2), 'off'] : [name, 'on']);
        rest = rest[len] === ',' ? rest.slice(len + 1) : undefined;
      }
    } else {
      const name = rest.slice(0, len);
      const [v, r] = optValue(rest.slice(len + 1));
      out.push([name, v]);
      rest = r;
    }
    first = false;
  }
  return out;
}

/**
 * Every option of `argv` (binary first), read as QEMU 7.2 reads it. Throws for an
 * element that is neither a known option nor its value, and for a legacy value
 * with a key its option does not have or with a key twice.
 */
export function parseQemuArgv(argv: readonly string[]): QemuOption[] {
  const out: QemuOption[] = [];
  for (let i = 1; i < argv.length; i++) {
    const option = argv[i]!;
    const syntax = Object.hasOwn(SYNTAX, option) ? SYNTAX[option] : undefined;
    if (!syntax) throw new Error(`argv[${i}] ${JSON.stringify(option)} is not an option the launcher writes`);
    if (syntax.kind === 'flag') {
      out.push({ option });
      continue;
    }
    const raw = argv[++i];
    if (raw === undefined) throw new Error(`${option} has no value`);
    switch (syntax.kind) {
      case 'verbatim':
        out.push({ option, raw });
        break;
      case 'json': {
        if (!raw.startsWith('{')) throw new Error(`${option} ${JSON.stringify(raw)}: not JSON (the launcher writes these four as JSON only)`);
        const json = JSON.parse(raw) as unknown;
        if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${option} ${raw}: not a JSON object`);
        checkQemuJson(json, option);
        out.push({ option, raw, json: json as Record<string, unknown> });
        break;
      }
      case 'cpu': {
        const [model, ...features] = raw.split(',');
        out.push({ option, raw, cpu: { model: model!, features } });
        break;
      }
      case 'opts': {
        const opts = parseQemuOpts(raw, syntax.implied);
        const seen = new Set<string>();
        for (const [k] of opts) {
          if (!syntax.keys.includes(k)) throw new Error(`${option} ${JSON.stringify(raw)}: key ${JSON.stringify(k)} is not one ${option} has`);
          if (seen.has(k)) throw new Error(`${option} ${JSON.stringify(raw)}: key ${JSON.stringify(k)} given twice`);
          seen.add(k);
        }
        out.push({ option, raw, opts });
        break;
      }
    }
  }
  return out;
}

/** A UTF-16 surrogate without its pair. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * What QEMU 7.2's JSON parser (qobject/json-parser.c) refuses in a string: \u0000
 * ("\u0000 is not supported") and a lone UTF-16 surrogate (not a valid Unicode
 * character). JSON.stringify writes both as escapes, so the check is on the values.
 */
function checkQemuJson(v: unknown, where: string): void {
  if (typeof v === 'string') {
    if (v.includes('\0')) throw new Error(`${where}: a JSON string holds NUL, which QEMU's JSON parser refuses`);
    if (LONE_SURROGATE.test(v)) throw new Error(`${where}: a JSON string holds a lone surrogate, which QEMU's JSON parser refuses`);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      checkQemuJson(k, where);
      checkQemuJson(x, where);
    }
  }
}

/** The value of `key` in a legacy option, or undefined. */
export function optOf(o: QemuOption, key: string): string | undefined {
  return o.opts?.find(([k]) => k === key)?.[1];
}

/**
 * A -device QEMU puts in a slot of q35's root bus: a PCI device without a bus (QEMU
 * picks pcie.0) or placed on pcie.0. ISA devices (isa-serial) also go without one.
 */
export function isRootBusDevice(device: Record<string, unknown>): boolean {
  const bus = device.bus;
  return (bus === undefined || bus === 'pcie.0') && !String(device.driver).startsWith('isa-');
}
