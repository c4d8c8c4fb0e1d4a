// Answers encoded once. A Get of an unchanged object, or a List while nothing in the
// store changed, is answered with the bytes of the previous identical answer: under a
// controller's polling the handler's CPU then goes to HTTP/2, not to protobuf.

import type * as grpc from '@grpc/grpc-js';

/** `def` with every method's answer allowed to be bytes already encoded (passed on as they are). */
export function passEncoded(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(def).map(([name, m]) => {
      const serialize = m.responseSerialize;
      return [name, { ...m, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : serialize(v)) }];
    }),
  ) as grpc.ServiceDefinition;
}

/** Encoded answers by key, each good for one version (an object's resourceVersion, the store's sequence). */
export class EncodedCache {
  readonly #max: number;
  readonly #entries = new Map<string, { version: number; bytes: Buffer }>();

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string, version: number, encode: () => Buffer): Buffer {
    const hit = this.#entries.get(key);
    if (hit?.version === version) return hit.bytes;
    const bytes = encode();
    // Oldest first out: a Map iterates in insertion order, so re-insert on update.
    this.#entries.delete(key);
    this.#entries.set(key, { version, bytes });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    return bytes;
  }

  get size(): number {
    return this.#entries.size;
  }
}
