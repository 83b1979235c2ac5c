"""Read TensorBoard event files back into NumPy: scalars, histograms and images.

Taught in lesson 03 (``notebooks/03_training.ipynb``, "TensorBoard"), where
Keras's ``TensorBoard`` callback and PyTorch's ``SummaryWriter`` write logs and
the lesson plots what TensorBoard would show, without a browser.

A log folder holds one or more *runs* (every sub-folder with event files:
Keras writes ``train/`` and ``validation/``). Results are keyed
``"<run>/<tag>"``, the run being the sub-folder's path relative to the log
folder (``"."`` for event files directly inside it). Both ways of storing a
value are read: PyTorch's classic scalar/histogram/image events and the tensor
summaries that ``tf.summary`` (and so Keras) writes.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def _accumulators(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = Path(logdir)
    folders = sorted({p.parent for p in root.rglob("events.out.tfevents.*")})
    if not folders:
        raise FileNotFoundError(f"no TensorBoard event files under {root}")
    everything = {"scalars": 0, "tensors": 0, "histograms": 0, "images": 0}
    for folder in folders:
        run = folder.relative_to(root).as_posix()
        yield run, EventAccumulator(str(folder), size_guidance=everything).Reload()


def _plugin(accumulator, tag: str) -> str:
    return accumulator.SummaryMetadata(tag).plugin_data.plugin_name


def _tensor(event) -> np.ndarray:
    from tensorboard.util import tensor_util

    return tensor_util.make_ndarray(event.tensor_proto)


def read_scalars(logdir) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"<run>/<tag>": (steps, values)}`` for every scalar logged under ``logdir``."""
    out = {}
    for run, acc in _accumulators(logdir):
        tags = acc.Tags()
        for tag in tags["scalars"]:
            events = acc.Scalars(tag)
            out[f"{run}/{tag}"] = (np.array([e.step for e in events]),
                                   np.array([e.value for e in events], dtype=np.float64))
        for tag in tags["tensors"]:
            if _plugin(acc, tag) == "scalars":
                events = acc.Tensors(tag)
                out[f"{run}/{tag}"] = (np.array([e.step for e in events]),
                                       np.array([float(_tensor(e)) for e in events]))
    return out


def read_histograms(logdir) -> dict[str, list[tuple[int, np.ndarray, np.ndarray]]]:
    """``{"<run>/<tag>": [(step, bucket_edges, counts), ...]}`` (``len(edges) == len(counts) + 1``).

    PyTorch's histograms have open-ended outer buckets; their edges are clipped
    to the smallest and largest value seen, as TensorBoard draws them.
    """
    out: dict[str, list] = {}
    for run, acc in _accumulators(logdir):
        tags = acc.Tags()
        for tag in tags["histograms"]:
            series = []
            for event in acc.Histograms(tag):
                h = event.histogram_value
                limits = np.clip(np.array(h.bucket_limit, dtype=np.float64), h.min, h.max)
                edges = np.concatenate([[h.min], limits])
                series.append((event.step, edges, np.array(h.bucket, dtype=np.float64)))
            out[f"{run}/{tag}"] = series
        for tag in tags["tensors"]:
            if _plugin(acc, tag) == "histograms":  # tf.summary: rows of (left, right, count)
                series = []
                for event in acc.Tensors(tag):
                    rows = _tensor(event).reshape(-1, 3)
                    edges = np.concatenate([rows[:1, 0], rows[:, 1]])
                    series.append((event.step, edges, rows[:, 2].astype(np.float64)))
                out[f"{run}/{tag}"] = series
    return out


def read_images(logdir) -> dict[str, list[tuple[int, np.ndarray]]]:
    """``{"<run>/<tag>": [(step, image), ...]}``, images as uint8 arrays (H x W x C)."""
    from PIL import Image

    out = {}
    for run, acc in _accumulators(logdir):
        for tag in acc.Tags()["images"]:
            out[f"{run}/{tag}"] = [
                (e.step, np.asarray(Image.open(io.BytesIO(e.encoded_image_string))))
                for e in acc.Images(tag)]
    return out
