// HPACK (RFC 7541), the header compression of HTTP/2, for h2.ts: a full decoder
// (static and dynamic table, Huffman strings), since the handler's nghttp2 uses
// all of them in what it sends, and an encoder that sends every field as a plain
// literal, never indexed, which every decoder must accept and which keeps the
// handler's table of our headers empty.

/** RFC 7541 Appendix A. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/**
 * RFC 7541 Appendix B: the code length of each symbol (0-255, then EOS). The code
 * is canonical (codes ascend with length, then symbol), so the lengths define it.
 */
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
const EOS = 256;

export class HpackError extends Error {}

/** The canonical code, per length: its first code, where its symbols start in `symbols`, and how many there are. */
interface HuffmanTable {
  first: number[];
  offset: number[];
  count: number[];
  symbols: number[];
}

let huffman: HuffmanTable | undefined;

function huffmanTable(): HuffmanTable {
  if (huffman) return huffman;
  const symbols = HUFFMAN_LENGTHS.map((_, s) => s).sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
  const first: number[] = [];
  const offset: number[] = [];
  const count: number[] = [];
  let code = 0;
  let at = 0;
  for (let len = 1; len <= 30; len++) {
    const n = HUFFMAN_LENGTHS.filter((l) => l === len).length;
    first[len] = code;
    offset[len] = at;
    count[len] = n;
    code = (code + n) << 1;
    at += n;
  }
  huffman = { first, offset, count, symbols };
  return huffman;
}

/** A Huffman-coded string (RFC 7541 5.2): at most 7 bits of EOS's leading ones may pad the end. */
export function huffmanDecode(bytes: Buffer): Buffer {
  const t = huffmanTable();
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      const i = code - t.first[len]!;
      if (i >= 0 && i < t.count[len]!) {
        const sym = t.symbols[t.offset[len]! + i]!;
        if (sym === EOS) throw new HpackError('Huffman string holds EOS');
        out.push(sym);
        code = 0;
        len = 0;
      } else if (len >= 30) {
        throw new HpackError('bad Huffman code');
      }
    }
  }
  if (len > 7 || code !== (1 << len) - 1) throw new HpackError('bad Huffman padding');
  return Buffer.from(out);
}

export type HeaderList = [name: string, value: string][];

/** One connection's decoder: its dynamic table lives as long as the connection. */
export class HpackDecoder {
  readonly #table: [string, string][] = []; // newest first
  #size = 0;
  #maxSize: number;
  readonly #limit: number;

  /** `limit`: the SETTINGS_HEADER_TABLE_SIZE this side announced (4096 by default). */
  constructor(limit = 4096) {
    this.#limit = limit;
    this.#maxSize = limit;
  }

  decode(block: Buffer): HeaderList {
    const out: HeaderList = [];
    let pos = 0;
    const int = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let v = block[pos++]! & mask;
      if (v < mask) return v;
      for (let shift = 0; ; shift += 7) {
        if (pos >= block.length || shift > 28) throw new HpackError('bad integer');
        const b = block[pos++]!;
        v += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return v;
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw new HpackError('string past the end of the block');
      const huff = (block[pos]! & 0x80) !== 0;
      const n = int(7);
      if (pos + n > block.length) throw new HpackError('string past the end of the block');
      const raw = block.subarray(pos, pos + n);
      pos += n;
      return (huff ? huffmanDecode(raw) : raw).toString('latin1');
    };
    while (pos < block.length) {
      const b = block[pos]!;
      if (b & 0x80) {
        out.push(this.#get(int(7)));
      } else if (b & 0x40) {
        const index = int(6);
        const name = index ? this.#get(index)[0] : str();
        const field: [string, string] = [name, str()];
        this.#add(field);
        out.push(field);
      } else if (b & 0x20) {
        const size = int(5);
        if (size > this.#limit) throw new HpackError(`table size ${size} above the ${this.#limit} allowed`);
        this.#maxSize = size;
        this.#evict();
      } else {
        // Literal without indexing (0000) or never indexed (0001): the same to a decoder.
        const index = int(4);
        const name = index ? this.#get(index)[0] : str();
        out.push([name, str()]);
      }
    }
    return out;
  }

  #get(index: number): [string, string] {
    if (index >= 1 && index <= STATIC_TABLE.length) return [...STATIC_TABLE[index - 1]!];
    const entry = this.#table[index - STATIC_TABLE.length - 1];
    if (!entry) throw new HpackError(`no header at index ${index}`);
    return entry;
  }

  #add(field: [string, string]): void {
    this.#table.unshift(field);
    this.#size += field[0].length + field[1].length + 32;
    this.#evict();
  }

  #evict(): void {
    while (this.#size > this.#maxSize && this.#table.length) {
      const [n, v] = this.#table.pop()!;
      this.#size -= n.length + v.length + 32;
    }
  }
}

function encodeInt(out: number[], value: number, prefixBits: number, firstByte: number): void {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out.push(firstByte | value);
    return;
  }
  out.push(firstByte | mask);
  value -= mask;
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

/** A header block of literal fields without indexing, names and values as plain strings (RFC 7541 6.2.2). */
export function encodeHeaders(headers: HeaderList): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    out.push(0);
    for (const s of [name, value]) {
      const b = Buffer.from(s, 'latin1');
      encodeInt(out, b.length, 7, 0);
      for (const x of b) out.push(x);
    }
  }
  return Buffer.from(out);
}
