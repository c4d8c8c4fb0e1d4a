#!/usr/bin/env bash
# Regenerates proto/generated/ from the .proto files (proto-loader-gen-types).
# The generated types are committed; test/unit/proto-gen.test.ts fails when they
# are stale.
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-generated}
rm -rf "$out"
../node_modules/.bin/proto-loader-gen-types --grpcLib=@grpc/grpc-js --outDir="$out" \
  --longs=Number --enums=String --defaults --oneofs --includeComments \
  --importFileExtension=.js handler.proto launcher.proto 2>/dev/null
