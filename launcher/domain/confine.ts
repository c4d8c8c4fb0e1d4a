// QEMU's confinement: QEMU runs as a user of its own (107:107, the qemu ids of
// KubeVirt's images), with no capabilities, no_new_privs and -sandbox on, in a mount
// namespace of its own where only its own VM's files exist; what needs privilege
// reaches it as file descriptors (DESIGN.md).
//
// How it starts. Node cannot run code between fork and exec, and a multi-threaded
// process cannot unshare a mount namespace, so a short chain of util-linux programs
// does it, each exec'ing the next in the same process (QEMU keeps the pid the
// launcher spawned, and stays its child):
//
//   setpriv --pdeathsig KILL      dies with the launcher from the first instruction on
//   unshare --mount               a private copy of the host's mounts
//   sh -c CONFINE_SCRIPT          builds QEMU's view in it (below), then pivot_root
//   setpriv --reuid 107 ...       drops everything, sets pdeathsig again (a uid
//                                 change clears it), and execs QEMU
//
// The view is an allow-list, not a deny-list: a skeleton the launcher makes in the
// run directory (empty mount points, nothing else) becomes QEMU's read-only /, and
// only what QEMU needs is bind-mounted into it, at the same path as outside (so
// QEMU's argv and the launcher agree on every path):
//
//   /usr (ro), /lib, /lib64, /bin, /sbin (merged-/usr links, or ro binds), /etc/ld.so.cache (ro)
//   /dev: a tmpfs with copies of null, zero, random, urandom, and, owned by QEMU's
//         uid, kvm (KVM) and vhost-net (vhost): QEMU 7.2 opens /dev/kvm by path
//   the VM's own disk files (overlays, empty disks, cloud-init ISOs), rw or ro as
//         the disk says, made QEMU's (chown) by the launcher
//   shared read-only files the VM uses: a containerDisk's base image, kernelBoot's
//         kernel and initrd (0444 in the image store, left as they are)
//   <run dir>/qemu: QEMU's sockets (QMP, serial, guest agent) and screendump; owned by QEMU,
//         group root and set-gid, and QEMU's umask 0007, so the launcher (uid 0,
//         gid 0) reaches them by group even after it gave up CAP_DAC_OVERRIDE
//
// No /proc (one is mounted only while the script needs umount(8), and is gone before
// QEMU runs), no /sys, no /tmp, nothing of the handler's state, of another VM, or of
// /etc beyond the loader cache; the root is read-only. QEMU 7.2 runs without
// them (it finds its firmware from its absolute argv[0] when /proc/self/exe is
// missing; libnuma and libndctl find no /sys and stay idle).
//
// A deny-list (tmpfs over /var/lib/virtnode, /root, /etc/shadow, ...) would fail
// open: whatever it forgot stays visible. This one fails closed: a file QEMU needs
// and the list forgot stops the VM at its start, with QEMU's error naming the path.
// Without /proc, QEMU cannot reach other processes' /proc/<pid>/root or fds either,
// which matters because every VM's QEMU has the same uid (as in KubeVirt, where pods
// keep VMs apart).
//
// What QEMU cannot be given by path gets an fd: taps (inherited, or getfd over QMP
// for hot-plug), hostDisk files (-add-fd, host-files.ts: the user's file, opened
// beneath its root by the launcher). The VM's own disks and the bases it boots from
// go by path, shown one file at a time, so the -blockdev chain stays as it is.
//
// Limits: a base image whose own backing chain goes further (another file of the
// image) is not visible, and such a VM fails to start; the launcher binds only the
// base the handler names. KVM is given as a device node, not an fd (QEMU 7.2 takes
// none). The VM cgroup's devices controller stays open: without CAP_MKNOD QEMU can
// open no device but those of its /dev. The window between setpriv's uid change and
// its re-arming of pdeathsig is covered by the handler removing the VM's cgroup.
// Building the view costs 8 execs of small tools whatever the VM's files (one
// `mount --all` over a table the launcher writes): 20 ms against 42 ms with a mount
// per entry, measured with /usr/bin/true in QEMU's place on this 2-core machine.

import { closeSync, constants, existsSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, accessSync, chownSync, chmodSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, isAbsolute, join, posix } from 'node:path';
import { VirtnodeError } from '../../proto/errors.js';
import { runDirLayout } from '../../proto/launch.js';
import { SETPRIV } from '../../native/index.js';
import type { Domain } from './types.js';

/** QEMU's uid and gid: KubeVirt's images run QEMU as qemu (107:107). */
export const QEMU_UID = 107;
export const QEMU_GID = 107;

