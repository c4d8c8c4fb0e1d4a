// resolv.conf as glibc reads it, and the MTU of a real interface from sysfs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResolvConf, readResolvConf, mtuOf } from '../../launcher/network/dhcp-pod.js';

test('a Kubernetes pod\'s resolv.conf: nameserver, search list, options line ignored', () => {
  const r = parseResolvConf('search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
  assert.deepEqual(r, { nameservers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] });
});

test('comments, repeats, IPv6 nameservers, tabs, and the last search/domain line winning', () => {
  const r = parseResolvConf([
    '# generated',
    'nameserver 10.0.0.1 ; trailing comment',
    'nameserver\t10.0.0.2',
    'nameserver fd00::53',
    'nameserver 10.0.0.1',
    'nameserver 999.1.1.1',
    ';nameserver 10.0.0.3',
    'search first.example',
    'domain Second.Example',
    'search Third.example fourth.example   ',
    'nameservers 10.0.0.4',
    '',
  ].join('\n'));
  assert.deepEqual(r.nameservers, ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual(r.searches, ['third.example', 'fourth.example']);
  assert.deepEqual(parseResolvConf('domain Corp.Example\n').searches, ['corp.example']);
  assert.deepEqual(parseResolvConf(''), { nameservers: [], searches: [] });
});

test('readResolvConf reads a file; a missing one is an ENOENT error', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-resolv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 1.1.1.1\nsearch a.b\n');
  assert.deepEqual(readResolvConf(join(dir, 'resolv.conf')), { nameservers: ['1.1.1.1'], searches: ['a.b'] });
  assert.throws(() => readResolvConf(join(dir, 'nope')), { code: 'ENOENT' });
});

test('mtuOf reads sysfs: lo is 65536; a missing interface is VN_NOT_FOUND; a path is not an interface name', () => {
  assert.equal(mtuOf('lo'), 65536);
  assert.throws(() => mtuOf('vn-no-such0'), { code: 'VN_NOT_FOUND' });
  assert.throws(() => mtuOf('../lo'), { code: 'VN_INVALID_SPEC' });
  assert.throws(() => mtuOf('..'), { code: 'VN_INVALID_SPEC' });
});
