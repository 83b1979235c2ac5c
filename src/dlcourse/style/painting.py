"""A generated style image: a swirly "painting" that needs no download and no licence.

Lesson 04 (``notebooks/04_style_transfer.ipynb``, section 1) uses it as its
style image, through :func:`dlcourse.style.images.sample_image` (``"swirls"``).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: The colours of the painting, from deep blue to yellow.
PALETTE = np.array([[0.05, 0.10, 0.30], [0.10, 0.25, 0.60], [0.25, 0.50, 0.80],
                    [0.55, 0.75, 0.85], [0.95, 0.85, 0.35], [1.00, 0.95, 0.60]])


def swirl_painting(size: int = 512, *, seed: int = 0) -> np.ndarray:
    """Generate a swirly "painting" (float array in [0, 1], shape (size, size, 3)).

    Brush strokes are white noise smeared along the streamlines of a few
    vortices (line integral convolution), coloured from deep blue to yellow
    by the stream function: a stand-in for a starry-night style image.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    psi = 0.15 * np.sin(2 * np.pi * (1.5 * y + 0.3 * x)) + 0.1 * np.cos(2 * np.pi * 2.5 * x)
    cores = []
    for _ in range(7):
        cx, cy = rng.uniform(0.1, 0.9, size=2)
        radius = rng.uniform(0.05, 0.14)
        strength = rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.0)
        psi = psi + strength * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))
        cores.append((cx, cy, radius))
    strokes = _strokes_along_streamlines(psi, rng)
    level = (psi - psi.min()) / (psi.max() - psi.min())
    glow = np.zeros_like(level)
    for cx, cy, radius in cores:
        distance2 = (x - cx) ** 2 + (y - cy) ** 2
        glow = np.maximum(glow, np.exp(-distance2 / (2 * (0.6 * radius) ** 2)))
    tone = np.clip(0.75 * level + 0.6 * glow + 0.12 * strokes, 0, 1) * (len(PALETTE) - 1)
    low = np.floor(tone).astype(int).clip(0, len(PALETTE) - 2)
    frac = (tone - low)[..., None]
    image = (1 - frac) * PALETTE[low] + frac * PALETTE[low + 1]
    image = image * (1 + 0.18 * strokes[..., None])
    return np.clip(image, 0, 1)


def _strokes_along_streamlines(psi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White noise averaged along the level lines of ``psi`` (line integral convolution),
    standardised to mean 0 and standard deviation 1."""
    size = psi.shape[0]
    gy, gx = np.gradient(psi)
    vx, vy = gy, -gx  # the velocity of a stream function: along its level lines
    norm = np.hypot(vx, vy) + 1e-12
    vx, vy = vx / norm, vy / norm
    noise = ndimage.gaussian_filter(rng.random((size, size)), 0.6)
    strokes, count = noise.copy(), 1
    step = 0.9 * size / 256
    for sign in (1.0, -1.0):
        px, py = np.mgrid[0:size, 0:size][::-1].astype(np.float64)
        for _ in range(max(8, size // 16)):
            ix = ndimage.map_coordinates(vx, [py, px], order=1, mode="wrap")
            iy = ndimage.map_coordinates(vy, [py, px], order=1, mode="wrap")
            px, py = px + sign * step * ix, py + sign * step * iy
            strokes += ndimage.map_coordinates(noise, [py, px], order=1, mode="wrap")
            count += 1
    strokes = strokes / count
    return (strokes - strokes.mean()) / (strokes.std() + 1e-12)
