// Kubernetes resource.Quantity, parsed exactly. A quantity is kept as a rational
// num/den of BigInts so "0.5Gi", "64M" and "1e3" never pass through a float: guest
// RAM and cgroup limits are byte counts that must come out exact.
//
// Grammar (k8s.io/apimachinery/pkg/api/resource):
//   <quantity> ::= <sign>? <number> <suffix>
//   <number>   ::= digits | digits.digits | digits. | .digits
//   <suffix>   ::= "" | m | k | M | G | T | P | E      (decimal SI)
//                | Ki | Mi | Gi | Ti | Pi | Ei          (binary SI)
//                | (e|E) <sign>? digits                 (decimal exponent)

import { InvalidSpecError } from '../errors.js';
import type { Quantity } from './types.js';

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface ParsedQuantity {
  /** Exact value is num / den; den > 0. */
  num: bigint;
  den: bigint;
  format: QuantityFormat;
  /** The quantity as written (numbers from YAML/JSON are stringified). */
  text: string;
}

const NUMBER = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(.*)$/;
const EXPONENT = /^[eE]([+-]?\d{1,4})$/;
// Kubernetes caps every quantity at int64; beyond that it silently saturates, we refuse.
const INT64_MAX = (1n << 63n) - 1n;

const DECIMAL_SI: Record<string, number> = { m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SI: Record<string, bigint> = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };

/** The quantity as written, or undefined when it is neither a string nor a finite number. */
function quantityText(q: unknown): string | undefined {
  if (typeof q === 'string') return q;
  if (typeof q === 'number' && Number.isFinite(q)) return String(q);
  return undefined;
}

/** Parses a quantity; undefined when it does not match the grammar. */
export function tryParseQuantity(q: unknown): ParsedQuantity | undefined {
  const text = quantityText(q);
  if (text === undefined) return undefined;
  const m = NUMBER.exec(text);
  if (!m) return undefined;
  const [, sign, number, suffix] = m as unknown as [string, string, string, string];
  const [intPart, fracPart = ''] = number.split('.');
  let num = BigInt((intPart || '0') + fracPart);
  let den = 10n ** BigInt(fracPart.length);
  if (sign === '-') num = -num;

  let format: QuantityFormat;
  // Own members only: "1constructor" or "1toString" must not find Object's.
  if (Object.hasOwn(BINARY_SI, suffix)) {
    num <<= BINARY_SI[suffix]!;
    format = 'BinarySI';
  } else if (Object.hasOwn(DECIMAL_SI, suffix)) {
    ({ num, den } = scale10(num, den, DECIMAL_SI[suffix]!));
    format = 'DecimalSI';
  } else {
    const e = EXPONENT.exec(suffix);
    if (!e) return undefined;
    ({ num, den } = scale10(num, den, Number(e[1])));
    format = 'DecimalExponent';
  }
  return { num, den, format, text };
}

function scale10(num: bigint, den: bigint, exp: number): { num: bigint; den: bigint } {
  return exp >= 0 ? { num: num * 10n ** BigInt(exp), den } : { num, den: den * 10n ** BigInt(-exp) };
}

/** Parses a quantity or throws InvalidSpecError naming `path`. */
export function parseQuantity(q: Quantity | unknown, path = 'quantity'): ParsedQuantity {
  const p = tryParseQuantity(q);
  if (!p) throw new InvalidSpecError([{ path, message: notAQuantity(q) }]);
  return p;
}

/** The field message for something that is not a quantity: `"64X" is not a quantity`. */
export function notAQuantity(q: unknown): string {
  const text = quantityText(q);
  const shown = text !== undefined ? JSON.stringify(text) : typeof q === 'number' ? String(q) : (JSON.stringify(q) ?? String(q));
  return `${shown} is not a quantity`;
}

/** ceil(num/den): Kubernetes' Value() and MilliValue() round up, never down. */
function ceilDiv(num: bigint, den: bigint): bigint {
  const q = num / den;
  return num % den !== 0n && num > 0n ? q + 1n : q;
}

/** The integer value of a parsed quantity, rounded up as Kubernetes' Value() does. */
export function quantityValue(p: ParsedQuantity): bigint {
  return ceilDiv(p.num, p.den);
}

/** The value in thousandths, rounded up as Kubernetes' MilliValue() does. */
export function quantityMilliValue(p: ParsedQuantity): bigint {
  return ceilDiv(p.num * 1000n, p.den);
}

/** Compares two parsed quantities exactly: -1, 0 or 1. */
export function compareQuantities(a: ParsedQuantity, b: ParsedQuantity): number {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** A memory or disk size in bytes ("64M" → 64000000n, "0.5Gi" → 536870912n). */
export function quantityToBytes(q: Quantity | unknown, path = 'quantity'): bigint {
  const bytes = quantityValue(parseQuantity(q, path));
  if (bytes > INT64_MAX || bytes < -INT64_MAX) {
    throw new InvalidSpecError([{ path, message: `${JSON.stringify(quantityText(q))} is too large` }]);
  }
  return bytes;
}

/** A CPU amount in millicores ("500m" → 500, "2" → 2000, "0.1" → 100). */
export function quantityToMillis(q: Quantity | unknown, path = 'quantity'): number {
  const millis = quantityMilliValue(parseQuantity(q, path));
  if (millis > BigInt(Number.MAX_SAFE_INTEGER) || millis < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidSpecError([{ path, message: `${JSON.stringify(quantityText(q))} is too large` }]);
  }
  return Number(millis);
}

/** Whether the exact value is an integer too large for int64 (Kubernetes' bound). */
export function exceedsInt64(p: ParsedQuantity): boolean {
  const v = quantityValue(p);
  return v > INT64_MAX || v < -INT64_MAX;
}
