"""Turns the bench's key=value results into markdown tables: PASS/FAIL per target, and the peak.

usage: report.py RESULTS [--write BENCHMARKS.md | --peak]
Prints the `## CPU` section on stdout; with --write also puts it into the file, replacing an
existing `## CPU` section up to the next `## ` heading, or appending it. With --peak, prints only
the table of sgemm peak candidates.
"""
import argparse
import os
import re

# Forward multiply-accumulates per image: conv1, conv2, fc1, fc2. Training ≈ 3× forward.
FORWARD_MACS = 194_688 + 2_230_272 + 204_800 + 1_280
assert FORWARD_MACS == 2_631_040
NUMERIC_SUFFIXES = ("_img_s", "_kb", "_s", "_sd", "_gflops", "_ms", "_errors")


def read_results(path):
    results = {}
    for line in open(path):
        key, sep, value = line.rstrip("\n").partition("=")
        if sep:
            results[key] = value
    return results


def verdict(ok):
    return "PASS" if ok else "**FAIL**"


def serve_rounds(r):
    """The 1-client rounds as the notes tell them."""
    wrk = r["serve_1c_wrk_rounds"].split(", ")
    load = r["serve_1c_load_rounds"].split(", ")
    return (f"{len(wrk)} alternating rounds, each once both servers are idle: wrk for "
            f"{int(r['serve_wrk_seconds']) // len(wrk)} s each ({r['serve_fm_1c_requests']} and "
            f"{r['serve_py_1c_requests']} requests in all; median ms of each, fmnist/Python: "
            f"{', '.join(wrk)}), then serve_load for {int(r['serve_requests']) // len(load)} "
            f"requests ({', '.join(load)}); the rows take the median of the rounds")


def serve_rows(f):
    """fmnist serve against the Python server: latency, throughput under load, memory."""
    return [
        ["Serving, 1 client, one 28×28 PNG per request: median latency (wrk)",
         f"{f['serve_fm_1c_median_ms']:.3f} ms", f"{f['serve_py_1c_median_ms']:.3f} ms",
         f"{f['serve_py_1c_median_ms'] / f['serve_fm_1c_median_ms']:.2f}× lower",
         "≤ 2 ms and ≥ 5×", verdict(f['serve_fm_1c_median_ms'] <= 2 and
                                     f['serve_py_1c_median_ms'] / f['serve_fm_1c_median_ms'] >= 5)],
        ["Serving, 1 client: median latency through cpp-httplib's client (serve_load)",
         f"{f['serve_fm_1c_httplib_median_ms']:.3f} ms",
         f"{f['serve_py_1c_httplib_median_ms']:.3f} ms",
         f"{f['serve_py_1c_httplib_median_ms'] / f['serve_fm_1c_httplib_median_ms']:.2f}× lower",
         "–", "info"],
        ["Serving, 16 clients: throughput (p99 latency, errors)",
         f"{f['serve_fm_16c_img_s']:,.0f} img/s ({f['serve_fm_16c_p99_ms']:.1f} ms, "
         f"{f['serve_fm_16c_errors']:.0f})",
         f"{f['serve_py_16c_img_s']:,.0f} img/s ({f['serve_py_16c_p99_ms']:.1f} ms, "
         f"{f['serve_py_16c_errors']:.0f})",
         f"{f['serve_fm_16c_img_s'] / f['serve_py_16c_img_s']:.2f}×", "≥ 5×, no errors",
         verdict(f['serve_fm_16c_img_s'] >= 5 * f['serve_py_16c_img_s'] and
                 f['serve_fm_16c_errors'] == 0 and f['serve_fm_1c_errors'] == 0)],
        ["Serving: peak RSS of the server", f"{f['serve_fm_rss_kb'] / 1024:,.0f} MiB",
         f"{f['serve_py_rss_kb'] / 1024:,.0f} MiB",
         f"{f['serve_fm_rss_kb'] / f['serve_py_rss_kb']:.2f}× (fmnist / Python)", "–", "info"],
    ]


