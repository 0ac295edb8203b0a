"""Machine fp32 peak: the best GFLOP/s of a 4096³ single-precision matrix product over the kernels
this machine offers.

The candidates: OpenBLAS (the system libblas.so.3, which torch.mm calls) with its own choice of
kernel, OpenBLAS forced to each core type this CPU can run, and oneDNN. This project's machines
are not always the same CPU, and no single choice is the fastest on all of them: on a Zen 4
EPYC, forcing OPENBLAS_CORETYPE=Cooperlake was much slower than OpenBLAS's own choice (issue 12).

Prints key=value lines for bench.sh and report.py: the peak (sgemm_gflops, peak_candidate),
every candidate's GFLOP/s and kernel, and tuned_coretype, the OPENBLAS_CORETYPE that the
expert-tuned Python environment should set (empty when OpenBLAS's own choice is within 5 % of
the fastest).
With --candidate it measures one candidate in this process instead.
"""
import argparse
import ctypes
import os
import subprocess
import sys
import time

# Core types of OpenBLAS 0.3.21's DYNAMIC_ARCH build (Debian 12's) that suit an x86-64 AVX2 or
# AVX-512 CPU, with the /proc/cpuinfo flags their kernels execute: one the CPU lacks is not tried.
# 0.3.21 knows no SapphireRapids; a name it does not know falls back to its own choice, which the
# kernel column then shows.
CORETYPES = {
    "SkylakeX": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"},
    "Cooperlake": {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16"},
    "Haswell": {"avx2", "fma"},
    "Zen": {"avx2", "fma"},
}


def cpu_flags():
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def candidates():
    """(key, label, OPENBLAS_CORETYPE or None, backend) of every candidate for this CPU."""
    flags = cpu_flags()
    found = [("openblas", "OpenBLAS, its own choice", None, "openblas")]
    found += [(f"openblas_{core.lower()}", f"OpenBLAS, OPENBLAS_CORETYPE={core}", core, "openblas")
              for core, needs in CORETYPES.items() if needs <= flags]
    found.append(("onednn", "oneDNN inner product (torch._C._nn.mkldnn_linear)", None, "onednn"))
    return found


def loaded_blas():
    """Path of the BLAS shared object mapped into this process (after a first mm)."""
    for line in open("/proc/self/maps"):
        path = line.split()[-1]
        if "blas" in os.path.basename(path) and ".so" in path:
            return os.path.realpath(path)
    return "none"


def openblas_info(path):
    """(config string, kernel core name) if `path` is OpenBLAS, else ("", "")."""
    try:
        lib = ctypes.CDLL(path)
        lib.openblas_get_config.restype = lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_config().decode(), lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "", ""


def best_seconds(product, repeats):
    product()  # warm-up: thread pool start, page faults, oneDNN's kernel generation
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product()
        best = min(best, time.perf_counter() - start)
    return best


def measure(backend, n, repeats, threads):
    """Measures one candidate in this process and prints its key=value lines."""
    import torch  # here, not at the top: the driver only starts processes

    torch.set_num_threads(threads)
    a, b = torch.rand(n, n), torch.rand(n, n)
    if backend == "openblas":
        out = torch.empty(n, n)
        seconds = best_seconds(lambda: torch.mm(a, b, out=out), repeats)
        blas = loaded_blas()
        config, core = openblas_info(blas)
        print(f"kernel={core or '-'}")
        print(f"blas_library={blas}")
        print(f"openblas_config={config or 'not OpenBLAS'}")
    else:
        # torch 1.13 offers no Python path to oneDNN's matmul primitive (torch.mm on fp32 always
        # goes to BLAS); mkldnn_linear is its inner product, the same GEMM. It also reorders the
        # weight into a blocked layout on every call: a copy, small next to the product here.
        if not torch.backends.mkldnn.is_available():
            print("kernel=unavailable (torch built without oneDNN)")
            return
        x, w = a.to_mkldnn(), b.t().contiguous().to_mkldnn()
        seconds = best_seconds(lambda: torch._C._nn.mkldnn_linear(x, w, None), repeats)
        # oneDNN names the implementation it chose (e.g. brgemm:avx512_core) only in its verbose
        # log, which it writes to stdout: the driver picks it out.
        with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
            torch._C._nn.mkldnn_linear(x, w, None)
    print(f"gflops={2 * n ** 3 / seconds / 1e9:.1f}")
    print(f"seconds={seconds:.4f}")


def run_candidate(coretype, backend, args):
    """Runs one candidate in a fresh process (OpenBLAS reads OPENBLAS_CORETYPE once, at load)."""
    # Only the setting under test: an OPENBLAS_* variable inherited from the caller's shell (a
    # forced core type, OPENBLAS_L2_SIZE) would otherwise change every candidate. And
    # torch.set_num_threads reaches oneDNN (OpenMP) but not OpenBLAS's own thread pool.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")}
    env["OPENBLAS_NUM_THREADS"] = str(args.threads)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    cmd = [sys.executable, __file__, "--candidate", backend, "--size", str(args.size),
           "--repeats", str(args.repeats), "--threads", str(args.threads)]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    result = {}
    for line in proc.stdout.splitlines():
        if line.startswith("onednn_verbose,exec,cpu,inner_product,"):
            result["kernel"] = "oneDNN " + line.split(",")[4]
        key, sep, value = line.partition("=")
        if sep and key.isidentifier():
            result[key] = value
    if proc.returncode != 0:
        result = {"kernel": f"failed (exit {proc.returncode})"}
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3, help="timed products per process")
    parser.add_argument("--rounds", type=int, default=2,
                        help="passes over all candidates, interleaved so that a change in the "
                             "load of a shared machine does not favour one candidate")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--candidate", choices=["openblas", "onednn"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.candidate:
        measure(args.candidate, args.size, args.repeats, args.threads)
        return

    found = candidates()
    results = {key: {} for key, *_ in found}
    for _ in range(args.rounds):
        for key, label, coretype, backend in found:
            print(f"bench: sgemm {args.size}³, {label}", file=sys.stderr)
            result = run_candidate(coretype, backend, args)
            if float(result.get("gflops", 0)) >= float(results[key].get("gflops", 0)):
                results[key] = result
    gflops = {key: float(results[key].get("gflops", 0)) for key in results}
    labels = {key: label for key, label, *_ in found}
    best = max(gflops, key=gflops.get)
    if gflops[best] <= 0:
        sys.exit("sgemm: every candidate failed")

    # The tuned environment can only choose among the OpenBLAS kernels. A core type is forced
    # only when it beats OpenBLAS's own choice by more than the few per cent that repeated runs
    # of one kernel differ by on a shared machine; a smaller lead is noise.
    own = results["openblas"]
    blas_keys = [key for key, _, _, backend in found if backend == "openblas"]
    fastest_blas = max(blas_keys, key=gflops.get)
    coretypes = {key: coretype for key, _, coretype, _ in found}
    tuned = coretypes[fastest_blas]
    if (not tuned or results[fastest_blas].get("kernel") == own.get("kernel")
            or gflops[fastest_blas] <= 1.05 * gflops["openblas"]):
        tuned = ""

    print(f"sgemm_gflops={gflops[best]:.1f}")
    print(f"sgemm_seconds={results[best]['seconds']}")
    print(f"peak_candidate={labels[best]}")
    print(f"peak_kernel={results[best].get('kernel', '-')}")
    print(f"peak_candidates={' '.join(results)}")
    for key in results:
        print(f"peak_{key}_label={labels[key]}")
        print(f"peak_{key}_kernel={results[key].get('kernel', '-')}")
        print(f"peak_{key}_gflops={gflops[key]:.1f}")
    print(f"tuned_coretype={tuned}")
    print(f"blas_library={own.get('blas_library', 'none')}")
    print(f"openblas_config={own.get('openblas_config', 'not OpenBLAS')}")


if __name__ == "__main__":
    main()
