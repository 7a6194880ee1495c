"""Regions to measure: ``roi``, ``lesion`` and ``reference``.

:func:`resolve_regions` turns the three arguments of a measurement into its masks
(:class:`Regions`: the default roi, the lesion inside it, the default reference ring) and
their provenance; :func:`resolve_region` turns one of them into a mask.

A region is given as a boolean array, a mask image (path, bytes or file object; nonzero
is inside) or a shape (:class:`Rect`, :class:`Ellipse`, :class:`Polygon`) in pixel
coordinates of the baseline photo (x right, y down, pixel centres at integers).
The default reference is a ring around the lesion (docs/method.md section 3).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from texturecmp._checks import check_real
from texturecmp.errors import BadMaskError
from texturecmp.settings import Settings

__all__ = ["Rect", "Ellipse", "Polygon", "Shape", "Regions", "resolve_region", "resolve_regions", "reference_ring",
           "MIN_ROI_PIXELS", "MIN_LESION_PIXELS", "MIN_REFERENCE_PIXELS", "MIN_TILES", "region_to_dict"]

#: Smallest regions texturecmp measures (pixels).
#: The smallest roi accepted at all; whether a region can be judged is set by its tiles (MIN_TILES).
MIN_ROI_PIXELS = 1024
#: Tiles with data a region needs for the jackknife SE of its metrics (Student t with
#: MIN_TILES - 1 degrees of freedom widens the threshold of a small region).
MIN_TILES = 8
MIN_LESION_PIXELS = 100
MIN_REFERENCE_PIXELS = 100


@dataclass(frozen=True)
class Rect:
    """Axis-aligned rectangle: top-left corner (x, y), width and height in pixels."""

    x: float
    y: float
    width: float
    height: float

    def __post_init__(self) -> None:
        for k in ("x", "y", "width", "height"):
            object.__setattr__(self, k, check_real(getattr(self, k), f"Rect.{k}", error=BadMaskError))
        if self.width <= 0 or self.height <= 0:
            raise BadMaskError(f"Rect: width and height must be > 0, got {self.width} x {self.height}")

    def bounds(self) -> tuple[float, float, float, float]:
        return self.x, self.y, self.x + self.width, self.y + self.height

    def rasterize(self, shape: tuple[int, int]) -> np.ndarray:
        h, w = shape
        yy = np.arange(h)[:, None]
        xx = np.arange(w)[None, :]
        return (xx >= self.x) & (xx < self.x + self.width) & (yy >= self.y) & (yy < self.y + self.height)

    def to_dict(self) -> dict:
        return {"type": "rect", "x": self.x, "y": self.y, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class Ellipse:
    """Ellipse: centre (cx, cy), semi-axes rx, ry in pixels, rotated by ``angle_deg`` (clockwise as displayed, as OpenCV)."""

    cx: float
    cy: float
    rx: float
    ry: float
    angle_deg: float = 0.0

    def __post_init__(self) -> None:
        for k in ("cx", "cy", "rx", "ry", "angle_deg"):
            object.__setattr__(self, k, check_real(getattr(self, k), f"Ellipse.{k}", error=BadMaskError))
        if self.rx <= 0 or self.ry <= 0:
            raise BadMaskError(f"Ellipse: semi-axes must be > 0, got rx={self.rx}, ry={self.ry}")

    def bounds(self) -> tuple[float, float, float, float]:
        t = math.radians(self.angle_deg)
        hx = math.hypot(self.rx * math.cos(t), self.ry * math.sin(t))
        hy = math.hypot(self.rx * math.sin(t), self.ry * math.cos(t))
        return self.cx - hx, self.cy - hy, self.cx + hx, self.cy + hy

    def rasterize(self, shape: tuple[int, int]) -> np.ndarray:
        h, w = shape
        t = math.radians(self.angle_deg)
        yy, xx = np.ogrid[:h, :w]
        dx = xx - self.cx
        dy = yy - self.cy
        u = dx * math.cos(t) + dy * math.sin(t)
        v = -dx * math.sin(t) + dy * math.cos(t)
        return (u / self.rx) ** 2 + (v / self.ry) ** 2 <= 1.0

    def to_dict(self) -> dict:
        return {"type": "ellipse", "cx": self.cx, "cy": self.cy, "rx": self.rx, "ry": self.ry, "angle_deg": self.angle_deg}


@dataclass(frozen=True)
class Polygon:
    """Polygon: a sequence of at least three (x, y) vertices in pixels."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        try:
            pts = tuple((check_real(p[0], "Polygon.x", error=BadMaskError), check_real(p[1], "Polygon.y", error=BadMaskError))
                        for p in self.points)
        except (TypeError, IndexError):
            raise BadMaskError(f"Polygon: expected a sequence of (x, y) points, got {self.points!r}") from None
        if len(pts) < 3:
            raise BadMaskError(f"Polygon: needs at least 3 points, got {len(pts)}")
        object.__setattr__(self, "points", pts)

    def bounds(self) -> tuple[float, float, float, float]:
        a = np.asarray(self.points)
        return float(a[:, 0].min()), float(a[:, 1].min()), float(a[:, 0].max()), float(a[:, 1].max())

    def rasterize(self, shape: tuple[int, int]) -> np.ndarray:
        out = np.zeros(shape, np.uint8)
        pts = np.round(np.asarray(self.points) * 16).astype(np.int32)  # 4 fractional bits
        cv2.fillPoly(out, [pts], 1, lineType=cv2.LINE_8, shift=4)
        return out.astype(bool)

    def to_dict(self) -> dict:
        return {"type": "polygon", "points": [list(p) for p in self.points]}


