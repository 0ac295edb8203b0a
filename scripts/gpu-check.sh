#!/usr/bin/env bash
# The GPU check (issue 6), run once on the device machine: builds fmnist against that machine's
# CUDA LibTorch (the one of its PyTorch install), runs the test suite, trains 3 epochs on the
# GPU, times a PyTorch-Python baseline of the same model on the same GPU, checks that eval on
# cuda and cpu agree (for a GPU- and a CPU-trained checkpoint) and predicts on the GPU.
#
# Before: scripts/gather-gpu-carry.sh here (fills the git-ignored .carry/). Then, device tool:
#   run(command="bash scripts/gpu-check.sh", carry=[".carry"], timeout_s=540)
# It keeps itself under ~8 minutes (GPU_CHECK_BUDGET_S, default 480 s: a step that would start
# too late is skipped and says so), never stops at a failed step (each step is one row of the
# summary table) and writes to $OUT: summary.md (also printed last), gpu-check.log (every
# step's command and output), build.log (configure and build), gpu.pt (the GPU checkpoint).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD
OUT=${OUT:-$ROOT/build-gpu/gpu-check-out}  # $OUT is set on the device machine
mkdir -p "$OUT"
LOG=$OUT/gpu-check.log
BUILD_LOG=$OUT/build.log
SUMMARY=$OUT/summary.md
BUILD=${GPU_CHECK_BUILD_DIR:-$ROOT/build-gpu}
# Overrides for a dry run of this script on a CPU machine (GPU_CHECK_DEVICE=cpu, a small data
# set, TORCH_PREFIX of a local LibTorch, GPU_CHECK_BUILD_DIR, GPU_CHECK_BUILD_LIMIT_S); on the
# GPU machine leave them unset.
DEV=${GPU_CHECK_DEVICE:-cuda}
EPOCHS=${GPU_CHECK_EPOCHS:-3}
DATA=${GPU_CHECK_DATA:-$ROOT/.carry/data}
WORK=$BUILD/check  # scratch files that need not come back
mkdir -p "$WORK"
BUDGET=${GPU_CHECK_BUDGET_S:-480}
: >"$LOG"
: >"$BUILD_LOG"

# The summary grows row by row, so a run cut short still leaves what it found.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo "no git")
git diff --quiet HEAD 2>/dev/null || rev="$rev+changes"
{
  echo "## GPU check ($(date -u +%Y-%m-%d), $rev$([[ $DEV != cuda ]] && echo ", DRY RUN on $DEV"))"
  echo
  echo "| check | result | detail |"
  echo "| --- | --- | --- |"
} >"$SUMMARY"
row() { echo "| $1 | $2 | $3 |" >>"$SUMMARY"; printf '%-34s %-8s %s\n' "$1" "$2" "$3"; }
note() { printf '\n=== %s  [t=%ds]\n' "$*" "$SECONDS" >>"$LOG"; }
# fnum EXPR: evaluates a floating-point expression with awk ("1" or "0" for comparisons).
fnum() { awk "BEGIN { print ($1) }"; }

# step NAME LIMIT_S LOGFILE CMD...: runs CMD with a time limit cut to what the budget has left,
# appending its output to LOGFILE (and to $STEP_OUT); sets RC and STEP_S. RC 124: timed out,
# RC 125: not started (budget spent).
step() {
  local name=$1 limit=$2 logfile=$3
  shift 3
  local left=$((BUDGET - SECONDS))
  ((limit > left)) && limit=$left
  STEP_OUT=$WORK/step.out
  mkdir -p "$WORK"
  : >"$STEP_OUT"
  if ((limit < 5)); then
    RC=125
    STEP_S=0
    note "$name: SKIPPED, budget spent"
    return
  fi
  note "$name: $* (limit ${limit}s)"
  [[ $logfile != "$LOG" ]] && echo "(output in $(basename "$logfile"))" >>"$LOG"
  [[ $logfile != "$LOG" ]] && printf '\n=== %s: %s\n' "$name" "$*" >>"$logfile"
  local start=$SECONDS
  timeout --kill-after=5 "$limit" "$@" >"$STEP_OUT" 2>&1
  RC=$?
  STEP_S=$((SECONDS - start))
  cat "$STEP_OUT" >>"$logfile"
  echo "--- rc=$RC, ${STEP_S}s" >>"$logfile"
}
status_of() {  # PASS/FAIL/TIMEOUT/SKIPPED from RC
  case $RC in
    0) echo PASS ;;
    124 | 137) echo "**TIMEOUT**" ;;
    125) echo SKIPPED ;;
    *) echo "**FAIL**" ;;
  esac
}
verdict() { [[ $1 == 1 ]] && echo PASS || echo "**FAIL**"; }
accuracy_of() { sed -n 's/^accuracy: *\([0-9.]*\)%.*/\1/p' "$1" | head -1; }

