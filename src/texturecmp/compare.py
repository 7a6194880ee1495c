"""Compare photos of one skin area: registration, photometric normalisation, changes, verdicts, maps.

Method (docs/method.md section 4): the follow-up is registered to the baseline (a similarity
transform); the baseline's regions and tile grid are carried into the follow-up through
it, and each photo is measured **in its own pixel grid** (resampling would blur texture),
at the baseline's physical scale: a follow-up's pixel size is the baseline's divided by
the registration scale (method.md, "Camera distance"); a metric whose finest scale a
photo cannot resolve is "not comparable" there.
Exposure and white balance of the follow-up are matched to the baseline with one gain
per channel in linear light, estimated on the reference skin (or on the roi outside the
lesion): never histogram equalisation. The gains are never estimated on the region they
then judge: with a colour chart in both photos (``calibration``) each photo is measured in
true colour and no gains are estimated; with a ``colour_reference`` (untreated skin, left
out of the roi) the gains come from it; with ``Settings.fixed_light`` none are applied.
Without any of these colour truths the whole-region colour metrics
(:data:`COLOUR_TRUTH_METRICS`) are "not comparable: no colour reference" (the gains
match the skin's colour to the baseline's, so its change cannot be seen); scar colour is
lesion against surround and stays valid. Each metric's change gets an uncertainty and a
verdict (:mod:`texturecmp.uncertainty`). Pixel maps (ΔE00 between the aligned photos,
local texture change, lesion visibility) are computed on images downsampled to
``map_max_side`` with the follow-up warped (Lanczos) into the baseline grid.

:class:`Baseline` is this engine as an object: a baseline measured once and compared with
any number of follow-ups (the batch scores every subject with it); :func:`compare`,
:func:`compare_series` and :func:`prepare_series` run the same steps, scheduled for one
series (photos decoded side by side, the baseline measured while the follow-ups register).
"""

from __future__ import annotations

import math
import traceback
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

import cv2
import numpy as np

from texturecmp._parallel import pool_map
from texturecmp._runtime import opencv_serial
from texturecmp._filters import Y_WEIGHTS, lightness, linearize
from texturecmp._version import __version__
from texturecmp.align import Alignment, convex_hull_mask, identity_alignment, register, warp_mask
from texturecmp.catalogue import HEADLINE, METRICS
from texturecmp.color import delta_e00, erythema_index, ita_deg, linear_to_srgb, melanin_index, rgb_to_lab
from texturecmp.errors import AlignmentError, BadMaskError, BadSettingsError, MismatchedImagesError
from texturecmp.io import Image, load_image
from texturecmp.metrics import FAMILY_REGISTRY, MIN_RESOLVED_PX, pixel_length
from texturecmp.measure import ONE_TILE_NOTE, Measurement, _check_pixel_size, _f, make_grids, measure_photo
from texturecmp.measure import photo_calibration
from texturecmp.regions import (MIN_LESION_PIXELS, MIN_REFERENCE_PIXELS, MIN_ROI_PIXELS, Regions, resolve_region,
                                resolve_regions)
from texturecmp.settings import Settings, coerce_settings
from texturecmp.uncertainty import (capture_error, decide, holm, jackknife_se, load_capture_model, pool_repeat,
                                    t_quantile)

T = TypeVar("T")

__all__ = ["Change", "Headline", "Photometric", "Comparison", "Series", "PreparedSeries", "Baseline", "FollowUp",
           "compare", "compare_series", "prepare_series", "headline", "QUALITY_LIMITS", "COLOUR_TRUTH_METRICS",
           "COLOUR_TRUTHS"]


@dataclass(frozen=True)
class Change:
    """The change of one metric from the baseline (before) to the follow-up (after).

    ``percent`` is NaN (with a note) when ``before`` is 0 or NaN. ``uncertainty`` is the
    standard uncertainty of ``delta``: the tile SE combined with the calibrated capture
    error, sqrt(SE^2 + capture SD^2) (:mod:`texturecmp.uncertainty`); ``threshold`` =
    t * uncertainty; ``detectable`` = |delta| > threshold; ``p_value`` is two-sided;
    ``se`` is the tile SE alone (jackknife of the paired tiles);
    ``rule`` says in words how it was decided and ``rule_kind`` names the term that
    dominated ("standard_error", "capture_model", "test_retest_pooled",
    "quality_setting", "pair_quantile", "value_missing", "not_comparable").

    ``verdict`` is "improved", "worsened", "changed" (a metric without a better
    direction), "no detectable change", "not computable" (a value is missing) or
    "not comparable" (the photos cannot be compared; ``rule`` gives the reason).
    """

    metric: str
    unit: str
    better: str
    before: float
    after: float
    delta: float
    percent: float
    uncertainty: float
    threshold: float
    detectable: bool
    verdict: str
    rule: str
    note: str = ""
    p_value: float = math.nan
    rule_kind: str = ""
    se: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "unit": self.unit, "better": self.better, "before": _f(self.before),
                "after": _f(self.after), "delta": _f(self.delta), "percent": _f(self.percent),
                "uncertainty": _f(self.uncertainty), "threshold": _f(self.threshold), "detectable": bool(self.detectable),
                "se": _f(self.se), "p_value": _f(self.p_value), "verdict": self.verdict, "rule": self.rule,
                "rule_kind": self.rule_kind, "note": self.note}


@dataclass(frozen=True)
class Headline:
    """One headline metric of a comparison, judged with the others under Holm's rule.

    ``verdict`` is the family-wise verdict: "improved" / "worsened" only when the change
    survives Holm's step-down rule over all headline metrics present, at the level
    alpha = 2 (1 - Phi(z)) of ``Settings.z``; else "no detectable change" (or the
    change's own "not computable" / "not comparable"). ``change`` keeps the per-metric
    judgement.
    """

    metric: str
    change: Change
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "verdict": self.verdict, "p_value": _f(self.change.p_value)}


@dataclass(frozen=True)
class Photometric:
    """The exposure / white-balance correction applied to the follow-up.

    ``gains`` multiply the follow-up's linear-light R, G, B; ``exposure_ratio`` is the
    follow-up's luminance over the baseline's on the matching region before correction;
    ``exposure_shift_L`` the same as a difference of L*.
    """

    gains: tuple[float, float, float]
    exposure_ratio: float
    exposure_shift_L: float
    region: str

    def to_dict(self) -> dict[str, Any]:
        return {"gains": [float(g) for g in self.gains], "exposure_ratio": _f(self.exposure_ratio),
                "exposure_shift_L": _f(self.exposure_shift_L), "region": self.region}


