"""Is a stylised image still recognisably its content image? Two numbers that say.

Taught in lesson 04 (``notebooks/04_style_transfer.ipynb``, section 9).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.color import rgb2gray
from skimage.filters import sobel
from skimage.metrics import structural_similarity

from .images import to_image


def content_similarity(image, content) -> dict[str, float]:
    """How recognisably ``image`` still shows ``content``: two numbers in [-1, 1].

    Both are tensors (1, 3, H, W) in [0, 1] or NumPy images (H, W, 3).

    - ``ssim``: the structural similarity of the grey-level images
      (``skimage.metrics.structural_similarity``), 1 for identical images;
    - ``edges``: the correlation between the two images' edge maps (Sobel
      magnitude after a slight blur), which ignores colour and texture and
      asks whether the outlines are in the same places.
    """
    a, b = (rgb2gray(to_image(t) if hasattr(t, "detach") else np.asarray(t))
            for t in (image, content))
    ea, eb = (sobel(ndimage.gaussian_filter(g, 1.5)) for g in (a, b))
    edges = float(np.corrcoef(ea.ravel(), eb.ravel())[0, 1])
    ssim = float(structural_similarity(a, b, data_range=1.0))
    return {"ssim": ssim, "edges": edges}
