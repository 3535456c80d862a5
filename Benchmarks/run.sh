#!/usr/bin/env bash
# `make microbench`: runs the micro-benchmarks and writes Benchmarks/results/<date>.md
# (machine, commit, a p50 summary and the framework's full tables).
set -euo pipefail
cd "$(dirname "$0")"
out="results/$(date -u +%F).md"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift package benchmark --no-progress "$@" 2>&1 | tee "$log"
commit=$(git rev-parse --short=12 HEAD)
dirty=$(git status --porcelain --untracked-files=no | wc -l)
{
  echo "# Micro-benchmarks $(date -u +%F)"
  echo
  echo "Produced by \`make microbench\` (\`Benchmarks/run.sh\`, ordo-one/benchmark 1.38.1, release build)."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| CPU | $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') |"
  echo "| toolchain | $(swift --version 2>/dev/null | head -1) |"
  echo "| commit | \`$commit\`$([ "$dirty" -gt 0 ] && echo " + $dirty uncommitted change(s)") |"
  echo "| load average at the end | $(cut -d' ' -f1-3 /proc/loadavg) |"
  echo
  echo "## Summary (p50 of 100,000 samples; wall clock per call, mallocs per call)"
  echo
  echo "| benchmark | p50 time | p99 time | mallocs |"
  echo "|---|---:|---:|---:|"
  # The framework prints each benchmark's name, then a table with Malloc and Time rows.
  awk '
    /^(probe|validate|parse) / { name=$0 }
    /Malloc \(total\)/ { split($0, c, "│"); gsub(/ /, "", c[3]); mallocs=c[3] }
    /Time \(wall clock\)/ { split($0, c, "│"); unit=c[2]; sub(/.*\(/, "", unit); sub(/\).*/, "", unit)
                           gsub(/ /, "", c[5]); gsub(/ /, "", c[8]);
                           printf "| %s | %s %s | %s %s | %s |\n", name, c[5], unit, c[8], unit, mallocs }
  ' "$log"
  echo
  echo "## Full output"
  echo
  echo '```'
  sed -n '/^Running Benchmarks/,$p' "$log" | sed 's/\x1b\[[0-9;]*m//g'
  echo '```'
} > "$out"
echo "wrote Benchmarks/$out"
