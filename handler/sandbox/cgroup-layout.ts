// Where cgroups are on this node and where VM cgroups go.
//
// cgroup v1 (and the v1 half of a "hybrid" host): every controller has its own tree.
// A VM cgroup is made in each tree we use, under this process's own cgroup there:
// <own>/<root>/<name>, so whatever limits the handler itself sits under also bound
// its VMs. If a controller-less cgroup2 tree is mounted too (hybrid), the VM gets a
// cgroup there as well, only to track its processes and kill them at once (cgroup.kill).
//
// cgroup v2: one tree, and its "no internal processes" rule: a cgroup that holds
// processes cannot hand controllers to its children (writing cgroup.subtree_control
// fails with EBUSY). This process sits in its own cgroup, so VM cgroups cannot go
// beneath it with memory/cpu/pids enabled. They go beside it instead, in a subtree
// that holds no process itself: <parent of own>/<root>/<name>, with the controllers
// enabled on each ancestor from the top down. Only the root cgroup is exempt from the
// rule, so a process in "/" uses /<root>/<name>. Where even the parent holds
// processes, give `parent` explicitly (a cgroup path with none, e.g. a systemd
// Delegate=yes subtree).
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { CgroupError, readOptional } from './cgroup-files.js';

/** Controllers a VM cgroup uses: limits (memory, cpu, pids) and accounting (cpuacct on v1). */
export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids'] as const;
export const V2_CONTROLLERS = ['cpu', 'memory', 'pids'] as const;

export interface CgroupHierarchy {
  /** 1 for a v1 controller tree, 2 for the cgroup2 tree. */
  version: 1 | 2;
  /** Where the tree is mounted, e.g. /sys/fs/cgroup/memory. */
  mount: string;
  /** Controllers of ours this tree carries (empty for a hybrid host's tracking-only cgroup2). */
  controllers: string[];
  /** This process's cgroup in this tree (from /proc/self/cgroup). */
  ownPath: string;
  /** Cgroup path under which VM cgroups are made: <base>/<root>. */
  vmRootPath: string;
  /** The same as a directory. */
  vmRootDir: string;
}

export interface CgroupLayout {
  /** 2 only when the controllers are on cgroup2; a hybrid host is 1. */
  version: 1 | 2;
  /** v1: one per controller tree we use (+ the tracking cgroup2 tree, if mounted); v2: exactly one. */
  hierarchies: CgroupHierarchy[];
  /** Name of the directory that holds all VM cgroups, e.g. "virtnode". */
  root: string;
}

export interface DetectOptions {
  /** Directory name holding all VM cgroups; default "virtnode". */
  root?: string;
  /** Cgroup path to put `root` under instead of the default placement described above. */
  parent?: string;
  /** Force a version: 2 uses the cgroup2 tree even on a hybrid host (where it has no controllers). */
  version?: 1 | 2;
  /** Contents of /proc/self/mountinfo and /proc/self/cgroup (tests). */
  mountinfo?: string;
  procCgroup?: string;
}

export interface CgroupMount {
  mount: string;
  /** The cgroup path this mount shows at its top (not "/" for a bind-mounted subtree). */
  mountRoot: string;
  version: 1 | 2;
  /** v1: controllers from the mount options (named hierarchies like name=systemd excluded). */
  controllers: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Cgroup directory names we make: a VMI UID or name; never '/', '..', or shell metacharacters. */
export function checkCgroupName(what: string, name: string): void {
  if (!NAME.test(name) || name.includes('..')) {
    throw new CgroupError(`${what} ${JSON.stringify(name)} is not a valid cgroup name (letters, digits, '_', '.', '-'; 1-128 chars)`);
  }
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The cgroup and cgroup2 mounts of /proc/<pid>/mountinfo. */
export function parseMountinfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mountRoot = unescapeMount(left[3] ?? '/');
    const mount = unescapeMount(left[4] ?? '');
    if (fstype === 'cgroup2') {
      mounts.push({ mount, mountRoot, version: 2, controllers: [] });
    } else {
      const known = new Set(['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec', 'clone_children', 'noprefix', 'xattr', 'cpuset_v2_mode', 'favordynmods']);
      const controllers = superOptions.split(',').filter((o) => o && !known.has(o) && !o.includes('='));
      mounts.push({ mount, mountRoot, version: 1, controllers });
    }
  }
  return mounts;
}

