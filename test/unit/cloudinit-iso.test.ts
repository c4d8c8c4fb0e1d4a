// The cloud-init ISO writer against readers written by others: isoinfo (cdrkit), xorriso
// (libisofs), blkid (libblkid, what cloud-init's ds-identify asks) and the running
// kernel's isofs through a loop device. Every file must come back byte-identical under
// its exact name in the Rock Ridge and Joliet views, for both KubeVirt layouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildIso, IsoImageError, type IsoFile } from '../../handler/cloudinit/iso9660.js';

const has = (cmd: string, arg: string): boolean => spawnSync(cmd, [arg], { stdio: 'ignore' }).status === 0;
const missing = (cmds: [string, string][]): string | false => {
  const gone = cmds.filter(([c, a]) => !has(c, a)).map(([c]) => c);
  return gone.length ? `${gone.join(', ')} not installed (test/setup.sh installs genisoimage and xorriso)` : false;
};
const noIsoinfo = missing([['isoinfo', '-version']]);
const noXorriso = missing([['xorriso', '-version']]);
const noGenisoimage = missing([['genisoimage', '-version']]);

const DATE = new Date(Date.UTC(2024, 4, 17, 9, 30, 15));
const MiB = 1024 * 1024;
const pattern = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => 32 + ((i * 7 + seed) % 95)));

// Each layout has a 0-byte file, one of exactly one sector, one of 5000 bytes, a UTF-8
// body and two names that fold to the same 8.3 name.
const LAYOUTS: { kind: string; volumeId: string; files: IsoFile[] }[] = [
  {
    kind: 'NoCloud',
    volumeId: 'cidata',
    files: [
      { path: 'meta-data', data: Buffer.from('instance-id: vmi-ü\nlocal-hostname: vmi\n') },
      { path: 'user-data', data: Buffer.from('#cloud-config\n# héllo wörld ✓ 日本語 🚀\npassword: x\n') },
      { path: 'user_data', data: pattern(2048, 1) },
      { path: 'network-config', data: Buffer.alloc(0) },
      { path: 'vendor-data', data: pattern(5000, 2) },
    ],
  },
  {
    kind: 'ConfigDrive',
    volumeId: 'config-2',
    files: [
      { path: 'openstack/latest/meta_data.json', data: Buffer.from('{"uuid":"1","hostname":"vm-ü","name":"vm"}') },
      { path: 'openstack/latest/user_data', data: pattern(5000, 3) },
      { path: 'openstack/latest/network_data.json', data: pattern(2048, 4) },
      { path: 'openstack/latest/vendor_data.json', data: Buffer.alloc(0) },
      { path: 'openstack/latest/vendor_data2.json', data: Buffer.from('{}') },
      { path: 'openstack/2012-08-10/meta_data.json', data: Buffer.from('{"uuid":"1"}') },
    ],
  },
];

/** Every directory a set of files implies, '/'-rooted, without the root. */
function dirsOf(files: IsoFile[]): string[] {
  const out = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) out.add('/' + parts.slice(0, i).join('/'));
  }
  return [...out].sort();
}

interface Listed { mode: string; size: number }

/** `isoinfo -l` output as '/path' → mode and size ("." and ".." left out). */
function isoinfoList(img: string, view: string[]): Map<string, Listed> {
  const out = new Map<string, Listed>();
  let dir = '/';
  for (const line of execFileSync('isoinfo', [...view, '-l', '-i', img], { encoding: 'utf8' }).split('\n')) {
    const d = /^Directory listing of (\/.*)$/.exec(line);
    if (d) { dir = d[1]!; continue; }
    const m = /^([-d][-rwx]{9})\s+\d+\s+\d+\s+\d+\s+(\d+)\s+\w{3}\s+\d+\s+\d{4}\s+\[\s*\d+\s+\d+\]\s+(.*?)\s*$/.exec(line);
    if (!m || m[3] === '.' || m[3] === '..') continue;
    const path = dir + m[3]!;
    assert.ok(!out.has(path), `${path} listed twice`);
    out.set(path, { mode: m[1]!, size: Number(m[2]) });
  }
  return out;
}

