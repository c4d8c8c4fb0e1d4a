// Where a stored object lives: objects/<kind>/<namespace>/<name>.json, with each
// path component made to fit a file name. A DNS-subdomain name may be 253
// characters, and a file name 255 bytes (NAME_MAX) including ".json" and
// atomicWrite's temporary suffix — so a long name, or one that is no plain DNS
// name, is stored under the sha256 of the name instead. Short DNS names keep their
// own file name: readable, and what every store before this one wrote. The record
// holds the object's real namespace and name; the path is only a place.

import { createHash } from 'node:crypto';

/** Lowercase RFC 1123 subdomain characters: no '/', no leading '.', nothing to escape. */
const READABLE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** 255 less ".json" and atomicWrite's ".<pid>.<12 hex>.tmp" (at most 30 bytes), with room to spare. */
const MAX_READABLE = 200;
/** '_' is in no DNS name, so a hashed file name can never be some other object's readable one. */
const HASHED = '_sha256_';

/** The file-name form of a namespace or a name. */
export function pathComponent(name: string): string {
  if (name.length <= MAX_READABLE && READABLE.test(name)) return name;
  return HASHED + createHash('sha256').update(name, 'utf8').digest('hex');
}

/** The object file of `name` in its namespace directory. */
export function objectFile(name: string): string {
  return `${pathComponent(name)}.json`;
}
