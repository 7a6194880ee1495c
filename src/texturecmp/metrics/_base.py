"""The metric-family registry and the per-photo context the families read (private).

A family turns one photo into **additive tile statistics** (sums over each tile of the
region grid) and has a vectorised ``finish`` that turns summed statistics into metric
values. Summing over all tiles gives the value; leaving one tile out at a time gives the
jackknife replicates from which the standard error follows (texturecmp.uncertainty).
Adding a metric means adding its catalogue entry and computing it in a family's
``finish``: the dispatcher, records, CLI and UI need no change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from texturecmp._filters import TileGrid, down_exact
from texturecmp.settings import Settings

__all__ = ["Context", "Family", "FAMILY_REGISTRY", "register_family", "pixel_length", "MIN_RESOLVED_PX"]

#: The smallest length, in a photo's own pixels, at which a family's finest scale
#: (:attr:`Family.finest_mm`) still carries information: a Gaussian or a pixel offset of
#: less than this is below the sampling (and the lens blur) of the follow-up, so the
#: metric is "not comparable" there rather than read off pixel noise.
MIN_RESOLVED_PX = 0.75


def pixel_length(mm: float, *, settings: Settings, pixel_size_mm: float | None, scale: float = 1.0) -> float:
    """A physical length (mm) in a photo's own pixels.

    ``pixel_size_mm`` is the baseline's pixel size (None: the settings' nominal one);
    ``scale`` is the registration scale of the photo against the baseline (> 1 when the
    skin is shown larger, a closer camera). The photo's pixel size is the baseline's
    divided by ``scale``, so that a follow-up is measured at the baseline's physical
    scale: ``mm / (p / scale)``.
    """
    return settings.px(mm, pixel_size_mm) * float(scale)


@dataclass
class Context:
    """Everything a family needs about one photo, computed once by the dispatcher."""

    rgb: np.ndarray            # the photo as taken: sRGB uint8 codes (8-bit photos) or float32 in [0, 1] (H, W, 3)
    lin: np.ndarray            # photometrically corrected linear RGB float32, at 1/ck resolution
    lab: np.ndarray            # CIELAB float32, at 1/ck resolution (colour is only averaged or smoothed)
    ck: int                    # colour scale: lab and lin are area-downsampled by ck (1 or 2)
    L: np.ndarray | None       # L* at full resolution (None in a colour-only context, see Family.full_res)
    D: np.ndarray | None       # detail layer L* - masked Gaussian (0 outside roi)
    L1: np.ndarray | None      # L* lightly smoothed (fine band lower sigma)
    roi: np.ndarray            # bool
    lesion: np.ndarray | None  # bool
    reference: np.ndarray | None
    grid: TileGrid             # roi tile grid
    scar_grid: TileGrid | None
    settings: Settings
    pixel_size_mm: float | None  # the baseline's (None: nominal); this photo's is pixel_size_mm / scale
    cache: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    scale: float = 1.0         # registration scale against the baseline (> 1: the skin shown larger)

    def px(self, mm: float) -> float:
        """A length in mm as this photo's pixels (:func:`pixel_length`: the baseline's pixel
        size, nominal when unknown, divided by the registration scale)."""
        return pixel_length(mm, settings=self.settings, pixel_size_mm=self.pixel_size_mm, scale=self.scale)

    @property
    def shape(self) -> tuple[int, int]:
        return self.roi.shape

    @property
    def roi_all(self) -> bool:
        if "roi_all" not in self.cache:
            self.cache["roi_all"] = bool(self.roi.all())
        return self.cache["roi_all"]

    @property
    def roi_f(self) -> np.ndarray:
        """The roi as float32 0/1 (cached)."""
        if "roi_f" not in self.cache:
            self.cache["roi_f"] = self.roi.astype(np.float32)
        return self.cache["roi_f"]

    def in_roi(self, field: np.ndarray) -> np.ndarray:
        """``field`` with pixels outside the roi set to 0 (no copy when the roi is the whole photo)."""
        return field if self.roi_all else field * self.roi_f

    def roi_count(self) -> np.ndarray:
        """Tile sums of the roi (cached)."""
        if "roi_n" not in self.cache:
            self.cache["roi_n"] = self.grid.areas(self.shape) if self.roi_all else self.grid.sums(self.roi_f)
        return self.cache["roi_n"]

    def down(self, name: str, k: int) -> np.ndarray:
        """An area-downsampled (by the integer factor k) version of a full-resolution field
        ("L", "lab", "lin", "D2" or a mask "roi"/"lesion"/"reference" as a 0..1 fraction), cached."""
        key = ("down", name, k)
        if key not in self.cache:
            if name in ("lab", "lin") and k == self.ck:
                self.cache[key] = getattr(self, name)
                return self.cache[key]
            if name in ("lab", "lin") and self.ck != 1:
                raise ValueError(f"{name} is kept at 1/{self.ck} resolution; cannot downsample it by {k}")
            src = {"L": lambda: self.L, "lab": lambda: self.lab, "lin": lambda: self.lin,
                   "D2": lambda: self.cache["D2"], "roi": lambda: self.roi_f,
                   "lesion": lambda: self.lesion.astype(np.float32),
                   "reference": lambda: self.reference.astype(np.float32)}[name]()
            self.cache[key] = down_exact(src, k)
        return self.cache[key]


class Family:
    """Base class of a metric family.

    Subclasses set ``name``, ``metrics`` (catalogue names), ``grid`` ("roi" or "scar"),
    ``needs`` (a region the family cannot do without, or None) and implement
    :meth:`stats` and :meth:`finish`. ``cost`` is the family's share of a photo's CPU
    time (single-threaded, 12 MP): the dispatcher starts the costliest families first,
    so that the cores finish together. ``full_res``: whether the family reads the
    full-resolution fields (``L``, ``D``, ``L1``, ``rgb``); one that does not can be
    measured again from the colour grids alone. :meth:`finest_mm` names the finest
    length each metric needs resolved.

    Lengths reach the families as pixels of the photo measured (:meth:`Context.px`),
    so a follow-up taken closer or farther is filtered at the baseline's physical
    scales; :meth:`finish` returns values in the baseline's units (mm with a known pixel
    size, else baseline pixels): the dispatcher converts a follow-up's length-dependent
    values with the catalogue's ``px_power``.
    """

    name: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]]
    grid: ClassVar[str] = "roi"
    needs: ClassVar[str | None] = None
    cost: ClassVar[float] = 0.1
    full_res: ClassVar[bool] = True

    def finest_mm(self, settings: Settings) -> dict[str, float | tuple[float, float]]:
        """The finest physical length (mm) each metric's filters need resolved: a metric whose
        length falls below :data:`MIN_RESOLVED_PX` pixels of a follow-up (a photo taken from
        farther away, a lower resolution) is not comparable with its baseline. A value
        ``(mm, min_px)`` sets another number of pixels. Metrics not listed need nothing
        finer than the region's tiles."""
        return {}

    def stats(self, ctx: Context) -> dict[str, np.ndarray]:  # pragma: no cover - interface
        """Tile statistics: name -> array of shape (n_tiles, ...)."""
        raise NotImplementedError

    def valid(self, stats: dict[str, np.ndarray]) -> np.ndarray:
        """Tiles that hold data (bool, n_tiles)."""
        return stats["n"] > 0

    def finish(self, tot: dict[str, np.ndarray], pixel_size_mm: float | None) -> dict[str, np.ndarray]:  # pragma: no cover
        """Metric values from summed statistics with a leading replicate axis (R, ...) -> name -> (R,)."""
        raise NotImplementedError


FAMILY_REGISTRY: dict[str, Family] = {}


def register_family(cls: type[Family]) -> type[Family]:
    """Class decorator adding a family to the registry (the dispatcher runs them in order)."""
    FAMILY_REGISTRY[cls.name] = cls()
    return cls


def safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b with NaN where b == 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out
