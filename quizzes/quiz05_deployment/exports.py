"""Evaluators of quiz 05's exported files (see dlcourse.grading.run.exports).

Each function receives a private copy of one file a submission wrote and loads it with
its format's own runtime, never with pickle:

- ``digits.onnx``: ONNX Runtime, from the file's bytes (so no external data file can be
  read), on the CPU;
- ``digits.tflite``: the ``ai_edge_litert`` interpreter;
- ``digits_jax.bin``: ``jax.export.deserialize`` (a flatbuffer holding StableHLO).

Each runs the model on inputs made here, which no notebook holds (the course's held-out
digits moved by a pixel and blurred by noise, and images of pure noise: a file that only
knows the answers for digits the notebook has, a table of them, fails), at batch sizes
the quiz never shows, and on the held-out digits themselves for the accuracy. It returns
a small JSON-able value that the grader compares with the value the instructor's own file
gives (the key), with the tolerances of the quiz's ``check_file`` call. A batch size that
the file cannot run is recorded as ``"error"`` instead of raising, so a fixed-batch export
is a mismatch (``failed``), not an evaluator crash.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcourse.grading.run.evaluate import Refused

#: Batch sizes run by the ONNX and JAX evaluators; the quiz exports with other sizes.
BATCH_SIZES = (1, 7, 64, 200)
ERROR = "error"


def _held_out_digits() -> tuple[np.ndarray, np.ndarray]:
    """The test split's images and labels, in an order of the instructor's choosing."""
    from dlcourse import data

    test = data.load_digits().test
    order = np.random.default_rng(20250505).permutation(len(test))
    return test.x[order], test.y[order]


def _fresh_images() -> np.ndarray:
    """240 images no notebook holds: 200 held-out digits, each moved by up to a pixel in
    each direction and blurred by noise, and 40 images of uniform noise (float32 pixels
    in [0, 1], in an order of the instructor's choosing)."""
    x, _ = _held_out_digits()
    rng = np.random.default_rng(20250606)
    digits = x[:200].reshape(-1, 8, 8)
    moved = np.stack([np.roll(image, tuple(rng.integers(-1, 2, size=2)), axis=(0, 1))
                      for image in digits]).reshape(-1, 64)
    noisy = np.clip(moved + rng.normal(0.0, 0.15, moved.shape), 0.0, 1.0)
    images = np.concatenate([noisy, rng.random((40, 64))]).astype(np.float32)
    return images[rng.permutation(len(images))]


def _outputs(run, x: np.ndarray) -> dict | str:
    """Shape, predictions and logits of ``run(x)``, or ``"error"`` if it cannot run."""
    try:
        logits = np.asarray(run(x), dtype=np.float64)
        if logits.shape != (len(x), 10):
            return {"shape": list(logits.shape)}
        return {"shape": list(logits.shape), "predictions": logits.argmax(axis=1),
                "logits": logits}
    except Exception:  # the file cannot run this batch: a mismatch, not a crash
        return ERROR


# --- ONNX ------------------------------------------------------------------------------


def _onnx_session(path: Path):
    import onnx
    import onnxruntime as ort
    from onnx.external_data_helper import uses_external_data

    model = onnx.load(str(path), load_external_data=False)
    tensors = list(model.graph.initializer) + [
        attribute.t for node in model.graph.node for attribute in node.attribute
        if attribute.HasField("t")]
    if any(uses_external_data(tensor) for tensor in tensors):
        raise Refused("the weights are in a separate file; the task asks for one file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    # From bytes: ONNX Runtime then has no folder to resolve external data against.
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def _onnx_runner(session):
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: np.ascontiguousarray(x, dtype=np.float32)})[0]


def onnx_batches(path: Path):
    """Outputs at batch sizes the student did not use, on fresh images: fails a fixed
    batch size."""
    run = _onnx_runner(_onnx_session(path))
    x = _fresh_images()
    return {f"batch_{n}": _outputs(run, x[:n]) for n in BATCH_SIZES}


def onnx_parity(path: Path):
    """Logits, predictions and accuracy on the whole held-out split, and the logits of
    fresh images.

    Run in chunks of the batch size the file declares (padding the last chunk) when it
    declares a fixed one, so that this item judges the model, not its batch dimension.
    """
    session = _onnx_session(path)
    run = _onnx_runner(session)
    declared = session.get_inputs()[0].shape[0] if session.get_inputs()[0].shape else None
    size = declared if isinstance(declared, int) and declared > 0 else 64

    def logits_of(x):
        chunks = []
        for start in range(0, len(x), size):
            chunk = x[start:start + size]
            padded = np.concatenate([chunk, np.zeros((size - len(chunk), x.shape[1]), x.dtype)])
            chunks.append(np.asarray(run(padded))[:len(chunk)])
        return np.concatenate(chunks).astype(np.float64)

    x, y = _held_out_digits()
    logits = logits_of(x)
    return {"accuracy": float((logits.argmax(axis=1) == y).mean()),
            "predictions": logits.argmax(axis=1), "logits": logits,
            "fresh_logits": logits_of(_fresh_images())}


