"""A generated class of quiz 01 submissions, for ``dlcourse similarity``'s test and benchmark.

Each honest student writes every answer their own way: the generator picks,
independently per student and per line, one of the correct (or typically
wrong) ways the calibration submissions and the solution show (``amax`` or
``max(...).values``, ``tf.math`` or ``tf``, ``static_argnames`` or
``partial(jax.jit, static_argnums=1)``, Functional or Sequential, ...), and
writes the free-text answers from many phrasings. A *copier* takes another
student's notebook and disguises it as copiers do: every name the answer binds
renamed, comments removed and others written, independent definitions and
lines reordered, a few words of the free text changed. Only notebooks are
made: nothing is graded.
"""

from __future__ import annotations

import ast
import io
import json
import random
import tokenize
from pathlib import Path

QUIZ = "quiz01_frameworks"
REPO = Path(__file__).resolve().parents[1]
MC = {"mc_dtypes": "c", "mc_retrace": "a", "mc_static": "d", "mc_at_set": "b",
      "mc_dlpack": "c", "mc_compile": "b"}
#: names the quiz asks for: a copier keeps them
CODE_CELLS = ("softmax_answer", "keras_model_answer", "tf_function_answer", "jax_static_answer")
REQUIRED = {"softmax_torch", "softmax_tf", "softmax_jax", "build_model", "make_scaled_sum",
            "moving_sum", "input_dim", "hidden", "num_classes", "scale", "window", "x"}


def _pick(rng: random.Random, *options):
    return rng.choice(options)


def softmax_torch(rng: random.Random, naive: bool = False) -> str:
    x = "x"
    top = _pick(rng, f"{x}.max(dim=-1, keepdim=True).values", f"{x}.amax(dim=-1, keepdim=True)",
                f"torch.max({x}, dim=-1, keepdim=True)[0]", f"torch.amax({x}, -1, keepdim=True)",
                f"{x}.max(-1, keepdim=True)[0]", f"{x}.detach().amax(-1, keepdim=True)")
    shifted = x if naive else f"({x} - {top})"
    exp = _pick(rng, f"torch.exp({shifted})", f"{shifted}.exp()")
    total = _pick(rng, "e.sum(dim=-1, keepdim=True)", "torch.sum(e, dim=-1, keepdim=True)",
                  "e.sum(-1, keepdim=True)", "e.sum(dim=x.dim() - 1, keepdim=True)")
    out = _pick(rng, "e / s", "torch.div(e, s)", "e * s.reciprocal()", "e / s")
    hint = _pick(rng, "def softmax_torch(x: torch.Tensor) -> torch.Tensor:",
                 "def softmax_torch(x):")
    lines = [hint]
    if rng.random() < 0.3:
        lines.append(_pick(rng, "    # subtract the row maximum first", "    # stable form",
                           "    # exp of shifted values, then normalise"))
    lines += [f"    e = {exp}", f"    s = {total}"]
    lines.append(f"    return {out}")
    return "\n".join(lines)


def softmax_tf(rng: random.Random, naive: bool = False) -> str:
    ns = _pick(rng, "tf", "tf.math")
    top = _pick(rng, f"{ns}.reduce_max(x, axis=-1, keepdims=True)",
                f"tf.stop_gradient({ns}.reduce_max(x, axis=-1, keepdims=True))",
                f"{ns}.reduce_max(x, -1, True)")
    shift = "x" if naive else _pick(rng, "x - m", "tf.subtract(x, m)", "tf.math.subtract(x, m)")
    exp = _pick(rng, f"tf.exp({shift})", f"tf.math.exp({shift})")
    total = _pick(rng, f"{ns}.reduce_sum(e, axis=-1, keepdims=True)",
                  f"{ns}.reduce_sum(e, -1, keepdims=True)")
    out = _pick(rng, "e / s", "tf.math.divide(e, s)", "tf.divide(e, s)",
                "e * tf.math.reciprocal(s)")
    hint = _pick(rng, "def softmax_tf(x: tf.Tensor) -> tf.Tensor:", "def softmax_tf(x):")
    lines = [hint] + ([] if naive else [f"    m = {top}"]) + [f"    e = {exp}", f"    s = {total}",
                                                           f"    return {out}"]
    return "\n".join(lines)


