#!/usr/bin/env bash
# Training throughput on the real data, same global batch and seed: one process with 2 threads
# against 2 ranks with 1 thread each (`fmnist train --nproc 2`: Gloo over loopback). Prints a
# markdown table with the ratio on stdout (progress on stderr). Run it on an idle machine.
#
# usage: scripts/bench-distributed.sh [EPOCHS]     (default 3; the first epoch is warm-up)
#   FMNIST=path/to/fmnist (default build/fmnist), DATA=dir (default: fmnist's own search)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fmnist=${FMNIST:-$repo/build/fmnist}
epochs=${1:-3}
data_flag=()
[[ -n ${DATA:-} ]] && data_flag=(--data "$DATA")
[[ -x $fmnist ]] || {
  echo "bench-distributed: $fmnist not built (scripts/build.sh)" >&2
  exit 1
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The mean img/s of the logged epochs after the first (all of them if there is only one).
epoch_rate() {
  awk '/ epoch +[0-9]+\// { rate[++n] = $(NF - 1) }
       END { first = n > 1 ? 2 : 1; for (i = first; i <= n; i++) sum += rate[i];
             printf "%.0f", sum / (n - first + 1) }' "$1"
}

# run NAME FLAGS...: trains, prints the epoch rate.
run() {
  local name=$1
  shift
  echo "bench-distributed: $name: fmnist train --epochs $epochs $*" >&2
  "$fmnist" train --epochs "$epochs" --device cpu --seed 1 --out "$work/$name.pt" \
    "${data_flag[@]}" "$@" >/dev/null 2>"$work/$name.log"
  epoch_rate "$work/$name.log"
}

threads=$(run threads --threads 2)
ranks=$(run ranks --threads 1 --nproc 2)
echo "| training, $epochs epochs (first not counted), batch 128 | epoch img/s |"
echo "|---|---|"
echo "| 1 process x 2 threads | $threads |"
echo "| 2 ranks x 1 thread (\`--nproc 2\`, Gloo over loopback) | $ranks |"
echo "| ratio ranks / threads | $(awk -v a="$ranks" -v b="$threads" 'BEGIN { printf "%.2f", a / b }') |"
echo
echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average before: $load_before"
