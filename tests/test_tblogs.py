"""dlcourse.tblogs: what PyTorch's SummaryWriter and tf.summary (Keras) write is read back
with the right steps, values, histogram counts and image pixels."""

import contextlib

import numpy as np
import pytest

from dlcourse import tblogs

# torch.utils.tensorboard and tf.summary import TensorFlow; Triton must be imported first, or
# the next PyTorch optimizer any test creates crashes the process (see dlcourse.training).
with contextlib.suppress(ImportError):
    import triton  # noqa: F401


def test_reads_back_what_summary_writer_wrote(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(tmp_path / "torch" / "run_a")
    values = np.random.default_rng(0).normal(size=1000)
    image = np.zeros((3, 4, 6), dtype=np.float32)
    image[0, 1, 2] = 1.0
    for step in range(3):
        writer.add_scalar("loss/train", 1.0 / (step + 1), step)
        writer.add_histogram("weights", values + step, step)
    writer.add_image("pixels", image, 7)
    writer.close()

    scalars = tblogs.read_scalars(tmp_path / "torch")
    steps, got = scalars["run_a/loss/train"]
    assert steps.tolist() == [0, 1, 2] and np.allclose(got, [1, 1 / 2, 1 / 3])
    series = tblogs.read_histograms(tmp_path / "torch")["run_a/weights"]
    assert [s for s, _, _ in series] == [0, 1, 2]
    step, edges, counts = series[2]
    assert len(edges) == len(counts) + 1 and counts.sum() == 1000
    assert np.isclose(edges[0], values.min() + 2) and np.isclose(edges[-1], values.max() + 2)
    ((step, pixels),) = tblogs.read_images(tmp_path / "torch")["run_a/pixels"]
    assert step == 7 and pixels.shape[:2] == (4, 6) and pixels[1, 2, 0] == 255
    assert pixels[..., 0].sum() == 255


def test_reads_tf_summary_tensors_and_refuses_an_empty_folder(tmp_path):
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(tmp_path / "keras" / "validation"))
    with writer.as_default():
        for step in range(4):
            tf.summary.scalar("epoch_loss", 2.0 - step, step=step)
            tf.summary.histogram("kernel", tf.constant([0.0, 1.0, 1.0, 3.0]), step=step, buckets=3)
    writer.flush()
    steps, got = tblogs.read_scalars(tmp_path / "keras")["validation/epoch_loss"]
    assert steps.tolist() == [0, 1, 2, 3] and np.allclose(got, [2, 1, 0, -1])
    _, edges, counts = tblogs.read_histograms(tmp_path / "keras")["validation/kernel"][0]
    assert counts.sum() == 4 and np.isclose(edges[0], 0) and np.isclose(edges[-1], 3)
    with pytest.raises(FileNotFoundError):
        tblogs.read_scalars(tmp_path / "nothing")