export const UNSHARE = '/usr/bin/unshare';
const SH = '/bin/sh';

/** The environment QEMU starts with: none of the launcher's. PATH is for the script's tools. */
export const QEMU_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' });

/** Devices every QEMU gets (world-usable on the host, copied as they are). */
const STANDARD_DEVICES = ['null', 'zero', 'random', 'urandom'] as const;

export interface ViewFile {
  path: string;
  writable: boolean;
  /** The VM's own file, made QEMU's; else a shared one (an image store base), left as it is. */
  own: boolean;
  /** A directory (swtpm's state), not a file. */
  dir?: boolean;
}

/** What QEMU sees of the host besides the system (/usr and the libraries). */
export interface QemuView {
  /** QEMU's root: a skeleton of mount points, made by prepareQemuView, bound read-only in QEMU's namespace. */
  root: string;
  /** QEMU's socket directory. */
  socketDir: string;
  files: ViewFile[];
  /** /dev entries QEMU owns in its view (kvm, vhost-net). */
  ownDevices: string[];
}

/** Top-level names the view itself fills: no file of a VM can be shown there. */
const RESERVED = new Set(['usr', 'dev', 'proc', '.old', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']);

/** The view QEMU needs for `d`, from the domain alone (what its argv names). */
export function qemuView(d: Domain, runDir: string): QemuView {
  const layout = runDirLayout(runDir);
  const files = new Map<string, ViewFile>();
  const add = (what: string, path: string, writable: boolean, own: boolean): void => {
    checkViewPath(what, path);
    const had = files.get(path);
    files.set(path, { path, writable: writable || (had?.writable ?? false), own: own || (had?.own ?? false) });
  };
  for (const k of d.disks) {
    // A hostDisk is an fd (/dev/fdset/N): QEMU never opens its path.
    if (!k.image.fdset) add(`disk ${k.name}`, k.image.path, !k.readonly, true);
    if (k.backing) add(`disk ${k.name}'s base image`, k.backing.path, false, false);
  }
  // OVMF's code is under /usr, which QEMU sees read-only; its variable store is the VM's.
  if (d.boot.efi) add('EFI variable store', d.boot.efi.vars, true, true);
  if (d.boot.kernel) {
    add('kernelBoot kernel', d.boot.kernel.path, false, false);
    if (d.boot.kernel.initrd !== undefined) add('kernelBoot initrd', d.boot.kernel.initrd, false, false);
  }
  for (const [what, path] of [['QMP socket', d.qmpSocket], ['serial socket', d.serialSocket], ['guest agent socket', d.guestAgent?.socket], ['screendump file', d.graphics?.screendump], ['TPM socket', d.tpm?.socket]] as const) {
    if (path !== undefined && posix.dirname(path) !== layout.qemuDir) {
      throw new VirtnodeError('VN_INTERNAL', `${what} ${path} is not in QEMU's socket directory ${layout.qemuDir}`);
    }
  }
  const ownDevices: string[] = [];
  if (d.accelerator === 'kvm') ownDevices.push('kvm');
  if (d.interfaces.some((i) => i.vhost)) ownDevices.push('vhost-net');
  return { root: layout.qemuRoot, socketDir: layout.qemuDir, files: [...files.values()], ownDevices };
}

function checkViewPath(what: string, path: string): void {
  const bad = (why: string): never => {
    throw new VirtnodeError('VN_SANDBOX', `${what} ${JSON.stringify(path)} cannot be shown to QEMU: ${why}`);
  };
  if (!isAbsolute(path)) bad('not an absolute path');
  if (posix.normalize(path) !== path || path.endsWith('/')) bad('not a normalized path');
  if (RESERVED.has(path.split('/')[1]!)) bad(`/${path.split('/')[1]} of QEMU's view is the host's system, read-only`);
}

/**
 * The script run by `sh -c` inside QEMU's new mount namespace, as root. Arguments:
 * FSTAB ROOT, then `--dev NAME`, `--own-dev NAME`, then `--` and QEMU's argv. Every
 * mount of the view is one line of FSTAB (written by prepareQemuView, paths escaped
 * as fstab(5) wants), so one `mount --all` makes them: each tool run here is an exec
 * on QEMU's start path, and a mount per file cost ~2 ms each (measured: the chain
 * took 42 ms with a mount per entry). Device names are ours.
 */
export const CONFINE_SCRIPT = `set -eu
fstab=$1 root=$2
shift 2
mount --all --fstab "$fstab"
cd "$root"
devices= owned=
while [ "$1" != -- ]; do
  case $1 in
    --dev) devices="$devices /dev/$2" ;;
    --own-dev) devices="$devices /dev/$2"; owned="$owned dev/$2" ;;
    *) echo "virtnode: confining QEMU: unknown argument $1" >&2; exit 125 ;;
  esac
  shift 2
done
shift
cp -Rp $devices dev/
[ -z "$owned" ] || chown ${QEMU_UID}:${QEMU_GID} $owned
mount -o remount,bind,ro "$root"
pivot_root . .old
cd /
umount -l /.old /proc
unset OLDPWD
umask 0007
exec ${SETPRIV} --reuid=${QEMU_UID} --regid=${QEMU_GID} --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs --pdeathsig=KILL -- "$@"
`;

/** Where prepareQemuView writes the view's mounts. */
export function viewFstab(view: QemuView): string {
  return `${view.root}.fstab`;
}

/**
 * The argv that starts `qemuArgv` confined to `view` (see the top of this file), once
 * prepareQemuView made its skeleton and mount table.
 * QEMU's binary must be an absolute path under /usr, the only place its view has programs.
 */
export function confinedArgv(qemuArgv: readonly string[], view: QemuView): string[] {
  const binary = qemuArgv[0];
  if (binary === undefined || !isAbsolute(binary) || !binary.startsWith('/usr/')) {
    throw new VirtnodeError('VN_SANDBOX', `QEMU binary ${JSON.stringify(binary)} must be an absolute path under /usr: QEMU sees nothing else of the host's programs`);
  }
  const args: string[] = [];
  for (const d of STANDARD_DEVICES) args.push('--dev', d);
  for (const d of view.ownDevices) args.push('--own-dev', d);
  return [
    SETPRIV, '--pdeathsig', 'KILL', '--',
    UNSHARE, '--mount', '--propagation', 'private', '--',
    SH, '-c', CONFINE_SCRIPT, 'virtnode-confine', viewFstab(view), view.root, ...args, '--',
    ...qemuArgv,
  ];
}

/** The host's top-level directories the loader may need: merged-/usr links, else bound read-only. */
const SYSTEM_DIRS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'] as const;

/** A path as an fstab(5) field: every byte but a plain few as \ooo, which libmount reads back. */
export function fstabField(path: string): string {
  let out = '';
  for (const b of Buffer.from(path)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9/._+:@=,-]/.test(c) && b < 0x80 ? c : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out;
}

/**
 * The view's mounts, in order: the skeleton bound onto itself (pivot_root wants a
 * mount point), the system read-only, a /dev of its own, the socket directory, each
 * file, and a /proc that umount(8) needs and that is gone before QEMU runs.
 */
export function viewMounts(view: QemuView, systemDirs: readonly string[], ldCache: boolean): string {
  const lines: string[] = [];
  const add = (source: string, target: string, type: string, options: string): void => {
    lines.push(`${fstabField(source)} ${fstabField(target)} ${type} ${options} 0 0`);
  };
  const r = view.root;
  add(r, r, 'none', 'bind');
  add('/usr', `${r}/usr`, 'none', 'bind,ro,nosuid,nodev');
  for (const d of systemDirs) add(`/${d}`, `${r}/${d}`, 'none', 'bind,ro,nosuid,nodev');
  if (ldCache) add('/etc/ld.so.cache', `${r}/etc/ld.so.cache`, 'none', 'bind,ro,nosuid,nodev');
  add('virtnode-dev', `${r}/dev`, 'tmpfs', 'mode=0755,size=64k,nosuid,noexec');
  add(view.socketDir, `${r}${view.socketDir}`, 'none', 'bind,nosuid,nodev,noexec');
  for (const f of view.files) add(f.path, `${r}${f.path}`, 'none', `bind,${f.writable ? '' : 'ro,'}nosuid,nodev,noexec`);
  add('proc', `${r}/proc`, 'proc', 'nosuid,nodev,noexec');
  return `${lines.join('\n')}\n`;
}

/** Whether this host has what confinedArgv runs. */
export function confinementProblem(): string | undefined {
  for (const p of [SETPRIV, UNSHARE, SH]) {
    try {
      accessSync(p, constants.X_OK);
    } catch {
      return `${p} is missing (util-linux)`;
    }
  }
  if (process.geteuid?.() !== 0) return 'the launcher is not root: it cannot give QEMU a mount namespace of its own';
  return undefined;
}

/**
 * Makes the host side of `view`, as root, before QEMU starts: the root skeleton and
 * its mount table (viewMounts), QEMU's socket directory, and the VM's own files QEMU's (opened without
 * following a link, changed through the fd). Shared files are checked to be readable
 * by everyone, as the image store makes them, and devices QEMU gets to exist: a
 * missing one is an error naming it here rather than QEMU's later.
 */
export function prepareQemuView(view: QemuView): void {
  // Set-gid root: QEMU's sockets get group root, which the launcher reaches them by.
  makeDir(view.socketDir, QEMU_UID, 0, 0o2750);
  const host = buildSkeleton(view);
  writeFileSync(viewFstab(view), viewMounts(view, host.boundDirs, host.ldCache), { mode: 0o600 });
  for (const f of view.files) {
    if (f.own) {
      let fd: number;
      try {
        fd = openSync(f.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (f.dir ? constants.O_DIRECTORY : 0));
      } catch (e) {
        throw new VirtnodeError('VN_SANDBOX', `giving QEMU ${f.path}: ${(e as Error).message}`, { cause: e });
      }
      try {
        if (!f.dir && !fstatSync(fd).isFile()) throw new VirtnodeError('VN_SANDBOX', `giving QEMU ${f.path}: not a regular file`);
        fchownSync(fd, QEMU_UID, QEMU_GID);
      } finally {
        closeSync(fd);
      }
    } else {
      let mode: number;
      try {
        mode = statSync(f.path).mode;
      } catch (e) {
        throw new VirtnodeError('VN_SANDBOX', `showing QEMU ${f.path}: ${(e as Error).message}`, { cause: e });
      }
      if ((mode & 0o004) === 0) throw new VirtnodeError('VN_SANDBOX', `showing QEMU ${f.path}: a shared file must be readable by everyone (mode ${(mode & 0o7777).toString(8)})`);
    }
  }
  for (const d of view.ownDevices) {
    const path = `/dev/${d}`;
    try {
      if (!statSync(path).isCharacterDevice()) throw new Error('not a character device');
    } catch (e) {
      throw new VirtnodeError('VN_SANDBOX', `QEMU needs ${path}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/**
 * QEMU's root, made on the host before it starts: the mount points of its view (empty
 * directories and files, 0755/0644 and root's, so QEMU's uid may pass through them),
 * and the host's merged-/usr links as they are. Made anew each start: it holds
 * nothing, and the run directory it sits in goes with the VM. Returns the system
 * directories that are bound rather than linked, and whether the loader cache is.
 */
function buildSkeleton(view: QemuView): { boundDirs: string[]; ldCache: boolean } {
  const r = view.root;
  rmSync(r, { recursive: true, force: true });
  mkdirSync(r, { mode: 0o755 });
  chmodSync(r, 0o755);
  // Modes set explicitly: the launcher's umask must not close QEMU's way through.
  const dir = (rel: string): void => {
    let p = r;
    for (const part of rel.split('/')) {
      if (!part) continue;
      p = join(p, part);
      try {
        mkdirSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
      chmodSync(p, 0o755);
    }
  };
  const file = (rel: string): void => {
    writeFileSync(join(r, rel), '');
    chmodSync(join(r, rel), 0o644);
  };
  for (const d of ['usr', 'etc', 'dev', 'proc', '.old']) dir(d);
  const bound: string[] = [];
  for (const d of SYSTEM_DIRS) {
    let st;
    try {
      st = lstatSync(`/${d}`);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(`/${d}`), join(r, d));
    else if (st.isDirectory()) {
      dir(d);
      bound.push(d);
    }
  }
  const ldCache = existsSync('/etc/ld.so.cache');
  if (ldCache) file('etc/ld.so.cache');
  dir(view.socketDir.slice(1));
  for (const f of view.files) {
    if (f.dir) {
      dir(f.path.slice(1));
      continue;
    }
    dir(posix.dirname(f.path).slice(1));
    file(f.path.slice(1));
  }
  return { boundDirs: bound, ldCache };
}

function makeDir(path: string, uid: number, gid: number, mode: number): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new VirtnodeError('VN_SANDBOX', `making ${path}: ${(e as Error).message}`, { cause: e });
    if (!lstatSync(path).isDirectory()) throw new VirtnodeError('VN_SANDBOX', `${path} exists and is not a directory`);
  }
  chownSync(path, uid, gid);
  chmodSync(path, mode);
}

/** `name` if it is a path, else its place on PATH, as execvp would find it. */
export function resolveQemuBinary(name: string, path = process.env.PATH ?? '/usr/bin:/bin'): string {
  if (name.includes('/')) return name;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  throw new VirtnodeError('VN_SANDBOX', `QEMU binary ${name} is not on PATH (${path})`);
}
