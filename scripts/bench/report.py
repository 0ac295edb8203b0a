"""Turns the bench's key=value results into one markdown table with PASS/FAIL per target.

usage: report.py RESULTS [--write BENCHMARKS.md]
Prints the `## CPU` section on stdout; with --write also puts it into the file, replacing an
existing `## CPU` section up to the next `## ` heading, or appending it.
"""
import argparse
import os
import re

# Forward multiply-accumulates per image: conv1, conv2, fc1, fc2. Training ≈ 3× forward.
FORWARD_MACS = 194_688 + 2_230_272 + 204_800 + 1_280
assert FORWARD_MACS == 2_631_040
NUMERIC_SUFFIXES = ("_img_s", "_kb", "_s", "_sd", "_gflops")


def read_results(path):
    results = {}
    for line in open(path):
        key, sep, value = line.rstrip("\n").partition("=")
        if sep:
            results[key] = value
    return results


def verdict(ok):
    return "PASS" if ok else "**FAIL**"


def rows(r):
    f = {k: float(v) for k, v in r.items() if k.endswith(NUMERIC_SUFFIXES)}
    train, eval_ = f["fm_train_img_s"], f["fm_eval_img_s"]
    train_gflops = train * 3 * 2 * FORWARD_MACS / 1e9
    eval_gflops = eval_ * 2 * FORWARD_MACS / 1e9
    peak = f["sgemm_gflops"]
    rss_fm, rss_py = f["fm_train_rss_kb"] / 1024, f["py_train_rss_kb"] / 1024
    pred_fm, pred_py = f["fm_predict_s"], f["py_predict_s"]

    def speedup(name, ours, theirs, target, unit="img/s"):
        ratio = ours / theirs
        return [name, f"{ours:,.0f} {unit}", f"{theirs:,.0f} {unit}", f"{ratio:.2f}×",
                f"≥ {target}×" if target else "–", verdict(ratio >= target) if target else "info"]

    return [
        speedup("Training, epoch 2 (vs Python preloaded, default env)",
                train, f["py_train_img_s"], 2.0),
        speedup("Training, epoch 2 (vs Python preloaded, expert-tuned env)",
                train, f["py_tuned_train_img_s"], 1.3),
        speedup("Training, epoch 2 (vs Python Dataset + DataLoader)",
                train, f["py_dl_train_img_s"], None),
        speedup("Training, accurate recipe, best of epochs 2-3 (vs Python, default env)",
                f["fm_acc_train_img_s"], f["py_acc_train_img_s"], 1.5),
        speedup("Training, accurate recipe, best of epochs 2-3 (vs Python, expert-tuned env "
                "+ channels-last)", f["fm_acc_train_img_s"], f["py_acc_tuned_train_img_s"], 1.2),
        speedup("Evaluation, test set (fmnist batch 256, Python 1000)", eval_, f["py_eval_img_s"], 4.0),
        ["Cold predict, one PNG (hyperfine mean ± σ)",
         f"{1000 * pred_fm:.0f} ± {1000 * f['fm_predict_sd']:.0f} ms",
         f"{1000 * pred_py:.0f} ± {1000 * f['py_predict_sd']:.0f} ms",
         f"{pred_py / pred_fm:.2f}× faster", "≥ 5× and < 300 ms",
         verdict(pred_py / pred_fm >= 5 and pred_fm < 0.3)],
        ["Peak RSS of the 2-epoch training run", f"{rss_fm:,.0f} MiB", f"{rss_py:,.0f} MiB",
         f"{rss_fm / rss_py:.2f}× (fmnist / Python)", "≤ 1.0×", verdict(rss_fm <= rss_py)],
        ["Training FLOP rate vs sgemm peak", f"{train_gflops:.1f} GFLOP/s",
         f"peak {peak:.1f} GFLOP/s", f"{100 * train_gflops / peak:.0f}%", "≥ 35%",
         verdict(train_gflops >= 0.35 * peak)],
        ["Evaluation FLOP rate vs sgemm peak", f"{eval_gflops:.1f} GFLOP/s",
         f"peak {peak:.1f} GFLOP/s", f"{100 * eval_gflops / peak:.0f}%", "–", "info"],
    ]


def section(r):
    header = ["Measurement", "fmnist", "Python / reference", "Ratio", "Target", "Result"]
    table = [header, ["---"] * len(header)] + rows(r)
    lines = ["## CPU", "",
             f"Measured {r['date']} by `scripts/bench.sh`{' --quick (reduced data; not comparable)' if r['mode'] == 'quick' else ''}: "
             "one run, side by side on the same machine, batch 128, "
             f"{r['threads']} threads for every contender.", "",
             f"- CPU: {r['cpu_model']}, {r['cores']} cores; memory {r['memory']}; "
             f"load average before / after the run: {r['loadavg']} / {r['loadavg_after']}",
             f"- fmnist: build/fmnist (Release) with the git tree at `{r['fmnist_commit']}`",
             f"- LibTorch {r['libtorch_version']} (C++), PyTorch {r['pytorch_version']} (Python {r['python_version']})",
             f"- BLAS: {r['blas_library']} ({r['openblas_config']}); "
             f"sgemm peak measured with OPENBLAS_CORETYPE=Cooperlake, kernel {r['openblas_core']}",
             f"- Data: {r['train_images']} training / {r['test_images']} test images; "
             f"test accuracy after 2 epochs: fmnist {r['fm_test_acc']}%, Python {r['py_test_acc']}%",
             "", *("| " + " | ".join(row) + " |" for row in table), "",
             "Notes: training img/s is epoch 2 only (epoch 1 is the warm-up), without the test-set "
             "pass after each epoch. Python evaluation uses model.eval() + torch.inference_mode() at "
             "batch 1000 and is timed after one warm-up pass; fmnist's is its own log line (one "
             "pass, no warm-up). Expert-tuned env: OPENBLAS_CORETYPE=Cooperlake "
             "OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:"
             "glibc.malloc.trim_threshold=4294967296. FLOPs = 2 × 2,631,040 MACs per image forward, "
             "training counted as 3× forward. Cold predict: `fmnist predict one.png` vs "
             "`python3 predict.py` (interpreter start, import torch, load state_dict, preprocess, "
             f"classify), hyperfine --warmup 2, {r['predict_runs']} runs.", ""]
    return "\n".join(lines)


def write_section(path, text):
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n"
    match = re.search(r"^## CPU\b.*?(?=^## |\Z)", old, flags=re.M | re.S)
    if match:
        new = old[:match.start()] + text + ("\n" if old[match.end():] else "") + old[match.end():]
    else:
        new = old.rstrip("\n") + "\n\n" + text
    with open(path, "w") as f:
        f.write(new)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results")
    parser.add_argument("--write", metavar="MARKDOWN_FILE")
    args = parser.parse_args()
    text = section(read_results(args.results))
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