Shape = Rect | Ellipse | Polygon
_SHAPES = {"rect": Rect, "ellipse": Ellipse, "polygon": Polygon}


def shape_from_dict(d: dict) -> Shape:
    """Inverse of ``Shape.to_dict()``."""
    try:
        kind = d["type"]
        cls = _SHAPES[kind]
        kw = {k: v for k, v in d.items() if k != "type"}
        return cls(**kw)
    except (KeyError, TypeError) as exc:
        raise BadMaskError(f"region: cannot build a shape from {d!r} ({exc})") from None


def _minimum(name: str) -> int:
    return {"roi": MIN_ROI_PIXELS, "lesion": MIN_LESION_PIXELS, "reference": MIN_REFERENCE_PIXELS}.get(name, MIN_LESION_PIXELS)


def resolve_region(spec: Any, shape: tuple[int, int], *, name: str, required_min: int | None = None) -> np.ndarray | None:
    """Turn a region specification into a boolean mask of ``shape`` (H, W).

    Parameters
    ----------
    spec : None, bool array, mask image path/bytes/file, Rect, Ellipse, Polygon or a shape dict
        ``None`` returns ``None`` (the caller applies the default).
    shape : (int, int)
        Image height and width.
    name : str
        Argument name used in error messages (``"roi"``, ``"lesion"``, ``"reference"``).

    Raises
    ------
    BadMaskError
        Wrong shape, empty, out of bounds (a shape extending beyond the image), NaN
        values, or fewer pixels than the minimum for this kind of region.
    """
    if spec is None:
        return None
    h, w = shape
    if isinstance(spec, dict):
        spec = shape_from_dict(spec)
    if isinstance(spec, (Rect, Ellipse, Polygon)):
        x0, y0, x1, y1 = spec.bounds()
        if x0 < -0.5 or y0 < -0.5 or x1 > w - 0.5 + 1 or y1 > h - 0.5 + 1:
            raise BadMaskError(
                f"{name}: {type(spec).__name__} spans x {x0:.0f}..{x1:.0f}, y {y0:.0f}..{y1:.0f}, "
                f"beyond the {w}x{h} image; expected coordinates inside it")
        mask = spec.rasterize((h, w))
    elif isinstance(spec, np.ndarray):
        if spec.ndim == 3 and spec.shape[2] in (1, 3, 4):
            spec = spec[..., 0]
        if spec.ndim != 2:
            raise BadMaskError(f"{name}: expected a 2-D mask, got an array of shape {spec.shape}")
        if spec.shape != (h, w):
            raise BadMaskError(f"{name}: mask is {spec.shape[1]}x{spec.shape[0]} pixels but the image is {w}x{h}; expected the same size")
        if spec.dtype.kind == "f" and not np.isfinite(spec).all():
            raise BadMaskError(f"{name}: mask contains NaN or infinite values")
        mask = spec.astype(bool) if spec.dtype != bool else spec
    elif isinstance(spec, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(spec, "read"):
        from texturecmp.io import load_mask

        mask = load_mask(spec, shape=(h, w), name=name)
    else:
        raise BadMaskError(f"{name}: expected a boolean array, a mask image or a Rect/Ellipse/Polygon, got {type(spec).__name__}")
    n = int(np.count_nonzero(mask))
    if n == 0:
        raise BadMaskError(f"{name}: region is empty (no pixel inside)")
    minimum = required_min if required_min is not None else _minimum(name)
    if n < minimum:
        raise BadMaskError(f"{name}: region has {n} pixels; at least {minimum} are needed to measure it")
    return np.array(mask, dtype=bool, order="C", copy=True)  # never the caller's array


def reference_ring(lesion: np.ndarray, roi: np.ndarray | None = None, *, inner: float = 1.0, outer: float = 2.0) -> np.ndarray:
    """Default reference region: a ring around the lesion.

    The ring spans distances from ``(inner - 1) * r`` to ``(outer - 1) * r`` outside the
    lesion border, where r is the lesion's equivalent radius sqrt(area / pi); i.e. for an
    ideal disc of radius r the ring runs from radius ``inner * r`` to ``outer * r``. It is
    clipped to the roi and excludes the lesion (docs/method.md section 3). A small gap of
    max(2 px, 0.1 r) next to the border keeps blurred border pixels out.
    """
    area = float(np.count_nonzero(lesion))
    r = math.sqrt(area / math.pi)
    gap = max(2.0, 0.1 * r)
    lo = max((inner - 1.0) * r, gap)
    hi = max((outer - 1.0) * r, lo + 2.0)
    # work in a window around the lesion: the ring lies within hi of it
    h, w = lesion.shape
    ys = np.nonzero(lesion.any(axis=1))[0]
    xs = np.nonzero(lesion.any(axis=0))[0]
    pad = int(math.ceil(hi)) + 2
    wy = slice(max(0, ys[0] - pad), min(h, ys[-1] + 1 + pad))
    wx = slice(max(0, xs[0] - pad), min(w, xs[-1] + 1 + pad))
    outside = (~lesion[wy, wx]).astype(np.uint8)
    # distance from the lesion (0 inside); the window border is not an obstacle
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    ring = np.zeros((h, w), bool)
    ring[wy, wx] = (dist > lo) & (dist <= hi)
    if roi is not None:
        ring &= roi
    return ring


def region_to_dict(spec: Any, mask: np.ndarray | None) -> dict | None:
    """Describe a region for provenance: the shape if it was one, else the mask's hash and area."""
    if mask is None:
        return None
    import hashlib

    d: dict[str, Any] = {"area_px": int(np.count_nonzero(mask))}
    if isinstance(spec, dict):
        spec = shape_from_dict(spec)
    if isinstance(spec, (Rect, Ellipse, Polygon)):
        d["shape"] = spec.to_dict()
    else:
        packed = np.packbits(mask, axis=None)
        d["mask_sha256"] = hashlib.sha256(f"{mask.shape}".encode() + packed.tobytes()).hexdigest()
    return d


@dataclass(frozen=True)
class Regions:
    """The region masks of one photo, resolved (:func:`resolve_regions`).

    Attributes
    ----------
    roi : (H, W) bool array
        The region to measure (the whole photo when none was given), without the excluded pixels.
    lesion : (H, W) bool array or None
        The lesion, inside the roi.
    reference : (H, W) bool array or None
        The reference skin, inside the roi and outside the lesion (the default ring when a
        lesion was given without one).
    info : dict
        Provenance of each (:func:`region_to_dict`; the default ring as ``{"default": "ring", "area_px": n}``).
    """

    roi: np.ndarray
    lesion: np.ndarray | None
    reference: np.ndarray | None
    info: dict


def resolve_regions(shape: tuple[int, int], roi: Any, lesion: Any, reference: Any, settings: Settings, *,
                    exclude: np.ndarray | None = None) -> Regions:
    """Masks from the user's region arguments, with the default roi and reference ring.

    ``exclude``: pixels that are never skin to measure (a colour chart, a grey card, the
    colour reference skin): taken out of the roi, hence of the lesion and reference."""
    roi_m = resolve_region(roi, shape, name="roi")
    if roi_m is None:
        roi_m = np.ones(shape, bool)
    if exclude is not None:
        roi_m = roi_m & ~exclude
    les_m = resolve_region(lesion, shape, name="lesion")
    if les_m is not None:
        les_m &= roi_m
        if np.count_nonzero(les_m) < 100:
            raise BadMaskError("lesion: fewer than 100 of its pixels lie inside the roi; draw the lesion inside the region to measure")
    ref_m = resolve_region(reference, shape, name="reference")
    if reference is None and les_m is not None:
        ref_m = reference_ring(les_m, roi_m, inner=settings.reference_ring[0], outer=settings.reference_ring[1])
        if np.count_nonzero(ref_m) < MIN_REFERENCE_PIXELS:
            raise BadMaskError("reference: the default ring around the lesion has too little skin inside the roi; give a reference region")
    elif ref_m is not None:
        ref_m = ref_m & roi_m & ~(les_m if les_m is not None else False)
        if np.count_nonzero(ref_m) < MIN_REFERENCE_PIXELS:
            raise BadMaskError(f"reference: fewer than {MIN_REFERENCE_PIXELS} of its pixels lie inside the roi and outside the lesion")
    info = {"roi": region_to_dict(roi, roi_m), "lesion": region_to_dict(lesion, les_m),
            "reference": region_to_dict(reference, ref_m) if reference is not None else
            ({"default": "ring", "area_px": int(np.count_nonzero(ref_m))} if ref_m is not None else None)}
    return Regions(roi_m, les_m, ref_m, info)
