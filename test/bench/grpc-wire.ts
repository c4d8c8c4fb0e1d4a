// gRPC's message framing, shared by the benchmark's raw client and its node:http2
// reference server (kept free of imports so that server loads nothing else).

/** A message as gRPC frames it: compressed flag, 4-byte big-endian length, bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}
