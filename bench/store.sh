#!/usr/bin/env bash
# Object-store throughput: `templar store` against the curl command-line tool, both talking to
# s3rver on loopback (started here on a free port with a temporary directory, stopped after).
#
# usage: bench/store.sh [--json]
# env:   TEMPLAR_BIN  binary (default: <repo>/build/templar)
#        RUNS         repetitions of each measurement; the median is reported (default 3)
#        NPUT NGET    8 MB objects per put / get measurement (default 10 each)
#        BENCH_JSON=1 same as --json: print one JSON object instead of the table
#
# Measurements (MB = 10^6 bytes; wall time of the whole loop, process start-up included for both):
#   put 8 MB     NPUT sequential uploads of an 8 MiB file, one process per upload
#                (templar store put URI KEY FILE  vs  curl -T FILE URL)
#   get 8 MB     NGET sequential downloads to a file (templar store get  vs  curl -o)
#   gather 32x2  32 objects of 2 MiB: one `templar store gather` (concurrent, curl multi) vs one
#                curl process fetching the 32 URLs one after another over a reused connection.
# Both sign with SigV4 (curl --aws-sigv4). Over plain http templar also signs the body's SHA-256
# (x-amz-content-sha256), an extra pass over each upload; curl sends UNSIGNED-PAYLOAD.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
json=${BENCH_JSON:-0}
for a in "$@"; do
    case "$a" in
        --json) json=1 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "store.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done

bin=${TEMPLAR_BIN:-$root/build/templar}
s3rver=$root/tools/node_modules/.bin/s3rver
runs=${RUNS:-3}
nput=${NPUT:-10}
nget=${NGET:-10}
[ -x "$bin" ] || { echo "store.sh: $bin not built (make)" >&2; exit 1; }
[ -x "$s3rver" ] || { echo "store.sh: $s3rver missing (scripts/install-deps)" >&2; exit 1; }
command -v curl >/dev/null || { echo "store.sh: the curl command-line tool is needed" >&2; exit 1; }

work=$(mktemp -d /tmp/templar-bench-store-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# s3rver makes continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider.
NODE_OPTIONS=--openssl-legacy-provider "$s3rver" --directory "$work/s3" --address 127.0.0.1 --port "$port" \
    --silent --configure-bucket bench >/dev/null 2>&1 &
srv=$!
cleanup() { kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
uri=s3+http://127.0.0.1:$port/bench
url=http://127.0.0.1:$port/bench
curl_s3=(curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:S3RVER")
empty_sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

head -c $((8 << 20)) /dev/urandom >"$work/big8"
mkdir -p "$work/small"
for i in $(seq 0 31); do head -c $((2 << 20)) /dev/urandom >"$work/small/g$i"; done

now() { date +%s.%N; }
# mbps BYTES SECONDS
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

put_templar() { for i in $(seq 1 "$nput"); do "$bin" store put "$uri" "t-put-$i" "$work/big8"; done; }
put_curl() {
    for i in $(seq 1 "$nput"); do
        "${curl_s3[@]}" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$work/big8" "$url/c-put-$i" -o /dev/null
    done
}
get_templar() { for i in $(seq 1 "$nget"); do "$bin" store get "$uri" "t-put-$i" "$work/out-t-$i"; done; }
get_curl() {
    for i in $(seq 1 "$nget"); do
        "${curl_s3[@]}" -H "x-amz-content-sha256: $empty_sha" "$url/c-put-$i" -o "$work/out-c-$i"
    done
}
gather_templar() { rm -rf "$work/gt"; "$bin" store gather "$uri" $(for i in $(seq 0 31); do echo "g$i"; done) --out "$work/gt" >/dev/null 2>&1; }
gather_curl() {
    rm -rf "$work/gc"; mkdir -p "$work/gc"
    local args=()
    for i in $(seq 0 31); do args+=("$url/g$i" -o "$work/gc/g$i"); done
    "${curl_s3[@]}" -H "x-amz-content-sha256: $empty_sha" "${args[@]}"
}

# time_it FUNCTION -> seconds (median of $runs)
time_it() {
    for _ in $(seq 1 "$runs"); do
        local t0 t1
        t0=$(now); "$1"; t1=$(now)
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
    done | median
}

# the gather's objects, uploaded once
for i in $(seq 0 31); do "$bin" store put "$uri" "g$i" "$work/small/g$i"; done

t_put_t=$(time_it put_templar); t_put_c=$(time_it put_curl)
t_get_t=$(time_it get_templar); t_get_c=$(time_it get_curl)
t_ga_t=$(time_it gather_templar); t_ga_c=$(time_it gather_curl)

# every byte checked, for both tools
for i in $(seq 1 "$nget"); do cmp -s "$work/big8" "$work/out-t-$i" && cmp -s "$work/big8" "$work/out-c-$i" \
    || { echo "store.sh: downloaded 8 MB object $i differs" >&2; exit 1; }; done
for i in $(seq 0 31); do cmp -s "$work/small/g$i" "$work/gt/g$i" && cmp -s "$work/small/g$i" "$work/gc/g$i" \
    || { echo "store.sh: gathered object g$i differs" >&2; exit 1; }; done

b_put=$((nput * (8 << 20))); b_get=$((nget * (8 << 20))); b_ga=$((32 * (2 << 20)))
r_put_t=$(mbps $b_put "$t_put_t"); r_put_c=$(mbps $b_put "$t_put_c")
r_get_t=$(mbps $b_get "$t_get_t"); r_get_c=$(mbps $b_get "$t_get_c")
r_ga_t=$(mbps $b_ga "$t_ga_t"); r_ga_c=$(mbps $b_ga "$t_ga_c")

if [ "$json" = 1 ]; then
    printf '{"server":"s3rver","runs":%d,"put_8MB":{"templar_MBps":%s,"curl_MBps":%s,"objects":%d},' "$runs" "$r_put_t" "$r_put_c" "$nput"
    printf '"get_8MB":{"templar_MBps":%s,"curl_MBps":%s,"objects":%d},' "$r_get_t" "$r_get_c" "$nget"
    printf '"gather_32x2MB":{"templar_MBps":%s,"curl_sequential_MBps":%s,"templar_s":%s,"curl_s":%s}}\n' \
        "$r_ga_t" "$r_ga_c" "$t_ga_t" "$t_ga_c"
else
    echo "object store on s3rver (127.0.0.1:$port), median of $runs runs, MB = 10^6 bytes"
    printf '%-36s %14s %14s\n' "transfer" "templar MB/s" "curl MB/s"
    printf '%-36s %14s %14s\n' "put 8 MiB x $nput (one process each)" "$r_put_t" "$r_put_c"
    printf '%-36s %14s %14s\n' "get 8 MiB x $nget (one process each)" "$r_get_t" "$r_get_c"
    printf '%-36s %14s %14s\n' "gather 32 x 2 MiB" "$r_ga_t" "$r_ga_c"
    echo "(gather: templar concurrent on one curl multi handle; curl one URL after another)"
fi
