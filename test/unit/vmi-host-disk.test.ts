// Admission of hostDisk volumes (node-independent part): KubeVirt's rules in its
// words, each refusal naming its field, for a VMI and a VM's template alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldError } from '../../proto/errors.js';
import { validate } from '../../proto/vmi/index.js';
import { hostDiskPathProblem } from '../../proto/vmi/validate-host-disk.js';
import { assertRejected, specOf, vm, vmi, type Json } from './vmi-fixtures.js';

const withHostDisk = (s: Json, hostDisk: Json): void => {
  s.domain.devices.disks.push({ name: 'data', disk: { bus: 'virtio' } });
  s.volumes.push({ name: 'data', hostDisk });
};

interface Rule {
  name: string;
  hostDisk: Json;
  errors: (hp: string) => FieldError[];
}

const RULES: Rule[] = [
  { name: 'an existing disk', hostDisk: { path: '/data/vm/disk.img', type: 'Disk' }, errors: () => [] },
  { name: 'an existing shared disk; capacity 0 is no capacity', hostDisk: { path: '/data/disk.img', type: 'Disk', shared: true, capacity: 0 }, errors: () => [] },
  { name: 'a disk made when missing', hostDisk: { path: '/data/disk.img', type: 'DiskOrCreate', capacity: '1Gi' }, errors: () => [] },
  { name: 'a disk of exactly 1Mi', hostDisk: { path: '/data/disk.img', type: 'DiskOrCreate', capacity: 1048576 }, errors: () => [] },
  { name: 'path is required', hostDisk: { type: 'Disk' }, errors: (hp) => [{ path: `${hp}.path`, message: `${hp}.path is required for hostDisk volume` }] },
  { name: 'an empty path is no path', hostDisk: { path: '', type: 'Disk' }, errors: (hp) => [{ path: `${hp}.path`, message: `${hp}.path is required for hostDisk volume` }] },
  { name: 'path is absolute', hostDisk: { path: 'data/disk.img', type: 'Disk' }, errors: (hp) => [{ path: `${hp}.path`, message: 'must be an absolute path' }] },
  { name: "path has no '..'", hostDisk: { path: '/data/../etc/shadow', type: 'Disk' }, errors: (hp) => [{ path: `${hp}.path`, message: "must not contain '..': a hostDisk stays beneath its host disk root" }] },
  { name: 'path has no relative components', hostDisk: { path: '/data/./disk.img', type: 'Disk' }, errors: (hp) => [{ path: `${hp}.path`, message: 'must be an absolute path to a file without relative components' }] },
  { name: 'path names a file, not a directory', hostDisk: { path: '/data/', type: 'Disk' }, errors: (hp) => [{ path: `${hp}.path`, message: 'must be an absolute path to a file without relative components' }] },
  { name: 'path is not the root', hostDisk: { path: '/', type: 'Disk' }, errors: (hp) => [{ path: `${hp}.path`, message: 'must not point to root' }] },
  { name: 'type is required', hostDisk: { path: '/data/disk.img' }, errors: (hp) => [{ path: `${hp}.type`, message: `${hp}.type has invalid value '', allowed are 'Disk' or 'DiskOrCreate'` }] },
  { name: 'type is Disk or DiskOrCreate', hostDisk: { path: '/data/disk.img', type: 'Directory' }, errors: (hp) => [{ path: `${hp}.type`, message: `${hp}.type has invalid value 'Directory', allowed are 'Disk' or 'DiskOrCreate'` }] },
  { name: 'type is a string', hostDisk: { path: '/data/disk.img', type: 1 }, errors: (hp) => [{ path: `${hp}.type`, message: 'must be a string (got 1)' }] },
  { name: 'capacity only with DiskOrCreate', hostDisk: { path: '/data/disk.img', type: 'Disk', capacity: '1Gi' }, errors: (hp) => [{ path: `${hp}.capacity`, message: `${hp}.capacity is allowed to pass only with ${hp}.type equal to 'DiskOrCreate'` }] },
  { name: 'capacity required with DiskOrCreate', hostDisk: { path: '/data/disk.img', type: 'DiskOrCreate' }, errors: (hp) => [{ path: `${hp}.capacity`, message: 'Required value' }] },
  { name: 'capacity is a quantity', hostDisk: { path: '/data/disk.img', type: 'DiskOrCreate', capacity: '1GB' }, errors: (hp) => [{ path: `${hp}.capacity`, message: '"1GB" is not a quantity' }] },
  { name: 'capacity is positive', hostDisk: { path: '/data/disk.img', type: 'DiskOrCreate', capacity: '0' }, errors: (hp) => [{ path: `${hp}.capacity`, message: "'0' must be greater than 0" }] },
  { name: 'capacity of at least 1Mi after alignment', hostDisk: { path: '/data/disk.img', type: 'DiskOrCreate', capacity: '1M' }, errors: (hp) => [{ path: `${hp}.capacity`, message: "'1M' is smaller than 1Mi: volume 'data' would be an empty disk (sizes are aligned down to 1Mi)" }] },
  { name: 'capacity of at most 4Pi', hostDisk: { path: '/data/disk.img', type: 'DiskOrCreate', capacity: '9Pi' }, errors: (hp) => [{ path: `${hp}.capacity`, message: "'9Pi' must be at most 4Pi, the largest file virtnode makes" }] },
  { name: 'shared is a boolean', hostDisk: { path: '/data/disk.img', type: 'Disk', shared: 'yes' }, errors: (hp) => [{ path: `${hp}.shared`, message: 'must be a boolean (got "yes")' }] },
  { name: 'a misspelt field is unknown', hostDisk: { path: '/data/disk.img', type: 'Disk', size: '1Gi' }, errors: (hp) => [{ path: `${hp}.size`, message: 'unknown field' }] },
];

for (const [label, make] of [['VMI', vmi], ['VM', vm]] as const) {
  for (const rule of RULES) {
    test(`hostDisk ${label}: ${rule.name}`, () => {
      const o = make();
      withHostDisk(specOf(o), rule.hostDisk);
      const hp = `${label === 'VMI' ? 'spec' : 'spec.template.spec'}.volumes[1].hostDisk`;
      const expected = rule.errors(hp);
      if (expected.length === 0) assert.deepEqual(validate(o).warnings, []);
      else assertRejected(o, expected);
    });
  }
}

test('hostDisk: a volume with hostDisk and another source has more than one source', () => {
  const o = vmi();
  o.spec.volumes[0].hostDisk = { path: '/data/disk.img', type: 'Disk' };
  assertRejected(o, [{ path: 'spec.volumes[0]', message: 'must have exactly one source type set' }]);
});

test('hostDiskPathProblem: the path forms a hostDisk may take', () => {
  assert.equal(hostDiskPathProblem('/srv/disks/a.img'), undefined);
  assert.equal(hostDiskPathProblem('/srv/disks/..img'), undefined, "'..' only as a whole component");
  assert.match(hostDiskPathProblem('/srv//a.img')!, /without relative components/);
  assert.match(hostDiskPathProblem('/srv/a\0.img')!, /NUL/);
  assert.match(hostDiskPathProblem('..')!, /absolute/);
});
