// How values reach QEMU's command line safely. Two syntaxes exist:
//
// - JSON, which QEMU 7.2 accepts for -blockdev, -device, -object and -netdev (checked
//   against the qemu-system-x86_64 7.2 binary; -chardev, -machine, -accel, -smp, -cpu,
//   -smbios, -name and -mon do not take it). Any user string goes here: JSON has no
//   separator a value could forge.
// - QEMU's legacy "key=value,key=value" options, where a ',' in a value ends it unless
//   doubled. Every value we put there that is not a constant (socket paths, the guest
//   name, the SMBIOS serial) goes through escapeOptValue.

import { VirtnodeError } from '../../proto/errors.js';

/** QEMU's legacy option escaping: a literal ',' is written ',,'. */
export function escapeOptValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** One JSON option argument (-blockdev, -device, -object, -netdev). */
export function jsonOpt(value: Record<string, unknown>): string {
  return JSON.stringify(value);
}

/** QEMU's well-formed id (qemu/id.c): a letter, then letters, digits, '-', '.', '_'. */
const QEMU_ID = /^[A-Za-z][A-Za-z0-9._-]*$/;
/** Block node names are at most 31 bytes (BlockDriverState.node_name[32]). */
export const MAX_NODE_NAME = 31;

/** Throws unless `id` is a valid QEMU id: ids are ours, so a bad one is a bug, not bad input. */
export function checkId(what: string, id: string, maxLength = Infinity): string {
  if (!QEMU_ID.test(id) || id.length > maxLength) throw new VirtnodeError('VN_INTERNAL', `${what} ${JSON.stringify(id)} is not a valid QEMU id`);
  return id;
}

/** A unix socket path must fit sockaddr_un.sun_path (108 bytes with its NUL). */
export const MAX_UNIX_PATH = 107;

export function checkSocketPath(what: string, path: string): string {
  if (!path.startsWith('/')) throw new VirtnodeError('VN_INTERNAL', `${what} ${JSON.stringify(path)} is not absolute`);
  if (Buffer.byteLength(path) > MAX_UNIX_PATH) {
    throw new VirtnodeError('VN_INTERNAL', `${what} ${JSON.stringify(path)} is ${Buffer.byteLength(path)} bytes, longer than a unix socket path may be (${MAX_UNIX_PATH})`);
  }
  return path;
}

/** A unix socket QEMU listens on (and does not wait for a client before it starts). */
export function serverSocketChardev(id: string, path: string): string[] {
  return ['-chardev', `socket,id=${checkId('chardev id', id)},path=${escapeOptValue(path)},server=on,wait=off`];
}