echo "gpu-check: start $(date -u +%H:%M:%S), budget ${BUDGET}s, results in $OUT"

# --- environment -------------------------------------------------------------------------------
# python3 is the interpreter that holds PyTorch; pip's cmake and ninja may sit beside it.
PY=$(command -v python3 || true)
[[ -n $PY ]] && PATH="$(dirname "$PY"):$PATH"
if ! command -v nvcc >/dev/null; then
  for d in "${CUDA_HOME:-}" /usr/local/cuda /usr/local/cuda-13.0; do
    [[ -n $d && -x $d/bin/nvcc ]] && export PATH="$d/bin:$PATH" && break
  done
fi
note environment
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nvcc --version | tail -2
  cmake --version | head -1
  ninja --version
  c++ --version | head -1
  python3 -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__,
      "cuda", torch.version.cuda, "available", torch.cuda.is_available(),
      "cxx11abi", torch.compiled_with_cxx11_abi()); print(torch.utils.cmake_prefix_path)'
  ls -d /usr/include/zlib.h /usr/include/spdlog /usr/include/CLI 2>&1
  du -sh .carry 2>&1
  nproc
} >>"$LOG" 2>&1
# The plots' text: fontconfig finds the carried DejaVu Sans where the machine has no fonts.
if [[ ! -e /etc/fonts/fonts.conf && -d $ROOT/.carry/fonts ]]; then
  printf '<?xml version="1.0"?>\n<fontconfig><dir>%s</dir><cachedir>%s</cachedir></fontconfig>\n' \
    "$ROOT/.carry/fonts" "$WORK/fontconfig-cache" >"$WORK/fonts.conf"
  export FONTCONFIG_FILE=$WORK/fonts.conf
fi
GPU=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
TORCH_INFO=$(python3 -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null)
TORCH_PREFIX=${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)}
NVCC=$(command -v nvcc || true)
NVCC_VERSION=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')
CXX_VERSION=$(c++ -dumpfullversion 2>/dev/null)
CMAKE_VERSION=$(cmake --version 2>/dev/null | sed -n '1s/cmake version //p')
row "environment" info "${GPU:-no nvidia-smi}; torch ${TORCH_INFO:-missing}; nvcc ${NVCC_VERSION:-missing}; g++ ${CXX_VERSION:-?}; cmake ${CMAKE_VERSION:-missing}"
[[ -d $DATA ]] || row "carried data" "**FAIL**" "$DATA missing: run with carry [\".carry\"]"

# --- PyTorch-Python baseline, same GPU, data preloaded (needs no build, so it runs first) --------
step "python baseline" 120 "$LOG" env PYTHONUNBUFFERED=1 python3 scripts/bench/gpu_baseline.py --data "$DATA" --epochs "$EPOCHS" --device "$DEV"
PY_BEST_IMG_S=""
if [[ $RC == 0 ]]; then
  py() { sed -n "s/^$1=//p" "$STEP_OUT" | tail -1; }
  py_epochs=$(sed -n 's/^py_epoch[0-9]*_s=//p' "$STEP_OUT" | paste -sd/ - | sed 's|/| / |g')
  PY_BEST_IMG_S=$(py py_best_img_s)
  py_gpu=$(py py_gpu)
  row "Python baseline (preloaded on GPU)" info "epochs ${py_epochs} s; best ${PY_BEST_IMG_S} img/s; test acc $(py py_test_acc)%${py_gpu:+; $py_gpu}"
else
  row "Python baseline (preloaded on GPU)" "$(status_of)" "rc=$RC; $(tail -1 "$STEP_OUT" | cut -c1-200)"
fi