def rows(r):
    f = {k: float(v) for k, v in r.items() if k.endswith(NUMERIC_SUFFIXES)}
    train, eval_ = f["fm_train_img_s"], f["fm_eval_img_s"]
    train_gflops = train * 3 * 2 * FORWARD_MACS / 1e9
    eval_gflops = eval_ * 2 * FORWARD_MACS / 1e9
    peak = f["sgemm_gflops"]
    rss_fm, rss_py = f["fm_train_rss_kb"] / 1024, f["py_train_rss_kb"] / 1024

    def speedup(name, ours, theirs, target, unit="img/s"):
        ratio = ours / theirs
        return [name, f"{ours:,.0f} {unit}", f"{theirs:,.0f} {unit}", f"{ratio:.2f}×",
                f"≥ {target}×" if target else "–", verdict(ratio >= target) if target else "info"]

    def process(name, ours, theirs, ratio_target, seconds_target):
        """A hyperfine row: mean ± σ of whole processes, fmnist's against Python's."""
        fm, py = f[f"fm_{ours}_s"], f[f"py_{theirs}_s"]
        targets, ok = [], True
        if ratio_target:
            targets.append(f"≥ {ratio_target}×")
            ok = ok and py / fm >= ratio_target
        if seconds_target:
            targets.append(f"≤ {1000 * seconds_target:.0f} ms")
            ok = ok and fm <= seconds_target
        return [name + " (hyperfine mean ± σ)",
                f"{1000 * fm:.0f} ± {1000 * f[f'fm_{ours}_sd']:.0f} ms",
                f"{1000 * py:.0f} ± {1000 * f[f'py_{theirs}_sd']:.0f} ms",
                f"{py / fm:.2f}× faster", " and ".join(targets), verdict(ok)]

    return [
        speedup("Training, epoch 2 (vs Python preloaded, default env)",
                train, f["py_train_img_s"], 2.0),
        speedup("Training, epoch 2 (vs Python preloaded, expert-tuned env)",
                train, f["py_tuned_train_img_s"], 1.3),
        speedup("Training, epoch 2 (vs Python Dataset + DataLoader)",
                train, f["py_dl_train_img_s"], None),
        speedup("Training, accurate recipe, epoch 2, median of the rounds (vs Python, default env)",
                f["fm_acc_train_img_s"], f["py_acc_train_img_s"], 1.5),
        speedup("Training, accurate recipe, epoch 2, median of the rounds (vs Python, "
                "expert-tuned env + channels-last)", f["fm_acc_train_img_s"],
                f["py_acc_tuned_train_img_s"], 1.2),
        speedup("Evaluation, test set (fmnist batch 256, Python 1000)", eval_, f["py_eval_img_s"], 4.0),
        speedup(f"Inference, test set, batch 256, steady state (vs ONNX Runtime {r['ort_version']}, "
                "the same model exported to ONNX)", f["fm_infer_img_s"], f["ort_eval_img_s"], 1.0),
        speedup("Inference, test set, batch 256, first pass (vs ONNX Runtime's first pass)",
                f["fm_infer_first_pass_img_s"], f["ort_first_pass_img_s"], None),
        process("Cold predict, one PNG", "predict", "predict", 3, 0.35),
        process("Start and exit: `fmnist --version` vs `python3 -c 'import torch'`",
                "version", "import", None, 0.3),
        process("Evaluation of the test set as a whole process (start, load, classify)",
                "eval_process", "eval_process", 4, None),
        *serve_rows(f),
        ["Peak RSS of the 2-epoch training run", f"{rss_fm:,.0f} MiB", f"{rss_py:,.0f} MiB",
         f"{rss_fm / rss_py:.2f}× (fmnist / Python)", "≤ 1.0×", verdict(rss_fm <= rss_py)],
        ["Training FLOP rate vs sgemm peak", f"{train_gflops:.1f} GFLOP/s",
         f"peak {peak:.1f} GFLOP/s", f"{100 * train_gflops / peak:.0f}%", "≥ 35%",
         verdict(train_gflops >= 0.35 * peak)],
        ["Evaluation FLOP rate vs sgemm peak", f"{eval_gflops:.1f} GFLOP/s",
         f"peak {peak:.1f} GFLOP/s", f"{100 * eval_gflops / peak:.0f}%", "–", "info"],
    ]


