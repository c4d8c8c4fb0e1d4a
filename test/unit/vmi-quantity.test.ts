import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidSpecError } from '../../proto/errors.js';
import { compareQuantities, parseQuantity, quantityToBytes, quantityToMillis, tryParseQuantity } from '../../proto/vmi/index.js';

const MEM = 'spec.domain.resources.requests.memory';

test('quantityToBytes: decimal SI, binary SI, exponents, fractions, plain numbers', () => {
  const cases: [string | number, bigint][] = [
    ['64M', 64_000_000n],
    ['1Gi', 1_073_741_824n],
    ['0.5Gi', 536_870_912n],
    ['1.5Gi', 1_610_612_736n],
    ['.5Ki', 512n],
    ['1e3', 1000n],
    ['1E3', 1000n],
    ['1e+3', 1000n],
    ['2k', 2000n],
    ['128Mi', 134_217_728n],
    ['1T', 1_000_000_000_000n],
    ['1Ti', 1n << 40n],
    ['1Pi', 1n << 50n],
    ['1E', 10n ** 18n],
    ['7Ei', 7n << 60n],
    ['+1k', 1000n],
    ['1.', 1n],
    ['0', 0n],
    ['-1Gi', -1_073_741_824n],
    [64, 64n],
    [1e9, 1_000_000_000n],
    // Kubernetes' Value() rounds up: half a byte is a byte.
    ['500m', 1n],
    ['1.0001', 2n],
    ['12e-1', 2n],
  ];
  for (const [q, bytes] of cases) assert.equal(quantityToBytes(q, MEM), bytes, `${q}`);
});

test('quantityToMillis: CPU amounts in millicores', () => {
  const cases: [string | number, number][] = [
    ['500m', 500],
    ['1', 1000],
    ['2', 2000],
    ['0.1', 100],
    ['1.5', 1500],
    ['100m', 100],
    ['1e-3', 1],
    // Below a millicore Kubernetes rounds up to one.
    ['0.1m', 1],
    [0.5, 500],
    [3, 3000],
  ];
  for (const [q, m] of cases) assert.equal(quantityToMillis(q, 'spec.domain.resources.requests.cpu'), m, `${q}`);
});

test('parseQuantity keeps the exact value and the format', () => {
  const p = parseQuantity('0.5Gi');
  assert.equal(p.num * 2n, p.den << 30n);
  assert.equal(p.format, 'BinarySI');
  assert.equal(parseQuantity('64M').format, 'DecimalSI');
  assert.equal(parseQuantity('1e3').format, 'DecimalExponent');
  assert.equal(parseQuantity(64).text, '64');
});

test('invalid quantities are refused naming the path', () => {
  const bad: unknown[] = ['64X', '1KiB', '1K', '1ki', '1k i', ' 64M', '64M ', '', 'Mi', '1..5', '1.5.5', '1e', 'e3', '--1', '0x10', '1Mi1', '1e3M', NaN, Infinity, null, true, {}];
  for (const q of bad) {
    assert.equal(tryParseQuantity(q), undefined, `tryParseQuantity(${String(q)})`);
    assert.throws(() => quantityToBytes(q, MEM), (e: unknown) => {
      assert.ok(e instanceof InvalidSpecError);
      assert.equal(e.fields.length, 1);
      assert.equal(e.fields[0]!.path, MEM);
      assert.match(e.fields[0]!.message, / is not a quantity$/);
      return true;
    });
  }
  assert.throws(() => quantityToBytes('64X', MEM), { message: `${MEM}: "64X" is not a quantity` });
  assert.throws(() => quantityToMillis('abc', 'spec.domain.resources.limits.cpu'), { message: 'spec.domain.resources.limits.cpu: "abc" is not a quantity' });
});

test('quantities past int64 are refused, as Kubernetes caps them', () => {
  // 8Ei is 2^63, one more than int64 holds.
  assert.throws(() => quantityToBytes('8Ei', MEM), { message: `${MEM}: "8Ei" is too large` });
  assert.equal(quantityToBytes('9223372036854775807', MEM), (1n << 63n) - 1n);
});

test('compareQuantities is exact across formats', () => {
  const cmp = (a: string, b: string) => compareQuantities(parseQuantity(a), parseQuantity(b));
  assert.equal(cmp('1Gi', '1024Mi'), 0);
  assert.equal(cmp('1G', '1Gi'), -1);
  assert.equal(cmp('1e3', '1k'), 0);
  assert.equal(cmp('1000m', '1'), 0);
  assert.equal(cmp('0.5Gi', '512Mi'), 0);
  assert.equal(cmp('64M', '61Mi'), 1);
  assert.equal(cmp('-1', '0'), -1);
});

test("a suffix that names a member of Object's prototype is no suffix", () => {
  // Found by the fuzzer (fuzz-admission.test.ts): "0valueOf" made validate() throw a TypeError.
  for (const q of ['1constructor', '0valueOf', '64toString', '1__proto__', '1hasOwnProperty', '2isPrototypeOf']) {
    assert.equal(tryParseQuantity(q), undefined, q);
    assert.throws(() => quantityToBytes(q, MEM), { message: `${MEM}: ${JSON.stringify(q)} is not a quantity` });
  }
});
