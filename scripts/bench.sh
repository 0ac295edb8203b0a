#!/usr/bin/env bash
# Benchmarks fmnist against PyTorch baselines on this machine's CPU, side by side in one run:
# training and evaluation throughput, cold single-image predict, peak training memory, and the
# training FLOP rate against the machine's sgemm peak. Prints the markdown tables on stdout
# (progress on stderr) and writes them as the `## CPU` section of BENCHMARKS.md.
#
# usage: scripts/bench.sh [--quick | --peak | --serve]      (BENCH_QUICK=1 works too)
#   --quick  smoke test on 2,560/1,000 images and fewer runs, about a minute; leaves
#            BENCHMARKS.md alone because its numbers are not comparable.
#   --peak   only measures the sgemm peak candidates and prints their table; BENCHMARKS.md alone.
#   --serve  only fmnist serve against the Python server, on a model trained for 1 epoch; prints
#            those rows and writes them as the `## Serving` section of BENCHMARKS.md (a few
#            minutes; with --quick, fewer requests and BENCHMARKS.md alone).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
helpers=$repo/scripts/bench
built_fmnist=$repo/build/fmnist
# Debian's interpreter: it has python3-torch, which is the same LibTorch fmnist links against;
# a pyenv or venv python3 earlier on PATH usually has no torch.
python=/usr/bin/python3
data_source=/usr/share/datasets/fashion-mnist
threads=$(nproc)
quick=${BENCH_QUICK:-0}
peak_only=0
serve_only=0
# Keeps scripts/bench/ free of __pycache__ (the tree is someone's working copy).
export PYTHONDONTWRITEBYTECODE=1
# The expert-tuned Python environment. bench_sgemm_peak puts the fastest OPENBLAS_CORETYPE in
# front: the right one depends on the CPU, and this project's machines are not all the same.
tuned_env=(OPENBLAS_NUM_THREADS=1
  GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296)

