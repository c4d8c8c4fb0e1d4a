// Finding the cgroup trees and placing VM cgroups, from mountinfo texts of the host
// kinds we meet (hybrid v1, pure v2, container with a bind-mounted subtree), and the
// kubelet CPU conversions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  detectCgroups, parseMountinfo, parseProcCgroup, cpuSharesFromMillis, cpuWeightFromShares, cpuQuotaFromMillis, limitWrites, CgroupError,
} from '../../handler/sandbox/cgroup.js';

// This machine's own texts (Debian 12 VM, hybrid: v1 controllers + empty cgroup2).
const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;
const HYBRID_CGROUP = `9:name=systemd:/
8:pids:/
4:memory:/process_api/abc
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/`;

test('parseMountinfo/parseProcCgroup: controllers per tree, named hierarchies and non-cgroup mounts left out', () => {
  const mounts = parseMountinfo(HYBRID_MOUNTINFO);
  assert.deepEqual(mounts.map((m) => [m.mount, m.version, m.controllers.join(',')]), [
    ['/sys/fs/cgroup/cpu', 1, 'cpu'], ['/sys/fs/cgroup/cpuacct', 1, 'cpuacct'], ['/sys/fs/cgroup/cpuset', 1, 'cpuset'],
    ['/sys/fs/cgroup/memory', 1, 'memory'], ['/sys/fs/cgroup/pids', 1, 'pids'], ['/sys/fs/cgroup/systemd', 1, ''],
    ['/sys/fs/cgroup/unified', 2, ''],
  ]);
  const co = parseMountinfo('25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,cpu,cpuacct\n26 24 0:23 / /mnt/with\\040space rw - cgroup2 cgroup2 rw,nsdelegate');
  assert.deepEqual(co[0]!.controllers, ['cpu', 'cpuacct']);
  assert.equal(co[1]!.mount, '/mnt/with space');
  const own = parseProcCgroup('4:cpu,cpuacct:/a\n0::/b\n');
  assert.equal(own.get('cpu'), '/a');
  assert.equal(own.get('cpuacct'), '/a');
  assert.equal(own.get(''), '/b');
});

test('hybrid host: version 1, VM cgroups under this process\'s own cgroup in each tree, plus a tracking cgroup2 dir', () => {
  const layout = detectCgroups({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_CGROUP });
  assert.equal(layout.version, 1);
  assert.equal(layout.root, 'virtnode');
  assert.deepEqual(layout.hierarchies.map((h) => [h.version, h.controllers.join(','), h.vmRootDir]), [
    [1, 'cpu', '/sys/fs/cgroup/cpu/virtnode'],
    [1, 'cpuacct', '/sys/fs/cgroup/cpuacct/virtnode'],
    [1, 'memory', '/sys/fs/cgroup/memory/process_api/abc/virtnode'],
    [1, 'pids', '/sys/fs/cgroup/pids/virtnode'],
    [2, '', '/sys/fs/cgroup/unified/virtnode'],
  ]);
  const parented = detectCgroups({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_CGROUP, parent: '/vms', root: 'vn' });
  assert.ok(parented.hierarchies.every((h) => h.vmRootPath === '/vms/vn'));
});

test('pure v2 host: VM cgroups go beside this process\'s cgroup (no-internal-processes rule); a process in / uses /<root>', () => {
  const mountinfo = '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';
  const layout = detectCgroups({ mountinfo, procCgroup: '0::/system.slice/virtnode-handler.service\n' });
  assert.equal(layout.version, 2);
  assert.equal(layout.hierarchies.length, 1);
  assert.equal(layout.hierarchies[0]!.vmRootPath, '/system.slice/virtnode');
  assert.equal(layout.hierarchies[0]!.vmRootDir, '/sys/fs/cgroup/system.slice/virtnode');
  const atRoot = detectCgroups({ mountinfo, procCgroup: '0::/\n', root: 'vms' });
  assert.equal(atRoot.hierarchies[0]!.vmRootDir, '/sys/fs/cgroup/vms');
  const delegated = detectCgroups({ mountinfo, procCgroup: '0::/system.slice/x.service/handler\n', parent: '/system.slice/x.service/vms' });
  assert.equal(delegated.hierarchies[0]!.vmRootPath, '/system.slice/x.service/vms/virtnode');
  // version: 2 on a hybrid host picks its cgroup2 tree alone.
  const forced = detectCgroups({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_CGROUP, version: 2 });
  assert.equal(forced.version, 2);
  assert.deepEqual(forced.hierarchies.map((h) => h.vmRootDir), ['/sys/fs/cgroup/unified/virtnode']);
});

test('a container whose cgroup tree is a bind-mounted subtree: paths are mapped through the mount root', () => {
  const mountinfo = '700 690 0:32 /docker/c1 /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory';
  const layout = detectCgroups({ mountinfo, procCgroup: '4:memory:/docker/c1\n' });
  assert.equal(layout.hierarchies[0]!.vmRootDir, '/sys/fs/cgroup/memory/virtnode');
  assert.throws(() => detectCgroups({ mountinfo, procCgroup: '4:memory:/elsewhere\n' }), /outside what \/sys\/fs\/cgroup\/memory shows/);
});

test('bad names and missing trees are clear VN_SANDBOX errors', () => {
  assert.throws(() => detectCgroups({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_CGROUP, root: '../etc' }), (e: unknown) =>
    e instanceof CgroupError && e.code === 'VN_SANDBOX' && /cgroup root "\.\.\/etc" is not a valid cgroup name/.test(e.message));
  assert.throws(() => detectCgroups({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_CGROUP, parent: 'relative' }), /must be an absolute cgroup path/);
  assert.throws(() => detectCgroups({ mountinfo: '1 0 0:1 / / rw - ext4 /dev/vda rw', procCgroup: '' }), /no cgroup2 filesystem is mounted/);
});

test('kubelet conversions: cpu request → shares → v2 weight, cpu limit → quota', () => {
  assert.equal(cpuSharesFromMillis(1000), 1024);
  assert.equal(cpuSharesFromMillis(500), 512);
  assert.equal(cpuSharesFromMillis(1), 2);
  assert.equal(cpuSharesFromMillis(1_000_000), 262144);
  assert.equal(cpuWeightFromShares(2), 1);
  assert.equal(cpuWeightFromShares(1024), 39);
  assert.equal(cpuWeightFromShares(262144), 10000);
  assert.equal(cpuQuotaFromMillis(1500), 150000);
  assert.equal(cpuQuotaFromMillis(1), 1000);
  assert.equal(cpuQuotaFromMillis(250, 50_000), 12500);
  assert.deepEqual(limitWrites(1, { memoryBytes: 1 << 30, cpuRequestMillis: 500, cpuLimitMillis: 1500, pidsMax: 64 }).map((w) => `${w.file}=${w.value}`),
    ['memory.limit_in_bytes=1073741824', 'cpu.shares=512', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=150000', 'pids.max=64']);
  assert.deepEqual(limitWrites(2, { memoryBytes: 1 << 30, cpuRequestMillis: 500, cpuLimitMillis: 1500, pidsMax: 64 }).map((w) => `${w.file}=${w.value}`),
    ['memory.max=1073741824', 'cpu.weight=20', 'cpu.max=150000 100000', 'pids.max=64']);
  assert.throws(() => limitWrites(2, { memoryBytes: -1 }), /memoryBytes must be an integer >= 4096, got -1/);
  assert.throws(() => limitWrites(1, { cpuLimitMillis: 1000, cpuPeriodMicros: 5_000_000 }), /at most 1000000/);
});