/** /proc/<pid>/cgroup as controller → path; the cgroup2 entry has the key "" (empty). */
export function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const controllers = m[2]!;
    if (controllers === '') paths.set('', m[3]!);
    else for (const c of controllers.split(',')) paths.set(c, m[3]!);
  }
  return paths;
}

/** A cgroup path as a directory of `mount`; refuses a path outside what the mount shows. */
function dirOf(m: CgroupMount, cgroupPath: string): string {
  const rel = posix.relative(m.mountRoot, cgroupPath);
  if (rel.startsWith('..')) {
    throw new CgroupError(`cgroup ${cgroupPath} is outside what ${m.mount} shows (mount root ${m.mountRoot}); set \`parent\` to a cgroup inside it`, m.mount);
  }
  return posix.join(m.mount, rel);
}

/** Finds the cgroup trees of this host and this process's place in them. */
export function detectCgroups(options: DetectOptions = {}): CgroupLayout {
  const root = options.root ?? 'virtnode';
  checkCgroupName('cgroup root', root);
  if (options.parent !== undefined && !posix.isAbsolute(options.parent)) {
    throw new CgroupError(`cgroup parent ${JSON.stringify(options.parent)} must be an absolute cgroup path`);
  }
  const mounts = parseMountinfo(options.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
  const own = parseProcCgroup(options.procCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));

  const v1 = mounts.filter((m) => m.version === 1 && m.controllers.some((c) => (V1_CONTROLLERS as readonly string[]).includes(c)));
  // Several mounts of the same tree (bind mounts) show the same controllers: keep the first.
  const seen = new Set<string>();
  const v1Unique = v1.filter((m) => { const k = m.controllers.join(','); if (seen.has(k)) return false; seen.add(k); return true; });
  const unified = mounts.find((m) => m.version === 2);
  const version = options.version ?? (v1Unique.length > 0 ? 1 : 2);

  const place = (m: CgroupMount, ownPath: string, besideOwn: boolean): CgroupHierarchy => {
    const base = options.parent ?? (besideOwn && ownPath !== '/' ? posix.dirname(ownPath) : ownPath);
    const vmRootPath = posix.join(base, root);
    const controllers = m.version === 1
      ? m.controllers.filter((c) => (V1_CONTROLLERS as readonly string[]).includes(c))
      : besideOwn ? availableV2(m) : [];
    return { version: m.version, mount: m.mount, controllers, ownPath, vmRootPath, vmRootDir: dirOf(m, vmRootPath) };
  };

  if (version === 2) {
    if (!unified) throw new CgroupError('no cgroup2 filesystem is mounted (see /proc/self/mountinfo)');
    const ownPath = own.get('');
    if (ownPath === undefined) throw new CgroupError('this process has no cgroup2 entry in /proc/self/cgroup');
    return { version: 2, root, hierarchies: [place(unified, ownPath, true)] };
  }
  if (v1Unique.length === 0) throw new CgroupError(`no cgroup v1 hierarchy with any of ${V1_CONTROLLERS.join(', ')} is mounted`);
  const hierarchies = v1Unique.map((m) => {
    const ownPath = own.get(m.controllers.find((c) => own.has(c))!);
    if (ownPath === undefined) throw new CgroupError(`this process has no entry for ${m.controllers.join(',')} in /proc/self/cgroup`);
    return place(m, ownPath, false);
  });
  // Hybrid host: the controller-less cgroup2 tree tracks the VM's processes for cgroup.kill.
  const ownUnified = own.get('');
  if (unified && ownUnified !== undefined) hierarchies.push(place(unified, ownUnified, false));
  return { version: 1, root, hierarchies };
}

/** Controllers of ours that the cgroup2 tree offers at its top. */
function availableV2(m: CgroupMount): string[] {
  const text = readOptional(posix.join(m.mount, 'cgroup.controllers')) ?? '';
  const offered = text.trim().split(/\s+/).filter(Boolean);
  return V2_CONTROLLERS.filter((c) => offered.includes(c));
}
