// What every validate-*.ts rule module shares: the options, where field errors and
// warnings are collected, and typed readers. The readers return undefined for a
// value of the wrong JSON type: shape.ts has already reported it, and a rule must
// not report it a second time.

import type { FieldError } from '../errors.js';
import { tryParseQuantity, type ParsedQuantity } from './quantity.js';
import { isObject } from './shape.js';
import type { GateOptions } from './schema.js';

export interface ValidateOptions extends GateOptions {
  /**
   * The node provides a pod network: accept spec.domain.devices.interfaces and
   * spec.networks (the handler always does). Off, every entry is refused by path.
   */
  podNetworking: boolean;
  /** The handler runs without Kubernetes: scheduling fields are accepted and ignored, with a warning. */
  standalone: boolean;
}

export const DEFAULT_VALIDATE_OPTIONS: Readonly<ValidateOptions> = Object.freeze({ podNetworking: false, standalone: true });

export interface Ctx {
  opts: ValidateOptions;
  errors: FieldError[];
  warnings: string[];
}

export function fail(ctx: Ctx, path: string, message: string): void {
  ctx.errors.push({ path, message });
}

export type Obj = Record<string, unknown>;

export function obj(o: Obj | undefined, key: string): Obj | undefined {
  const v = o?.[key];
  return isObject(v) ? v : undefined;
}

export function list(o: Obj | undefined, key: string): unknown[] {
  const v = o?.[key];
  return Array.isArray(v) ? v : [];
}

export function str(o: Obj | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === 'string' ? v : undefined;
}

export function int(o: Obj | undefined, key: string): number | undefined {
  const v = o?.[key];
  return Number.isSafeInteger(v) ? (v as number) : undefined;
}

export function bool(o: Obj | undefined, key: string): boolean | undefined {
  const v = o?.[key];
  return typeof v === 'boolean' ? v : undefined;
}

/** Set means present and not JSON null: null is "unset" in Kubernetes' decoding. */
export function isSet(o: Obj | undefined, key: string): boolean {
  return o !== undefined && o[key] !== undefined && o[key] !== null;
}

export interface QuantityAt {
  q: ParsedQuantity;
  path: string;
}

export function quantity(o: Obj | undefined, key: string, path: string): QuantityAt | undefined {
  const q = tryParseQuantity(o?.[key]);
  return q ? { q, path } : undefined;
}

/** Quotes a value in a message the way KubeVirt's admitters do: 'value'. */
export function quote(v: string | number): string {
  return `'${v}'`;
}

/** Kubernetes' wording for an enum value outside its set. */
export function unsupportedValue(value: string, allowed: readonly string[]): string {
  return `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
}

export const REQUIRED = 'Required value';