def machine(r):
    """Heads every table: the machines differ, and a number means little without its CPU."""
    return f"**{r['cpu_model']}, {r['cores']} cores, {r['date']}**"


def markdown(table):
    table = [table[0], ["---"] * len(table[0])] + table[1:]
    return ["| " + " | ".join(row) + " |" for row in table]


def peak_table(r):
    """The sgemm candidates, fastest first: the peak is the best of them, not one forced kernel."""
    keys = r["peak_candidates"].split()
    gflops = {key: float(r[f"peak_{key}_gflops"]) for key in keys}
    peak = float(r["sgemm_gflops"])
    table = [["sgemm 4096³ candidate", "Kernel", "GFLOP/s", "vs peak"]]
    for key in sorted(keys, key=gflops.get, reverse=True):
        table.append([r[f"peak_{key}_label"], r[f"peak_{key}_kernel"],
                      f"{gflops[key]:.1f}" if gflops[key] else "–",
                      "**peak**" if gflops[key] == peak else
                      f"{100 * gflops[key] / peak:.0f}%" if gflops[key] else "–"])
    tuned = r["tuned_coretype"]
    return [machine(r) + ": sgemm peak candidates", "", *markdown(table), "",
            f"Peak: {r['peak_candidate']}, {peak:.1f} GFLOP/s. Expert-tuned environment: "
            + (f"OPENBLAS_CORETYPE={tuned} (the fastest OpenBLAS kernel)." if tuned else
               "no OPENBLAS_CORETYPE (no forced core type beats OpenBLAS's own choice by more "
               "than 5 %).")]


def section(r):
    header = ["Measurement", "fmnist", "Python / reference", "Ratio", "Target", "Result"]
    lines = ["## CPU", "",
             f"Measured {r['date']} by `scripts/bench.sh`{' --quick (reduced data; not comparable)' if r['mode'] == 'quick' else ''}: "
             "one run, side by side on the same machine, batch 128, "
             f"{r['threads']} threads for every contender.", "",
             f"- CPU: {r['cpu_model']}, {r['cores']} cores; memory {r['memory']}; "
             f"load average before / after the run: {r['loadavg']} / {r['loadavg_after']}",
             f"- fmnist: build/fmnist (Release) with the git tree at `{r['fmnist_commit']}`",
             f"- LibTorch {r['libtorch_version']} (C++), PyTorch {r['pytorch_version']} (Python {r['python_version']})",
             f"- BLAS: {r['blas_library']} ({r['openblas_config']}); "
             f"sgemm peak: {r['peak_candidate']}, kernel {r['peak_kernel']} (best of the candidates below); "
             f"OPENBLAS_* of the caller's shell, unset for every contender: {r['inherited_openblas_env']}",
             f"- Data: {r['train_images']} training / {r['test_images']} test images; "
             f"test accuracy after 2 epochs: fmnist {r['fm_test_acc']}%, Python {r['py_test_acc']}%",
             "", machine(r) + ": fmnist against PyTorch-Python", "", *markdown([header] + rows(r)), "",
             "Notes: training img/s is epoch 2 only (epoch 1 is the warm-up), without the test-set "
             "pass after each epoch. Python evaluation uses model.eval() + torch.inference_mode() at "
             "batch 1000 and is timed after one warm-up pass; fmnist's is its own log line (one "
             f"pass, no warm-up). Expert-tuned env: {r['tuned_env']} (OPENBLAS_CORETYPE, if any, "
             "is the fastest OpenBLAS kernel of the peak table). Accurate recipe: fmnist and the "
             "expert-tuned Python alternate, 2 epochs each per round (fmnist/Python img/s: "
             f"{r['acc_rounds']}); the default-environment Python runs once. FLOPs = 2 × 2,631,040 MACs per image forward, "
             "training counted as 3× forward. Whole processes (hyperfine --warmup 2, "
             f"{r['startup_runs']} runs each): cold predict is `fmnist predict one.png` (on one "
             "thread: predict's default for a few small files) vs `python3 predict.py` "
             "(interpreter start, import torch, load state_dict, preprocess, classify, PyTorch's "
             "default threads); evaluation is `fmnist eval --no-plots` vs `python3 eval.py` (the same, "
             "the test set at batch 1000). ONNX Runtime: npm's onnxruntime-node (CPU), "
             "scripts/bench/onnx_eval.mjs, intra-op threads as above, two passes over the test "
             "images already scaled to floats, the first creating its kernels; fmnist's the same "
             "through its inference path (scripts/bench/inference.cpp, oneDNN's primitives created "
             f"in the first pass). Test accuracy: ONNX Runtime {r['ort_test_acc']}%, fmnist "
             f"{r['fm_infer_test_acc']}% (the same model, exported by to_pytorch.py --onnx). "
             "Serving: `fmnist serve` against scripts/bench/serve.py (http.server's "
             "ThreadingHTTPServer + torch, the same checkpoint and preprocessing), the same "
             "threads; wrk (scripts/bench/post_image.lua) and scripts/bench/serve_load.cpp (C++, "
             "cpp-httplib) post data/samples/bag.png over one keep-alive connection per client: "
             f"1 client in {serve_rounds(r)}; then serve_load's 16 clients × "
             f"{r['serve_many_requests']}, after 50 warm-up requests each.", "",
             *peak_table(r), ""]
    return "\n".join(lines)


