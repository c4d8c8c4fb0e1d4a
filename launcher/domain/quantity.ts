// INTEGRATOR: TEMPORARY LOCAL HELPER. proto/vmi/quantity.ts (written in parallel)
// exports `quantityToBytes(q, path): bigint` with the same meaning; once it is merged,
// replace this whole file with:
//
//   export { quantityToBytes } from '../../proto/vmi/quantity.js';
//
// Until then: the Kubernetes quantity grammar, exact (BigInt fractions), rounded up
// to a whole byte as Kubernetes' Value() rounds.

import { InvalidSpecError } from '../../proto/errors.js';
import type { Quantity } from '../../proto/vmi/types.js';

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;
const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** A memory or disk size in bytes ("64M" → 64000000n, "0.5Gi" → 536870912n). */
export function quantityToBytes(q: Quantity | unknown, path = 'quantity'): bigint {
  const text = typeof q === 'number' && Number.isFinite(q) ? String(q) : typeof q === 'string' ? q : undefined;
  const m = text === undefined ? null : QUANTITY.exec(text);
  if (!m) throw new InvalidSpecError([{ path, message: `${JSON.stringify(q)} is not a quantity` }]);
  const [, sign, number, exponent, suffix = ''] = m;
  const [whole, frac = ''] = number!.split('.');
  let num = BigInt(`${whole || '0'}${frac}`);
  let den = 10n ** BigInt(frac.length);
  if (BINARY[suffix]) num *= BINARY[suffix];
  else {
    const e = exponent ? Number(exponent.slice(1)) : DECIMAL_EXP[suffix]!;
    if (e >= 0) num *= 10n ** BigInt(e);
    else den *= 10n ** BigInt(-e);
  }
  if (sign === '-') num = -num;
  const v = num / den;
  return num % den !== 0n && num > 0n ? v + 1n : v;
}
