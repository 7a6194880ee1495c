r"""When is a change real: tile standard errors, capture floors, test-retest MDC, verdicts.

**Within-photo uncertainty.** Each metric is a smooth function of statistics summed over
the tiles of a grid laid over its region. The delete-one-tile jackknife gives its
standard error (Efron & Tibshirani 1993):

.. math:: SE = \sqrt{\frac{m-1}{m}\sum_i (\theta_{(i)} - \bar\theta_{(\cdot)})^2}

over the m tiles with data. For an aligned pair the follow-up's grid is the baseline grid
carried through the registration, so tile i shows the same skin in both photos and the
jackknife of the paired difference :math:`\theta^{after}_{(i)} - \theta^{before}_{(i)}`
gives the (tighter) SE of the change; unpaired photos combine
:math:`\sqrt{SE_b^2 + SE_a^2}`.

**Capture floor.** The change nuisances alone produce (exposure, white balance, shift,
small rotation, JPEG, sensor noise): the 95th percentile of :math:`|\Delta|` over
nuisance-only phantom retakes (``scripts/make_floors.py``), shipped in
``texturecmp/data/floors.json``, as an absolute value or a fraction of the baseline
value (catalogue ``floor``).

**Test-retest.** With a second baseline photo taken minutes apart, the SD of the
test-retest difference of each metric is estimated as :math:`\sqrt{d^2 + SE_d^2}` (the
observed difference d, kept from falling to 0 by its own tile SE), SEM = SD/√2 and
:math:`MDC_{95} = 1.96\sqrt2\,SEM` (Weir 2005; Haley & Fragala-Pinkham 2006) replaces the
capture floor.

**Verdict.** ``detectable = |Δ| > max(z·SE, floor or MDC95)``; the larger term is the
rule that decided. A detectable change is "improved" or "worsened" by the metric's
better direction ("lower", "higher", "toward 0", "toward 1": by the distance to the
target), "changed" for a metric without one; otherwise "no detectable change".
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from typing import Callable

import numpy as np

__all__ = ["jackknife", "jackknife_se", "load_floors", "floor_for", "verdict"]


def jackknife_se(replicates: np.ndarray) -> float:
    """Jackknife SE from leave-one-out replicates (NaNs ignored); NaN with fewer than 2."""
    r = np.asarray(replicates, dtype=np.float64)
    r = r[np.isfinite(r)]
    m = r.size
    if m < 2:
        return float("nan")
    return float(math.sqrt((m - 1) / m * np.sum((r - r.mean()) ** 2)))


def jackknife(stats: dict[str, np.ndarray], valid: np.ndarray, finish: Callable[[dict, float | None], dict],
              pixel_size_mm: float | None) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Values and leave-one-tile-out replicates of a family's metrics.

    Parameters
    ----------
    stats : dict of (n_tiles, ...) arrays of additive tile statistics.
    valid : bool (n_tiles,), tiles that hold data.
    finish : the family's finish(summed_stats, pixel_size_mm).

    Returns
    -------
    values : name -> value (all tiles)
    replicates : name -> (n_tiles,) leave-one-out values (NaN for tiles without data)
    """
    idx = np.nonzero(valid)[0]
    allv = {}
    for k, v in stats.items():
        v = np.asarray(v, dtype=np.float64)
        tot = v.sum(axis=0)
        allv[k] = np.concatenate([tot[None], tot[None] - v[idx]], axis=0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        res = finish(allv, pixel_size_mm)
    n_tiles = len(valid)
    values, reps = {}, {}
    for name, arr in res.items():
        arr = np.asarray(arr, dtype=np.float64)
        values[name] = float(arr[0])
        r = np.full(n_tiles, np.nan)
        r[idx] = arr[1:]
        reps[name] = r
    return values, reps


@lru_cache(maxsize=1)
def load_floors() -> dict[str, dict]:
    """The shipped capture floors: name -> {"kind": "abs"|"rel", "value": float, ...}."""
    try:
        text = resources.files("texturecmp").joinpath("data/floors.json").read_text()
    except FileNotFoundError:  # pragma: no cover - the package ships it
        return {}
    return json.loads(text)["floors"]


def floor_for(name: str, before: float, *, multiplier: float = 1.0, pixel_size_mm: float | None = None) -> float:
    """Capture floor of a change of metric ``name`` from ``before``, in the metric's unit (0 if none is shipped).

    Absolute floors were measured on phantoms without a pixel size; with one they are
    converted to mm units (:meth:`MetricInfo.mm_factor`).
    """
    from texturecmp.catalogue import METRICS

    f = load_floors().get(name)
    if not f:
        return 0.0
    v = float(f["value"]) * multiplier
    if f["kind"] == "rel":
        return v * abs(before) if math.isfinite(before) else float("nan")
    return v * METRICS[name].mm_factor(pixel_size_mm) if name in METRICS else v


def verdict(better: str, before: float, after: float, detectable: bool) -> str:
    """'improved', 'worsened', 'changed' or 'no detectable change'."""
    if not detectable:
        return "no detectable change"
    if better == "lower":
        return "improved" if after < before else "worsened"
    if better == "higher":
        return "improved" if after > before else "worsened"
    if better in ("toward 0", "toward 1"):
        target = 0.0 if better == "toward 0" else 1.0
        return "improved" if abs(after - target) < abs(before - target) else "worsened"
    return "changed"
