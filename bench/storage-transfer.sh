#!/usr/bin/env bash
# `make bench-storage` (and the end of `make bench`): upload and download rates of one large WAV
# with files on disk and in S3-compatible object storage (a SeaweedFS on this machine), and the
# server's added RSS during each upload (issue 16: flat, under 64 MiB for 1 GiB).
#
# Each round starts a server per backend on one throwaway PostgreSQL and alternates them: upload
# (`curl -T`, no Expect), then download to /dev/null. The S3 upload is staged: received, hashed and
# probed into STAGING_DIR, then sent to the bucket (multipart, 16 MiB parts), so its time is both.
# Writes bench/results/<date>-storage.md.
#
#   BENCH_BIN=path (default: release build)  BENCH_BIG_MIB=1024  BENCH_STORAGE_ROUNDS=2
#   BENCH_OUT_STORAGE=path.md
# Only loopback traffic; every transfer is bounded in time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# shellcheck source=scripts/lib/server.sh
. scripts/lib/server.sh
MIB=${BENCH_BIG_MIB:-1024}
ROUNDS=${BENCH_STORAGE_ROUNDS:-2}
OUT=${BENCH_OUT_STORAGE:-bench/results/$(date +%F)-storage.md}
bench_binary
bench_workspace storage
scripts/seaweedfs.sh start "$work/s3" >/dev/null
# shellcheck disable=SC1091
. "$work/s3/env"
export MAX_UPLOAD_BYTES=4GiB
key=$("$bin" keys create --name "bench-storage-$(date +%s)" --scope admin | tail -1)

declare -A port pid
for backend in disk s3; do
  port[$backend]=$(free_port)
  if [ "$backend" = s3 ]; then
    STORAGE_URL="$TEST_S3_URL" AWS_ACCESS_KEY_ID="$TEST_S3_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$TEST_S3_SECRET_ACCESS_KEY" \
      STAGING_DIR="$work/staging" PORT=${port[$backend]} "$bin" serve >"$work/server-$backend.log" 2>&1 &
  else
    STORAGE_DIR="$work/storage" PORT=${port[$backend]} "$bin" serve >"$work/server-$backend.log" 2>&1 &
  fi
  pid[$backend]=$!
  pids+=("${pid[$backend]}")
  wait_healthy "http://127.0.0.1:${port[$backend]}" "${pid[$backend]}" "$work/server-$backend.log"
done

wav="$work/bench-$MIB.wav"
python3 bench/make_wav.py "$wav" "$MIB"
sync

rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
rows=()
for round in $(seq 1 "$ROUNDS"); do
  for backend in disk s3; do
    base="http://127.0.0.1:${port[$backend]}"; p=${pid[$backend]}
    id=$(curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -d '{"filetype":"song","name":"storage bench","duration":600}' "$base/api/audio/create" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    before=$(rss "$p"); peak=$before
    ( while kill -0 "$p" 2>/dev/null; do rss "$p"; sleep 0.2; done ) >"$work/rss-$backend-$round.log" 2>/dev/null &
    sampler=$!
    up=$(timeout 900 curl -sS -o /dev/null -w '%{http_code} %{time_total}' -H "Authorization: Bearer $key" -H 'Expect:' \
      -X PUT -H 'Content-Type: audio/wav' -T "$wav" "$base/api/audio/song/$id")
    kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
    peak=$(sort -n "$work/rss-$backend-$round.log" | tail -1); [ -n "$peak" ] || peak=$before
    down=$(timeout 900 curl -sS -o /dev/null -w '%{http_code} %{time_total} %{size_download}' -H "Authorization: Bearer $key" \
      "$base/api/audio/song/$id/file")
    read -r ucode usecs <<<"$up"; read -r dcode dsecs dbytes <<<"$down"
    [ "$ucode" = 200 ] && [ "$dcode" = 200 ] && [ "$dbytes" = "$(stat -c %s "$wav")" ] || { echo "round $round $backend: upload $ucode, download $dcode ($dbytes bytes)" >&2; exit 1; }
    row=$(python3 -c "
mib=$MIB; print(f'| $round | $backend | {mib*1.048576/$usecs:.0f} | {mib*1.048576/$dsecs:.0f} | {($peak-$before)/1024:.1f} |')")
    rows+=("$row"); echo "$row" >&2
  done
done

mkdir -p "$(dirname "$OUT")"
{
  echo "# Storage transfer benchmark $(date +%F): disk and S3-compatible object storage"
  echo
  echo "Produced by \`bench/storage-transfer.sh\` (\`make bench-storage\`), binary \`$bin\` (commit $(git rev-parse --short=12 HEAD)),"
  echo "a ${MIB} MiB WAV, ${ROUNDS} rounds alternating the backends. SeaweedFS $(weed version 2>/dev/null | head -1 | awk '{print $3}') (\`weed mini\`) on the same"
  echo "machine (its disk is the disk's too), PostgreSQL 15. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| round | backend | upload MB/s | download MB/s | server RSS added during the upload (MiB) |"
  echo "|---:|---|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Upload to S3 = receive, hash and probe into STAGING_DIR, then a multipart upload of the staged file;"
  echo "download from S3 = proxied (the kind's \`upload.download\` is \`proxy\`), one ranged GET streamed through."
} >"$OUT"
echo "wrote $OUT" >&2