# --- configure and build -----------------------------------------------------------------------
# The carried cairo and nettle load libraries of their own (pixman, fontconfig, ...), which the
# executable's RUNPATH does not reach: the dynamic loader looks for them here too.
[[ -d $ROOT/.carry/shlib ]] && export LD_LIBRARY_PATH="$ROOT/.carry/shlib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
GENERATOR=()
command -v ninja >/dev/null && GENERATOR=(-G Ninja)
# Torch's cuda.cmake looks for the header-only NVTX3 in its own source tree only; without it, it
# falls back to CUDA::nvToolsExt, which CUDA 13 no longer has. Point it at the toolkit's copy.
NVTX_DIR=""
for d in "$(dirname "$(dirname "${NVCC:-/x/x}")")/include" /usr/local/cuda/include \
  "$(python3 -c 'import nvidia.nvtx, os; print(os.path.join(list(nvidia.nvtx.__path__)[0], "include"))' 2>/dev/null)"; do
  [[ -n $d && -d $d/nvtx3 ]] && NVTX_DIR=$d && break
done
# A compiler that links libstdc++ statically (this machine's /opt/gcc, named by $CXX, does) gives
# fmnist a second C++ runtime beside the shared one LibTorch loads, and every C++ exception then
# crashes (session 5: 84 tests died of SIGSEGV). Build with the first compiler that links it shared.
HOST_CXX=""
printf '#include <stdexcept>\nint main() { try { throw std::runtime_error("x"); } catch (...) {} }\n' >"$WORK/probe.cpp"
for c in c++ g++ /usr/bin/g++ "${CXX:-}"; do
  [[ -n $c ]] && command -v "$c" >/dev/null || continue
  if "$c" "$WORK/probe.cpp" -o "$WORK/probe" 2>/dev/null &&
    readelf -d "$WORK/probe" | grep -q 'NEEDED.*libstdc++'; then
    HOST_CXX=$(command -v "$c")
    break
  fi
done
note "C++ compiler with a shared libstdc++: ${HOST_CXX:-none found} (CXX=${CXX:-unset})"
CONFIGURE=(cmake -S . -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release
  "-DCMAKE_PREFIX_PATH=$TORCH_PREFIX" "-DFMNIST_CARRY_DIR=$ROOT/.carry"
  -DCMAKE_CUDA_ARCHITECTURES=90)
[[ -n $NVCC ]] && CONFIGURE+=("-DCMAKE_CUDA_COMPILER=$NVCC")
[[ -n $HOST_CXX ]] && CONFIGURE+=("-DCMAKE_CXX_COMPILER=$HOST_CXX" "-DCMAKE_CUDA_HOST_COMPILER=$HOST_CXX")
[[ -n $NVTX_DIR ]] && CONFIGURE+=("-Dnvtx3_dir=$NVTX_DIR")
export TORCH_CUDA_ARCH_LIST=9.0  # no GPU probing at configure time
# A warm machine keeps build-gpu/ between calls: a rerun then builds incrementally.
[[ ${GPU_CHECK_CLEAN:-0} == 1 ]] && rm -rf "$BUILD"
step configure 150 "$BUILD_LOG" "${CONFIGURE[@]}"
CONFIGURE_RC=$RC
carried=$(grep -o '^-- [A-Za-z0-9]*: using the carried copy' "$STEP_OUT" | awk '{print $2}' | tr -d :)
cmake_error=$(grep -m1 -o 'CMake Error.*' "$STEP_OUT")
row "configure (CUDA LibTorch)" "$(status_of)" "${STEP_S}s; carried: $(echo ${carried:-none} | tr ' ' ,)${cmake_error:+; $cmake_error}"
if ((CONFIGURE_RC != 0)); then
  # Plan B: LibTorch's libraries and headers used directly, without its TorchConfig.cmake
  # (whose CUDA toolkit probing is what usually fails); see cmake/Dependencies.cmake.
  TORCH_ROOT=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)
  TORCH_ABI=$(python3 -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))' 2>/dev/null)
  rm -rf "$BUILD"
  mkdir -p "$WORK"
  step "configure, plan B" 90 "$BUILD_LOG" cmake -S . -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release \
    "-DFMNIST_TORCH_ROOT=$TORCH_ROOT" "-DFMNIST_TORCH_CXX11_ABI=${TORCH_ABI:-1}" "-DFMNIST_CARRY_DIR=$ROOT/.carry"
  CONFIGURE_RC=$RC
  row "configure, plan B (no TorchConfig)" "$(status_of)" "${STEP_S}s; $(grep -m1 -o 'LibTorch .* (without TorchConfig.cmake); CUDA libraries: [^ ]*' "$STEP_OUT" | cut -c1-200)$(grep -m1 -o 'CMake Error.*' "$STEP_OUT")"