def softmax_jax(rng: random.Random, naive: bool = False) -> str:
    top = _pick(rng, "jnp.max(x, axis=-1, keepdims=True)", "x.max(axis=-1, keepdims=True)",
                "jnp.amax(x, axis=-1, keepdims=True)",
                "jax.lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))")
    exp = _pick(rng, "jnp.exp(x)" if naive else "jnp.exp(x - m)",
                "jnp.exp(x)" if naive else "jnp.exp(jnp.subtract(x, m))")
    total = _pick(rng, "jnp.sum(e, axis=-1, keepdims=True)", "e.sum(axis=-1, keepdims=True)")
    out = _pick(rng, "e / s", "jnp.divide(e, s)", "e * (1.0 / s)")
    hint = _pick(rng, "def softmax_jax(x: jax.Array) -> jax.Array:", "def softmax_jax(x):")
    lines = [hint] + ([] if naive else [f"    m = {top}"]) + [f"    e = {exp}", f"    s = {total}",
                                                           f"    return {out}"]
    return "\n".join(lines)


def keras_model(rng: random.Random, sequential: bool = False) -> list[str]:
    dense = _pick(rng, "keras.layers.Dense", "layers.Dense")
    blocks = ["from keras import layers"] if dense.startswith("layers") else []
    relu = _pick(rng, '"relu"', "keras.activations.relu", '"relu"')
    soft = _pick(rng, '"softmax"', "keras.activations.softmax")
    units = _pick(rng, "", "units=")
    if sequential:
        body = ["    return keras.Sequential([",
                '        keras.Input(shape=(input_dim,), name="features"),',
                f'        {dense}({units}hidden, activation={relu}, name="hidden"),',
                f'        {dense}({units}num_classes, activation={soft}, name="probs"),',
                '    ], name="digits_mlp")']
    elif rng.random() < 0.5:
        body = ['    inputs = keras.Input(shape=(input_dim,), name="features")',
                f'    h = {dense}({units}hidden, activation={relu}, name="hidden")(inputs)',
                f'    outputs = {dense}({units}num_classes, activation={soft}, name="probs")(h)',
                _pick(rng,
                      '    return keras.Model(inputs=inputs, outputs=outputs, name="digits_mlp")',
                      '    return keras.Model(inputs, outputs, name="digits_mlp")')]
    else:
        body = [f'    first = {dense}({units}hidden, activation={relu}, name="hidden")',
                f'    second = {dense}({units}num_classes, activation={soft}, name="probs")',
                '    inputs = keras.Input((input_dim,), name="features")',
                '    return keras.Model(inputs, second(first(inputs)), name="digits_mlp")']
        if rng.random() < 0.5:
            body[0], body[1] = body[1], body[0]
    signature = _pick(rng, "def build_model(input_dim, hidden, num_classes):",
                      "def build_model(input_dim: int, hidden: int, num_classes: int)"
                      " -> keras.Model:")
    return blocks + ["\n".join([signature, *body])]


def tf_function(rng: random.Random, retraces: bool = False) -> list[str]:
    spec = _pick(rng, "[tf.TensorSpec(shape=[None, 4], dtype=tf.float32)]",
                 "(tf.TensorSpec((None, 4), tf.float32),)",
                 "[tf.TensorSpec([None, 4], tf.float32)]")
    rows = _pick(rng, "scale * tf.reduce_sum(x, axis=1)", "tf.reduce_sum(x, 1) * scale",
                 "scale * tf.math.reduce_sum(x, axis=-1)",
                 "tf.squeeze(tf.matmul(x, tf.fill([4, 1], tf.cast(scale, tf.float32))), axis=1)")
    decorator = "@tf.function" if retraces else f"@tf.function(input_signature={spec})"
    inner = _pick(rng, "f", "scaled_sum", "row_sums")
    if rng.random() < 0.5:
        body = [f"    {decorator}", f"    def {inner}(x):", f"        return {rows}", "",
                f"    return {inner}"]
    else:
        call = "tf.function(" + inner + ("" if retraces else f", input_signature={spec}") + ")"
        body = [f"    def {inner}(x):", f"        return {rows}", "", f"    return {call}"]
    return ["\n".join(["def make_scaled_sum(scale):", *body])]