# --- LiteRT ----------------------------------------------------------------------------


#: Operations that read weights from variables: a file converted without freezing them
#: holds no weights, and its outputs are whatever memory its variables start with.
_VARIABLE_OPS = {"VAR_HANDLE", "READ_VARIABLE"}


def _interpreter(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    if any(op["op_name"] in _VARIABLE_OPS for op in interpreter._get_ops_details()):
        raise Refused("the model reads its weights from variables that the file never "
                      "sets (they were not frozen into it when it was converted): convert "
                      "the Keras model itself")
    return interpreter


def _litert_runner(interpreter):
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]

    def run(x):
        interpreter.resize_tensor_input(source["index"], list(x.shape))
        interpreter.allocate_tensors()
        if np.dtype(source["dtype"]) != np.float32:
            raise TypeError("the model's input is not float32")
        interpreter.set_tensor(source["index"], np.ascontiguousarray(x, dtype=np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(target["index"])

    return run


def litert_outputs(path: Path):
    """Logits of fresh images at several batch sizes, and the accuracy on the whole
    held-out split.

    No exact predictions here: the quiz compares logits with a tolerance (``atol``) wide
    enough for quantisation error, so a float32 conversion of the right model passes this
    item (and fails ``litert_format``), while a wrong or broken model does not.
    """
    run = _litert_runner(_interpreter(path))
    fresh = _fresh_images()
    result = {}
    for n in (1, 7, 64):
        outputs = _outputs(run, fresh[:n])
        result[f"batch_{n}"] = (outputs if isinstance(outputs, str)
                                else {k: v for k, v in outputs.items() if k != "predictions"})
    x, y = _held_out_digits()
    whole = _outputs(run, x)
    result["accuracy"] = (ERROR if isinstance(whole, str) or "logits" not in whole
                          else float((whole["predictions"] == y).mean()))
    return result


def litert_format(path: Path):
    """Float32 input and output, int8 weights, float activations (dynamic-range
    quantisation quantises the weights only; full-integer quantisation, with its QUANTIZE
    operation, computes the activations in int8), a dynamic batch dimension."""
    interpreter = _interpreter(path)
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    tensors = interpreter.get_tensor_details()
    signature = list(source.get("shape_signature", source["shape"]))
    dtypes = {t["index"]: np.dtype(t["dtype"]) for t in tensors}
    computed = [dtypes[i] for op in interpreter._get_ops_details() for i in op["outputs"]
                if i in dtypes]
    return {"inputs": len(interpreter.get_input_details()),
            "input_dtype": np.dtype(source["dtype"]).name,
            "output_dtype": np.dtype(target["dtype"]).name,
            "int8_weights": bool(any(np.dtype(t["dtype"]) == np.int8 for t in tensors)),
            "float_activations": bool(computed and all(d == np.float32 for d in computed)),
            "dynamic_batch": bool(len(signature) == 2 and signature[0] == -1)}


# --- JAX -------------------------------------------------------------------------------


def _exported(path: Path):
    from jax import export

    return export.deserialize(bytearray(Path(path).read_bytes()))


def jax_outputs(path: Path):
    """Outputs of the deserialised program at several batch sizes, on fresh images."""
    exported = _exported(path)
    x = _fresh_images()
    return {f"batch_{n}": _outputs(exported.call, x[:n]) for n in BATCH_SIZES}


def _lowerings(exported) -> int:
    """How many platforms the serialised module itself holds code for: a module lowered
    for several takes the platform's index as its first argument (``_platform_index``)
    and branches on it; a module lowered for one does not, whatever ``platforms`` says."""
    main = next((line for line in exported.mlir_module().splitlines()
                 if "func.func public @main" in line), "")
    return len(exported.platforms) if "_platform_index" in main else 1


def jax_platforms(path: Path):
    """The platforms it was lowered for (as it says, and as its module holds code), and
    the form of its one input."""
    exported = _exported(path)
    shapes = [aval.shape for aval in exported.in_avals]
    first = shapes[0] if shapes else ()
    return {"cpu": "cpu" in exported.platforms,
            "cuda": "cuda" in exported.platforms,
            "lowered_for_each": _lowerings(exported) == len(exported.platforms),
            "inputs": len(shapes),
            "symbolic_batch": bool(len(first) == 2 and not isinstance(first[0], int)),
            "features": int(first[1]) if len(first) == 2 and isinstance(first[1], int) else -1}