fi
if ((CONFIGURE_RC == 0)); then
  # Keep going past a failed target, so that one test file that does not compile against this
  # LibTorch still leaves the fmnist binary (and every other error) for the steps below.
  KEEP_GOING=(-k)
  ((${#GENERATOR[@]})) && KEEP_GOING=(-k 0)
  rm -f "$BUILD/fmnist"
  step build "${GPU_CHECK_BUILD_LIMIT_S:-300}" "$BUILD_LOG" cmake --build "$BUILD" -j16 -- "${KEEP_GOING[@]}"
  BUILD_RC=$RC
  build_error=$(grep -m1 -E 'error:|Error [0-9]' "$STEP_OUT" | cut -c1-160)
  row "build Release -j16" "$(status_of)" "${STEP_S}s; $(grep -c 'warning:' "$STEP_OUT") warnings${build_error:+; $build_error}"
else
  BUILD_RC=1
  row "build Release -j16" SKIPPED "configure failed (build.log)"
fi
FMNIST=$BUILD/fmnist
HAVE_FMNIST=0
[[ -x $FMNIST ]] && HAVE_FMNIST=1
if ((HAVE_FMNIST)); then
  note "fmnist dynamic libraries"
  { readelf -d "$FMNIST" | grep NEEDED; ldd "$FMNIST"; } >>"$LOG" 2>&1
  missing=$(ldd "$FMNIST" 2>&1 | grep -c 'not found')
  linked=$(readelf -d "$FMNIST" | grep -c 'NEEDED.*libtorch_cuda')
  row "fmnist links libtorch_cuda" "$(verdict "$((linked > 0 && missing == 0))")" "NEEDED libtorch_cuda: $linked; unresolved libraries: $missing"
  shared_cxx=$(readelf -d "$FMNIST" | grep -c 'NEEDED.*libstdc++')
  row "fmnist links libstdc++ shared" "$(verdict "$((shared_cxx > 0))")" "compiler ${HOST_CXX:-\$CXX}; a static copy beside LibTorch's shared one crashes on every exception"
fi

# --- GPU training ---------------------------------------------------------------------------------
GPU_TEST_ACC=""
if ((HAVE_FMNIST)); then
  # Trained in $WORK (train also keeps <out>.last.pt/.best.pt beside --out); the final model
  # alone comes back as $OUT/gpu.pt.
  rm -f "$WORK"/gpu*.pt
  step "train $EPOCHS epochs on cuda" 120 "$LOG" "$FMNIST" train --epochs "$EPOCHS" --device "$DEV" --data "$DATA" --out "$WORK/gpu.pt"
  status=$(status_of)
  [[ -s $WORK/gpu.pt ]] && cp "$WORK/gpu.pt" "$OUT/gpu.pt"
  # "epoch  2/3  train loss 0.37 acc 86.49%  val loss 0.35 acc 87.08%  lr 0.001  1.2 s  43376 img/s"
  epochs=$(sed 's/\x1b\[[0-9;]*m//g' "$STEP_OUT" | sed -n 's/.*epoch *\([0-9]*\)\/[0-9]* .*val loss [0-9.]* acc \([0-9.]*\)% .* \([0-9.]*\) s *\([0-9]*\) img\/s.*/\1 \2 \3 \4/p')
  if [[ -n $epochs ]]; then
    # seconds from img/s (the log rounds seconds to 0.1); epoch 1 includes CUDA/cuDNN warm-up.
    n=$(sed -n 's/.* \([0-9]*\) training and .*/\1/p' "$STEP_OUT" | head -1)
    n=${n:-60000}
    per_epoch=$(echo "$epochs" | awk -v n="$n" '{ printf "%s%.2f s (%d img/s)", (NR > 1 ? ", " : ""), n / $4, $4 }')
    GPU_VAL_ACC=$(echo "$epochs" | tail -1 | awk '{print $2}')
    GPU_TEST_ACC=$(sed -n 's/.*final model on the [0-9]* test images: .* acc \([0-9.]*\)%.*/\1/p' "$STEP_OUT" | tail -1)
    worst_late=$(echo "$epochs" | awk -v n="$n" 'NR > 1 { s = n / $4; if (s > m) m = s } END { printf "%.2f", m }')
    best_img_s=$(echo "$epochs" | awk '{ if ($4 > m) m = $4 } END { print m }')
    row "train $EPOCHS epochs on cuda" "$status" "epochs: $per_epoch; val acc ${GPU_VAL_ACC}%, test acc ${GPU_TEST_ACC:-?}%; $(grep -m1 -o 'device [^,]*' "$STEP_OUT")"
    row "epoch time ≤ 1.5 s (epochs 2-3)" "$(verdict "$(fnum "$worst_late <= 1.5")")" "slowest of epochs 2-3: ${worst_late} s"
    if [[ -n $PY_BEST_IMG_S ]]; then
      ratio=$(awk "BEGIN { printf \"%.2f\", $best_img_s / $PY_BEST_IMG_S }")
      row "fmnist / Python, best epoch" info "${ratio}× ($best_img_s vs $PY_BEST_IMG_S img/s)"
    fi
  else
    row "train $EPOCHS epochs on cuda" "**FAIL**" "rc=$RC, no epoch lines; $(grep -m1 'error' "$STEP_OUT" | cut -c1-200)"
  fi
else
  row "train $EPOCHS epochs on cuda" SKIPPED "no fmnist binary"
fi

# --- eval of the GPU checkpoint on cuda and cpu --------------------------------------------------
# eval_pair CKPT LABEL: evaluates on cuda and on cpu and compares the accuracies (0.1 points).
eval_pair() {
  local ckpt=$1 label=$2 acc_cuda acc_cpu s_cuda s_cpu
  step "eval $label on cuda" 60 "$LOG" "$FMNIST" eval "$ckpt" --data "$DATA" --device "$DEV"
  acc_cuda=$(accuracy_of "$STEP_OUT")
  s_cuda=$(sed -n 's/.*evaluated .* in \([0-9.]*\) s (\([0-9]*\) img\/s).*/\1 s, \2 img\/s/p' "$STEP_OUT")
  local rc_cuda=$RC
  step "eval $label on cpu" 90 "$LOG" "$FMNIST" eval "$ckpt" --data "$DATA" --device cpu --threads 16
  acc_cpu=$(accuracy_of "$STEP_OUT")
  s_cpu=$(sed -n 's/.*evaluated .* in \([0-9.]*\) s (\([0-9]*\) img\/s).*/\1 s, \2 img\/s/p' "$STEP_OUT")
  if [[ $rc_cuda == 0 && $RC == 0 && -n $acc_cuda && -n $acc_cpu ]]; then
    local same
    same=$(fnum "($acc_cuda - $acc_cpu) <= 0.1 && ($acc_cpu - $acc_cuda) <= 0.1")
    row "eval $label: cuda vs cpu" "$(verdict "$same")" "cuda ${acc_cuda}% ($s_cuda), cpu ${acc_cpu}% ($s_cpu)$3"
  else
    row "eval $label: cuda vs cpu" "**FAIL**" "rc cuda=$rc_cuda cpu=$RC; accuracy cuda '${acc_cuda}' cpu '${acc_cpu}'"
  fi
}
if ((HAVE_FMNIST)) && [[ -s $WORK/gpu.pt ]]; then
  eval_pair "$WORK/gpu.pt" gpu.pt "; train log said ${GPU_TEST_ACC:-?}%"
else
  row "eval gpu.pt: cuda vs cpu" SKIPPED "no GPU checkpoint"
fi

# --- predict on cuda ------------------------------------------------------------------------------
if ((HAVE_FMNIST)) && [[ -s $WORK/gpu.pt ]]; then
  # Test image 0 as a PNG (stdlib only), and its label; plus any shipped samples.
  expected=$(python3 - "$DATA" "$WORK/t10k-0.png" <<'EOF' 2>>"$LOG"
import gzip, struct, sys, zlib
data, out = sys.argv[1], sys.argv[2]
names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"]
def read(stem):
    try:
        return open(f"{data}/{stem}", "rb").read()
    except FileNotFoundError:
        return gzip.open(f"{data}/{stem}.gz").read()
pixels = read("t10k-images-idx3-ubyte")[16:16 + 784]
label = read("t10k-labels-idx1-ubyte")[8]
rows = b"".join(b"\0" + pixels[r * 28:(r + 1) * 28] for r in range(28))
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
open(out, "wb").write(png)
print(names[label])
EOF
  )
  images=("$WORK/t10k-0.png")
  for f in data/samples/*.png data/samples/*.jpg; do [[ -f $f ]] && images+=("$f"); done
  step "predict on cuda" 60 "$LOG" "$FMNIST" predict "${images[@]}" --model "$WORK/gpu.pt" --top-k 2 --device "$DEV"
  rc_cuda=$RC
  cp "$STEP_OUT" "$WORK/predict-cuda.out"
  first=$(grep -m1 't10k-0.png:' "$WORK/predict-cuda.out" | sed 's/.*t10k-0.png: //')
  step "predict on cpu" 60 "$LOG" "$FMNIST" predict "${images[@]}" --model "$WORK/gpu.pt" --top-k 2 --device cpu
  # Top-1 class per image must agree between devices (probabilities may differ in the last digit).
  top1() { grep -E '^[^ ]+\.(png|jpg): ' "$1" | sed 's/: \([^0-9]*\) [0-9].*/: \1/' | sort | md5sum; }
  top_cuda=$(top1 "$WORK/predict-cuda.out")
  top_cpu=$(top1 "$STEP_OUT")
  ok=$((rc_cuda == 0 && RC == 0 && ${#first} > 0))
  [[ $top_cuda == "$top_cpu" ]] || ok=0
  row "predict on cuda (${#images[@]} images)" "$(verdict "$ok")" "t10k[0] (label ${expected:-?}): ${first:-none}; top-1 same on cpu: $([[ $top_cuda == "$top_cpu" ]] && echo yes || echo no)"
else
  row "predict on cuda" SKIPPED "no GPU checkpoint"
fi

# --- CPU-trained checkpoint, evaluated on cuda --------------------------------------------------------
if ((HAVE_FMNIST)); then
  rm -f "$WORK"/cpu*.pt
  step "train 1 epoch on cpu" 120 "$LOG" "$FMNIST" train --epochs 1 --device cpu --threads 16 --data "$DATA" --out "$WORK/cpu.pt"
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$STEP_OUT" | grep -m1 -o 'epoch  *1/1.*img/s')
  row "train 1 epoch on cpu (16 threads)" "$(status_of)" "${line:-rc=$RC}"
  if [[ $RC == 0 && -s $WORK/cpu.pt ]]; then
    eval_pair "$WORK/cpu.pt" cpu.pt ""
  else
    row "eval cpu.pt: cuda vs cpu" SKIPPED "no CPU checkpoint"
  fi
else
  row "train 1 epoch on cpu, eval on cuda" SKIPPED "no fmnist binary"
fi

# --- tests ----------------------------------------------------------------------------------------------
if ((HAVE_FMNIST)); then
  step ctest 150 "$LOG" bash -c "cd '$BUILD' && ctest --output-on-failure -j16 --timeout 120"
  tally=$(grep -m1 -E 'tests passed|No tests were found' "$STEP_OUT")
  failed=$(sed -n '/The following tests FAILED/,$p' "$STEP_OUT" | grep -E '^\s+[0-9]+ - ' | sed 's/^ *[0-9]* - //; s/ (.*//' | paste -sd, - | cut -c1-300)
  row "ctest" "$(status_of)" "${STEP_S}s; ${tally:-no tally}${failed:+; failed: $failed}"
else
  row "ctest" SKIPPED "no build"
fi

# --- summary ------------------------------------------------------------------------------------------
echo "| total wall time | info | ${SECONDS}s of ${BUDGET}s budget |" >>"$SUMMARY"
cp "$SUMMARY" "$WORK/summary.md" 2>/dev/null
echo
cat "$SUMMARY"
