"""Privacy accounting for DP-SGD: the RDP accountant of the sampled Gaussian mechanism.

Taught in lesson 08 (``notebooks/08_trust.ipynb``, "Differential privacy"), where
DP-SGD is written out and this accountant turns its noise, sampling rate and number
of steps into the ``(epsilon, delta)`` it guarantees.

One step of DP-SGD with Poisson sampling (each example joins the batch with
probability ``q``), per-example gradients clipped to norm ``C`` and Gaussian noise of
standard deviation ``sigma * C`` added to their sum is the *sampled Gaussian
mechanism*. Its Rényi differential privacy (RDP) at an integer order ``alpha >= 2`` is
(Mironov, Talwar and Zhang, 2019, "Rényi Differential Privacy of the Sampled Gaussian
Mechanism", section 3.3)::

    eps_RDP(alpha) = log(A_alpha) / (alpha - 1),
    A_alpha = sum_{k=0}^{alpha} C(alpha, k) (1 - q)^(alpha - k) q^k exp((k^2 - k) / (2 sigma^2)).

RDP composes by addition, so ``steps`` steps cost ``steps * eps_RDP(alpha)``. The
``(epsilon, delta)`` guarantee is the best over the orders of the conversion of
Balle et al. (2020, "Hypothesis testing interpretations and Rényi differential
privacy", theorem 21), the one Opacus's ``RDPAccountant`` uses::

    epsilon = rdp - (log(delta) + log(alpha)) / (alpha - 1) + log((alpha - 1) / alpha).

- :func:`log_a` and :func:`rdp` compute the RDP of one step at integer orders;
- :func:`epsilon` is the ``(epsilon, delta)`` of ``steps`` steps, with the order that
  gave it;
- :func:`DEFAULT_ORDERS` are the integer orders 2 to 256.

Opacus's accountant also uses fractional orders (1.1, 1.2, ...), so its epsilon can be
a little smaller; tests/test_privacy.py compares the two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

DEFAULT_ORDERS: tuple[int, ...] = tuple(range(2, 257))


def log_a(q: float, sigma: float, alpha: int) -> float:
    """``log(A_alpha)`` of the sampled Gaussian mechanism at an integer order ``alpha >= 2``.

    The sum is taken in log space (a log-sum-exp of its ``alpha + 1`` terms), so large
    orders and small ``sigma`` do not overflow.
    """
    return float(_log_a(q, sigma, np.array([alpha]))[0])


def _log_a(q: float, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """:func:`log_a` at every order of ``alphas`` at once (one row of terms per order)."""
    from scipy.special import gammaln

    alphas = np.asarray(alphas)
    if np.any(alphas != np.round(alphas)) or np.any(alphas < 2):
        raise ValueError(f"orders must be integers >= 2, not {alphas.tolist()!r}")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"the sampling rate q must lie in [0, 1], not {q!r}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, not {sigma!r}")
    if q == 0.0:
        return np.zeros(len(alphas))
    a = alphas.astype(np.float64)[:, None]                    # (orders, 1)
    k = np.arange(int(alphas.max()) + 1, dtype=np.float64)[None, :]  # (1, terms)
    with np.errstate(divide="ignore", invalid="ignore"):      # q == 1: log(1 - q) = -inf
        terms = (gammaln(a + 1) - gammaln(k + 1) - gammaln(np.maximum(a - k, 0) + 1)
                 + np.where(a - k > 0, (a - k) * np.log1p(-q), 0.0) + k * np.log(q)
                 + (k * k - k) / (2.0 * sigma**2))
    terms = np.where(k <= a, terms, -np.inf)                  # k runs from 0 to alpha only
    top = terms.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(terms - top).sum(axis=1, keepdims=True)))[:, 0]


def rdp(q: float, sigma: float, orders: Iterable[int] = DEFAULT_ORDERS) -> np.ndarray:
    """RDP of one step of the sampled Gaussian mechanism at each order."""
    orders = np.array(list(orders))
    return _log_a(q, sigma, orders) / (orders - 1)


def epsilon(q: float, sigma: float, steps: int, delta: float,
            orders: Iterable[int] = DEFAULT_ORDERS) -> tuple[float, int]:
    """``(epsilon, best order)`` of ``steps`` steps of DP-SGD at ``delta``.

    ``q`` is the sampling rate (batch size over data set size, with Poisson
    sampling), ``sigma`` the noise multiplier (noise standard deviation over the
    clipping norm). ``sigma = 0`` (no noise) gives ``inf``.
    """
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), not {delta!r}")
    if sigma == 0:
        return math.inf, 0
    orders = np.array(list(orders), dtype=np.float64)
    total = steps * rdp(q, sigma, orders)
    eps = (total - (math.log(delta) + np.log(orders)) / (orders - 1)
           + np.log((orders - 1) / orders))
    best = int(np.nanargmin(eps))
    return float(max(eps[best], 0.0)), int(orders[best])


__all__ = ["DEFAULT_ORDERS", "epsilon", "log_a", "rdp"]