def write_section(path, text, heading="CPU"):
    """Replaces the `## <heading>` section of the markdown file, or appends it."""
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n"
    match = re.search(rf"^## {heading}\b.*?(?=^## |\Z)", old, flags=re.M | re.S)
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
    parser.add_argument("--peak", action="store_true", help="only the sgemm peak candidates")
    parser.add_argument("--serve", action="store_true", help="only the serving rows")
    args = parser.parse_args()
    if args.peak:
        print("\n".join(peak_table(read_results(args.results))))
        return
    if args.serve:
        r = read_results(args.results)
        f = {k: float(v) for k, v in r.items() if k.endswith(NUMERIC_SUFFIXES)}
        header = ["Measurement", "fmnist", "Python", "Ratio", "Target", "Result"]
        text = "\n".join([
            "## Serving", "",
            f"Measured {r['date']} by `scripts/bench.sh --serve`: `fmnist serve` (build/fmnist at "
            f"`{r['fmnist_commit']}`, a model trained for 1 epoch) against scripts/bench/serve.py "
            "(http.server's ThreadingHTTPServer + torch, the same checkpoint through "
            "to_pytorch.load_fmnist, predict.py's preprocessing), both with "
            f"{r['threads']} threads; wrk (scripts/bench/post_image.lua) and "
            "scripts/bench/serve_load.cpp (C++, cpp-httplib, TCP_NODELAY) post "
            "data/samples/bag.png over one keep-alive connection per client: 1 client in "
            f"{serve_rounds(r)}; then serve_load's 16 clients × {r['serve_many_requests']}, "
            "after 50 warm-up requests each. wrk's latency is the target's: cpp-httplib's client "
            "polls before each read and twice before each write, and added "
            f"{(f['serve_fm_1c_httplib_median_ms'] - f['serve_fm_1c_median_ms']) * 1000:.0f} µs "
            "to fmnist's median here, which narrows the ratio; its row is shown for comparison. "
            f"Load average before: {r['loadavg']}.", "",
            machine(r) + ": fmnist serve against Python", "",
            *markdown([header] + serve_rows(f)), ""])
        print(text)
        if args.write:
            write_section(args.write, text, heading="Serving")
        return
    text = section(read_results(args.results))
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
