"""Machine fp32 peak: best time of a 4096³ torch.mm on CPU, which goes to the system libblas.so.3.

Run with OPENBLAS_CORETYPE=Cooperlake so OpenBLAS uses its AVX-512 kernels. Prints key=value
lines: the GFLOP/s and which BLAS library and OpenBLAS kernel did the work.
"""
import argparse
import ctypes
import os
import time

import torch


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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    n = args.size
    a, b = torch.rand(n, n), torch.rand(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)  # warm-up: thread pool start, page faults on `out`
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    blas = loaded_blas()
    config, core = openblas_info(blas)
    print(f"sgemm_gflops={2 * n ** 3 / best / 1e9:.1f}")
    print(f"sgemm_seconds={best:.4f}")
    print(f"blas_library={blas}")
    print(f"openblas_config={config or 'not OpenBLAS'}")
    print(f"openblas_core={core or '-'}")


if __name__ == "__main__":
    main()