log() { echo "bench: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

parse_args() {
  for arg in "$@"; do
    case $arg in
      --quick) quick=1 ;;
      --peak) peak_only=1 ;;
      --serve) serve_only=1 ;;
      -h | --help)
        sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
      *) die "unknown argument '$arg' (try --help)" ;;
    esac
  done
  [[ $quick == 1 ]] || quick=0
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# The build dependencies come from install-deps.sh; the bench adds what it runs itself.
ensure_packages() {
  "$repo/scripts/install-deps.sh" >&2
  local missing=() p
  for p in python3-torch python3-pil hyperfine time wrk; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
  ((${#missing[@]} == 0)) && return
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >&2
}

# Builds only when the binary is missing: rebuilding someone's tree behind their back is rude.
ensure_build() {
  if [[ -x $built_fmnist ]]; then
    grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$repo/build/CMakeCache.txt" 2>/dev/null ||
      log "warning: build/ is not a Release build; the numbers will not mean much"
    return
  fi
  log "building fmnist (Release)"
  cmake -S "$repo" -B "$repo/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  ninja -C "$repo/build" fmnist >&2
}

# The whole run uses one copy of the binary: a rebuild in build/ halfway through would
# otherwise pair a checkpoint with a binary that cannot read it.
snapshot_binary() {
  fmnist=$tmp/fmnist
  cp "$built_fmnist" "$fmnist"
  record fmnist_commit "$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)"
}

# record KEY VALUE: one result for report.py.
record() { printf '%s=%s\n' "$1" "$2" >>"$results"; }

# record_output PREFIX FILE: the key=value lines a helper printed, keys prefixed.
record_output() { sed -n "s/^\([a-z0-9_]*\)=/$1\1=/p" "$2" >>"$results"; }

# required VALUE WHAT: dies when parsing found nothing, naming what it looked for.
required() {
  [[ -n $1 ]] || die "could not find $2"
  printf '%s' "$1"
}

# The median of the numbers on stdin, one per line.
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

max_rss_kb() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

record_machine() {
  record date "$(date -u '+%Y-%m-%d %H:%M UTC')"
  record mode "$([[ $quick == 1 ]] && echo quick || echo full)"
  record threads "$threads"
  record cpu_model "$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  record cores "$(nproc)"
  record memory "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  record loadavg "$(cut -d' ' -f1-3 /proc/loadavg)"
  record libtorch_version "$(dpkg-query -W -f='${Version}' libtorch-dev)"
  record pytorch_version "$(dpkg-query -W -f='${Version}' python3-torch)"
  record python_version "$($python -c 'import platform; print(platform.python_version())')"
  local load inherited
  inherited=$(env | grep '^OPENBLAS_' | sort | paste -sd ' ' || true)
  record inherited_openblas_env "${inherited:-none}"
  # "Default environment" means the machine's: a core type exported by the caller's shell (one
  # of this project's machines had OPENBLAS_CORETYPE=Haswell, a quarter of its AVX-512 speed)
  # would be measured as if it were the default.
  if [[ -n $inherited ]]; then
    log "unsetting $inherited (inherited from the shell) for every contender"
    while read -r name; do unset "$name"; done < <(env | sed -n 's/^\(OPENBLAS_[A-Za-z0-9_]*\)=.*/\1/p')
  fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  if awk -v l="$load" -v n="$threads" 'BEGIN {exit !(l > 0.25 * n)}'; then
    log "warning: load average $load on $threads cores; other work will skew the numbers"
  fi
}

# Quick mode trains on a cut-down copy of the data; both sides read the same files.
prepare_inputs() {
  if [[ $quick == 1 ]]; then
    $python "$helpers/prep.py" "$data_source" "$tmp" --subset 2560 1000
    data=$tmp/data
  else
    $python "$helpers/prep.py" "$data_source" "$tmp"
    data=$data_source
  fi
  record train_images "$([[ $quick == 1 ]] && echo 2,560 || echo 60,000)"
  record test_images "$([[ $quick == 1 ]] && echo 1,000 || echo 10,000)"
}

# One 2-epoch run gives both epoch 2's img/s and the peak RSS. `--val test` trains on all the
# training images and validates on the test set, as the Python baseline does.
bench_fmnist_train() {
  log "fmnist train, 2 epochs"
  /usr/bin/time -v -o "$tmp/fm_train.time" "$fmnist" train --epochs 2 --val test --data "$data" \
    --out "$tmp/model.pt" --threads "$threads" --device cpu >/dev/null 2>"$tmp/fm_train.log" ||
    { cat "$tmp/fm_train.log" >&2; die "fmnist train failed"; }
  grep 'epoch ' "$tmp/fm_train.log" >&2
  # spdlog colours only a terminal, but strip escapes in case a sink ever changes.
  local line
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/fm_train.log" | grep -E 'epoch +2/2 ' || true)
  record fm_train_img_s "$(required "$(sed -nE 's/.* ([0-9.]+) img\/s.*/\1/p' <<<"$line")" \
    "epoch 2's img/s in fmnist's log")"
  record fm_test_acc "$(required "$(sed -nE 's/.*test loss [0-9.]+ acc ([0-9.]+)%.*/\1/p' <<<"$line")" \
    "epoch 2's test accuracy in fmnist's log")"
  record fm_train_rss_kb "$(required "$(max_rss_kb "$tmp/fm_train.time")" "fmnist's peak RSS")"
}

bench_fmnist_eval() {
  log "fmnist eval"
  "$fmnist" eval "$tmp/model.pt" --data "$data" --threads "$threads" --device cpu --no-plots \
    >/dev/null 2>"$tmp/fm_eval.log" || { cat "$tmp/fm_eval.log" >&2; die "fmnist eval failed"; }
  grep 'evaluated' "$tmp/fm_eval.log" >&2 || true
  record fm_eval_img_s "$(required "$(sed -nE 's/.*evaluated [0-9]+ images in [0-9.]+ s \(([0-9.]+) img\/s\).*/\1/p' \
    "$tmp/fm_eval.log")" "the 'evaluated N images' line in fmnist eval's log")"
}

# Baseline A as a user would run it; also times evaluation and saves weights for predict.
bench_python_default() {
  log "python preloaded, default environment"
  /usr/bin/time -v -o "$tmp/py_train.time" $python "$helpers/train.py" --data "$data" \
    --threads "$threads" --eval --save "$tmp/py_model.pt" >"$tmp/py_train.out"
  record_output py_ "$tmp/py_train.out"
  record py_train_rss_kb "$(required "$(max_rss_kb "$tmp/py_train.time")" "Python's peak RSS")"
}

bench_python_tuned() {
  log "python preloaded, expert-tuned environment"
  env "${tuned_env[@]}" $python "$helpers/train.py" --data "$data" --threads "$threads" \
    >"$tmp/py_tuned.out"
  record_output py_tuned_ "$tmp/py_tuned.out"
}

bench_python_dataloader() {
  log "python Dataset + DataLoader"
  $python "$helpers/train.py" --data "$data" --threads "$threads" --loader dataloader \
    >"$tmp/py_dl.out"
  record_output py_dl_ "$tmp/py_dl.out"
}

# The accurate recipe (the residual network: oneDNN convolutions and fmnist's fused batch-norm
# kernels) against scripts/bench/train_accurate.py, the same recipe in PyTorch-Python. This
# project's machines share their host: their speed drifts by a third within minutes, more than
# the margin measured here. So fmnist and the expert-tuned Python alternate, $rounds rounds of 2
# epochs each (epoch 2 counted), and each side's median is compared; Python's default
# environment, far behind, runs once.
bench_accurate() {
  local rounds=3 round fm py
  [[ $quick == 0 ]] || rounds=1
  : >"$tmp/acc_rounds"
  for ((round = 1; round <= rounds; round++)); do
    log "accurate recipe, round $round/$rounds: fmnist, 2 epochs"
    "$fmnist" train --recipe accurate --epochs 2 --data "$data" --out "$tmp/acc$round.pt" \
      --threads "$threads" --device cpu >/dev/null 2>"$tmp/fm_acc.log" ||
      { cat "$tmp/fm_acc.log" >&2; die "fmnist train --recipe accurate failed"; }
    grep 'epoch ' "$tmp/fm_acc.log" >&2
    fm=$(required "$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/fm_acc.log" |
      sed -nE 's/.*epoch +2\/2 .* ([0-9.]+) img\/s.*/\1/p')" "epoch 2's img/s in fmnist's log")
    log "accurate recipe, round $round/$rounds: python, expert-tuned environment, 2 epochs"
    env "${tuned_env[@]}" $python "$helpers/train_accurate.py" --data "$data" \
      --threads "$threads" --epochs 2 --channels-last >"$tmp/py_acc_tuned.out"
    py=$(required "$(sed -n 's/^train_img_s=//p' "$tmp/py_acc_tuned.out")" "python's img/s")
    printf '%s %s\n' "$fm" "$py" >>"$tmp/acc_rounds"
  done
  record fm_acc_train_img_s "$(cut -d' ' -f1 "$tmp/acc_rounds" | median)"
  record py_acc_tuned_train_img_s "$(cut -d' ' -f2 "$tmp/acc_rounds" | median)"
  record acc_rounds "$(awk '{printf "%s%.0f/%.0f", (NR > 1 ? ", " : ""), $1, $2}' "$tmp/acc_rounds")"
  log "accurate recipe: python, default environment, 2 epochs"
  $python "$helpers/train_accurate.py" --data "$data" --threads "$threads" --epochs 2 \
    >"$tmp/py_acc.out"
  record_output py_acc_ "$tmp/py_acc.out"
}

# Whole processes, each run a fresh one (cold start is the point); --shell=none keeps the shell's
# own start-up out of the numbers. Records NAME_s and NAME_sd (mean and standard deviation) for
# each `-n NAME` command.
hyperfine_pair() {
  local runs=$1 json=$tmp/hyperfine.json
  shift
  hyperfine --shell=none --warmup 2 --runs "$runs" --style basic --export-json "$json" "$@" >&2
  $python - "$json" >>"$results" <<'EOF'
import json, sys
for result in json.load(open(sys.argv[1]))["results"]:
    print(f"{result['command']}_s={result['mean']:.5f}\n{result['command']}_sd={result['stddev']:.5f}")
EOF
}

# Start-up: a cold single-image predict, `--version` (start and exit, against Python's `import
# torch`) and a whole `eval` of the test set, each against the Python baseline doing the same.
bench_startup() {
  local runs=10
  [[ $quick == 0 ]] || runs=3
  log "cold predict, --version and whole-process eval, hyperfine ($runs runs each)"
  # One plain run of each first, so that a failure shows its message instead of hyperfine's.
  "$fmnist" predict "$tmp/one.png" --model "$tmp/model.pt" >&2 || die "fmnist predict failed"
  $python "$helpers/predict.py" "$tmp/py_model.pt" "$tmp/one.png" >&2 || die "predict.py failed"
  $python "$helpers/eval.py" "$tmp/py_model.pt" --data "$data" --threads "$threads" >&2 ||
    die "eval.py failed"
  hyperfine_pair "$runs" \
    -n fm_predict "$fmnist predict $tmp/one.png --model $tmp/model.pt" \
    -n py_predict "$python $helpers/predict.py $tmp/py_model.pt $tmp/one.png"
  hyperfine_pair "$runs" -n fm_version "$fmnist --version" -n py_import "$python -c 'import torch'"
  hyperfine_pair "$runs" \
    -n fm_eval_process "$fmnist eval $tmp/model.pt --data $data --threads $threads --device cpu --no-plots" \
    -n py_eval_process "$python $helpers/eval.py $tmp/py_model.pt --data $data --threads $threads"
  record startup_runs "$runs"
}

# fmnist's batched inference timed as onnx_eval.mjs times ONNX Runtime's (scripts/bench/inference.cpp,
# a target outside the default build). It must run the code of the binary measured elsewhere:
# built beside it, and only while build/ is up to date with the sources.
build_bench_inference() {
  local build_dir
  build_dir=$(dirname "$built_fmnist")
  if ninja -C "$build_dir" -n fmnist | grep -qE 'Building|Linking'; then
    die "build/fmnist is older than the sources: rebuild it (scripts/build.sh), so that bench_inference runs the same code"
  fi
  ninja -C "$build_dir" bench_inference >&2
  cp "$build_dir/bench_inference" "$tmp/bench_inference"
}

# ONNX Runtime, the engine a deployment would pick, on the model fmnist trained above (exported by
# to_pytorch.py): its CPU binding from npm's onnxruntime-node, installed once outside the tree.
bench_onnx_runtime() {
  local version=1.20.1 node_dir=${XDG_CACHE_HOME:-$HOME/.cache}/fmnist-bench/node
  if [[ ! -f $node_dir/node_modules/onnxruntime-node/package.json ]]; then
    log "installing onnxruntime-node $version (npm) into $node_dir"
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --ignore-scripts --no-audit --no-fund \
      "onnxruntime-node@$version" >&2
  fi
  $python "$repo/scripts/to_pytorch.py" "$tmp/model.pt" --onnx "$tmp/model.onnx" >&2
  log "ONNX Runtime $version, test set, batch 256"
  NODE_PATH=$node_dir/node_modules node "$helpers/onnx_eval.mjs" "$tmp/model.onnx" "$data" \
    --threads "$threads" --batch 256 >"$tmp/ort.out" || die "onnx_eval.mjs failed"
  record_output "" "$tmp/ort.out"
  record ort_version "$version"
  log "fmnist's inference, test set, batch 256, timed as onnx_eval.mjs times ONNX Runtime"
  build_bench_inference
  "$tmp/bench_inference" "$tmp/model.pt" "$data" --threads "$threads" --batch 256 \
    >"$tmp/infer.out" || die "bench_inference failed"
  record_output "" "$tmp/infer.out"
}

# The port a server wrote (fmnist serve in its log line, serve.py into a file), once it did.
wait_for_port() {
  local source=$1 pattern=$2 port i
  for ((i = 0; i < 600; i++)); do
    port=$(grep -oE "$pattern" "$source" 2>/dev/null | grep -oE '[0-9]+$' | head -1 || true)
    [[ -n $port ]] && { printf '%s' "$port"; return; }
    sleep 0.1
  done
  die "no port in $source after 60 s: $(cat "$source" 2>/dev/null)"
}

# Returns once process `pid` used no CPU for 0.1 s (at most 3 s).
wait_until_idle() {
  local pid=$1 before after i
  for ((i = 0; i < 30; i++)); do
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    sleep 0.1
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    [[ $before == "$after" ]] && return
  done
}

# serve_load's median in ms, from its report in file $1.
load_median_ms() { sed -n 's/^median_ms=//p' "$1"; }

# round_medians TOOL NAME ROUNDS: the median of each 1-client round of server NAME (fm or py),
# one per line, from TOOL's reports (wrk or load) in $tmp.
round_medians() {
  local round
  for round in $(seq "$3"); do "$1_median_ms" "$tmp/$1_$2_$round.out"; done
}

# wrk's median (--latency) in ms, from its report in file $1.
wrk_median_ms() {
  awk '$1 == "50%" {v = $2 + 0; if ($2 ~ /us$/) v /= 1000; else if ($2 ~ /[^m]s$/) v *= 1000; print v}' "$1"
}

# The failed exchanges in wrk's report $1: answers other than 2xx/3xx, and socket errors.
wrk_errors() {
  awk '/Non-2xx or 3xx responses:/ {n += $NF}
       /Socket errors:/ {gsub(/[^0-9 ]/, ""); for (i = 1; i <= NF; i++) n += $i}
       END {print n + 0}' "$1"
}

# `fmnist serve` against scripts/bench/serve.py (ThreadingHTTPServer + torch, the same checkpoint
# and preprocessing), with one 28x28 PNG per request: the 1-client latency from wrk (the lightest
# client: cpp-httplib's adds some 30 µs of its own polls to every exchange, which narrows the
# ratio) and, as information, from scripts/bench/serve_load.cpp; 16 clients' throughput from
# serve_load (C++, one keep-alive connection per client, every answer's status checked), after a
# warm-up; then each server's peak RSS.
bench_serve() {
  local requests=2000 rounds=4 seconds=1 many=16 many_requests=200 fm_pid py_pid fm_port py_port
  local name port round
  [[ $quick == 0 ]] || { requests=200; rounds=2; many_requests=20; }
  command -v wrk >/dev/null || die "wrk is missing (Debian's wrk: apt-get install wrk)"
  g++ -O2 -std=c++17 -pthread "$helpers/serve_load.cpp" -o "$tmp/serve_load" \
    $(pkg-config --cflags --libs cpp-httplib) || die "could not build serve_load"
  "$fmnist" serve --model "$tmp/model.pt" --port 0 --threads "$threads" --device cpu \
    2>"$tmp/serve.log" &
  fm_pid=$!
  $python "$helpers/serve.py" "$tmp/model.pt" "$tmp/py.port" --threads "$threads" \
    2>"$tmp/py_serve.log" &
  py_pid=$!
  fm_port=$(wait_for_port "$tmp/serve.log" 'http://127\.0\.0\.1:[0-9]+')
  py_port=$(wait_for_port "$tmp/py.port" '^[0-9]+')
  local body=$repo/data/samples/bag.png
  for name in fm py; do
    port=$([[ $name == fm ]] && echo "$fm_port" || echo "$py_port")
    "$tmp/serve_load" "$port" /v1/predict "$body" image/png 1 50 >/dev/null  # warm-up
  done
  # The 1-client latencies in alternating rounds (fmnist, then Python, in each; wrk, then
  # serve_load), each server's the median of its rounds: this machine's speed drifts by a fifth
  # within minutes, and back-to-back runs put the drift into the ratio.
  log "serving, 1 client: $rounds alternating rounds of wrk for ${seconds} s and serve_load for" \
    "$((requests / rounds)) requests"
  for round in $(seq "$rounds"); do
    for name in fm py; do
      port=$([[ $name == fm ]] && echo "$fm_port" || echo "$py_port")
      # PyTorch's OpenMP threads spin for some 100 ms after the Python server's last request
      # (110 ms of CPU in the first 0.1 s): a round started at once shares the cores with them.
      wait_until_idle "$fm_pid"
      wait_until_idle "$py_pid"
      wrk -t1 -c1 -d"${seconds}s" --latency -s "$helpers/post_image.lua" \
        "http://127.0.0.1:$port/v1/predict" -- "$body" image/png >"$tmp/wrk_${name}_$round.out" ||
        die "wrk failed: $(cat "$tmp/wrk_${name}_$round.out")"
      wait_until_idle "$fm_pid"
      wait_until_idle "$py_pid"
      "$tmp/serve_load" "$port" /v1/predict "$body" image/png 1 $((requests / rounds)) \
        >"$tmp/load_${name}_$round.out"
    done
  done
  for name in fm py; do
    record "serve_${name}_1c_median_ms" "$(required "$(round_medians wrk "$name" "$rounds" |
      median | grep -v '^0$')" "wrk's 50% latency ($name)")"
    record "serve_${name}_1c_requests" "$(cat "$tmp"/wrk_"${name}"_*.out |
      awk '/ requests in / {n += $1} END {print n + 0}')"
    record "serve_${name}_1c_httplib_median_ms" "$(required "$(round_medians load "$name" \
      "$rounds" | median | grep -v '^0$')" "serve_load's median_ms ($name)")"
    record "serve_${name}_1c_errors" "$(
      { for round in $(seq "$rounds"); do wrk_errors "$tmp/wrk_${name}_$round.out"; done
        sed -n 's/^errors=//p' "$tmp"/load_"${name}"_*.out; } | awk '{n += $1} END {print n}')"
  done
  local tool
  for tool in wrk load; do
    record "serve_1c_${tool}_rounds" "$(paste -d/ <(round_medians "$tool" fm "$rounds") \
      <(round_medians "$tool" py "$rounds") | paste -sd, | sed 's/,/, /g')"
  done
  for name in fm py; do
    port=$([[ $name == fm ]] && echo "$fm_port" || echo "$py_port")
    log "serving, $name: $many clients x $many_requests requests"
    "$tmp/serve_load" "$port" /v1/predict "$body" image/png "$many" "$many_requests" >"$tmp/load.out"
    record_output "serve_${name}_${many}c_" "$tmp/load.out"
  done
  record serve_fm_rss_kb "$(awk '/VmHWM/ {print $2}' "/proc/$fm_pid/status")"
  record serve_py_rss_kb "$(awk '/VmHWM/ {print $2}' "/proc/$py_pid/status")"
  record serve_requests "$((requests / rounds * rounds))"
  record serve_wrk_seconds "$((seconds * rounds))"
  record serve_many_requests "$many_requests"
  kill "$fm_pid" "$py_pid"
  wait "$fm_pid" "$py_pid" 2>/dev/null || true
}

# The peak is the best of the kernels this machine offers (OpenBLAS's own choice, each core type
# the CPU can run, oneDNN): Debian's OpenBLAS 0.3.21 does not know every CPU, and no one forced
# core type is the fastest on all of them. The fastest OpenBLAS core type also goes into the
# expert-tuned environment, so this runs before the Python baselines.
bench_sgemm_peak() {
  local repeats=3 rounds=2 coretype
  [[ $quick == 0 ]] || { repeats=2 rounds=1; }
  log "sgemm 4096³ peak, best of the candidates ($rounds × $repeats products each)"
  $python "$helpers/sgemm.py" --threads "$threads" --repeats "$repeats" --rounds "$rounds" \
    >"$tmp/sgemm.out"
  record_output "" "$tmp/sgemm.out"
  coretype=$(sed -n 's/^tuned_coretype=//p' "$tmp/sgemm.out")
  [[ -z $coretype ]] || tuned_env=("OPENBLAS_CORETYPE=$coretype" "${tuned_env[@]}")
  record tuned_env "${tuned_env[*]}"
}

main() {
  parse_args "$@"
  ensure_packages
  [[ $peak_only == 1 ]] || ensure_build
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/fmnist-bench.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  results=$tmp/results
  record_machine
  if [[ $serve_only == 1 ]]; then
    snapshot_binary
    log "fmnist train, 1 epoch, for the server"
    "$fmnist" train --epochs 1 --data "$data_source" --out "$tmp/model.pt" --threads "$threads" \
      --device cpu >/dev/null 2>&1 || die "fmnist train failed"
    bench_serve
    if [[ $quick == 1 ]]; then
      $python "$helpers/report.py" "$results" --serve
    else
      $python "$helpers/report.py" "$results" --serve --write "$repo/BENCHMARKS.md"
      log "wrote the ## Serving section of BENCHMARKS.md"
    fi
    return
  fi
  bench_sgemm_peak
  if [[ $peak_only == 1 ]]; then
    $python "$helpers/report.py" "$results" --peak
    return
  fi
  $python "$helpers/report.py" "$results" --peak >&2
  snapshot_binary
  prepare_inputs
  bench_fmnist_train
  bench_fmnist_eval
  bench_onnx_runtime
  bench_python_default
  bench_python_tuned
  bench_python_dataloader
  bench_accurate
  bench_startup
  bench_serve
  record loadavg_after "$(cut -d' ' -f1-3 /proc/loadavg)"
  if [[ $quick == 1 ]]; then
    $python "$helpers/report.py" "$results"
  else
    $python "$helpers/report.py" "$results" --write "$repo/BENCHMARKS.md"
    log "wrote the ## CPU section of BENCHMARKS.md"
  fi
}

main "$@"