def jax_static(rng: random.Random, static: bool = True) -> list[str]:
    how = _pick(rng, "convolve", "cumsum", "slices", "loop")
    if how == "convolve":
        expr = ['    return jnp.convolve(x, jnp.ones(window, dtype=x.dtype), mode="valid")']
    elif how == "cumsum":
        expr = ["    c = jnp.concatenate([jnp.zeros((1,), x.dtype), jnp.cumsum(x)])",
                "    return c[window:] - c[: len(x) - window + 1]"]
    elif how == "slices":
        expr = ["    n = x.shape[0] - window + 1",
                "    return sum(x[i:i + n] for i in range(window))"]
    else:
        expr = ["    return jnp.stack([x[i:i + window].sum() for i in range(len(x) - window + 1)])"]
    if not static:
        return ["\n".join(["@jax.jit", "def moving_sum(x, window):", *expr])]
    style = _pick(rng, "names", "nums", "partial")
    if style == "partial":
        return ["from functools import partial",
                "\n".join([_pick(rng, "@partial(jax.jit, static_argnums=1)",
                                 '@partial(jax.jit, static_argnames="window")'),
                           "def moving_sum(x, window):", *expr])]
    inner = _pick(rng, "_moving_sum", "moving_sum_impl", "_ms")
    marker = 'static_argnames="window"' if style == "names" else "static_argnums=(1,)"
    return ["\n".join([f"def {inner}(x, window):", *expr]),
            f"moving_sum = jax.jit({inner}, {marker})"]


_TRACING = [
    ["The Python body", "The Python code of the function", "Everything written in Python",
     "The body of a compiled function", "Python statements inside it"],
    ["runs only while", "is executed only when", "only runs during the time that",
     "is only evaluated as"],
    ["the function is traced", "tracing happens", "the graph is being recorded",
     "TensorFlow or JAX builds the graph", "the framework captures the computation"],
    ["on the first call.", "for the first input signature.", "once per new shape and dtype.",
     "at the start."],
    ["Later calls reuse", "After that the calls run", "The next 99 calls execute",
     "Subsequent calls only run"],
    ["the cached graph,", "the compiled XLA program,", "the stored concrete function,",
     "the saved trace,"],
    ["so print never runs again", "so the Python print is skipped", "which is why nothing prints",
     "and the print statement is not part of it"],
    ["and it showed a tracer.", "and what it printed was a symbolic placeholder.",
     "and at trace time the loss had no value yet."],
    ["Use tf.print", "I would write tf.print", "In TensorFlow tf.print works", "Call tf.print"],
    ["and jax.debug.print in JAX.", "and jax.debug.print for JAX.",
     "or return the loss and print it outside; in JAX jax.debug.print."],
]
_LANDSCAPE = [
    ["MXNet is not an exchange format;", "MXNet was a training framework, not a format,",
     "The plan fails because MXNet is a framework", "MXNet is not a model interchange format"],
    ["it was retired to the Apache Attic in 2023", "and it is no longer maintained",
     "and the project has been moved to the Attic", "and nobody releases it any more"],
    ["so it gets no fixes.", "so there are no security updates.", "which makes it a dead end.",
     "so it is a poor target."],
    ["Export to ONNX instead", "I would propose ONNX", "Use torch.onnx.export with dynamo",
     "The neutral format is ONNX"],
    ["and serve with ONNX Runtime.", "and run it in ONNX Runtime on any device.",
     "or keep PyTorch with torch.export.", "which ONNX Runtime serves on CPU and GPU."],
]


_FILLERS = ["basically", "I think", "in short", "as far as I understand", "really", "actually",
            "(as the lesson showed)", "in other words", "of course", "note that", "so",
            "as a result", "to be precise", "here", "in practice", "if I remember right",
            "simply put", "at least on a CPU", "clearly", "honestly"]


