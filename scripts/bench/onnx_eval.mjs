// ONNX Runtime's CPU inference of a model that `scripts/to_pytorch.py --onnx` exported, over the
// test split, as a deployment would run it: the bench's reference for fmnist's batched inference.
//
// usage: node onnx_eval.mjs MODEL.onnx DATA_DIR --threads N [--batch 256]
// Prints ort_first_pass_img_s, ort_eval_img_s (the second pass) and ort_test_acc on stdout.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

// onnxruntime-node comes from NODE_PATH (the bench installs it outside the tree).
const ort = createRequire(path.join(process.env.NODE_PATH ?? ".", "x"))("onnxruntime-node");

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

// An IDX file, raw or gzip (told apart by content), past its header.
function readIdx(dir, stem) {
  const file = ["", ".gz"].map((s) => path.join(dir, stem + s)).find((f) => fs.existsSync(f));
  if (!file) throw new Error(`${path.join(dir, stem)}[.gz]: not found`);
  let bytes = fs.readFileSync(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  const dims = bytes[3];
  return bytes.subarray(4 + 4 * dims);
}

const [modelPath, dataDir] = process.argv.slice(2);
const threads = option("--threads", 1);
const batch = option("--batch", 256);
const pixels = readIdx(dataDir, "t10k-images-idx3-ubyte");
const labels = readIdx(dataDir, "t10k-labels-idx1-ubyte");
const side = 28;
const count = labels.length;
const images = Float32Array.from(pixels, (p) => p / 255);

const session = await ort.InferenceSession.create(modelPath, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
});

async function pass() {
  let correct = 0;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const input = images.subarray(start * side * side, (start + n) * side * side);
    const { logits } = await session.run({ image: new ort.Tensor("float32", input, [n, 1, side, side]) });
    for (let i = 0; i < n; i++) {
      const row = logits.data.subarray(i * 10, i * 10 + 10);
      let best = 0;
      for (let c = 1; c < 10; c++) if (row[c] > row[best]) best = c;
      if (best === labels[start + i]) correct++;
    }
  }
  return correct;
}

// The first pass plans and allocates (as fmnist's one pass in `eval` creates oneDNN's
// primitives); the second is the steady state.
async function timedPass() {
  const started = process.hrtime.bigint();
  const correct = await pass();
  return { correct, imgPerS: count / (Number(process.hrtime.bigint() - started) / 1e9) };
}
const first = await timedPass();
const { correct, imgPerS } = await timedPass();
console.log(`ort_first_pass_img_s=${first.imgPerS.toFixed(1)}`);
console.log(`ort_eval_img_s=${imgPerS.toFixed(1)}`);
console.log(`ort_test_acc=${((100 * correct) / count).toFixed(2)}`);