/** A directory tree on disk as '/path' → its bytes (null for a directory). */
function readTree(root: string, rel = ''): Map<string, Buffer | null> {
  const out = new Map<string, Buffer | null>();
  for (const name of readdirSync(join(root, rel)).sort()) {
    const p = `${rel}/${name}`;
    if (statSync(join(root, p)).isDirectory()) {
      out.set(p, null);
      for (const [k, v] of readTree(root, p)) out.set(k, v);
    } else {
      out.set(p, readFileSync(join(root, p)));
    }
  }
  return out;
}

function expectedTree(files: IsoFile[]): Map<string, Buffer | null> {
  const out = new Map<string, Buffer | null>(dirsOf(files).map((d) => [d, null]));
  for (const f of files) out.set('/' + f.path, f.data);
  return out;
}

function withImage(layout: (typeof LAYOUTS)[number], body: (img: string, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'virtnode-iso-'));
  try {
    const img = join(dir, 'image.iso');
    writeFileSync(img, buildIso({ volumeId: layout.volumeId, files: layout.files, date: DATE }));
    body(img, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const layout of LAYOUTS) {
  const { kind, volumeId, files } = layout;

  test(`${kind}: isoinfo -d finds the volume id, Joliet level 3, Rock Ridge and a whole-MiB size`, { skip: noIsoinfo }, () => {
    withImage(layout, (img) => {
      const d = execFileSync('isoinfo', ['-d', '-i', img], { encoding: 'utf8' });
      assert.match(d, /^CD-ROM is in ISO 9660 format$/m);
      assert.match(d, new RegExp(`^Volume id: ${volumeId}$`, 'm'));
      assert.match(d, /^Logical block size is: 2048$/m);
      assert.match(d, /^Joliet with UCS level 3 found$/m);
      assert.match(d, /^Rock Ridge signatures version 1 found$/m);
      const sectors = Number(/^Volume size is: (\d+)$/m.exec(d)![1]);
      assert.equal(sectors * 2048, statSync(img).size, 'the volume space size is the file size');
      assert.equal(statSync(img).size % MiB, 0);
    });
  });

  test(`${kind}: isoinfo lists exactly the files, with their names, sizes and modes, in Rock Ridge and Joliet`, { skip: noIsoinfo }, () => {
    withImage(layout, (img) => {
      const rock = isoinfoList(img, ['-R']);
      const joliet = isoinfoList(img, ['-J']);
      const want = [...dirsOf(files), ...files.map((f) => '/' + f.path)].sort();
      assert.deepEqual([...rock.keys()].sort(), want);
      assert.deepEqual([...joliet.keys()].sort(), want);
      for (const d of dirsOf(files)) assert.equal(rock.get(d)!.mode, 'dr-xr-xr-x', d);
      for (const f of files) {
        assert.deepEqual(rock.get('/' + f.path), { mode: '-r--r--r--', size: f.data.length }, f.path);
        assert.equal(joliet.get('/' + f.path)!.size, f.data.length, f.path);
      }
      // The plain ISO 9660 view: level 1 names, unique, one per file and directory.
      const plain = isoinfoList(img, []);
      assert.equal(plain.size, want.length);
      for (const p of plain.keys()) assert.match(p.split('/').pop()!, /^([A-Z0-9_]{1,8}|[A-Z0-9_]{1,8}\.[A-Z0-9_]{0,3};1)$/, p);
    });
  });

  test(`${kind}: isoinfo -x gives back every file byte for byte, through Rock Ridge and through Joliet`, { skip: noIsoinfo }, () => {
    withImage(layout, (img) => {
      for (const view of ['-R', '-J']) {
        for (const f of files) {
          const got = execFileSync('isoinfo', [view, '-i', img, '-x', '/' + f.path], { maxBuffer: 16 * MiB });
          assert.deepEqual(got, f.data, `${view} ${f.path}`);
        }
      }
    });
  });

  test(`${kind}: xorriso reads the Rock Ridge tree, and osirrox extracts it byte for byte`, { skip: noXorriso }, () => {
    withImage(layout, (img, dir) => {
      // -read_fs nojoliet: without it xorriso falls back to Joliet silently when it rejects Rock Ridge.
      const r = spawnSync('xorriso', ['-read_fs', 'nojoliet', '-indev', img, '-find', '/', '-exec', 'lsdl', '--'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr + r.stdout, new RegExp(`^Volume id +: '${volumeId}'$`, 'm'));
      const listed = new Map([...r.stdout.matchAll(/^([-d][-rwx]{9}) .* (\d+) \w{3} +\d+ +\d+(?::\d+)? '(\/.*)'$/gm)].map((m) => [m[3]!, { mode: m[1]!, size: Number(m[2]) }]));
      assert.equal(listed.get('/')?.mode, 'dr-xr-xr-x');
      listed.delete('/');
      for (const d of dirsOf(files)) assert.equal(listed.get(d)?.mode, 'dr-xr-xr-x', d);
      for (const f of files) assert.deepEqual(listed.get('/' + f.path), { mode: '-r--r--r--', size: f.data.length }, f.path);
      assert.equal(listed.size, dirsOf(files).length + files.length);

      const out = join(dir, 'extracted');
      const x = spawnSync('osirrox', ['-read_fs', 'nojoliet', '-indev', img, '-extract', '/', out], { encoding: 'utf8' });
      assert.equal(x.status, 0, x.stderr);
      assert.deepEqual(readTree(out), expectedTree(files));
    });
  });

  test(`${kind}: blkid reports TYPE=iso9660 and LABEL=${volumeId}, what cloud-init looks for`, () => {
    withImage(layout, (img) => {
      // -c /dev/null: no cache, as cloud-init's ds-identify calls it.
      const out = execFileSync('blkid', ['-c', '/dev/null', '-o', 'export', img], { encoding: 'utf8' });
      const tags = Object.fromEntries(out.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
      assert.equal(tags.TYPE, 'iso9660', out);
      assert.equal(tags.LABEL, volumeId, out);
    });
  });

  test(`${kind}: the kernel's isofs mounts it and shows every name, mode and byte`, { timeout: 30_000 }, (t) => {
    if (!existsSync('/dev/loop-control')) return t.skip('no loop devices on this machine (/dev/loop-control is missing)');
    withImage(layout, (img, dir) => {
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt);
      const loop = execFileSync('losetup', ['--find', '--show', '--read-only', img], { encoding: 'utf8' }).trim();
      let mounted = false;
      try {
        const m = spawnSync('mount', ['-t', 'iso9660', '-o', 'ro', loop, mnt], { encoding: 'utf8' });
        if (m.status !== 0 && /unknown filesystem type/.test(m.stderr) && !/\biso9660\b/.test(readFileSync('/proc/filesystems', 'utf8'))) {
          const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
          return t.skip(`kernel ${kernel} has no iso9660 filesystem (CONFIG_ISO9660_FS off, no isofs module): the kernel check cannot run here`);
        }
        assert.equal(m.status, 0, m.stderr);
        mounted = true;
        assert.deepEqual(readTree(mnt), expectedTree(files));
        for (const d of dirsOf(files)) assert.equal(statSync(mnt + d).mode, 0o040555, d);
        for (const f of files) {
          const s = statSync(join(mnt, f.path));
          assert.equal(s.mode, 0o100444, f.path);
          assert.equal(s.uid, 0);
          assert.equal(s.mtime.getTime(), DATE.getTime());
        }
      } finally {
        if (mounted) execFileSync('umount', [mnt]);
        execFileSync('losetup', ['-d', loop]);
      }
    });
  });
}

test('many entries in one directory: records span sectors and 8.3 names stay unique past nine collisions', { skip: noIsoinfo }, () => {
  const files = Array.from({ length: 60 }, (_, i) => ({ path: `openstack/content/meta-data-${String(i).padStart(2, '0')}-${'x'.repeat(40)}`, data: Buffer.from(`#${i}\n`) }));
  withImage({ kind: 'many', volumeId: 'config-2', files }, (img) => {
    const rock = isoinfoList(img, ['-R']);
    assert.equal(rock.size, files.length + 2);
    for (const f of files) assert.equal(rock.get('/' + f.path)?.size, f.data.length, f.path);
    const plain = [...isoinfoList(img, []).keys()];
    assert.equal(new Set(plain).size, files.length + 2);
    assert.ok(plain.includes('/OPENSTAC/CONTENT/META_D59.;1'), plain.join(' '));
    assert.deepEqual(execFileSync('isoinfo', ['-R', '-i', img, '-x', '/' + files[59]!.path]), files[59]!.data);
    assert.deepEqual(execFileSync('isoinfo', ['-J', '-i', img, '-x', '/' + files[33]!.path]), files[33]!.data);
  });
});

test('the same files and date give the same bytes, whatever order the files come in', () => {
  const { volumeId, files } = LAYOUTS[1]!;
  const a = buildIso({ volumeId, files, date: DATE });
  const b = buildIso({ volumeId, files: [...files].reverse(), date: DATE });
  assert.deepEqual(a, b);
  assert.notDeepEqual(buildIso({ volumeId, files, date: new Date(DATE.getTime() + 1000) }), a);
});

test('bad input is an IsoImageError naming what is wrong, and nothing is built', () => {
  const data = Buffer.from('x');
  const bad: [string, Parameters<typeof buildIso>[0], RegExp][] = [
    ['empty volume id', { volumeId: '', files: [] }, /volume id ""/],
    ['long volume id', { volumeId: 'x'.repeat(17), files: [] }, /volume id/],
    ['space in a name', { volumeId: 'cidata', files: [{ path: 'user data', data }] }, /"user data"/],
    ['absolute path', { volumeId: 'cidata', files: [{ path: '/meta-data', data }] }, /"\/meta-data"/],
    ['dot-dot', { volumeId: 'cidata', files: [{ path: 'a/../b', data }] }, /"a\/..\/b"/],
    ['name too long', { volumeId: 'cidata', files: [{ path: 'n'.repeat(65), data }] }, /1-64/],
    ['twice', { volumeId: 'cidata', files: [{ path: 'meta-data', data }, { path: 'meta-data', data }] }, /meta-data: given twice/],
    ['file and directory', { volumeId: 'config-2', files: [{ path: 'openstack', data }, { path: 'openstack/latest/user_data', data }] }, /openstack\/latest\/user_data/],
    ['too deep', { volumeId: 'cidata', files: [{ path: 'a/b/c/d/e/f/g/h/i', data }] }, /deeper than 8/],
    ['bad date', { volumeId: 'cidata', files: [], date: new Date(NaN) }, /outside 1900-2155/],
  ];
  for (const [what, opts, message] of bad) {
    assert.throws(() => buildIso(opts), (e: unknown) => e instanceof IsoImageError && e.code === 'VN_INVALID_SPEC' && message.test(e.message), what);
  }
});

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test('timing: a typical NoCloud image, buildIso + write against genisoimage on the same files (printed, not asserted)', { skip: noGenisoimage || noIsoinfo, timeout: 120_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'virtnode-iso-bench-'));
  try {
    const files = [
      { path: 'meta-data', data: Buffer.from('instance-id: 7f1c0f5e-vmi\nlocal-hostname: vmi-fedora\n') },
      { path: 'user-data', data: Buffer.from(`#cloud-config\npassword: fedora\nchpasswd: { expire: False }\nssh_authorized_keys:\n  - ssh-ed25519 ${'A'.repeat(68)} user@host\n`) },
    ];
    for (const f of files) writeFileSync(join(dir, f.path), f.data);
    const ours = join(dir, 'ours.iso');
    const theirs = join(dir, 'genisoimage.iso');
    const RUNS = 20;
    const oursMs: number[] = [];
    const theirsMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t0 = performance.now();
      writeFileSync(ours, buildIso({ volumeId: 'cidata', files }));
      oursMs.push(performance.now() - t0);
      t0 = performance.now();
      execFileSync('genisoimage', ['-quiet', '-output', theirs, '-volid', 'cidata', '-joliet', '-rock', ...files.map((f) => f.path)], { cwd: dir });
      theirsMs.push(performance.now() - t0);
    }
    // Both images must say the same thing to a Rock Ridge reader, or the race means nothing.
    const view = (img: string): [string, number][] => [...isoinfoList(img, ['-R'])].map(([p, l]) => [p, l.size] as [string, number]).sort();
    assert.deepEqual(view(ours), view(theirs));
    t.diagnostic(`buildIso + writeFile: median ${median(oursMs).toFixed(2)} ms over ${RUNS} runs (${statSync(ours).size} bytes)`);
    t.diagnostic(`genisoimage:          median ${median(theirsMs).toFixed(2)} ms over ${RUNS} runs (${statSync(theirs).size} bytes)`);
    t.diagnostic(`ratio genisoimage/ours ${(median(theirsMs) / median(oursMs)).toFixed(1)}x; the issue's budget is 5 ms per VM start`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