def free_text(rng: random.Random, parts: list[list[str]]) -> str:
    """One phrasing per slot, with the asides everyone's writing has in different places."""
    words = []
    for options in parts:
        if rng.random() < 0.6:
            words.append(rng.choice(_FILLERS))
        words.append(rng.choice(options))
    return " ".join(words)


def honest(rng: random.Random, skill: float) -> dict[str, str]:
    """One honest student's answers, by grade id; weaker students make the typical mistakes."""
    def wrong(p: float) -> bool:
        return rng.random() < p * (1.0 - skill)

    answers = {}
    for item, letter in MC.items():
        answers[f"{item}_answer"] = (f"answer_{item} = "
                                     f"{json.dumps(rng.choice('abd') if wrong(0.8) else letter)}")
    answers["tf_keras_backend_answer"] = f"answer_tf_keras_backend = {wrong(0.6)}"
    answers["tf_variable_answer"] = f"answer_tf_variable = {not wrong(0.3)}"
    naive = wrong(0.7)
    answers["softmax_answer"] = "\n\n\n".join([softmax_torch(rng, naive), softmax_tf(rng, naive),
                                               softmax_jax(rng, naive)])
    answers["keras_model_answer"] = "\n\n\n".join(keras_model(rng, sequential=wrong(0.6)))
    answers["tf_function_answer"] = "\n\n\n".join(tf_function(rng, retraces=wrong(0.6)))
    answers["jax_static_answer"] = "\n\n\n".join(jax_static(rng, static=not wrong(0.6)))
    answers["ft_tracing"] = free_text(rng, _TRACING)
    answers["ft_landscape"] = free_text(rng, _LANDSCAPE)
    return answers


# ---------------------------------------------------------------- a copier's disguise

_COMMENTS = ["# my solution", "# works on any rank", "# see lesson 01", "# helper",
             "# checked against the visible test", "# TODO tidy up"]
_SYNONYMS = {"only": "just", "function": "func", "calls": "invocations", "graph": "trace",
             "instead": "rather", "print": "printing", "is": "was", "the": "a"}


