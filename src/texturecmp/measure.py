"""Measure one photo: every metric family, with tile standard errors (the dispatcher)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple

import cv2
import numpy as np

from texturecmp._checks import check_real
from texturecmp._filters import GaussRows, TileGrid, blur_small, color_scale, down_exact, downsample, lightness, linearize
from texturecmp._parallel import STRIP_ROWS, down_rows, enlarge_rows, map_rows, pool_map, sum_parts
from texturecmp._runtime import opencv_serial
from texturecmp._version import __version__
from texturecmp.catalogue import METRICS
from texturecmp.errors import BadMaskError
from texturecmp.io import Image, load_image
from texturecmp.metrics import FAMILY_REGISTRY, Context, pixel_length
from texturecmp.regions import MIN_TILES, Regions, resolve_region, resolve_regions
from texturecmp.settings import Settings, coerce_settings
from texturecmp.uncertainty import jackknife, jackknife_se

__all__ = ["MetricValue", "Measurement", "MeasurementDetail", "MapLayer", "LesionVisibility", "measure"]


def _f(x: float) -> float | None:
    """JSON-ready float: NaN/inf -> None."""
    return float(x) if x is not None and math.isfinite(x) else None


@dataclass(frozen=True)
class MetricValue:
    """One metric of one photo.

    Attributes
    ----------
    value : float
        The metric (NaN when it cannot be computed; ``note`` says why).
    unit : str
        Its unit (pixels or mm depending on whether the pixel size is known).
    uncertainty : float
        Standard error from the tiles of the region (jackknife); NaN when unknown.
    note : str
        Why the value is NaN, or another caveat; empty when all is well.
    """

    value: float
    unit: str
    uncertainty: float = float("nan")
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"value": _f(self.value), "unit": self.unit, "uncertainty": _f(self.uncertainty), "note": self.note}


class MapLayer(NamedTuple):
    """A low-resolution map of one photo, in that photo's own pixel grid.

    ``pixels`` is the map; ``factor`` its size relative to the full-resolution photo
    (map pixel = ``factor`` x photo pixel, about ``map_max_side`` over the photo's longer side).
    """

    pixels: np.ndarray
    factor: float


class LesionVisibility(NamedTuple):
    """The scar family's lesion-visibility map of one photo (:func:`texturecmp.metrics.scar.visibility_map`).

    ``map`` is the CIEDE2000 of each (smoothed) pixel to the reference skin's mean colour,
    computed in a window around lesion and reference at the colour scale; ``factor`` its
    downsampling; ``window`` the (rows, columns) slices of the photo it covers;
    ``reference_lab`` the reference skin's mean L*a*b*; ``to_full`` the 2x3 matrix from a
    map pixel (u, v) to the photo's full-resolution pixel (x, y), pixel centres.
    """

    map: np.ndarray
    factor: float
    window: tuple[slice, slice]
    reference_lab: np.ndarray
    to_full: np.ndarray


class ColourGrids(NamedTuple):
    """The colour-scale grids of one photo, kept (``keep_colour``) for a later measurement of the
    same photo with a lesion: the scar family reads only these (about 8 bytes a pixel)."""

    lin: np.ndarray  # linear RGB, gains applied, at 1/ck resolution
    lab: np.ndarray  # CIE L*a*b* at 1/ck resolution
    d2: np.ndarray  # D^2 area-downsampled by ck
    ck: int
    cache: Mapping[Any, Any]  # the context's cached roi facts and D's block means


@dataclass(frozen=True, eq=False)
class MeasurementDetail:
    """What a measurement knows beyond its metrics: the tile data behind each value and the
    map-size pictures of the photo. :func:`texturecmp.compare` reads it to pair tiles, draw
    maps and reuse a measurement; :class:`Measurement` carries it as ``detail``.

    Attributes
    ----------
    replicates : mapping name -> ndarray
        Each metric's jackknife leave-one-tile-out replicates (:func:`texturecmp.uncertainty.jackknife`),
        one per tile of its grid (NaN for a tile without data, +inf throughout when the value
        rests on a single tile). Paired tile by tile between two photos whose grids were
        carried through the registration, they give the SE of a change.
    valid : mapping grid name -> bool ndarray
        The tiles with data of each grid (``"roi"``, ``"scar"``).
    grid, scar_grid : TileGrid, TileGrid or None
        The roi's tile grid and the scar family's (None without a lesion), in this photo's pixels.
    lbp_hist : ndarray or None
        The texture family's LBP code histogram over the roi (summed over tiles), for the
        pair metric ``texture.lbp_chi2``.
    small_lin : MapLayer
        The photo's photometrically corrected linear RGB at map size.
    texture_rms : MapLayer
        The local RMS of the detail layer D at map size (the texture-change map).
    visibility : LesionVisibility or None
        The lesion-visibility map (None without a lesion).
    regions : Regions
        The resolved roi, lesion and reference masks (full resolution, this photo's pixels).
    stats : mapping family -> mapping
        Each family's per-tile statistics, which a later measurement with a lesion reuses.
    gains : (float, float, float)
        The linear-light R, G, B gains applied (1, 1, 1 for a baseline).
    scale : float
        The registration scale against the baseline the photo was measured at (1 for a baseline).
    calibration : Calibration or None
        The chart or grey-card correction applied before L*a*b* (None when none was applied).
    colour : ColourGrids or None
        The colour grids kept with ``keep_colour`` (else None).
    """

    replicates: Mapping[str, np.ndarray]
    valid: Mapping[str, np.ndarray]
    grid: TileGrid
    scar_grid: TileGrid | None
    lbp_hist: np.ndarray | None
    small_lin: MapLayer
    texture_rms: MapLayer
    visibility: LesionVisibility | None
    regions: Regions
    stats: Mapping[str, Mapping[str, np.ndarray]]
    gains: tuple[float, float, float]
    scale: float = 1.0
    calibration: Any = None
    colour: ColourGrids | None = None


@dataclass(frozen=True, eq=False)
class Measurement:
    """The metrics of one photo, with provenance.

    Attributes
    ----------
    metrics : mapping name -> MetricValue, in catalogue order (photo-scope metrics).
    image : provenance of the photo (SHA-256 of its bytes, size, format, orientation).
    pixel_size_mm : float or None.
    settings : the Settings used.
    regions : area and shape or mask hash of roi, lesion and reference.
    warnings : plain-words quality warnings.
    calibration : the colour calibration of the photo (:meth:`texturecmp.chart.Calibration.to_dict`
        with ``"applied"``: whether its correction was applied before L*a*b*), or None
        when no chart or grey card was asked for.
    detail : the tile data and map-size pictures behind the metrics (:class:`MeasurementDetail`),
        not part of :meth:`to_dict` or records.
    """

    metrics: Mapping[str, MetricValue]
    image: Mapping[str, Any]
    pixel_size_mm: float | None
    settings: Settings
    regions: Mapping[str, Any]
    warnings: tuple[str, ...] = ()
    version: str = __version__
    detail: MeasurementDetail | None = field(default=None, repr=False, compare=False)
    calibration: Mapping[str, Any] | None = None

    @property
    def calibrated(self) -> bool:
        """True when a chart or grey card correction was applied before L*a*b*."""
        return bool(self.calibration and self.calibration.get("applied"))

    def __getitem__(self, name: str) -> MetricValue:
        return self.metrics[name]

    def value(self, name: str) -> float:
        return self.metrics[name].value

    def to_record(self, *, subject: str, session: str, date: Any = None) -> dict[str, Any]:
        """A schema-valid record of this measurement (:func:`texturecmp.records.measurement_record`)."""
        from texturecmp.records import measurement_record

        return measurement_record(self, subject=subject, session=session, date=date)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: metrics with units and uncertainty, plus provenance."""
        return {
            "kind": "measurement",
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "warnings": list(self.warnings),
            "provenance": {
                "texturecmp_version": self.version,
                "image": dict(self.image),
                "pixel_size_mm": self.pixel_size_mm,
                "regions": dict(self.regions),
                "calibration": None if self.calibration is None else dict(self.calibration),
                "settings": self.settings.to_dict(),
                "settings_sha256": self.settings.hash,
            },
        }


def _check_pixel_size(pixel_size_mm: Any) -> float | None:
    if pixel_size_mm is None:
        return None
    return check_real(pixel_size_mm, "pixel_size_mm", gt=0, lt=10, expected="a number of millimetres per pixel in (0, 10)")


def make_grids(regions: Regions, settings: Settings, pixel_size_mm: float | None) -> tuple[TileGrid, TileGrid | None]:
    """The roi's tile grid and the scar family's (lesion and reference); raises
    :class:`BadMaskError` when the roi holds fewer than :data:`MIN_TILES` tiles with data."""
    min_tile = max(4, int(round(settings.px(settings.min_tile_mm, pixel_size_mm))))
    grid = TileGrid.covering(regions.roi, target_tiles=settings.target_tiles, min_tile=min_tile)
    _check_tiles(regions.roi, grid, settings.px(1.0, pixel_size_mm))
    scar_grid = None
    if regions.lesion is not None:
        both = regions.lesion | regions.reference
        scar_grid = TileGrid.covering(both, target_tiles=settings.target_tiles, min_tile=max(4, min_tile // 2))
    return grid, scar_grid


def _check_tiles(roi: np.ndarray, grid: TileGrid, px_per_mm: float) -> None:
    n_px = int(np.count_nonzero(roi))
    if n_px >= 4 * MIN_TILES * grid.t * grid.t:  # always enough tiles: skip the count
        return
    n = int(np.count_nonzero(grid.sums(roi) > 0))
    if n < MIN_TILES:
        side = int(math.ceil(math.sqrt(MIN_TILES) * grid.t))
        raise BadMaskError(f"roi: the region to measure ({n_px:,} px) covers {n} tiles of {grid.t} px "
                           f"({grid.t / px_per_mm:.2g} mm) with data; at least {MIN_TILES} are needed to judge a change. "
                           f"Mark a larger region, about {MIN_TILES * grid.t * grid.t:,} px or more "
                           f"(for example {side} x {side} px)")


#: The note of a metric whose features all lie in one tile (:func:`texturecmp.uncertainty.jackknife`).
ONE_TILE_NOTE = "rests on a single tile of the region: too few features to estimate its uncertainty"


def measure_photo(img: Image, regions: Regions, *, settings: Settings, pixel_size_mm: float | None,
                  grid: TileGrid, scar_grid: TileGrid | None, gains: tuple[float, float, float] | None = None,
                  warn_label: str = "the photo", reuse: Measurement | None = None,
                  keep_colour: bool = False, scale: float = 1.0, calibration: Any = None) -> Measurement:
    """Measure one loaded photo with resolved masks and given tile grids (used by measure and compare).

    ``scale``: the photo's registration scale against the baseline (> 1: taken closer).
    The photo is measured at the baseline's physical scale: its pixel size is
    ``pixel_size_mm`` (the baseline's, or the nominal one) divided by ``scale``, so every
    filter scale, tile, length and area follows the skin (:func:`texturecmp.metrics.pixel_length`),
    and lengths and areas are reported in the baseline's units (mm, or baseline pixels).

    ``reuse``: a measurement of the same photo with the same roi, grid, settings, pixel size
    and gains, made without the lesion: its families' tile statistics are taken as they are
    and only the families it lacks (the scar family) are computed; if it was made with
    ``keep_colour`` (it then holds its colour grids, about 8 bytes a pixel), without a
    full-resolution pass.

    ``calibration``: a :class:`texturecmp.chart.Calibration` of this photo; when ``ok`` its
    correction is applied to linear light before L*, L*a*b* and the linear R, G of every
    family (true colour instead of device colour), the ``gains`` after it.
    """
    prior = None
    cal = calibration if calibration is not None and calibration.applicable else None
    if reuse is not None:
        prior = reuse.detail
        if (prior is None or reuse.image.get("sha256") != img.sha256 or prior.grid != grid
                or reuse.settings.hash != settings.hash or reuse.pixel_size_mm != pixel_size_mm
                or prior.gains != _gains(gains) or prior.scale != float(scale) or prior.calibration is not cal
                or not np.array_equal(prior.regions.roi, regions.roi)):
            raise ValueError("reuse: a measurement of another photo, roi, grid, settings, pixel size, scale, gains "
                             "or calibration")
    with opencv_serial():  # the strips spread over the cores; OpenCV splitting them again costs CPU
        m = _measure_photo(img, regions, settings=settings, pixel_size_mm=pixel_size_mm, grid=grid,
                           scar_grid=scar_grid, gains=gains, warn_label=warn_label, prior=prior,
                           keep_colour=keep_colour, scale=_check_scale(scale), cal=cal)
    if calibration is None:
        return m
    info = {**calibration.to_dict(), "applied": cal is not None}
    warns = m.warnings
    if cal is None:
        warns = warns + (f"{warn_label}: {calibration.message}; measured in device colour",)
    return replace(m, calibration=MappingProxyType(info), warnings=warns)


def _check_scale(scale: Any) -> float:
    return check_real(scale, "scale", ge=0.2, le=5, expected="the registration scale of the photo, a number in [0.2, 5]")


def _gains(gains: tuple[float, float, float] | None) -> tuple[float, float, float]:
    return tuple(float(x) for x in gains) if gains is not None else (1.0, 1.0, 1.0)


def _full_context(img: Image, regions: Regions, *, settings: Settings, pixel_size_mm: float | None,
                  grid: TileGrid, scar_grid: TileGrid | None, g: tuple[float, float, float], scale: float = 1.0,
                  cal: Any = None) -> Context:
    """The light and detail passes over the photo: the context every family reads."""
    # Linear light; L* at full resolution from the luminance (texture needs every pixel).
    # Colour (Lab, linear R and G) is only ever averaged or smoothed, so photos over 2 MP
    # keep it area-downsampled by ck = 2. The follow-up's gains apply in linear light.
    # Full-resolution work runs on row strips in threads (texturecmp._parallel).
    h, w = img.shape
    ck = color_scale(img.shape)
    px_src = img.pixels()  # uint8 codes for 8-bit photos, else float32
    L = np.empty((h, w), np.float32)
    lin_c = np.empty((max(1, h // ck), max(1, w // ck), 3), np.float32)
    lab = np.empty_like(lin_c)
    gained = any(abs(x - 1.0) > 1e-6 for x in g)
    s = settings
    px = lambda mm: pixel_length(mm, settings=s, pixel_size_mm=pixel_size_mm, scale=scale)  # noqa: E731
    roi = regions.roi
    roi_all = bool(roi.all())
    # detail layer D = L* - G(L*) (normalised convolution inside the roi, 0 outside), its large
    # Gaussian taken on L* area-downsampled by kd: the box means are taken in the light strips
    sd = px(s.detail_sigma_mm)
    kd = max(1, int(sd / 2.0))
    boxed = kd > 1 and h >= kd and w >= kd
    L_kd = np.empty((h // kd, w // kd), np.float32) if boxed else None
    roi_kd = np.empty_like(L_kd) if boxed and not roi_all else None

    if cal is not None:
        from texturecmp.chart import apply_calibration  # noqa: PLC0415

    def light(y0: int, y1: int) -> dict[str, np.ndarray]:
        lin = linearize(px_src[y0:y1], img.bit_depth)
        if cal is not None:  # true linear sRGB (D65); the same bits for a pixel whatever the strip
            lin = apply_calibration(lin, cal)
        L[y0:y1] = lightness(lin, g)
        part = {}
        if not roi_all:
            r = roi[y0:y1].astype(np.float32)
            part["n"] = grid.row_sums(r, y0)  # the roi's pixels per tile (whole numbers: exact in any order)
            if roi_kd is not None:
                down_rows(L[y0:y1] * r, y0, kd, L_kd)
                down_rows(r, y0, kd, roi_kd)
        elif L_kd is not None:
            down_rows(L[y0:y1], y0, kd, L_kd)
        down_rows(lin, y0, ck, lin_c)  # strips start at multiples of ck (and of kd)
        a, b = y0 // ck, min(lin_c.shape[0], y1 // ck)  # the colour rows it wrote
        if b > a:
            c = lin_c[a:b]
            if gained:
                cv2.multiply(c, g + (0.0,), dst=c)
            np.minimum(c, 1.0, out=c)
            lab[a:b] = cv2.cvtColor(c, cv2.COLOR_LRGB2Lab)
        return part

    step = math.lcm(ck, kd if boxed else 1)
    parts = sum_parts(map_rows(light, h, step * max(1, -(-STRIP_ROWS // step))))
    if not boxed:  # a small photo or a fine pixel size: the whole-image box means (same values)
        L_kd = down_exact(L if roi_all else L * roi, kd)
        roi_kd = None if roi_all else down_exact(roi.astype(np.float32), kd)
    num = blur_small(L_kd, sd, kd)
    den = None if roi_kd is None else np.maximum(blur_small(roi_kd, sd, kd), np.float32(1e-3))
    # then D, the lightly smoothed L1 (fine band's lower sigma), and D^2 area-downsampled by ck (scar, maps)
    g1 = GaussRows(L, px(s.band_fine_mm[0]))
    D = np.empty((h, w), np.float32)
    L1 = np.empty((h, w), np.float32)
    D2c = np.empty((max(1, h // ck), max(1, w // ck)), np.float32)
    Dc = np.empty_like(D2c) if ck > 1 else None  # D's block means: the scar texture's sub-block variance

    def detail(y0: int, y1: int) -> None:
        G = enlarge_rows(num, kd, y0, y1, w)
        if den is not None:
            G = G / enlarge_rows(den, kd, y0, y1, w)
        d = L[y0:y1] - G
        if not roi_all:
            d *= roi[y0:y1]
        D[y0:y1] = d
        L1[y0:y1] = g1.rows(y0, y1)
        down_rows(d * d, y0, ck, D2c)
        if Dc is not None:
            down_rows(d, y0, ck, Dc)

    map_rows(detail, h)
    ctx = Context(rgb=px_src, lin=lin_c, lab=lab, ck=ck, L=L, D=D, L1=L1, roi=roi, lesion=regions.lesion, reference=regions.reference,
                  grid=grid, scar_grid=scar_grid, settings=s, pixel_size_mm=pixel_size_mm, scale=scale)
    ctx.cache["roi_all"] = roi_all
    ctx.cache[("down", "D2", ck)] = D2c
    if Dc is not None:
        ctx.cache[("down", "D", ck)] = Dc
    if not roi_all:
        ctx.cache["roi_n"] = parts["n"]
    return ctx


def _colour_context(img: Image, regions: Regions, colour: ColourGrids, *, settings: Settings, pixel_size_mm: float | None,
                    grid: TileGrid, scar_grid: TileGrid | None, scale: float = 1.0) -> Context:
    """A context of the colour grids kept by an earlier measurement of the photo (no full-resolution fields)."""
    lin_c, lab, D2c, ck, cache = colour
    ctx = Context(rgb=img.pixels(), lin=lin_c, lab=lab, ck=ck, L=None, D=None, L1=None, roi=regions.roi,
                  lesion=regions.lesion, reference=regions.reference, grid=grid, scar_grid=scar_grid,
                  settings=settings, pixel_size_mm=pixel_size_mm, scale=scale)
    ctx.cache.update(cache)
    ctx.cache[("down", "D2", ck)] = D2c
    return ctx


def _measure_photo(img: Image, regions: Regions, *, settings: Settings, pixel_size_mm: float | None,
                   grid: TileGrid, scar_grid: TileGrid | None, gains: tuple[float, float, float] | None,
                   warn_label: str, prior: MeasurementDetail | None, keep_colour: bool, scale: float = 1.0,
                   cal: Any = None) -> Measurement:
    s = settings
    px = lambda mm: pixel_length(mm, settings=s, pixel_size_mm=pixel_size_mm, scale=scale)  # noqa: E731
    g = _gains(gains)
    known = prior.stats if prior is not None else {}
    values: dict[str, MetricValue] = {}
    reps: dict[str, np.ndarray] = {}
    valid_by_grid: dict[str, np.ndarray] = {}
    family_totals: dict[str, dict[str, np.ndarray]] = {}
    # the families are independent given the context: they run side by side on the strip
    # pool (each one's own strips then run in its thread), the costliest first so that the
    # threads finish together; results are taken in registry order
    applicable = [f for f in FAMILY_REGISTRY.values() if not (f.needs == "lesion" and regions.lesion is None)]
    active = sorted((f for f in applicable if f.name not in known), key=lambda f: -f.cost)
    colour = prior.colour if prior is not None else None
    maps = None
    if colour is not None and not any(f.full_res for f in active):
        ctx = _colour_context(img, regions, colour, settings=s, pixel_size_mm=pixel_size_mm, grid=grid,
                              scar_grid=scar_grid, scale=scale)
        maps = {"small_lin": prior.small_lin, "texture_rms": prior.texture_rms}  # they do not depend on the lesion
        jobs = []
    else:
        ctx = _full_context(img, regions, settings=s, pixel_size_mm=pixel_size_mm, grid=grid, scar_grid=scar_grid, g=g,
                            scale=scale, cal=cal)
        jobs = [("maps", functools.partial(_small_maps, ctx, px))]  # takes a thread as the families finish
    jobs = [(f.name, functools.partial(f.stats, ctx)) for f in active] + jobs
    all_stats = dict(zip([name for name, _ in jobs], pool_map(lambda job: job[1](), jobs)))
    maps = all_stats.pop("maps", maps)
    all_stats.update({f.name: known[f.name] for f in applicable if f.name in known})
    kept_stats = dict(all_stats)  # for a later measurement with a lesion (``reuse``)
    for fam in FAMILY_REGISTRY.values():
        if fam.name not in all_stats:
            for name in fam.metrics:
                values[name] = MetricValue(float("nan"), METRICS[name].unit_for(pixel_size_mm), float("nan"),
                                           "needs a lesion region (scar metrics compare the lesion with the reference skin)")
            continue
        stats = all_stats.pop(fam.name)
        valid = fam.valid(stats)
        valid_by_grid[fam.grid] = valid
        family_totals[fam.name] = {k: np.asarray(v, np.float64).sum(axis=0) for k, v in stats.items()}
        vals, r = jackknife(stats, valid, fam.finish, pixel_size_mm)
        if scale != 1.0:  # lengths came in this photo's pixels: to the baseline's units
            for name in fam.metrics:
                f = scale ** -METRICS[name].px_power
                if f != 1.0 and name in vals:
                    vals[name], r[name] = vals[name] * f, r[name] * f
        for name in fam.metrics:
            v = vals.get(name, float("nan"))
            se = jackknife_se(r[name])
            note = _why_nan(name) if not math.isfinite(v) else (ONE_TILE_NOTE if math.isinf(se) else "")
            values[name] = MetricValue(v, METRICS[name].unit_for(pixel_size_mm), se, note)
            reps[name] = r[name]
    ordered = {k: values[k] for k in METRICS if k in values}
    warnings = _quality_warnings(ordered, s, warn_label)
    colour = None
    if keep_colour:  # for a later measurement with a lesion: the scar family reads only these
        colour = ColourGrids(ctx.lin, ctx.lab, ctx.cache[("down", "D2", ctx.ck)], ctx.ck,
                             {k: ctx.cache[k] for k in ("roi_all", "roi_n", ("down", "D", ctx.ck)) if k in ctx.cache})
    vis = ctx.extras.get("visibility")
    detail = MeasurementDetail(
        replicates=reps, valid=valid_by_grid, grid=grid, scar_grid=scar_grid,
        lbp_hist=family_totals.get("texture", {}).get("lbp"), small_lin=maps["small_lin"],
        texture_rms=maps["texture_rms"], visibility=None if vis is None else LesionVisibility(*vis), regions=regions,
        stats=kept_stats, gains=g, scale=scale, calibration=cal, colour=colour)
    return Measurement(MappingProxyType(ordered), MappingProxyType(img.to_dict()), pixel_size_mm, s,
                       MappingProxyType(regions.info), tuple(warnings), __version__, detail)


def _small_maps(ctx: Context, px: Callable[[float], float]) -> dict[str, MapLayer]:
    """Low-resolution maps in the photo's own grid: texture RMS and the photo (gains applied)."""
    s, ck = ctx.settings, ctx.ck
    d2_small, f = downsample(ctx.cache[("down", "D2", ck)], s.map_max_side)
    f /= ck  # relative to the full-resolution photo
    rms = np.sqrt(cv2.GaussianBlur(d2_small, (0, 0), max(px(1.0) * f, 0.5)))
    small_lin, f_lin = downsample(ctx.lin, s.map_max_side)
    return {"texture_rms": MapLayer(rms, f), "small_lin": MapLayer(small_lin, f_lin / ck)}


def _why_nan(name: str) -> str:
    if name == "pore.mean_diameter":
        return "no pores detected in the region"
    if name.startswith("scar."):
        return "lesion or reference has too little data"
    return "could not be computed for this region"


def _quality_warnings(m: Mapping[str, MetricValue], s: Settings, label: str) -> list[str]:
    out = []
    sharp = m["quality.sharpness"].value
    if math.isfinite(sharp) and sharp < s.min_sharpness:
        out.append(f"{label} looks blurred (sharpness {sharp:.2f} < {s.min_sharpness:g}); retake it in focus")
    clip = m["quality.clipped_fraction"].value
    if math.isfinite(clip) and clip > s.clipped_max:
        out.append(f"{label} has {100 * clip:.1f} % clipped pixels (over- or under-exposed); colour metrics are unreliable there")
    spec = m["quality.specular_fraction"].value
    if math.isfinite(spec) and spec > s.specular_max:
        out.append(f"{label} shows glare on {100 * spec:.1f} % of the region; use diffuse or cross-polarised light")
    return out


def measure(image: Any, *, roi: Any = None, lesion: Any = None, reference: Any = None,
            pixel_size_mm: float | None = None, settings: Any = None, calibration: Any = None,
            colour_reference: Any = None) -> Measurement:
    """Measure every metric of one photo.

    Parameters
    ----------
    image : path, bytes, binary file, numpy array or :class:`texturecmp.io.Image`
        Anything :func:`texturecmp.load_image` accepts.
    roi, lesion, reference : region, optional
        Boolean array, mask image or :class:`Rect`/:class:`Ellipse`/:class:`Polygon`
        (pixel coordinates). ``roi`` defaults to the whole photo; ``reference`` to a
        ring around the lesion. Scar metrics need a lesion (else NaN with a note).
    pixel_size_mm : float, optional
        Millimetres per pixel; lengths and areas are then in mm.
    settings : Settings, mapping or settings file, optional
    calibration : "auto", ChartCorners, GreyCard, Calibration or None, optional
        A colour chart in the photo (``"auto"``: detect it; :class:`texturecmp.chart.ChartCorners`:
        the centres of its corner patches) or a marked grey card
        (:class:`texturecmp.chart.GreyCard`), fitted with ``settings.chart_method`` and
        ``settings.chart_reference``. An accepted fit is applied before L*a*b*
        (true CIE L*a*b* instead of device colour); a refused one is reported in the
        warnings and the photo is measured in device colour. The chart or card is left
        out of the roi either way. Default None: device colour.
    colour_reference : region, optional
        Untreated skin kept as the colour reference of a comparison (:func:`texturecmp.compare`):
        left out of the roi, so the region measured never includes it.

    Returns
    -------
    Measurement
        ``calibration`` says what was fitted and whether it was applied.

    Examples
    --------
    >>> import texturecmp as tc
    >>> from texturecmp.phantoms import skin_phantom
    >>> ph = skin_phantom((256, 320), seed=1)
    >>> m = tc.measure(ph.rgb, lesion=ph.lesion)
    >>> sq = m.metrics["texture.sq"]
    >>> print(f"{sq.value:.2f} ± {sq.uncertainty:.2f} {sq.unit}")
    2.50 ± 0.04 L*
    >>> round(m.value("scar.delta_e00"), 1), m["scar.delta_e00"].unit
    (6.3, 'ΔE00')
    >>> m.value("pore.density") > 0, m["pore.density"].unit
    (True, '1/10⁴px²')
    >>> tc.measure(ph.rgb, pixel_size_mm=0.05)["pore.density"].unit
    '1/cm²'
    >>> m.warnings
    ()
    """
    s = coerce_settings(settings)
    p = _check_pixel_size(pixel_size_mm)
    img = load_image(image, name="image")
    cal, exclude = photo_calibration(img, calibration, s)
    cref = resolve_region(colour_reference, img.shape, name="colour_reference")
    if cref is not None:
        exclude = cref if exclude is None else exclude | cref
    regions = resolve_regions(img.shape, roi, lesion, reference, s, exclude=exclude)
    grid, scar_grid = make_grids(regions, s, p)
    return measure_photo(img, regions, settings=s, pixel_size_mm=p, grid=grid, scar_grid=scar_grid, calibration=cal)


def photo_calibration(img: Image, calibration: Any, settings: Settings) -> tuple[Any, np.ndarray | None]:
    """The calibration of one photo and the mask of its chart or grey card (None, None without one)."""
    if calibration is None:
        return None, None
    from texturecmp.chart import prepare_calibration  # noqa: PLC0415 (imports colour-science on first use)
    from texturecmp.settings import CHART_METHODS  # noqa: PLC0415

    return prepare_calibration(img, calibration, method=CHART_METHODS[settings.chart_method],
                               reference=settings.chart_reference)
