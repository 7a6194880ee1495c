r"""When is a change real: tile standard errors, the calibrated capture error, verdicts.

**Within-photo uncertainty.** Each metric is a smooth function of statistics summed over
the tiles of a grid laid over its region. The delete-one-tile jackknife gives its
standard error (Efron & Tibshirani 1993):

.. math:: SE = \sqrt{\frac{m-1}{m}\sum_i (\theta_{(i)} - \bar\theta_{(\cdot)})^2}

over the m tiles with data, with m - 1 degrees of freedom. For an aligned pair the
follow-up's grid is the baseline grid carried through the registration, so tile i shows
the same skin in both photos and the jackknife of the paired difference
:math:`\theta^{after}_{(i)} - \theta^{before}_{(i)}` gives the SE of the change; unpaired
photos combine :math:`\sqrt{SE_b^2 + SE_a^2}`.

**Capture error.** The tile SE sees the spatial spread inside one capture, not what a
second capture of the same skin would change: exposure and white balance, shift and
rotation, JPEG (which rounds each 8x8 block's mean chroma, so a flat region's mean colour
moves as a whole), sensor noise. That variance is calibrated per metric on a corpus of
nuisance-only retakes (``scripts/calibrate_capture.py``, shipped in
``texturecmp/data/capture.json``) as a standard deviation :math:`\sigma_c`, absolute (in
the metric's unit) or relative to the baseline value with an absolute part
(:math:`\sqrt{a^2 + (c\,b)^2}`, catalogue ``floor``), plus a JPEG part that grows with
the photos' DC quantization steps :math:`q_b, q_a` (in code levels, read from the files;
0 for uncompressed photos):

.. math:: \sigma_c^2 = a^2 + (c\,b)^2 + (\kappa^2 b^2 + \lambda^2) (q_b^2 + q_a^2)

(for an absolute metric :math:`c = \lambda = 0` and the last term is :math:`\kappa^2 (q_b^2 + q_a^2)`,
:math:`\kappa` in the metric's unit), plus a camera-distance part that grows with the
registration scale :math:`s` of the follow-up against the baseline:

.. math:: \sigma_c^2 \mathrel{+}= (\mu\,b\,\ln s)^2 \quad (\text{absolute: } (\mu \ln s)^2)

A photo taken from farther away resolves less of the skin, and one taken closer resolves
detail the baseline's pixels merge; measuring it at the baseline's physical scale
(``texturecmp.metrics.pixel_length``) removes the change of filter scales, tiles, lengths
and areas, but not what the pixels themselves resolve, and metrics that count pixels past
a threshold (ridges, pores) or compare grey levels a whole pixel apart (GLCM) carry the
rest. :math:`\mu` is calibrated on retakes taken 0.86-1.16 times as far, and is 0 for a
metric the distance does not move. On skin whose colour is nearly flat, every block
rounds the same way and the rounding does not average out over the region, so a JPEG of
quality 75 (step 1.1 levels) leaves a region's mean colour less certain than one of
quality 95 (step 0.25) or a PNG. The parameters are the ones that flag at most alpha
(2 %) of the uncompressed calibration retakes and of the JPEG retakes of every
calibration generator, with the smallest thresholds overall.

**Decision.** The change's uncertainty is :math:`u = \sqrt{SE^2 + \sigma_c^2}`, with the
Welch-Satterthwaite degrees of freedom

.. math:: \nu = u^4 / (SE^4/\nu_{SE} + \sigma_c^4/\nu_c)

(:math:`\nu_c = \infty` for the calibrated model), so that a region of few tiles gets a
wider threshold rather than a refusal. The change is detectable when
:math:`|\Delta| > t_\nu \cdot u` with :math:`t_\nu` the quantile of Student's t at the
confidence of ``Settings.z`` (:math:`\Phi(1.96)` = 0.975 two-sided); its p-value is
:math:`2\,(1 - F_{t,\nu}(|\Delta|/u))`.

**Test-retest.** A second baseline photo taken minutes apart gives one retake difference
:math:`d` with its tile SE :math:`SE_d`. One pair is too little to set a threshold alone
(the ratio of two retake errors is Cauchy-like), so it is pooled with the calibrated model
as a prior worth :math:`\nu_0` retakes (``Settings.capture_prior_df``):

.. math:: \hat\sigma_c^2 = \frac{\nu_0\,\sigma_c^2 + \max(d^2 - SE_d^2, 0)}{\nu_0 + 1},\qquad \nu_c = \nu_0 + 1.

**Verdict.** A detectable change is "improved" or "worsened" by the metric's better
direction ("lower", "higher", "toward 0", "toward 1": by the distance to the target),
"changed" for a metric without one; otherwise "no detectable change".

**Headline.** A summary reads several metrics at once; the chance that at least one of
them is falsely flagged is controlled with Holm's step-down rule (Holm 1979) at level
alpha over the headline metrics (:data:`texturecmp.catalogue.HEADLINE`): sort their
p-values :math:`p_{(1)} \le \dots \le p_{(k)}` and call a change while
:math:`p_{(j)} < \alpha / (k - j + 1)`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
from scipy import stats as _stats

from texturecmp.errors import BadSettingsError

__all__ = ["jackknife", "jackknife_se", "CaptureError", "load_capture_model", "capture_error", "pool_repeat",
           "Decision", "decide", "direction", "holm", "t_quantile"]


def jackknife_se(replicates: np.ndarray) -> float:
    """Jackknife SE from leave-one-out replicates (NaNs ignored); NaN with fewer than 2;
    inf when a replicate is +inf (the value rests on one tile, see :func:`jackknife`)."""
    r = np.asarray(replicates, dtype=np.float64)
    if np.isposinf(r).any():
        return math.inf
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
    replicates : name -> (n_tiles,) leave-one-out values (NaN for tiles without data; +inf
        for a tile without which the metric is undefined, e.g. the one tile holding every
        pore: the value then rests on that tile and has no standard error, where dropping
        the undefined replicate would leave identical ones and an SE of 0)
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
        if math.isfinite(values[name]):
            r[idx[~np.isfinite(arr[1:])]] = np.inf
        reps[name] = r
    return values, reps


# ----------------------------------------------------------------------------- capture error

@dataclass(frozen=True)
class CaptureError:
    r"""The calibrated capture error of one metric's change.

    Attributes
    ----------
    kind : "abs" or "rel"
        ``sd`` is in the metric's unit (pixel units for lengths and areas), or a fraction of
        the baseline value.
    sd : float
        Standard deviation of the change that capture alone produces (on top of the tile SE).
    sd_abs : float
        For a relative metric, its absolute part a: the SD is sqrt(a^2 + (sd * |before|)^2),
        so a baseline value near 0 keeps an uncertainty.
    quantile : float
        For pair metrics (no SE, no sign), the (1 - alpha) quantile of the pair value over
        the calibration retakes: the threshold itself. NaN for photo metrics.
    n : int
        Calibration retakes it was fitted on.
    sd_jpeg : float
        The part JPEG adds, per code level of the photos' DC quantization step
        (:attr:`texturecmp.io.Image.jpeg_dc_step`): :math:`\kappa` in
        :math:`\kappa^2 (q_b^2 + q_a^2)`, in the metric's unit, or for a relative metric
        as a fraction of the baseline value.
    sd_jpeg_abs : float
        For a relative metric, the absolute part of the JPEG term, :math:`\lambda` in
        :math:`(\kappa^2 b^2 + \lambda^2)(q_b^2 + q_a^2)`, in the metric's unit: the floor
        that JPEG alone needs, so that it does not widen the threshold of lossless photos.
    sd_scale : float
        The camera-distance part :math:`\mu`: :math:`(\mu \ln s)^2` times the baseline value
        squared (relative metric) or the unit squared (absolute) is added to the variance,
        where :math:`s` is the follow-up's registration scale against the baseline.
    """

    kind: str
    sd: float
    quantile: float = float("nan")
    n: int = 0
    sd_abs: float = 0.0
    sd_jpeg: float = 0.0
    sd_jpeg_abs: float = 0.0
    sd_scale: float = 0.0


@lru_cache(maxsize=1)
def load_capture_model() -> Mapping[str, CaptureError]:
    """The shipped capture-error model (``texturecmp/data/capture.json``): name -> :class:`CaptureError`.

    Every catalogue metric that can get a verdict has an entry (a test checks it): a
    missing entry raises instead of silently counting as no capture error.
    """
    text = resources.files("texturecmp").joinpath("data/capture.json").read_text()
    raw = json.loads(text)["metrics"]
    return MappingProxyType({k: CaptureError(v["kind"], float(v["sd"]), float(v.get("quantile", math.nan)), int(v["n"]),
                                          float(v.get("sd_abs", 0.0)), float(v.get("sd_jpeg", 0.0)),
                                          float(v.get("sd_jpeg_abs", 0.0)), float(v.get("sd_scale", 0.0)))
                             for k, v in raw.items()})


def capture_error(name: str, before: float, *, multiplier: float = 1.0, pixel_size_mm: float | None = None,
                  jpeg_steps: tuple[float | None, float | None] = (None, None), scale: float = 1.0) -> float:
    r"""Capture SD of a change of metric ``name`` from ``before``, in the metric's unit.

    Absolute values were calibrated without a pixel size; with one they are converted to
    mm units (:meth:`MetricInfo.mm_factor`). A relative metric's SD is
    sqrt(sd_abs^2 + (sd |before|)^2) (NaN when ``before`` is not finite), an absolute one
    ``sd``. ``jpeg_steps`` are the two photos' DC quantization steps
    (:attr:`texturecmp.io.Image.jpeg_dc_step`; None for an uncompressed photo): they add
    :math:`\kappa^2 (q_b^2 + q_a^2)` to the variance (for a relative metric
    :math:`(\kappa^2 before^2 + \lambda^2)(q_b^2 + q_a^2)`). ``scale`` is the follow-up's
    registration scale against the baseline (1: the same distance): it adds
    :math:`(\mu\,before \ln s)^2` (absolute: :math:`(\mu \ln s)^2`). Raises KeyError for a
    metric without a calibration.
    """
    from texturecmp.catalogue import METRICS

    ce = load_capture_model()[name]
    m = float(multiplier)
    f = METRICS[name].mm_factor(pixel_size_mm)
    q2 = sum(float(q) ** 2 for q in jpeg_steps if q is not None)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise BadSettingsError(f"scale must be a positive finite registration scale, got {scale!r}")
    far = ce.sd_scale * math.log(scale)
    if ce.kind == "rel":
        if not math.isfinite(before):
            return float("nan")
        return m * math.sqrt((ce.sd_abs * f) ** 2 + (ce.sd * before) ** 2 + (far * before) ** 2
                             + ((ce.sd_jpeg * before) ** 2 + (ce.sd_jpeg_abs * f) ** 2) * q2)
    return m * math.sqrt((ce.sd * f) ** 2 + (far * f) ** 2 + (ce.sd_jpeg * f) ** 2 * q2)


def pool_repeat(sd: float, d: float, se_d: float, *, prior_df: float) -> tuple[float, float]:
    r"""Pool the calibrated capture SD with one test-retest difference ``d`` (tile SE ``se_d``).

    Returns ``(sd, df)``: :math:`\sqrt{(\nu_0 \sigma^2 + \max(d^2 - SE_d^2, 0)) / (\nu_0 + 1)}`
    and :math:`\nu_0 + 1`. A non-finite ``d`` leaves the prior as it is (infinite df).
    """
    if not math.isfinite(d) or not math.isfinite(sd):
        return sd, math.inf
    excess = max(d * d - (se_d * se_d if math.isfinite(se_d) else 0.0), 0.0)
    return math.sqrt((prior_df * sd * sd + excess) / (prior_df + 1.0)), prior_df + 1.0


@dataclass(frozen=True)
class Decision:
    """How one change was judged (see the module docstring).

    ``uncertainty`` u = sqrt(SE^2 + capture SD^2); ``df`` its degrees of freedom;
    ``threshold`` t_df * u; ``p_value`` two-sided; ``rule`` the rule in words with its
    figures; ``rule_kind`` one of "standard_error", "capture_model", "test_retest_pooled",
    "quality_setting", "pair_quantile".
    """

    uncertainty: float
    df: float
    threshold: float
    p_value: float
    detectable: bool
    verdict: str
    rule: str
    rule_kind: str


def direction(better: str, before: float, after: float) -> str:
    """'improved', 'worsened' or 'changed' for a change from ``before`` to ``after``."""
    if better == "lower":
        return "improved" if after < before else "worsened"
    if better == "higher":
        return "improved" if after > before else "worsened"
    if better in ("toward 0", "toward 1"):
        target = 0.0 if better == "toward 0" else 1.0
        return "improved" if abs(after - target) < abs(before - target) else "worsened"
    return "changed"


def t_quantile(z: float, df: float) -> float:
    """The Student t quantile with ``df`` degrees of freedom at the confidence of the normal
    quantile ``z`` (``z`` itself for infinite df)."""
    conf = float(_stats.norm.cdf(z))
    return float(_stats.t.ppf(conf, df)) if math.isfinite(df) else float(z)


def decide(delta: float, before: float, after: float, *, better: str, se: float, se_df: float, capture_sd: float,
           capture_df: float = math.inf, z: float = 1.96, capture_rule: str = "capture_model") -> Decision:
    """Judge a change: uncertainty, threshold, p-value and verdict (see the module docstring).

    Parameters
    ----------
    delta, before, after : float
        The change and the values it joins.
    better : str
        The metric's better direction.
    se, se_df : float
        Tile SE of the change and its degrees of freedom (m - 1); NaN SE counts as 0.
    capture_sd, capture_df : float
        Capture SD and its degrees of freedom (inf for the calibrated model).
    z : float
        Normal quantile of the confidence (1.96: 95 % two-sided).
    capture_rule : str
        ``rule_kind`` to report when the capture term dominates.
    """
    se2 = se * se if math.isfinite(se) else 0.0
    cs2 = capture_sd * capture_sd if math.isfinite(capture_sd) else 0.0
    u2 = se2 + cs2
    u = math.sqrt(u2)
    terms = (se2 * se2 / se_df if se2 > 0 and se_df > 0 else 0.0) + \
            (cs2 * cs2 / capture_df if cs2 > 0 and math.isfinite(capture_df) else 0.0)
    df = u2 * u2 / terms if terms > 0 else math.inf
    q = t_quantile(z, df)
    thr = q * u
    if u > 0:
        stat = abs(delta) / u
        p = float(2.0 * (_stats.t.sf(stat, df) if math.isfinite(df) else _stats.norm.sf(stat)))
    else:
        p = 0.0 if delta != 0 else 1.0
    det = abs(delta) > thr
    kind = "standard_error" if se2 >= cs2 else capture_rule
    df_txt = f", {df:.0f} df" if df < 1000 else ""  # above 1000 df, t is within 0.2 % of z (z <= 2.5)
    rule = f"|Δ| vs {q:.3g}·√(SE² + capture SD²) = {thr:.4g} (SE {math.sqrt(se2):.3g}, capture SD {math.sqrt(cs2):.3g}{df_txt})"
    return Decision(u, df, thr, p, det, direction(better, before, after) if det else "no detectable change", rule, kind)


def holm(p_values: Mapping[str, float], alpha: float) -> dict[str, bool]:
    """Holm's step-down rule (Holm 1979): which hypotheses are rejected at family-wise level ``alpha``.

    NaN p-values are never rejected and do not count in the family.
    """
    finite = sorted(((p, k) for k, p in p_values.items() if math.isfinite(p)))
    m = len(finite)
    out = {k: False for k in p_values}
    for j, (p, k) in enumerate(finite):
        if p < alpha / (m - j):
            out[k] = True
        else:
            break
    return out
