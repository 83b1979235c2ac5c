// Lesson 05's page script: run an ONNX model on a batch of 8x8 digits with ONNX Runtime
// Web's WebAssembly backend, show each digit with its predicted label, and leave the
// numbers in window.dlcourseResult for the notebook (or a test) to read.
import * as ort from "/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";

const SHOWN = 48; // digits drawn on the page (all of them are classified)

function softmax(row) {
  const top = Math.max(...row);
  const exps = row.map((value) => Math.exp(value - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / total);
}

function argmax(row) {
  return row.reduce((best, value, i) => (value > row[best] ? i : best), 0);
}

function draw(pixels, label, truth) {
  const figure = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = 8;
  canvas.height = 8;
  const context = canvas.getContext("2d");
  const image = context.createImageData(8, 8);
  pixels.forEach((value, i) => {
    const grey = 255 - Math.round(255 * value); // ink is dark
    image.data.set([grey, grey, grey, 255], 4 * i);
  });
  context.putImageData(image, 0, 0);
  const caption = document.createElement("figcaption");
  caption.textContent = truth === undefined ? `${label}` : `${label} (true ${truth})`;
  if (truth !== undefined && truth !== label) figure.className = "wrong";
  figure.append(canvas, caption);
  return figure;
}

async function main() {
  const query = new URLSearchParams(location.search);
  // -- the model: load it, run one batch, read the logits --
  // One thread: the comparison with the notebook's runtimes is then like for like (and
  // more threads would need a cross-origin-isolated page for SharedArrayBuffer).
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = "/node_modules/onnxruntime-web/dist/";

  const data = await (await fetch(query.get("images"))).json();
  const [n, features] = data.shape;
  const started = performance.now();
  const session = await ort.InferenceSession.create(query.get("model"),
                                                    { executionProviders: ["wasm"] });
  const loadMs = performance.now() - started;

  const input = new ort.Tensor("float32", Float32Array.from(data.pixels), [n, features]);
  const before = performance.now();
  const outputs = await session.run({ [session.inputNames[0]]: input });
  const runMs = performance.now() - before;
  const output = outputs[session.outputNames[0]];
  const classes = output.dims[1];
  // -- end of the model --

  const logits = [];
  for (let i = 0; i < n; i++) logits.push(Array.from(output.data.slice(i * classes, (i + 1) * classes)));
  const probabilities = logits.map(softmax);
  const predictions = logits.map(argmax);

  const grid = document.getElementById("grid");
  for (let i = 0; i < Math.min(n, SHOWN); i++) {
    const pixels = data.pixels.slice(i * features, (i + 1) * features);
    grid.append(draw(pixels, predictions[i], data.labels ? data.labels[i] : undefined));
  }
  const correct = data.labels ? predictions.filter((p, i) => p === data.labels[i]).length : null;
  document.getElementById("status").textContent =
    `${n} digits classified by ONNX Runtime Web ${ort.env.versions.web} (WebAssembly, ` +
    `${ort.env.wasm.numThreads} thread) in ${runMs.toFixed(1)} ms` +
    (correct === null ? "" : `; ${correct} of ${n} right`) +
    `. The first ${Math.min(n, SHOWN)} are shown; a red frame marks a mistake.`;

  window.dlcourseResult = {
    logits, probabilities, predictions,
    inputName: session.inputNames[0], outputName: session.outputNames[0],
    loadMs, runMs, numThreads: ort.env.wasm.numThreads,
    ortVersion: ort.env.versions.web, userAgent: navigator.userAgent,
  };
}

main().catch((error) => {
  document.getElementById("status").textContent = `failed: ${error}`;
  window.dlcourseError = String(error && error.stack ? error.stack : error);
});