@dataclass(frozen=True, eq=False)
class Comparison:
    """Result of :func:`compare`: both measurements, alignment, correction, changes, warnings, maps.

    ``colour_truth`` names what the pair's colour is judged against: ``"chart"`` (both
    photos calibrated by a colour chart), ``"grey card"`` (both corrected by a chart or a
    grey card, at least one a grey card: exposure and white balance only), ``"colour
    reference"`` (gains from the marked untreated skin), ``"fixed light"``
    (``Settings.fixed_light``: no gains) or ``"none"`` (the whole-region colour metrics
    are then "not comparable": no colour reference).
    """

    before: Measurement
    after: Measurement
    alignment: Alignment
    photometric: Photometric
    changes: Mapping[str, Change]
    warnings: tuple[str, ...]
    maps: Mapping[str, np.ndarray]
    settings: Settings
    pixel_size_mm: float | None
    labels: tuple[str, str] = ("baseline", "follow-up")
    test_retest: Mapping[str, float] | None = None
    version: str = __version__
    not_comparable_reason: str = ""
    colour_truth: str = "none"

    @property
    def comparable(self) -> bool:
        """False when the photos cannot be compared (``not_comparable_reason`` says why):
        every change then has the verdict "not comparable"."""
        return not self.not_comparable_reason

    def test_retest_mdc95(self) -> dict[str, float] | None:
        """With a baseline repeat: each metric's MDC95, the threshold of a change without tile
        SE under the pooled capture SD (t with ``capture_prior_df`` + 1 df times the SD)."""
        if self.test_retest is None:
            return None
        q = float(t_quantile(self.settings.z, self.settings.capture_prior_df + 1.0))
        return {k: _f(q * v) for k, v in self.test_retest.items()}

    @property
    def headline(self) -> tuple[Headline, ...]:
        """The headline metrics' family-wise verdicts (:func:`headline`)."""
        return headline(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: changes, alignment, correction, warnings and provenance (maps are not included)."""
        return {
            "kind": "comparison",
            "labels": list(self.labels),
            "comparable": self.comparable,
            "not_comparable_reason": self.not_comparable_reason,
            "headline": [h.to_dict() for h in self.headline],
            "changes": {k: c.to_dict() for k, c in self.changes.items()},
            "alignment": self.alignment.to_dict(),
            "photometric": self.photometric.to_dict(),
            "colour_truth": self.colour_truth,
            "warnings": list(self.warnings),
            "test_retest_capture_sd": None if self.test_retest is None else {k: _f(v) for k, v in self.test_retest.items()},
            "test_retest_mdc95": self.test_retest_mdc95(),
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "provenance": {
                "texturecmp_version": self.version,
                "images": [dict(self.before.image), dict(self.after.image)],
                "pixel_size_mm": self.pixel_size_mm,
                "settings": self.settings.to_dict(),
                "settings_sha256": self.settings.hash,
            },
        }

    def to_record(self, *, subject: str, session: str, date: Any = None, baseline_session: str = "baseline",
                  baseline_date: Any = None) -> dict[str, Any]:
        """A schema-valid record of this comparison (:func:`texturecmp.records.comparison_record`)."""
        from texturecmp.records import comparison_record

        return comparison_record(self, subject=subject, session=session, date=date,
                                 baseline_session=baseline_session, baseline_date=baseline_date)

    def to_frame(self):
        """Tidy pandas DataFrame, one row per metric."""
        import pandas as pd

        rows = [{"baseline": self.labels[0], "session": self.labels[1], **c.to_dict()} for c in self.changes.values()]
        return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class Series:
    """Result of :func:`compare_series`: each follow-up against the baseline and the previous session."""

    labels: tuple[str, ...]
    measurements: tuple[Measurement, ...]
    vs_baseline: tuple[Comparison, ...]
    vs_previous: tuple[Comparison, ...]

    def to_frame(self):
        """Tidy DataFrame: one row per session x metric (baseline included, with empty changes)."""
        import pandas as pd

        rows = []
        prev_by_label = {c.labels[1]: c for c in self.vs_previous}
        for i, (label, m) in enumerate(zip(self.labels, self.measurements)):
            cb = self.vs_baseline[i - 1] if i > 0 else None
            cp = prev_by_label.get(label) if i > 0 else None
            for name, mv in m.metrics.items():
                row = {"session": label, "index": i, "metric": name, "family": METRICS[name].family,
                       "value": mv.value, "unit": mv.unit, "uncertainty": mv.uncertainty}
                for prefix, c in (("baseline", cb), ("previous", cp)):
                    ch = c.changes.get(name) if c is not None else None
                    row[f"delta_vs_{prefix}"] = ch.delta if ch else math.nan
                    row[f"percent_vs_{prefix}"] = ch.percent if ch else math.nan
                    row[f"uncertainty_vs_{prefix}"] = ch.uncertainty if ch else math.nan
                    row[f"verdict_vs_{prefix}"] = ch.verdict if ch else ""
                rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "series", "labels": list(self.labels),
                "measurements": [m.to_dict() for m in self.measurements],
                "vs_baseline": [c.to_dict() for c in self.vs_baseline],
                "vs_previous": [c.to_dict() for c in self.vs_previous]}


# ----------------------------------------------------------------------------------- engine

@dataclass
class _Photo:
    """A loaded photo and what has been derived from it (private)."""

    img: Image
    label: str
    regions: Regions | None = None
    alignment: Alignment | None = None  # baseline -> this photo
    photometric: Photometric | None = None
    measurement: Measurement | None = None
    warnings: list[str] = field(default_factory=list)
    calibration: Any = None  # texturecmp.chart.Calibration or None
    chart: np.ndarray | None = None  # the chart's or grey card's mask (never skin)
    truth: str = "none"  # the colour truth of this photo's gains against the baseline
    turns: int = 0  # quarter turns (np.rot90) applied to the file's pixels to match the baseline

    @property
    def file_alignment(self) -> Alignment | None:
        """The baseline -> this photo alignment in the file's pixels (before any quarter turn)."""
        return None if self.alignment is None else _unturned_alignment(self.alignment, self.turns)

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None and self.calibration.applicable


def _gray(img: Image) -> np.ndarray:
    """Gray of the stored pixels (uint8 for 8-bit photos): registration works at any linear scale."""
    return cv2.cvtColor(img.pixels(), cv2.COLOR_RGB2GRAY)


def _linear_means(rgb: np.ndarray, mask: np.ndarray, bit_depth: int, max_samples: int = 1_000_000,
                  calibration: Any = None) -> np.ndarray:
    """Mean linear-light R, G, B over mask, from a regular subsample of actual pixels (corrected by
    ``calibration`` first, when given: the colour the measurement sees)."""
    h, w = mask.shape
    k = max(1, int(math.sqrt(h * w / max_samples)))
    sub = rgb[::k, ::k][mask[::k, ::k]]
    if sub.shape[0] < 50:
        sub = rgb[mask]
    lin = linearize(sub.reshape(-1, 1, 3), bit_depth).reshape(-1, 3)
    if calibration is not None:
        from texturecmp.chart import apply_calibration  # noqa: PLC0415

        lin = apply_calibration(lin, calibration)
    return lin.mean(axis=0, dtype=np.float64)


def _luminance(lin: np.ndarray) -> float:
    return float(np.dot(Y_WEIGHTS, lin))


def _lstar(lin: np.ndarray) -> float:
    """L* of a mean linear RGB (the same formula as the per-pixel L* texture reads)."""
    return float(lightness(np.asarray(lin, np.float32).reshape(1, 1, 3))[0, 0])


class _Engine:
    """Holds the baseline and measures follow-ups against it (private)."""

    def __init__(self, baseline: Image, *, roi: Any, lesion: Any, reference: Any, align: bool,
                 pixel_size_mm: float | None, settings: Settings, label: str, calibration: Mapping[str, Any] | None = None,
                 colour_reference: Any = None, cal_cache: dict | None = None):
        self.s = settings
        self.p = pixel_size_mm
        self.align = align
        self.base = _Photo(baseline, label)
        self.cal_specs = dict(calibration or {})  # label -> the user's calibration of that photo
        self.cal_cache = cal_cache if cal_cache is not None else {}  # label -> (Calibration, mask)
        self.base.calibration, self.base.chart = self.calibrate(baseline, label)
        cref = resolve_region(colour_reference, baseline.shape, name="colour_reference")
        if cref is not None and self.base.chart is not None:
            cref = cref & ~self.base.chart
        if cref is not None and np.count_nonzero(cref) < MIN_REFERENCE_PIXELS:
            raise BadMaskError(f"colour_reference: fewer than {MIN_REFERENCE_PIXELS} of its pixels lie outside the "
                               "colour chart; mark more untreated skin")
        self.cref = cref
        exclude = self.base.chart if cref is None else (cref if self.base.chart is None else cref | self.base.chart)
        self.base.regions = resolve_regions(baseline.shape, roi, lesion, reference, settings, exclude=exclude)
        self.grid, self.scar_grid = make_grids(self.base.regions, settings, pixel_size_mm)
        self.base.alignment = identity_alignment(baseline.shape, baseline.shape)
        self.base.photometric = Photometric((1.0, 1.0, 1.0), 1.0, 0.0, "none")
        r = self.base.regions
        self.match_mask = r.reference if r.reference is not None else (r.roi & ~r.lesion if r.lesion is not None else r.roi)
        self.match_name = "reference skin" if r.reference is not None else ("roi outside the lesion" if r.lesion is not None else "roi")
        self.base_lin = _linear_means(baseline.pixels(), self.match_mask, baseline.bit_depth)
        self.base_lin_seen = _linear_means(baseline.pixels(), self.match_mask, baseline.bit_depth,
                                           calibration=self.base.calibration if self.base.calibrated else None)
        self.base_cref_lin = None if cref is None else _linear_means(
            baseline.pixels(), cref, baseline.bit_depth, calibration=self.base.calibration if self.base.calibrated else None)
        self._gray_base = None

    def calibrate(self, img: Image, label: str) -> tuple[Any, np.ndarray | None]:
        """The photo's calibration and chart mask (made once per label and kept in ``cal_cache``)."""
        if label not in self.cal_cache:
            self.cal_cache[label] = photo_calibration(img, self.cal_specs.get(label), self.s)
        return self.cal_cache[label]

    def measure_baseline(self, reuse: Measurement | None = None, keep_colour: bool = False) -> None:
        """Measure the baseline; ``reuse``: its measurement without a lesion (same roi), whose
        families are kept (with no lesion or reference given it is the measurement itself);
        ``keep_colour``: keep the colour grids for such a later measurement."""
        if self.base.measurement is not None:
            return
        r = self.base.regions
        if reuse is not None and r.lesion is None and r.reference is None:  # the same measurement, without the kept grids
            self.base.measurement = replace(reuse, detail=replace(reuse.detail, colour=None))
            return
        self.base.measurement = measure_photo(self.base.img, r, settings=self.s, pixel_size_mm=self.p, grid=self.grid,
                                              scar_grid=self.scar_grid, warn_label=f"photo '{self.base.label}'",
                                              reuse=reuse, keep_colour=keep_colour, calibration=self.base.calibration)

    def register(self, img: Image, label: str, *, gray: np.ndarray | None = None
                 ) -> tuple[Alignment, tuple[str, ...], int]:
        """The baseline -> ``img`` alignment (``gray``: its :func:`_gray`, when already made), its
        warnings and the quarter turns (``np.rot90``'s k, 0-3) the photo's pixels take first; it
        depends on the roi, not on the lesion.

        A follow-up found turned by about 90, 180 or 270 degrees (a portrait photo of a landscape
        baseline, or one upside down) is turned back losslessly and registered again: the tile
        grids are carried into a photo by shift and scale only, so they must not meet a quarter
        turn. The alignment is then to the turned pixels (:func:`_turned`)."""
        b = self.base.img
        if not self.align:
            if img.shape != b.shape:
                raise MismatchedImagesError(f"after: photo '{label}' is {img.width}x{img.height} but the baseline is "
                                            f"{b.width}x{b.height}; with align=False the photos must have the same size")
            return identity_alignment(b.shape, img.shape), (), 0
        if self._gray_base is None:
            self._gray_base = _gray(b)
        moving = _gray(img) if gray is None else gray
        al = self._register_gray(moving)
        turns, notes = _quarter_turns(al), ()
        if turns:
            moving = np.ascontiguousarray(np.rot90(moving, turns))
            al = self._register_gray(moving)
            deg = 180 if turns == 2 else 90
            how = "" if turns == 2 else (" counter-clockwise" if turns == 1 else " clockwise")
            why = ("it was upside down" if turns == 2 else
                   f"it is {_orientation(img.shape)} and the baseline {_orientation(b.shape)}"
                   if _orientation(img.shape) != _orientation(b.shape) else "it was turned on its side")
            notes = (f"photo '{label}' was turned by {deg} degrees{how} to match the baseline ({why}); "
                     "it is measured turned",)
        if al.ok:
            return al, notes, turns
        return _fallback_alignment(b.shape, moving.shape, al, label), notes + (
            f"photo '{label}' could not be aligned to the baseline ({al.message}); it is not comparable: its "
            "regions are only taken at the same relative positions and pixel maps are not available",), turns

    def _register_gray(self, moving: np.ndarray) -> Alignment:
        """Register a follow-up's gray to the baseline's on the roi (on its convex hull when that fails)."""
        s = self.s
        # on the skin that is measured (the roi), not the background: a door behind the face
        # moves by parallax when the camera distance changes
        roi = self.base.regions.roi
        al = register(self._gray_base, moving, fixed_mask=roi,
                      max_side=s.align_max_side, min_correlation=s.min_correlation, min_overlap=s.min_overlap)
        if not al.ok and not roi.all():
            # a roi of bare skin (cheeks, forehead) may hold too little structure: its convex
            # hull takes in the features between its parts, still on the subject
            hull = convex_hull_mask(roi)
            if np.count_nonzero(hull) > np.count_nonzero(roi):
                retry = register(self._gray_base, moving, fixed_mask=hull, max_side=s.align_max_side,
                                 min_correlation=s.min_correlation, min_overlap=s.min_overlap)
                if retry.ok:
                    al = replace(retry, message=retry.message + "; on the convex hull of the region to measure")
        return al

    def prepare(self, img: Image, label: str, *, gray: np.ndarray | None = None,
                aligned: tuple[Alignment, tuple[str, ...], int] | None = None,
                calibrated: tuple[Any, np.ndarray | None] | None = None) -> _Photo:
        """Register a follow-up (or take ``aligned``, a :meth:`register` result), carry the regions
        into it and estimate the photometric gains; ``calibrated``: the photo's calibration and
        chart mask (:func:`texturecmp.measure.photo_calibration`), else :meth:`calibrate` by label."""
        s = self.s
        al, notes, turns = aligned if aligned is not None else self.register(img, label, gray=gray)
        # found in the file's pixels
        calibration, chart = calibrated if calibrated is not None else self.calibrate(img, label)
        img = _turned(img, turns)
        ph = _Photo(img, label, turns=turns)
        ph.calibration = calibration
        ph.chart = None if chart is None else (np.ascontiguousarray(np.rot90(chart, turns)) if turns else chart)
        ph.warnings.extend(notes)
        ph.alignment = al
        r = self.base.regions
        m = al.matrix_array if al.method != "identity" else None
        roi = warp_mask(r.roi, al, img.shape) if m is not None else r.roi
        cref = None
        if self.cref is not None:
            cref = warp_mask(self.cref, al, img.shape) if m is not None else self.cref
        if ph.chart is not None:  # the follow-up's own chart or card is never skin
            roi = roi & ~ph.chart
            cref = cref & ~ph.chart if cref is not None else None
        if cref is not None:
            roi = roi & ~cref
        n_roi = int(np.count_nonzero(roi))
        if n_roi < MIN_ROI_PIXELS or n_roi < 0.2 * np.count_nonzero(r.roi) * al.scale**2:
            raise AlignmentError(f"after: only {n_roi} pixels of the region to measure fall inside photo '{label}'; "
                                 "the photos do not show the same area")
        lesion = reference = None
        if r.lesion is not None:
            lesion = warp_mask(r.lesion, al, img.shape) & roi if m is not None else r.lesion
            reference = warp_mask(r.reference, al, img.shape) & roi & ~lesion if m is not None else r.reference
            if np.count_nonzero(lesion) < MIN_LESION_PIXELS or np.count_nonzero(reference) < MIN_REFERENCE_PIXELS:
                raise AlignmentError(f"after: the lesion or its reference skin falls outside photo '{label}'")
        carried = {k: ({**v, "area_px": int(np.count_nonzero(mk)), "carried_from_baseline": True} if v else v)
                   for (k, v), mk in zip(r.info.items(), (roi, lesion, reference))}
        ph.regions = Regions(roi, lesion, reference, carried)
        match = reference if reference is not None else (roi & ~lesion if lesion is not None else roi)
        lin = _linear_means(img.pixels(), match, img.bit_depth)
        ratio = _luminance(lin) / max(_luminance(self.base_lin), 1e-9)  # the capture's exposure, before any correction
        shift_L = _lstar(lin) - _lstar(self.base_lin)
        cal_a = ph.calibration if ph.calibrated else None
        if self.base.calibrated and cal_a is not None:  # both in true colour: nothing to estimate on skin
            kinds = {self.base.calibration.kind, cal_a.kind}
            ph.truth = "chart" if kinds == {"chart"} else "grey card"
            gains, region = (1.0, 1.0, 1.0), "none (colour chart)" if ph.truth == "chart" else "none (grey card)"
            how = "corrected by the colour chart" if ph.truth == "chart" else "corrected by the grey card"
        elif cref is not None and np.count_nonzero(cref) >= MIN_REFERENCE_PIXELS:
            ph.truth, region = "colour reference", "colour reference skin"
            lin_ref = _linear_means(img.pixels(), cref, img.bit_depth, calibration=cal_a)
            gains = tuple(float(g) for g in self.base_cref_lin / np.maximum(lin_ref, 1e-6))
            how = "corrected with per-channel gains on the colour reference skin"
        elif s.fixed_light:
            ph.truth, gains, region = "fixed light", (1.0, 1.0, 1.0), "none (fixed light)"
            how = "not corrected (fixed light was stated)"
        else:
            lin_seen = lin if cal_a is None else _linear_means(img.pixels(), match, img.bit_depth, calibration=cal_a)
            gains = tuple(float(g) for g in self.base_lin_seen / np.maximum(lin_seen, 1e-6))
            region = self.match_name
            how = f"corrected with per-channel gains on the {self.match_name}"
        if self.cref is not None and ph.truth not in ("chart", "grey card", "colour reference"):
            ph.warnings.append(f"the colour reference skin falls outside photo '{label}'; its colour has no reference")
        if self.base.calibrated != (cal_a is not None):
            which = self.base.label if self.base.calibrated else label
            other = label if self.base.calibrated else self.base.label
            ph.warnings.append(f"only photo '{which}' is colour-calibrated, photo '{other}' is not; "
                               "their colours are not on one scale")
        ph.photometric = Photometric(gains, ratio, shift_L, region)
        if abs(shift_L) > s.exposure_shift_max:
            ph.warnings.append(f"exposure of photo '{label}' differs by {100 * (ratio - 1):+.0f} % from the baseline "
                               f"(ΔL* {shift_L:+.1f}); {how}")
        if al.ok and abs(al.scale - 1.0) > _SCALE_WARN:  # the skin is shown larger (closer) when the scale is > 1
            how = f"about {100 * (al.scale - 1):.0f} % closer" if al.scale > 1 else f"about {100 * (1 - al.scale):.0f} % farther"
            ph.warnings.append(f"photo '{label}' was taken {how} than the baseline; it is measured at the "
                               "baseline's scale, but its resolution and focus differ: keep the camera at the "
                               "baseline's distance")
        # the share of the region the follow-up shows (its pixels there are the baseline's x scale^2)
        shown = n_roi / max(np.count_nonzero(r.roi) * al.scale**2, 1.0)
        if al.ok and shown < _COVER_WARN:
            ph.warnings.append(f"photo '{label}' shows only {100 * min(shown, 1.0):.0f} % of the region to measure "
                               "(taken closer, or moved); the rest is measured in the baseline alone, so the photos "
                               "measure partly different skin: mark a region that both photos show")
        if ph.truth not in ("chart", "grey card") and max(gains) / min(gains) > 1.15:
            ph.warnings.append(f"white balance of photo '{label}' differs from the baseline (gains R {gains[0]:.2f}, "
                               f"G {gains[1]:.2f}, B {gains[2]:.2f}); corrected, but use one light and camera setting")
        return ph

    def measure(self, ph: _Photo) -> None:
        al = ph.alignment
        m = al.matrix_array
        grid = self.grid.mapped(m, al.scale)
        scar_grid = self.scar_grid.mapped(m, al.scale) if self.scar_grid is not None else None
        # measured at the baseline's physical scale: its pixel size is the baseline's / al.scale
        ph.measurement = measure_photo(ph.img, ph.regions, settings=self.s, pixel_size_mm=self.p, grid=grid,
                                       scar_grid=scar_grid, gains=ph.photometric.gains, warn_label=f"photo '{ph.label}'",
                                       scale=float(al.scale), calibration=ph.calibration)
        if ph.turns % 2:  # the provenance is the file's, as shown (it was measured turned: see the warnings)
            im = ph.measurement.image
            ph.measurement = replace(ph.measurement, image=MappingProxyType({**im, "width": im["height"],
                                                                             "height": im["width"]}))


# The tile grids follow a shift and a scale, not a rotation (TileGrid.mapped): a follow-up found
# turned by about 90, 180 or 270 degrees is turned back (losslessly), and a pair whose remaining
# rotation is larger than this is not comparable (its grid would pair tiles of other skin and
# leave part of the region outside; a 60-degree turn read 'improved').
MAX_ROTATION_DEG = 20.0


def _quarter_turns(al: Alignment) -> int:
    """np.rot90's k (1-3) that undoes a registered turn of about 90, 180 or 270 degrees (0: none)."""
    if not al.ok or not math.isfinite(al.rotation_deg):
        return 0
    q = round(al.rotation_deg / 90.0)
    if q % 4 == 0 or abs(al.rotation_deg - 90.0 * q) > MAX_ROTATION_DEG:
        return 0
    return int(-q % 4)  # rotation_deg is counter-clockwise as displayed, as is np.rot90 for k > 0


def _turned(img: Image, turns: int) -> Image:
    """``img`` turned by ``turns`` quarter turns counter-clockwise (lossless; same provenance)."""
    if not turns:
        return img
    px = np.ascontiguousarray(np.rot90(img.pixels(), turns))
    kw = dict(sha256=img.sha256, source=img.source, format=img.format, bit_depth=img.bit_depth,
              exif_orientation=img.exif_orientation, icc_profile=img.icc_profile, jpeg_dc_step=img.jpeg_dc_step)
    return Image(rgb8=px, **kw) if img.rgb8 is not None else Image(px, **kw)


def _turn_matrix(turns: int, shape: Sequence[int]) -> np.ndarray:
    """3x3 matrix from a photo's pixel (x, y) to its pixel in ``np.rot90(photo, turns)`` (shape: the photo's (H, W))."""
    h, w = shape[:2]
    k = turns % 4
    if k == 0:
        return np.eye(3)
    if k == 1:
        m = [[0, 1, 0], [-1, 0, w - 1]]
    elif k == 2:
        m = [[-1, 0, w - 1], [0, -1, h - 1]]
    else:
        m = [[0, -1, h - 1], [1, 0, 0]]
    return np.vstack([np.array(m, np.float64), [0, 0, 1.0]])


def _unturned_alignment(al: Alignment, turns: int) -> Alignment:
    """An alignment to a photo turned by ``turns`` (:func:`_turned`) made an alignment to the file's pixels."""
    if not turns or al.moving_shape is None:
        return al
    th, tw = al.moving_shape
    shape = (tw, th) if turns % 2 else (th, tw)  # the file's (H, W)
    to_file = np.linalg.inv(_turn_matrix(turns, shape))
    m = (to_file @ np.vstack([al.matrix_array, [0, 0, 1.0]]))[:2]
    fixed = al.fixed_shape if al.fixed_shape is not None else shape
    c = np.array([(fixed[1] - 1) / 2, (fixed[0] - 1) / 2, 1.0])
    d = m @ c - c[:2]
    deg = 180 if turns % 4 == 2 else 90
    return replace(al, matrix=tuple(map(tuple, m.tolist())), shift_px=(float(d[0]), float(d[1])),
                   rotation_deg=float(math.degrees(math.atan2(m[0, 1] - m[1, 0], m[0, 0] + m[1, 1]))),
                   message=f"turned by {deg} degrees, then {al.message}", moving_shape=tuple(shape))


def _orientation(shape: Sequence[int]) -> str:
    h, w = shape[:2]
    return "portrait" if h > w else ("landscape" if w > h else "square")


def _fallback_alignment(fixed_shape, moving_shape, failed: Alignment, label: str = "follow-up") -> Alignment:
    """After a failed registration: same relative positions (scale by the size ratio)."""
    sy = moving_shape[0] / fixed_shape[0]
    sx = moving_shape[1] / fixed_shape[1]
    if abs(sx - sy) > 0.02 * max(sx, sy):
        of, om = _orientation(fixed_shape), _orientation(moving_shape)
        why = (f"photo '{label}' is {om} ({moving_shape[1]}x{moving_shape[0]}) and the baseline {of} "
               f"({fixed_shape[1]}x{fixed_shape[0]}); rotate it to the baseline's orientation" if om != of else
               "their aspect ratios differ, so regions cannot be carried over")
        raise AlignmentError(f"after: the photos could not be aligned ({failed.message}); {why}")
    return Alignment(((sx, 0.0, 0.0), (0.0, sy, 0.0)), (0.0, 0.0), 0.0, float(sx), failed.correlation_before,
                     failed.correlation_before, 1.0, False, "failed", failed.message, tuple(fixed_shape), tuple(moving_shape))


def _paired_se(mb: Measurement, ma: Measurement, name: str, paired: bool) -> tuple[float, float]:
    """Tile SE of the change of ``name`` and its degrees of freedom (tiles with data - 1)."""
    rb = mb.detail.replicates.get(name)
    ra = ma.detail.replicates.get(name)
    if rb is None or ra is None:
        return math.nan, math.nan
    if np.isposinf(rb).any() or np.isposinf(ra).any():  # the value rests on one tile (uncertainty.jackknife)
        return math.inf, math.nan
    if paired and len(rb) == len(ra):
        ok = np.isfinite(rb) & np.isfinite(ra)
        if ok.sum() >= 4:
            return jackknife_se(ra[ok] - rb[ok]), float(ok.sum() - 1)
    se = math.sqrt(mb.metrics[name].uncertainty ** 2 + ma.metrics[name].uncertainty ** 2)
    return se, float(min(np.isfinite(rb).sum(), np.isfinite(ra).sum()) - 1)


def _lbp_chi2(mb: Measurement, ma: Measurement) -> float:
    hb, ha = mb.detail.lbp_hist, ma.detail.lbp_hist
    if hb is None or ha is None or hb.sum() == 0 or ha.sum() == 0:
        return math.nan
    p, q = hb / hb.sum(), ha / ha.sum()
    s = p + q
    return float(np.sum(np.where(s > 0, (p - q) ** 2 / np.where(s > 0, s, 1), 0.0)))


#: A follow-up whose registration scale differs from 1 by more than this gets a distance warning.
_SCALE_WARN = 0.05
#: A follow-up that shows less than this share of the region to measure gets a warning: a
#: photo 10 % closer shows 83 % of a whole-photo region, and the coarse texture band and
#: colour unevenness of skin2 then moved by +6 and +7 % (0 with a region both photos show).
_COVER_WARN = 0.97

#: Quality metrics judged by their warning limits (they measure the capture, not the skin).
QUALITY_LIMITS = {"quality.exposure_shift": "exposure_shift_max", "quality.clipped_fraction": "clipped_max",
                   "quality.specular_fraction": "specular_max"}


def _photo_scale(ph: _Photo) -> float:
    """The scale a photo was measured at against the baseline (1 for the baseline)."""
    return float(ph.measurement.detail.scale) if ph.measurement is not None else 1.0


def _unresolved(s: Settings, pixel_size_mm: float | None, photos: Sequence[tuple[str, float]]) -> dict[str, str]:
    """The metrics that a photo's resolution cannot carry, with the reason in words.

    ``photos``: (label, registration scale against the baseline) of the photos compared.
    Each family names the finest length its metrics read (:meth:`Family.finest_mm`); where
    that length spans fewer than :data:`texturecmp.metrics.MIN_RESOLVED_PX` of a photo's
    pixels (its pixel size is the baseline's / scale), the metric is "not comparable":
    measured there, it would read the pixel grid and the lens blur, not the skin.
    """
    out: dict[str, str] = {}
    for fam in FAMILY_REGISTRY.values():
        for name, need in fam.finest_mm(s).items():
            mm, min_px = need if isinstance(need, tuple) else (need, MIN_RESOLVED_PX)
            for label, sc in photos:
                n_px = pixel_length(mm, settings=s, pixel_size_mm=pixel_size_mm, scale=sc)
                if n_px < min_px - 1e-9:
                    size = (pixel_size_mm or s.nominal_pixel_size_mm) / sc
                    far = f" (taken about {1 / sc:.1f} times as far)" if sc < 0.95 else ""
                    out[name] = (f"photo '{label}'{far} has pixels of {size:.3g} mm, too coarse for "
                                 f"the {mm:.3g} mm scale this metric reads ({n_px:.2f} px; needs {min_px:g})")
                    break
    return out


#: Whole-region colour metrics: absolute colour, which needs a colour truth (a chart, a colour
#: reference or fixed light) to be compared; without one they are "not comparable".
COLOUR_TRUTH_METRICS = ("color.L", "color.a", "color.b", "color.ita_deg", "color.erythema_index", "color.melanin_index")

#: The values of :attr:`Comparison.colour_truth`.
COLOUR_TRUTHS = ("chart", "grey card", "colour reference", "fixed light", "none")

_NO_COLOUR_REFERENCE = ("no colour reference: the colour was matched on this skin; show a colour chart, mark "
                        "untreated skin as colour reference or state fixed light")


#: Scar colour differences (lesion against reference): a chart correction's error in a colour
#: difference is taken as relative to the difference (:func:`_calibration_sd`).
_SCAR_COLOUR = ("scar.delta_e00", "scar.delta_L", "scar.delta_a", "scar.delta_b", "scar.delta_erythema",
                "scar.delta_melanin", "scar.visibility_excess")

#: Mean CIEDE2000 from each ColorChecker patch to its nearest other patch (13.4 for every
#: reference data set of texturecmp.chart, 13.0-13.6 median): the scale over which a chart's
#: leave-one-out error says how wrong the correction's local slope may be.
_CHART_SPACING_DE00 = 13.4


#: Metrics that compare colours within a photo in its colour space: when only one photo of a pair
#: is colour-calibrated (true CIE Lab against device Lab) they are not comparable either.
_COLOUR_SPACE_METRICS = COLOUR_TRUTH_METRICS + _SCAR_COLOUR + ("color.unevenness", "scar.visible_area",
                                                               "scar.visible_fraction")


def _one_sided_calibration(mb: Measurement, ma: Measurement) -> str:
    """The reason colour cannot be compared when only one photo's calibration was applied ("" otherwise).

    No photo label in it: rules go into records, where labels (file names) must not."""
    if mb.calibrated == ma.calibrated:
        return ""
    which = "earlier" if mb.calibrated else "later"
    return (f"only the {which} photo is colour-calibrated: true CIE L*a*b* against device colour; "
            "calibrate both or neither")


def _calibration_sd(mb: Measurement, ma: Measurement) -> dict[str, float]:
    """The SD that the photos' chart calibrations add to the change of a colour metric.

    A chart correction predicts a colour it was not fitted on (skin) about as well as it
    predicts a left-out patch: each photo's leave-one-patch-out RMS ΔE00 ``e`` is taken as
    the RMS error of the skin's corrected colour, split evenly over L*, a*, b* (SD
    ``e / sqrt(3)`` each). It is carried to each whole-region colour metric through the
    metric's derivative with respect to L*a*b* at the baseline's colour (numerical, through
    linear sRGB for the erythema and melanin indices). A colour *difference* (scar colour,
    lesion against reference) is off by the error of the correction's slope: ``e`` over
    the chart's patch spacing (:data:`_CHART_SPACING_DE00`) as a relative SD, times the
    baseline's difference. The two photos' terms are added in quadrature; a photo without
    an applied chart calibration adds nothing.

    Why: a 3 x 3 correction cannot be exact for spectra unlike the chart's under a light
    unlike D65 (metamerism): in spectral renders the same scar's ΔE00 read 3.12 at 6500 K and
    3.56 at 3000 K after calibration (leave-one-out 1.9 ΔE00 there), a false "worsened" when
    only the capture model's SD was used.
    """
    e2 = 0.0
    for m in (mb, ma):
        c = m.calibration or {}
        loo = [v for v in (c.get("patch_de00_loo") or ()) if v is not None and math.isfinite(v)]
        if c.get("applied") and loo:
            e2 += float(np.mean(np.square(loo)))
    if e2 == 0.0:
        return {}
    rel = math.sqrt(e2) / _CHART_SPACING_DE00
    out = {n: rel * abs(mb.value(n)) for n in _SCAR_COLOUR if n in mb.metrics and math.isfinite(mb.value(n))}
    sd = math.sqrt(e2 / 3.0)
    L, a, b = (mb.value(k) for k in ("color.L", "color.a", "color.b"))
    if not all(math.isfinite(v) for v in (L, a, b)):
        return out

    def metrics_of(lab: np.ndarray) -> np.ndarray:  # the COLOUR_TRUTH_METRICS of a mean colour
        from texturecmp.chart import lab_to_lin  # noqa: PLC0415

        rgb = np.maximum(lab_to_lin(lab), 1e-6)
        return np.array([lab[0], lab[1], lab[2], ita_deg(lab[0], lab[2]), erythema_index(rgb[0], rgb[1]),
                         melanin_index(rgb[0])])

    x0 = np.array([L, a, b])
    J = np.stack([(metrics_of(x0 + h) - metrics_of(x0 - h)) / 0.2 for h in np.eye(3) * 0.1], axis=1)  # (6, 3)
    out.update({n: float(sd * np.linalg.norm(J[i])) for i, n in enumerate(COLOUR_TRUTH_METRICS)})
    return out


def _changes(mb: Measurement, ma: Measurement, paired: bool, s: Settings, photometric: Photometric,
             repeat: Mapping[str, tuple[float, float]] | None, pixel_size_mm: float | None, not_comparable: str = "",
             colour_truth: str = "none", one_sided: str = "", *,
             unresolved: Mapping[str, str] | None = None, scale: float = 1.0) -> dict[str, Change]:
    """Every metric's change and verdict (:func:`texturecmp.uncertainty.decide`).

    ``repeat``: per metric (pooled SD, model SD) of the baseline and its repeat
    (:func:`_test_retest`): the pair's capture SD is scaled by pooled / model (the repeat's
    evidence about the model, which also holds at this pair's JPEG steps; added in
    quadrature where the model's SD there is 0), with ``capture_prior_df`` + 1 df;
    ``not_comparable``: the reason the photos cannot be compared (every verdict is then
    "not comparable"); ``colour_truth`` (:data:`COLOUR_TRUTHS`): "none" makes the
    :data:`COLOUR_TRUTH_METRICS` "not comparable". A chart calibration of either photo adds
    its uncertainty to the colour metrics' capture SD (:func:`_calibration_sd`).
    ``unresolved``: metrics that one photo's resolution cannot carry, with the reason
    (:func:`_unresolved`): those verdicts are "not comparable". ``scale``: the follow-up's
    registration scale against the photo it is compared with, for the capture model's
    camera-distance part."""
    unresolved = unresolved or {}
    out: dict[str, Change] = {}
    cal_sd = _calibration_sd(mb, ma)
    model = load_capture_model()
    steps = (mb.image.get("jpeg_dc_step"), ma.image.get("jpeg_dc_step"))
    for name, info in METRICS.items():
        unit = info.unit_for(pixel_size_mm)
        if info.scope == "pair":
            b = 0.0
            a = photometric.exposure_shift_L if name == "quality.exposure_shift" else _lbp_chi2(mb, ma)
            se, se_df = math.nan, math.nan
            note = "pair metric: 'after' is its value for this pair"
        else:
            b, a = mb.metrics[name].value, ma.metrics[name].value
            se, se_df = _paired_se(mb, ma, name, paired)
            note = mb.metrics[name].note or ma.metrics[name].note
        delta = a - b
        if info.scope == "pair" or not math.isfinite(b) or b == 0:
            pct = math.nan
            if info.scope != "pair" and math.isfinite(b) and b == 0:
                note = note or "percent undefined: the baseline value is 0"
        else:
            pct = 100.0 * delta / abs(b)
        why = not_comparable or unresolved.get(name, "") or (one_sided if name in _COLOUR_SPACE_METRICS else "") or (
            _NO_COLOUR_REFERENCE if colour_truth == "none" and name in COLOUR_TRUTH_METRICS else "")
        if why:
            out[name] = Change(name, unit, info.better, b, a, delta, pct, math.nan, math.nan, False, "not comparable",
                               why, note, math.nan, "not_comparable", se)
            continue
        if not math.isfinite(delta):
            out[name] = Change(name, unit, info.better, b, a, delta, pct, se, math.nan, False, "not computable",
                               "value missing", note or "value missing in one photo", math.nan, "value_missing", se)
            continue
        if math.isinf(se):
            out[name] = Change(name, unit, info.better, b, a, delta, pct, se, math.nan, False, "not computable",
                               "no uncertainty", note or ONE_TILE_NOTE, math.nan, "value_missing", se)
            continue
        limit = QUALITY_LIMITS.get(name)
        if limit or info.scope == "pair":  # a fixed threshold on |value| (no SE, no sign)
            if limit:  # like its warning, and beyond its own tile SE
                zse = s.z * se if math.isfinite(se) else 0.0
                thr = max(getattr(s, limit), zse)
                rule = f"|Δ| vs {limit} setting = {thr:.4g}" if thr > zse else f"|Δ| vs {s.z:g}·SE = {thr:.4g}"
            else:
                thr = model[name].quantile * s.capture_multiplier
                rule = f"value vs its upper quantile over nuisance-only calibration retakes = {thr:.4g}"
            det = abs(delta) > thr
            out[name] = Change(name, unit, info.better, b, a, delta, pct, se, thr, det,
                               "changed" if det else "no detectable change", rule, note, math.nan,
                               "quality_setting" if limit else "pair_quantile", se)
            continue
        cap = capture_error(name, b, multiplier=s.capture_multiplier, pixel_size_mm=pixel_size_mm, jpeg_steps=steps,
                            scale=scale)
        cap_df, kind = math.inf, "capture_model"
        if repeat is not None and name in repeat:  # the repeat's evidence, carried to this pair's JPEG steps
            pooled, model_br = repeat[name]
            cap = cap * pooled / model_br if model_br > 0 else math.hypot(cap, pooled)
            cap_df, kind = s.capture_prior_df + 1.0, "test_retest_pooled"
        if name in cal_sd:  # the charts' own error, which a retake of a calibrated photo carries
            cap = math.hypot(cap, cal_sd[name])
        d = decide(delta, b, a, better=info.better, se=se, se_df=se_df, capture_sd=cap, capture_df=cap_df, z=s.z,
                   capture_rule=kind)
        rule = d.rule if name not in cal_sd else f"{d.rule}; capture SD includes the colour charts' {cal_sd[name]:.3g}"
        out[name] = Change(name, unit, info.better, b, a, delta, pct, d.uncertainty, d.threshold, d.detectable,
                           d.verdict, rule, note, d.p_value, d.rule_kind, se)
    return out


def _alpha(s: Settings) -> float:
    """The two-sided error rate of a verdict, 2 (1 - Phi(z))."""
    return math.erfc(s.z / math.sqrt(2.0))


def headline(cmp: "Comparison") -> tuple[Headline, ...]:
    """The headline metrics of a comparison (:data:`texturecmp.catalogue.HEADLINE`, those
    present and computable) with their family-wise verdicts.

    Holm's step-down rule (:func:`texturecmp.uncertainty.holm`) runs over the p-values of
    the headline metrics at alpha = 2 (1 - Phi(z)); a change that the per-metric rule calls
    detectable but Holm does not reads "no detectable change" here. When the photos are
    not comparable every item reads "not comparable".
    """
    present = {n: cmp.changes[n] for n in HEADLINE if n in cmp.changes and math.isfinite(cmp.changes[n].before)
               and math.isfinite(cmp.changes[n].after)}
    passed = holm({n: c.p_value for n, c in present.items()}, _alpha(cmp.settings))
    out = []
    for n, c in present.items():
        if c.verdict in ("not comparable", "not computable"):
            v = c.verdict
        else:
            v = c.verdict if passed.get(n) and c.detectable else "no detectable change"
        out.append(Headline(n, c, v))
    return tuple(out)


def _small_rgb(ph: _Photo) -> tuple[np.ndarray, float]:
    """The photo at map size, sRGB, from the measurement's area-averaged linear light (its gains applied)."""
    lin, f = ph.measurement.detail.small_lin
    return linear_to_srgb(lin), f


def _scaled_matrix(m: np.ndarray, f_base: float, f_follow: float) -> np.ndarray:
    """Baseline-small -> follow-up-small coordinates from a full-resolution matrix."""
    S_b_inv = np.array([[1 / f_base, 0, 0], [0, 1 / f_base, 0], [0, 0, 1.0]])
    S_a = np.array([[f_follow, 0, 0], [0, f_follow, 0], [0, 0, 1.0]])
    m3 = np.vstack([m, [0, 0, 1.0]])
    return (S_a @ m3 @ S_b_inv)[:2]


def _maps(base: _Photo, fol: _Photo, rel: np.ndarray | None) -> dict[str, np.ndarray]:
    """Pixel maps in the baseline's downsampled grid. ``rel`` = baseline->follow-up full-res matrix or None (unaligned).

    The map-size photos, texture-RMS and visibility maps come from the measurements
    (made at ``map_max_side`` and the settings' scales there)."""
    rb, fb = _small_rgb(base)
    hb, wb = rb.shape[:2]
    maps: dict[str, np.ndarray] = {"before_rgb": rb}
    for key, mask in (("roi", base.regions.roi), ("lesion", base.regions.lesion), ("reference", base.regions.reference)):
        if mask is not None:
            maps[key] = cv2.resize(mask.astype(np.uint8), (wb, hb), interpolation=cv2.INTER_NEAREST).astype(bool)
    lab_b = rgb_to_lab(rb)
    # map pixel (u, v) -> baseline full-resolution pixel (pixel centres)
    grid_to_full = np.array([[1 / fb, 0.0, 0.5 / fb - 0.5], [0.0, 1 / fb, 0.5 / fb - 0.5], [0.0, 0.0, 1.0]])

    def visibility(m: Measurement, full_to_photo: np.ndarray) -> np.ndarray | None:
        """The measurement's lesion-visibility map (ΔE00 to its reference skin, computed around the
        lesion) laid onto the map grid; NaN where it was not computed."""
        vis_info = m.detail.visibility
        if vis_info is None:
            return None
        vis, to_full = vis_info.map, np.vstack([vis_info.to_full, [0.0, 0.0, 1.0]])
        mat = (np.linalg.inv(to_full) @ full_to_photo @ grid_to_full)[:2]
        return cv2.warpAffine(vis, mat, (wb, hb), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"))

    if base.regions.reference is not None:
        maps["visibility_before"] = visibility(base.measurement, np.eye(3))
    if rel is None:
        return maps
    ra, fa = _small_rgb(fol)  # the follow-up's gains are applied in linear light
    msmall = _scaled_matrix(rel, fb, fa)
    flags = cv2.INTER_LANCZOS4 | cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(ra, msmall, (wb, hb), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    valid = cv2.warpAffine(np.ones(ra.shape[:2], np.uint8), msmall, (wb, hb), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # the Lanczos kernel reaches 4 px: pixels that close to the warped edge mix in the black border
    valid = cv2.erode(valid, np.ones((9, 9), np.uint8)).astype(bool)
    warped = np.clip(warped, 0, 1)
    maps["after_rgb_aligned"] = warped
    maps["valid"] = valid
    lab_a = rgb_to_lab(warped)
    de = delta_e00(lab_b, lab_a, dtype=np.float32)
    de[~valid] = np.nan
    maps["delta_e00"] = de
    rms_b, frb = base.measurement.detail.texture_rms
    rms_a, fra = fol.measurement.detail.texture_rms
    rms_b = cv2.resize(rms_b, (wb, hb), interpolation=cv2.INTER_LINEAR)
    m_rms = _scaled_matrix(rel, fb, fra)
    rms_a_w = cv2.warpAffine(rms_a, m_rms, (wb, hb), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    tc = (rms_a_w - rms_b).astype(np.float32)
    tc[~valid | ~maps["roi"]] = np.nan
    maps["texture_change"] = tc
    va = visibility(fol.measurement, np.vstack([rel, [0.0, 0.0, 1.0]])) if fol.regions.reference is not None else None
    if va is not None:
        va[~valid] = np.nan
        maps["visibility_after"] = va
    return maps


def _relative(al_from: Alignment, al_to: Alignment) -> np.ndarray:
    """Matrix from photo 'from' to photo 'to' given both baseline->photo matrices."""
    a = np.vstack([al_from.matrix_array, [0, 0, 1.0]])
    b = np.vstack([al_to.matrix_array, [0, 0, 1.0]])
    return (b @ np.linalg.inv(a))[:2]


def _relative_alignment(al_from: Alignment, al_to: Alignment, shape_from, shape_to) -> Alignment:
    m = _relative(al_from, al_to)
    sc = float(math.sqrt(abs(np.linalg.det(m[:, :2]))))
    rot = float(math.degrees(math.atan2(-m[1, 0], m[0, 0])))
    c = np.array([(shape_from[1] - 1) / 2, (shape_from[0] - 1) / 2, 1.0])
    d = m @ c - c[:2]
    ok = al_from.ok and al_to.ok
    msg = "composed through the baseline" if ok else "one of the photos is not aligned to the baseline"
    return Alignment(tuple(map(tuple, m.tolist())), (float(d[0]), float(d[1])), rot, sc, math.nan, math.nan,
                     min(al_from.overlap, al_to.overlap), ok, "composed" if ok else "failed", msg,
                     tuple(shape_from), tuple(shape_to))


def _comparison(eng: _Engine, b: _Photo, a: _Photo, retest: Mapping[str, tuple[float, float]] | None, *, maps: bool = True) -> Comparison:
    s = eng.s
    # measured (and mapped) on the turned pixels of a photo turned back (_Photo.turns); the
    # alignment reported is to the file's pixels, as shown
    # between the pixels measured: to the follow-up's own alignment, or composed through the baseline
    measured = a.alignment if b is eng.base else _relative_alignment(b.alignment, a.alignment, b.img.shape, a.img.shape)
    if b is eng.base:
        al, rel_ok = a.file_alignment, a.alignment.ok
        photometric = a.photometric
    else:
        fb, fa = b.file_alignment, a.file_alignment
        al = _relative_alignment(fb, fa, fb.moving_shape or b.img.shape, fa.moving_shape or a.img.shape)
        rel_ok = al.ok
        gb, ga = np.array(b.photometric.gains), np.array(a.photometric.gains)
        shift = a.photometric.exposure_shift_L - b.photometric.exposure_shift_L
        photometric = Photometric(tuple(float(x) for x in ga / gb), a.photometric.exposure_ratio / b.photometric.exposure_ratio,
                                  shift, a.photometric.region)
    reason = _not_comparable(b, a, al, measured.rotation_deg)
    unresolved = _unresolved(s, eng.p, ((b.label, _photo_scale(b)), (a.label, _photo_scale(a))))
    truth = a.truth if b is eng.base else (a.truth if a.truth == b.truth else "none")
    one_sided = _one_sided_calibration(b.measurement, a.measurement)
    changes = _changes(b.measurement, a.measurement, rel_ok, s, photometric, retest, eng.p, reason, truth, one_sided,
                       unresolved=unresolved, scale=measured.scale if measured.ok else 1.0)
    warnings = list(dict.fromkeys(list(b.measurement.warnings) + list(a.measurement.warnings) + b.warnings + a.warnings))
    # relative blur: the fine band loses energy against the medium band (a treatment that smooths
    # all scales alike leaves the ratio unchanged, unlike the variance of the Laplacian)
    pb, pa = b.img.icc_profile or "untagged (sRGB)", a.img.icc_profile or "untagged (sRGB)"
    if pb != pa:
        warnings.append(f"photo '{a.label}' carries the colour profile {pa} and photo '{b.label}' {pb}; both are "
                        "converted to sRGB, but use one camera setting for a series")
    rb, ra = _fine_ratio(b.measurement), _fine_ratio(a.measurement)
    if math.isfinite(rb) and math.isfinite(ra) and ra < s.blur_ratio * rb:
        warnings.append(f"photo '{a.label}' is blurred compared with photo '{b.label}' (fine detail {100 * (ra / rb - 1):+.0f} % "
                        "relative to medium detail); texture metrics may show a false improvement")
    pixel_maps = _maps(b, a, measured.matrix_array if rel_ok else None) if maps else {}
    if truth == "grey card":
        warnings.append("a grey card set exposure and white balance only: colour is true for one camera, "
                        "not across cameras")
    return Comparison(b.measurement, a.measurement, al, photometric, MappingProxyType(changes), tuple(warnings),
                      MappingProxyType(pixel_maps), s, eng.p, (b.label, a.label),
                      None if retest is None else MappingProxyType({k: v[0] for k, v in retest.items()}),
                      not_comparable_reason=reason, colour_truth=truth)


def _fine_ratio(m: Measurement) -> float:
    """Fine-band over medium-band texture (NaN when the medium band is 0: a blank photo)."""
    fine, medium = m.value("texture.band_fine"), m.value("texture.band_medium")
    return fine / medium if math.isfinite(medium) and medium > 0 else math.nan


def _blank(m: Measurement) -> bool:
    """A photo with no detail in its region (a black, white or flat-filled frame)."""
    return not (m.value("texture.sq") > 1e-6)


def _not_comparable(b: _Photo, a: _Photo, al: Alignment, rotation_deg: float = 0.0) -> str:
    """Why photos ``b`` and ``a`` cannot be compared, in the user's terms ("" when they can);
    ``rotation_deg``: the rotation between the pixels measured (after any quarter turn)."""
    if al.ok and abs(rotation_deg) > MAX_ROTATION_DEG:  # before 'blank': such a turn empties the grid
        return (f"photo '{a.label}' is turned by {abs(al.rotation_deg):.0f} degrees against photo '{b.label}'; the "
                f"measurement follows turns of up to {MAX_ROTATION_DEG:.0f} degrees from upright or from a quarter "
                f"turn: retake it at the orientation of photo '{b.label}'")
    for ph in (a, b):
        if _blank(ph.measurement):
            return f"photo '{ph.label}' is blank (no detail in the region to measure)"
    if not al.ok:
        return f"photo '{a.label}' could not be aligned with photo '{b.label}' (see the warnings)"
    return ""


def _test_retest(eng: _Engine, repeat: _Photo) -> dict[str, tuple[float, float]]:
    """Per metric, (the capture SD pooled with the baseline repeat's difference
    (:func:`texturecmp.uncertainty.pool_repeat`), the model's SD it was pooled with), both
    for the baseline and its repeat, whose JPEG steps may differ from a follow-up's."""
    mb, mr = eng.base.measurement, repeat.measurement
    s = eng.s
    out = {}
    for name, info in METRICS.items():
        if info.scope == "pair" or name in QUALITY_LIMITS:
            continue
        b = mb.metrics[name].value
        d = mr.metrics[name].value - b
        se, _ = _paired_se(mb, mr, name, repeat.alignment.ok)
        cap = capture_error(name, b, multiplier=s.capture_multiplier, pixel_size_mm=eng.p,
                            jpeg_steps=(mb.image.get("jpeg_dc_step"), mr.image.get("jpeg_dc_step")),
                            scale=repeat.alignment.scale if repeat.alignment.ok else 1.0)
        if math.isfinite(d) and math.isfinite(cap):
            out[name] = (pool_repeat(cap, d, se, prior_df=s.capture_prior_df)[0], cap)
    return out


_REPEAT = "baseline repeat"


def _calibration_specs(calibration: Any, labels: Sequence[str]) -> dict[str, Any]:
    """Each photo's calibration argument, by label (the baseline repeat's under ``_REPEAT``).

    ``"auto"``, a ChartCorners or a GreyCard applies to every photo (the same framing);
    a list or tuple gives one per photo (None: that photo has none), optionally one more
    for the baseline repeat (by default it takes the baseline's)."""
    if calibration is None:
        return {}
    if isinstance(calibration, (list, tuple)):
        items = list(calibration)
        if len(items) not in (len(labels), len(labels) + 1):
            raise BadSettingsError(f"calibration: got {len(items)} entries for {len(labels)} photos; give one per photo "
                                   "(and optionally one more for the baseline repeat)")
        out = dict(zip(labels, items))
        out[_REPEAT] = items[len(labels)] if len(items) > len(labels) else items[0]
        return out
    return {lab: calibration for lab in list(labels) + [_REPEAT]}


def _open(images: Sequence[Any], labels: Sequence[str], *, roi, lesion, reference, align, pixel_size_mm,
          settings, calibration: Any = None, colour_reference: Any = None
          ) -> tuple[_Engine, list[Image], list[np.ndarray | None]]:
    """Decode the photos side by side (the first failure in order is raised) and set up the engine."""
    s = coerce_settings(settings)
    p = _check_pixel_size(pixel_size_mm)
    specs = _calibration_specs(calibration, labels)

    def open_photo(i: int) -> tuple[Image, _Engine | np.ndarray | None]:
        img = load_image(images[i], name=f"photo '{labels[i]}'")
        if i > 0:  # a follow-up's gray for the registration
            return img, _gray(img) if align else None
        # the baseline's regions are resolved while the follow-ups are still decoding
        return img, _Engine(img, roi=roi, lesion=lesion, reference=reference, align=align, pixel_size_mm=p,
                            settings=s, label=labels[0], calibration=specs, colour_reference=colour_reference)

    opened = pool_map(open_photo, range(len(images)))
    return opened[0][1], [o[0] for o in opened], [o[1] for o in opened]


def _beside(background: Callable[[], None], foreground: Callable[[], T]) -> T:
    """``foreground()`` in this thread while ``background()`` runs on its own; waits for both.
    An error of the foreground is raised first, then one of the background.

    OpenCV's thread setting is switched (``opencv_serial``) by the caller, in this thread,
    not by the background's thread while the foreground may be using OpenCV."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="texturecmp-baseline") as ex:
        job = ex.submit(background)
        try:
            out = foreground()
        finally:
            wait([job])
        job.result()
    return out


def _measure_all(eng: _Engine, imgs: Sequence[Image], labels: Sequence[str], *, grays: Sequence[np.ndarray | None] = (),
                 repeat: Any = None, aligned: Sequence[tuple[Alignment, tuple[str, ...], int] | None] = (),
                 reuse: Measurement | None = None) -> tuple[list[_Photo], dict | None]:
    """Measure the baseline and the follow-ups (``imgs[1:]``; ``aligned``, their registrations when
    already made) and the baseline repeat; returns the follow-ups and the capture SDs pooled
    with the repeat (None without one)."""
    grays = list(grays) or [None] * len(imgs)
    aligned = list(aligned) or [None] * (len(imgs) + 1)
    # The baseline is measured (on the strip pool) while the follow-ups are registered here:
    # registration is mostly serial and fills the cores the measurement leaves idle. The
    # follow-ups are measured one after the other, after the baseline: each photo's
    # families and strips already spread over the cores, and two full measurements side by
    # side run slower (they share the caches). When the
    # baseline only lacks its scar family (``reuse``), the follow-ups start at once.

    def measure(follow: list[_Photo], rep: _Photo | None) -> None:
        for ph in follow + ([rep] if rep is not None else []):
            eng.measure(ph)

    def follow_ups() -> tuple[list[_Photo], _Photo | None]:
        follow = [eng.prepare(im, lab, gray=gr, aligned=al)
                  for im, lab, gr, al in zip(imgs[1:], labels[1:], grays[1:], aligned[1:])]
        rep = None
        if repeat is not None:
            rep = eng.prepare(load_image(repeat, name="baseline_repeat"), _REPEAT, aligned=aligned[-1])
        if reuse is not None:
            measure(follow, rep)
        return follow, rep

    with opencv_serial():
        follow, rep = _beside(lambda: eng.measure_baseline(reuse), follow_ups)
        if reuse is None:
            measure(follow, rep)
    retest = _test_retest(eng, rep) if rep is not None else None
    return follow, retest


def _series(eng: _Engine, labels: Sequence[str], follow: Sequence[_Photo], retest: dict | None) -> Series:
    vs_base = tuple(_comparison(eng, eng.base, f, retest) for f in follow)
    vs_prev = tuple(_comparison(eng, follow[i - 1], follow[i], retest) for i in range(1, len(follow)))
    return Series(tuple(labels), tuple([eng.base.measurement] + [f.measurement for f in follow]), vs_base, vs_prev)


def _series_labels(images: Sequence[Any], labels: Sequence[str] | None) -> list[str]:
    if len(images) < 2:
        raise MismatchedImagesError(f"images: a series needs at least 2 photos (baseline first), got {len(images)}")
    if labels is None:
        labels = [f"session {i}" for i in range(len(images))]
    labels = [str(x) for x in labels]
    if len(labels) != len(images):
        raise MismatchedImagesError(f"labels: got {len(labels)} labels for {len(images)} photos")
    if len(set(labels)) != len(labels):
        raise MismatchedImagesError(f"labels: session labels must be unique, got {labels}")
    return labels


def compare(before: Any, after: Any, *, roi: Any = None, lesion: Any = None, reference: Any = None, align: bool = True,
            baseline_repeat: Any = None, pixel_size_mm: float | None = None, settings: Any = None,
            labels: tuple[str, str] = ("baseline", "follow-up"), calibration: Any = None,
            colour_reference: Any = None) -> Comparison:
    """Compare a baseline photo with a follow-up of the same skin area.

    Parameters
    ----------
    before, after : image
        Anything :func:`texturecmp.load_image` accepts.
    roi, lesion, reference : region, optional
        In the baseline's pixel coordinates; carried into the follow-up by the
        registration. ``reference`` defaults to a ring around the lesion.
    align : bool
        Register the follow-up to the baseline (default). With False the photos must have
        the same size and are taken as already aligned.
    baseline_repeat : image, optional
        A second baseline photo taken minutes apart: its test-retest difference is pooled
        with the calibrated capture error (:func:`texturecmp.uncertainty.pool_repeat`).
    pixel_size_mm : float, optional
    settings : Settings, mapping or file, optional
    labels : (str, str)
        Session names used in warnings and tables.
    calibration : "auto", ChartCorners, GreyCard, Calibration, a list of them, or None
        A colour chart or grey card in the photos (:func:`texturecmp.measure`): one value
        for every photo, or a list with one per photo (None for a photo without). When
        both photos are calibrated by a chart, colour is compared in true CIE L*a*b* and
        no gains are estimated on skin (``colour_truth`` "chart"); a grey card in both
        sets exposure and white balance only ("grey card").
    colour_reference : region, optional
        Untreated skin outside the treated area, in the baseline's pixels (carried into the
        follow-up by the registration, left out of the roi): the exposure / white-balance
        gains are estimated on it (``colour_truth`` "colour reference"). Without a chart,
        colour reference or ``Settings.fixed_light`` the whole-region colour metrics
        (:data:`COLOUR_TRUTH_METRICS`) are "not comparable: no colour reference".

    Returns
    -------
    Comparison

    Raises
    ------
    UnreadableImageError, BadMaskError, MismatchedImagesError, AlignmentError, BadSettingsError

    Examples
    --------
    >>> import texturecmp as tc
    >>> from texturecmp.phantoms import skin_phantom
    >>> before = skin_phantom((256, 320), seed=1)
    >>> after = skin_phantom((256, 320), seed=1, treatment=0.5, shift_px=(3, -2), noise_seed=2)
    >>> cmp = tc.compare(before.rgb, after.rgb, lesion=before.lesion)
    >>> [round(v, 1) for v in cmp.alignment.shift_px], cmp.alignment.ok
    ([3.0, -2.0], True)
    >>> ch = cmp.changes["texture.sq"]
    >>> print(f"{ch.before:.2f} -> {ch.after:.2f} {ch.unit} ({ch.percent:.0f} %): {ch.verdict}")
    2.50 -> 1.33 L* (-47 %): improved
    >>> ch.rule_kind, ch.threshold < abs(ch.delta)
    ('capture_model', True)
    >>> [(h.metric, h.verdict) for h in cmp.headline][:2]
    [('scar.delta_e00', 'improved'), ('scar.visible_area', 'improved')]
    >>> cmp.changes["color.L"].verdict, cmp.changes["color.L"].rule  # no chart, colour reference or fixed light
    ('not comparable', 'no colour reference: ...')
    """
    labels = list(labels)
    eng, imgs, grays = _open([before, after], labels, roi=roi, lesion=lesion, reference=reference, align=align,
                             pixel_size_mm=pixel_size_mm, settings=settings, calibration=calibration,
                             colour_reference=colour_reference)
    follow, retest = _measure_all(eng, imgs, labels, grays=grays, repeat=baseline_repeat)
    return _comparison(eng, eng.base, follow[0], retest)


def compare_series(images: Sequence[Any], *, labels: Sequence[str] | None = None, roi: Any = None, lesion: Any = None,
                   reference: Any = None, align: bool = True, baseline_repeat: Any = None,
                   pixel_size_mm: float | None = None, settings: Any = None, calibration: Any = None,
                   colour_reference: Any = None) -> Series:
    """Compare a baseline (first image) with each follow-up, and each follow-up with the previous session.

    Parameters are those of :func:`compare`; ``labels`` names the sessions (default
    "session 0", "session 1", ...). Regions are drawn on the baseline.

    Examples
    --------
    >>> import texturecmp as tc
    >>> from texturecmp.phantoms import skin_phantom
    >>> photos = [skin_phantom((256, 320), seed=1, treatment=k, noise_seed=i)
    ...           for i, k in enumerate((0.0, 0.3, 0.5))]
    >>> series = tc.compare_series([p.rgb for p in photos], labels=["baseline", "4 weeks", "12 weeks"],
    ...                            lesion=photos[0].lesion)
    >>> [c.labels for c in series.vs_baseline], [c.labels for c in series.vs_previous]
    ([('baseline', '4 weeks'), ('baseline', '12 weeks')], [('4 weeks', '12 weeks')])
    >>> [round(m.value("texture.sq"), 2) for m in series.measurements]
    [2.5, 1.78, 1.32]
    >>> df = series.to_frame()
    >>> sq = df[df.metric == "texture.sq"]
    >>> sq["session"].tolist(), sq["verdict_vs_baseline"].tolist(), sq["verdict_vs_previous"].tolist()
    (['baseline', '4 weeks', '12 weeks'], ['', 'improved', 'improved'], ['', '', 'improved'])
    """
    images = list(images)
    labels = _series_labels(images, labels)
    eng, imgs, grays = _open(images, labels, roi=roi, lesion=lesion, reference=reference, align=align,
                             pixel_size_mm=pixel_size_mm, settings=settings, calibration=calibration,
                             colour_reference=colour_reference)
    follow, retest = _measure_all(eng, imgs, labels, grays=grays, repeat=baseline_repeat)
    return _series(eng, labels, follow, retest)


class PreparedSeries:
    """Photos of one series decoded and registered, and the baseline measured, before the
    lesion is known (made by :func:`prepare_series`).

    :meth:`compare` takes the lesion and reference and returns the :class:`Series` that
    :func:`compare_series` returns for the same photos and arguments, number for number:
    it keeps the registrations and the baseline's families that do not depend on the
    lesion (all but the scar family), so an app can start the work while the user is
    still marking the lesion. It is read-only: :meth:`compare` may be called many times,
    from several threads.
    """

    def __init__(self, eng: _Engine, imgs: Sequence[Image], labels: Sequence[str],
                 aligned: Sequence[tuple[Alignment, tuple[str, ...], int] | None], repeat: Image | None,
                 roi: Any, align: bool, colour_reference: Any = None) -> None:
        self._eng0, self._imgs, self._labels = eng, tuple(imgs), tuple(labels)
        self._aligned, self._repeat, self._roi, self._align = tuple(aligned), repeat, roi, align
        self._cref = colour_reference
        for im, lab in zip(self._imgs[1:], self._labels[1:]):  # every calibration made once, here
            eng.calibrate(im, lab)
        if repeat is not None:
            eng.calibrate(repeat, _REPEAT)

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    @property
    def baseline(self) -> Measurement:
        """The baseline's measurement without a lesion (scar metrics NaN)."""
        return self._eng0.base.measurement

    def compare(self, *, lesion: Any = None, reference: Any = None) -> Series:
        """The series with this lesion and reference (regions in baseline pixels, as for
        :func:`compare_series`)."""
        e0 = self._eng0
        eng = _Engine(self._imgs[0], roi=self._roi, lesion=lesion, reference=reference, align=self._align,
                      pixel_size_mm=e0.p, settings=e0.s, label=self._labels[0], calibration=e0.cal_specs,
                      colour_reference=self._cref, cal_cache=dict(e0.cal_cache))
        follow, retest = _measure_all(eng, self._imgs, self._labels, repeat=self._repeat, aligned=self._aligned,
                                   reuse=e0.base.measurement)
        return _series(eng, self._labels, follow, retest)


def prepare_series(images: Sequence[Any], *, labels: Sequence[str] | None = None, roi: Any = None, align: bool = True,
                   baseline_repeat: Any = None, pixel_size_mm: float | None = None,
                   settings: Any = None, calibration: Any = None, colour_reference: Any = None) -> PreparedSeries:
    """Decode and register a series and measure its baseline before the lesion is known.

    Parameters are those of :func:`compare_series` without ``lesion`` and ``reference``;
    ``prepare_series(images, ...).compare(lesion=..., reference=...)`` equals
    ``compare_series(images, ..., lesion=..., reference=...)``. Errors about the photos,
    the roi or the settings are raised here, errors about the lesion by
    :meth:`PreparedSeries.compare`.
    """
    images = list(images)
    labels = _series_labels(images, labels)
    eng, imgs, grays = _open(images, labels, roi=roi, lesion=None, reference=None, align=align,
                             pixel_size_mm=pixel_size_mm, settings=settings, calibration=calibration,
                             colour_reference=colour_reference)

    def registrations() -> tuple[list[tuple[Alignment, tuple[str, ...], int] | None], Image | None]:
        aligned = [None] + [eng.register(im, lab, gray=gr) for im, lab, gr in zip(imgs[1:], labels[1:], grays[1:])]
        repeat = None
        if baseline_repeat is not None:
            repeat = load_image(baseline_repeat, name="baseline_repeat")
            aligned.append(eng.register(repeat, _REPEAT))
        return aligned, repeat

    with opencv_serial():
        aligned, repeat = _beside(lambda: eng.measure_baseline(keep_colour=True), registrations)
    return PreparedSeries(eng, imgs, labels, aligned, repeat, roi, align, colour_reference)


@dataclass(frozen=True, eq=False)
class FollowUp:
    """One follow-up of :meth:`Baseline.compare_each`: its comparison, or the error that stopped it.

    ``comparison`` is None exactly when ``error`` holds the exception raised while the photo
    was decoded, registered, measured or compared (a :class:`texturecmp.errors.TextureCmpError`
    for bad input).
    """

    label: str
    comparison: Comparison | None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the follow-up was compared."""
        return self.error is None


#: ``Baseline.compare``'s default calibration: the follow-up takes the baseline's calibration argument.
_AS_BASELINE = "baseline"


class Baseline:
    """A baseline photo measured once, to compare with any number of follow-ups.

    The constructor decodes the photo, resolves its regions and measures it (and its
    repeat, if given); errors about them are raised here. :meth:`compare` then registers
    a follow-up to it, carries the regions and tile grids into it, measures it at the
    baseline's physical scale and judges each metric's change; :meth:`compare_each` does
    so for many follow-ups, each in its own ``try``, for batch use. The object is not
    changed by a comparison: a failed follow-up leaves it as it was.

    Parameters
    ----------
    image : image
        Anything :func:`texturecmp.load_image` accepts.
    roi, lesion, reference : region, optional
        In the baseline's pixel coordinates, as for :func:`compare`.
    align : bool
        Register each follow-up to the baseline (default); with False a follow-up must have
        the baseline's size and is taken as already aligned.
    baseline_repeat : image, optional
        A second baseline photo taken minutes apart: its test-retest difference is pooled
        with the calibrated capture error in every comparison
        (:func:`texturecmp.uncertainty.pool_repeat`).
    pixel_size_mm : float, optional
        The baseline's millimetres per pixel; a follow-up's is this divided by its
        registration scale.
    settings : Settings, mapping or file, optional
    label : str
        The baseline's session name in warnings and tables.
    calibration : "auto", ChartCorners, GreyCard, Calibration or None
        A colour chart or grey card in the baseline (and its repeat), as for :func:`compare`;
        one value, not a list: a follow-up's own goes to :meth:`compare`.
    colour_reference : region, optional
        Untreated skin in the baseline's pixels (carried into each follow-up, left out of the
        roi), on which the exposure / white-balance gains are estimated.
    name : str, optional
        The photo's name in error messages and in its provenance (``Image.source``);
        default ``"photo '<label>'"``.

    Raises
    ------
    UnreadableImageError, BadMaskError, MismatchedImagesError, AlignmentError, BadSettingsError

    Notes
    -----
    Each change is ``delta = after - before`` with the standard uncertainty
    ``u = sqrt(SE^2 + s_c^2)``: SE the jackknife SE of the paired tiles, ``s_c`` the
    calibrated capture SD (pooled with the baseline repeat's difference when one is given);
    a change is detectable when ``|delta| > t_nu * u``, ``t_nu`` the t quantile of
    ``Settings.z``'s confidence at the Welch-Satterthwaite degrees of freedom ``nu``
    (:func:`texturecmp.uncertainty.decide`; docs/method.md, section 5, "When is a change real").

    ``Baseline(before, **options).compare(after)`` gives the :class:`Comparison` that
    ``compare(before, after, **options)`` gives, number for number. :func:`compare` decodes
    both photos side by side and measures the baseline while the follow-up is registered,
    so one pair is quicker through it; a Baseline measures its photo once for all its
    follow-ups.

    Examples
    --------
    >>> import texturecmp as tc
    >>> from texturecmp.phantoms import skin_phantom
    >>> before = skin_phantom((256, 320), seed=1)
    >>> after = skin_phantom((256, 320), seed=1, treatment=0.5, shift_px=(3, -2), noise_seed=2)
    >>> baseline = tc.Baseline(before.rgb, lesion=before.lesion)
    >>> cmp = baseline.compare(after.rgb, label="week 4")
    >>> cmp.labels
    ('baseline', 'week 4')
    >>> cmp.changes["texture.sq"].verdict
    'improved'
    >>> [f.ok for f in baseline.compare_each([after.rgb, b"not a photo"], labels=["w4", "w8"])]
    [True, False]
    """

    def __init__(self, image: Any, *, roi: Any = None, lesion: Any = None, reference: Any = None,
                 align: bool = True, baseline_repeat: Any = None, pixel_size_mm: float | None = None,
                 settings: Any = None, label: str = "baseline", calibration: Any = None,
                 colour_reference: Any = None, name: str | None = None) -> None:
        s = coerce_settings(settings)
        p = _check_pixel_size(pixel_size_mm)
        label = str(label)
        if isinstance(calibration, (list, tuple)):
            raise BadSettingsError("calibration: a Baseline takes one calibration, for the baseline and its repeat; "
                                   "give each follow-up's own to Baseline.compare")
        img = load_image(image, name=_photo_name(label, name))
        eng = _Engine(img, roi=roi, lesion=lesion, reference=reference, align=align, pixel_size_mm=p, settings=s,
                      label=label, calibration=_calibration_specs(calibration, [label]),
                      colour_reference=colour_reference)
        eng.measure_baseline()
        retest = None
        if baseline_repeat is not None:
            rep = eng.prepare(load_image(baseline_repeat, name="baseline_repeat"), _REPEAT)
            eng.measure(rep)
            retest = _test_retest(eng, rep)
        self._eng, self._retest, self._calibration = eng, retest, calibration

    @property
    def label(self) -> str:
        return self._eng.base.label

    @property
    def measurement(self) -> Measurement:
        """The baseline's measurement."""
        return self._eng.base.measurement

    @property
    def settings(self) -> Settings:
        return self._eng.s

    @property
    def pixel_size_mm(self) -> float | None:
        return self._eng.p

    def __repr__(self) -> str:
        im = self._eng.base.img
        return f"Baseline({self.label!r}, {im.width}x{im.height}, settings {self.settings.hash[:12]})"

    def compare(self, followup: Any, *, label: str = "follow-up", calibration: Any = _AS_BASELINE,
                maps: bool = True, name: str | None = None) -> Comparison:
        """Compare a follow-up photo with this baseline.

        Parameters
        ----------
        followup : image
            Anything :func:`texturecmp.load_image` accepts.
        label : str
            The follow-up's session name in warnings and tables.
        calibration : "baseline", "auto", ChartCorners, GreyCard, Calibration or None
            The follow-up's colour chart or grey card; ``"baseline"`` (default): the
            baseline's ``calibration`` argument (the same framing), None: none.
        maps : bool
            Make the pixel maps (:attr:`Comparison.maps`); False leaves them empty and
            saves their time and memory (a batch keeps numbers, not pictures).
        name : str, optional
            The photo's name in error messages and provenance; default ``"photo '<label>'"``.

        Returns
        -------
        Comparison
        """
        eng = self._eng
        label = str(label)
        img = load_image(followup, name=_photo_name(label, name))
        spec = self._calibration if isinstance(calibration, str) and calibration == _AS_BASELINE else calibration
        ph = eng.prepare(img, label, calibrated=photo_calibration(img, spec, eng.s))
        del img
        eng.measure(ph)
        return _comparison(eng, eng.base, ph, self._retest, maps=maps)

    def compare_each(self, followups: Sequence[Any], *, labels: Sequence[str] | None = None,
                     names: Sequence[str | None] | None = None, calibration: Any = _AS_BASELINE,
                     maps: bool = False) -> Iterator[FollowUp]:
        """Compare follow-ups one after the other, each in its own ``try``.

        A follow-up that cannot be decoded, registered, measured or compared fails only its
        own :class:`FollowUp` (``error`` holds the exception); the others go on. The
        follow-ups are yielded as they are done, so only one of their photos is in memory
        at a time.

        Parameters
        ----------
        followups : sequence of images
        labels : sequence of str, optional
            Unique session names, default "follow-up 1", "follow-up 2", ...
        names : sequence of str or None, optional
            Each photo's name in error messages and provenance (:meth:`compare`).
        calibration, maps
            As for :meth:`compare` (one value for every follow-up); ``maps`` is False by default.

        Yields
        ------
        FollowUp
            In the order of ``followups``.
        """
        followups = list(followups)
        n = len(followups)
        labels = [f"follow-up {i}" for i in range(1, n + 1)] if labels is None else [str(x) for x in labels]
        names = [None] * n if names is None else list(names)
        if len(labels) != n or len(names) != n:
            raise MismatchedImagesError(f"labels, names: got {len(labels)} labels and {len(names)} names for {n} "
                                        "follow-ups; give one per follow-up")
        if len(set(labels)) != n:
            raise MismatchedImagesError(f"labels: session labels must be unique, got {labels}")

        def each() -> Iterator[FollowUp]:
            for im, lab, nm in zip(followups, labels, names):
                try:
                    cmp = self.compare(im, label=lab, calibration=calibration, maps=maps, name=nm)
                except Exception as exc:  # noqa: BLE001 - a failed follow-up fails only its own outcome
                    traceback.clear_frames(exc.__traceback__)  # keep where it failed, not that photo's arrays
                    yield FollowUp(lab, None, exc)
                else:
                    yield FollowUp(lab, cmp)

        return each()


def _photo_name(label: str, name: str | None) -> str:
    """The name a photo is loaded under: ``name``, or the one :func:`compare` gives it."""
    return f"photo '{label}'" if name is None else str(name)
