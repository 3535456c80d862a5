#!/usr/bin/env bash
# Time per byte of the JSON parser from 1 KiB to 1 MiB for many keys, long escaped strings and
# deep arrays (Benchmarks/json-scaling/main.swift). Compiles the parser's own source files with
# `swiftc -O` (no package build, a few seconds) and prints a Markdown table.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
swiftc -O -module-name JSONScaling -o "$out/json-scaling" \
  "$root/Sources/KindModel/JSONParser.swift" "$root/Sources/KindModel/JSONValue.swift" \
  "$root/Benchmarks/json-scaling/main.swift"
"$out/json-scaling"
