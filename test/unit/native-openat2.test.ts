// openat2 RESOLVE_BENEATH and the regular-file opener over it, against the real kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdirSync, mkdtempSync, readFileSync, readSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AT_FDCWD, BeneathError, NativeError, O_PATH, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, closeFd, createSparseBeneath, openRegularBeneath, openRoot, openat2,
  regularFileBeneath,
} from '../../native/index.js';

function tree(t: { after(fn: () => void): void }): { dir: string; root: string; rootFd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'vn-openat2-'));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(root, 'sub', 'disk.img'), 'inside');
  writeFileSync(join(dir, 'outside', 'secret'), 'outside');
  symlinkSync(join(dir, 'outside', 'secret'), join(root, 'absolute'));
  symlinkSync('../outside/secret', join(root, 'climbs-out'));
  symlinkSync('sub/disk.img', join(root, 'stays-inside'));
  symlinkSync('/dev/null', join(root, 'devnull'));
  symlinkSync('/proc/self/root/etc/hostname', join(root, 'magic'));
  const rootFd = openRoot(root);
  t.after(() => {
    closeFd(rootFd);
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, root, rootFd };
}

const refused = (reason: string) => (e: unknown): boolean => e instanceof BeneathError && e.reason === reason;

test('openat2: RESOLVE_BENEATH refuses "../" with EXDEV; without it the same walk succeeds', (t) => {
  const { rootFd } = tree(t);
  assert.throws(() => openat2(rootFd, '../outside/secret', { flags: O_PATH, resolve: RESOLVE_BENEATH }), (e: unknown) => e instanceof NativeError && e.errnoName === 'EXDEV' && /^openat2\(fd \d+, "\.\.\/outside\/secret"\)/.test(e.message));
  const fd = openat2(rootFd, '../outside/secret', { flags: O_PATH });
  closeFd(fd);
  assert.throws(() => openat2(AT_FDCWD, '/nonexistent/x', { flags: 0 }), (e: unknown) => e instanceof NativeError && e.errnoName === 'ENOENT');
  assert.throws(() => openat2(rootFd, 'sub/disk.img', { flags: 0, mode: 0o600 }), (e: unknown) => e instanceof NativeError && e.errnoName === 'EINVAL', 'a mode without O_CREAT');
});

test('beneath: "..", an absolute symlink, a symlink climbing out and /dev/null through a symlink are refused; nothing outside is opened', (t) => {
  const { rootFd } = tree(t);
  for (const p of ['../outside/secret', 'sub/../../outside/secret', 'absolute', 'climbs-out', 'devnull']) {
    assert.throws(() => openRegularBeneath(rootFd, p, { write: false }), refused('outside'), p);
  }
  assert.throws(() => openRegularBeneath(rootFd, 'magic', { write: false }), (e: unknown) => e instanceof BeneathError && (e.reason === 'outside' || e.reason === 'magic-link'));
  assert.throws(() => openat2(rootFd, 'magic', { flags: O_PATH, resolve: RESOLVE_NO_MAGICLINKS }), (e: unknown) => e instanceof NativeError && e.errnoName === 'ELOOP');
  assert.throws(() => openRegularBeneath(rootFd, 'missing.img', { write: false }), refused('missing'));
  assert.throws(() => openRegularBeneath(rootFd, 'sub', { write: false }), (e: unknown) => refused('not-regular')(e) && /is a directory, not a regular file/.test((e as Error).message));
});

test('beneath: a symlink that stays inside is followed to the same file', (t) => {
  const { rootFd } = tree(t);
  const direct = openRegularBeneath(rootFd, 'sub/disk.img', { write: true });
  const linked = openRegularBeneath(rootFd, 'stays-inside', { write: false });
  t.after(() => {
    closeFd(direct.fd);
    closeFd(linked.fd);
  });
  assert.equal(linked.dev, direct.dev);
  assert.equal(linked.ino, direct.ino);
  const buf = Buffer.alloc(6);
  readSync(linked.fd, buf, 0, 6, 0);
  assert.equal(buf.toString(), 'inside');
});

test('beneath: a device node inside the root is refused without being opened', (t) => {
  const { root, rootFd } = tree(t);
  execFileSync('mknod', [join(root, 'null'), 'c', '1', '3']);
  assert.throws(() => regularFileBeneath(rootFd, 'null'), (e: unknown) => refused('not-regular')(e) && /is a character device, not a regular file/.test((e as Error).message));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  // A FIFO opened for reading would block: O_PATH names it without opening it.
  assert.throws(() => openRegularBeneath(rootFd, 'fifo', { write: false }), (e: unknown) => refused('not-regular')(e) && /is a FIFO/.test((e as Error).message));
});

test('beneath: an expected identity catches a file swapped under the same name', (t) => {
  const { root, rootFd } = tree(t);
  const first = regularFileBeneath(rootFd, 'sub/disk.img');
  writeFileSync(join(root, 'sub', 'other.img'), 'other');
  renameSync(join(root, 'sub', 'other.img'), join(root, 'sub', 'disk.img'));
  assert.throws(() => openRegularBeneath(rootFd, 'sub/disk.img', { write: true, expect: first }), (e: unknown) => refused('changed')(e) && /is no longer the file prepared for it/.test((e as Error).message));
  const now = regularFileBeneath(rootFd, 'sub/disk.img');
  const f = openRegularBeneath(rootFd, 'sub/disk.img', { write: true, expect: now });
  closeFd(f.fd);
});

test('beneath: a sparse file is created once, never over anything already there', (t) => {
  const { root, rootFd } = tree(t);
  const id = createSparseBeneath(rootFd, 'sub/new.img', 64n << 20n);
  const st = statSync(join(root, 'sub', 'new.img'), { bigint: true });
  assert.equal(st.size, 64n << 20n);
  assert.equal(st.ino, id.ino);
  assert.ok(st.blocks * 512n < 1n << 20n, `sparse: ${st.blocks} blocks allocated`);
  assert.equal(Number(st.mode & 0o777n), 0o600);
  assert.throws(() => createSparseBeneath(rootFd, 'sub/new.img', 1n << 20n), refused('exists'));
  // A dangling or escaping symlink is not followed to create its target.
  assert.throws(() => createSparseBeneath(rootFd, 'absolute', 1n << 20n), refused('exists'));
  assert.throws(() => createSparseBeneath(rootFd, '../outside/new.img', 1n << 20n), refused('outside'));
  assert.throws(() => createSparseBeneath(rootFd, 'nodir/new.img', 1n << 20n), refused('missing'));
  assert.equal(readFileSync(join(root, '..', 'outside', 'secret'), 'utf8'), 'outside');
});

test('beneath: a root with a symlink on its way is refused', (t) => {
  const { dir, root } = tree(t);
  symlinkSync(root, join(dir, 'link'));
  assert.throws(() => openRoot(join(dir, 'link')), refused('root'));
  const fd = openRoot(root);
  assert.ok(fstatSync(fd).isDirectory());
  closeSync(fd);
});