def _bound(code: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
    return names - REQUIRED


def disguise_code(code: str, rng: random.Random) -> str:
    """Rename every name the code binds, drop its comments and write others."""
    renames = {name: _pick(rng, "tmp_", "my_", "v_", "the_") + name.strip("_")
               for name in sorted(_bound(code))}
    lines = code.split("\n")
    edits = []
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.NAME and tok.string in renames:
            edits.append((tok.start, tok.end, renames[tok.string]))
        elif tok.type == tokenize.COMMENT:
            edits.append((tok.start, tok.end, ""))
    for (row, col), (_, end), text in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + line[end:]
    out = []
    for line in lines:
        if line.strip() or not out or out[-1].strip():
            out.append(line.rstrip())
        if line.startswith("def ") and rng.random() < 0.7:
            out.append("    " + rng.choice(_COMMENTS))
    return "\n".join(out)


def disguise(answers: dict[str, str], rng: random.Random) -> dict[str, str]:
    """A copy of another student's answers, disguised (see the module's docstring)."""
    copied = dict(answers)
    functions = answers["softmax_answer"].split("\n\n\n")
    rng.shuffle(functions)  # three independent definitions: any order runs the same
    if functions == answers["softmax_answer"].split("\n\n\n"):
        functions.reverse()
    copied["softmax_answer"] = "\n\n".join(functions)
    for cell in ("softmax_answer", "keras_model_answer", "tf_function_answer",
                 "jax_static_answer"):
        copied[cell] = disguise_code(copied[cell], rng)
    model = copied["keras_model_answer"].split("\n")
    for i in range(len(model) - 1):  # the two layers are made independently: swap them
        if "Dense(" in model[i] and "Dense(" in model[i + 1] and model[i].lstrip().startswith(
                ("first", "second", "tmp_", "my_", "v_", "the_")) and "(inputs" not in model[i]:
            model[i], model[i + 1] = model[i + 1], model[i]
            break
    copied["keras_model_answer"] = "\n".join(model)
    for cell in ("ft_tracing", "ft_landscape"):
        words = answers[cell].split(" ")
        copied[cell] = " ".join(_SYNONYMS.get(w, w) if rng.random() < 0.5 else w for w in words)
    return copied


# ---------------------------------------------------------------- notebooks


def release_notebook(root: Path = REPO) -> dict:
    return json.loads((root / "release" / QUIZ / f"{QUIZ}.ipynb").read_text())


def fill(release: dict, answers: dict[str, str]) -> dict:
    """The student version with ``answers`` in its answer cells (metadata kept)."""
    notebook = json.loads(json.dumps(release))
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return notebook


def answers_of(notebook: dict) -> dict[str, str]:
    out = {}
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            source = cell["source"]
            out[meta["grade_id"]] = "".join(source) if isinstance(source, list) else source
    return out


def write_class(root: Path, count: int, seed: int = 0, *, copied: int = 2,
                same_one_liner: int = 1) -> dict[str, object]:
    """Write ``count`` submissions under ``root/submitted``; return who is who.

    Honest students are generated; each of their code answers is, one time in
    seven or so, taken from a calibration submission or the solution instead;
    ``copied`` pairs (``copyA_i`` from
    ``copyB_i``), and ``same_one_liner`` pairs of honest students who wrote the
    same one-line stable softmax in PyTorch.
    """
    rng = random.Random(seed)
    release = release_notebook(root)
    notebooks: dict[str, dict] = {}
    # the calibration submissions and the solution, as variants an honest student may write
    calibration = json.loads((root / "quizzes" / QUIZ / "calibration.json").read_text())
    variants = [answers_of(json.loads((root / case["path"]).read_text()))
                for case in calibration["submissions"]
                if Path(case["path"]).parent.name == "calibration"]
    # one of each way of writing the code cells: a calibration that repeats another's
    # (mistake_copied_variant is correct_different with Part D pasted in) is no new way
    variants = list({tuple(v.get(cell) for cell in CODE_CELLS): v for v in variants}.values())
    variants.append({k: "\n".join(line for line in v.split("\n")
                                  if "### BEGIN SOLUTION" not in line
                                  and "### END SOLUTION" not in line)
                     for k, v in answers_of(json.loads(
                         (root / "source" / QUIZ / f"{QUIZ}.ipynb").read_text())).items()})

    def student(skill: float) -> dict[str, str]:
        answers = honest(rng, skill)
        for cell in CODE_CELLS:
            if rng.random() < 0.15:
                answers[cell] = rng.choice(variants)[cell]
        return answers

    pairs, honest_pairs = [], []
    for i in range(copied):
        original = student(rng.random())
        notebooks[f"copyB_{i}"] = fill(release, original)
        notebooks[f"copyA_{i}"] = fill(release, disguise(original, random.Random(seed + i)))
        pairs.append((f"copyA_{i}", f"copyB_{i}"))
    one_liner = ("def softmax_torch(x):\n"
                 "    return torch.exp(x - x.amax(-1, keepdim=True)) / "
                 "torch.exp(x - x.amax(-1, keepdim=True)).sum(-1, keepdim=True)")
    for i in range(same_one_liner):
        both = []
        for side in "ab":
            answers = student(0.9)
            rest = answers["softmax_answer"].split("\n\n\n")[1:]
            answers["softmax_answer"] = "\n\n\n".join([one_liner, *rest])
            notebooks[f"same_{i}{side}"] = fill(release, answers)
            both.append(f"same_{i}{side}")
        honest_pairs.append(tuple(both))
    number = 0
    while len(notebooks) < count:
        notebooks[f"student{number:04d}"] = fill(release, student(rng.random()))
        number += 1
    for student, notebook in notebooks.items():
        target = root / "submitted" / student / QUIZ / f"{QUIZ}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(notebook, indent=1))
    return {"students": sorted(notebooks), "copied": pairs, "same_short_answer": honest_pairs}
