r"""Colour calibration from an X-Rite/Calibrite ColorChecker Classic in the photo.

A photo's device colours depend on the lamp, the exposure and the camera. A
ColorChecker Classic (24 patches in 4 rows of 6; the Passport and Mini forms share
the layout) in the frame gives 24 colours of known CIE L*a*b*. This module

1. finds the chart (:func:`find_chart`) or takes its four corner patches
   (:class:`ChartCorners`),
2. reads each patch's robust mean in linear light, away from the patch edges and
   from glare (:func:`read_patches`),
3. fits a colour-correction matrix (CCM) from the measured patches to the chart's
   reference values in linear sRGB (D65) with
   ``colour.characterisation.matrix_colour_correction`` (colour-science), checks the
   fit patch by patch (CIEDE2000 after correction, and leave-one-patch-out) and
   refuses, with reasons, a fit that is not good enough (:func:`calibrate`),
4. applies the correction to linear RGB (:func:`apply_calibration`), so that L*a*b*
   computed from it is true colour rather than device colour, and marks the chart
   so it can be left out of the roi, the reference skin and registration
   (:func:`chart_mask`, :func:`prepare_calibration`).

A marked grey card or white patch sets exposure and white balance only
(:func:`calibrate_grey`).

Detection
---------
OpenCV (headless) only; the ``colour-checker-detection`` package is not used because
it depends on the GUI build of OpenCV, which installs the same ``cv2`` module as
``opencv-python-headless``. On a copy reduced to :data:`DETECT_SIDE` px (long side):

* patch candidates are the regions enclosed by Canny edges (all three channels,
  dilated by one pixel) whose contour is convex, nearly square (side ratio <= 1.5) and
  fills >= 75 % of its minimum-area rectangle;
* the candidates of one chart agree in size (within 1.5x) and orientation (within 10
  degrees, modulo 90): the largest such group is walked as a graph of neighbours one
  or two pitches apart along the group's axes, giving each square integer grid
  coordinates (u, v);
* a homography (RANSAC) maps (u, v) to the image; every placement of the 6 x 4
  chart on those coordinates (8 orientations, including the mirrored ones of a
  selfie camera, and every offset that contains the squares) predicts 24 patch
  centres; the placement whose sampled colours a 3 x 3 matrix maps best onto the
  reference colours (mean CIEDE2000) wins. This also finds the chart's patch 1 and
  so its orientation. A best mean above :data:`MAX_DETECT_DE` means "no chart".

Patch reading
-------------
Patch (row r, column c) has its centre at grid point (c, r); the homography of the
four corner patches' centres (:class:`ChartCorners`) maps the grid to the photo. The
window read is the central ``window`` (0.5) of a patch pitch, i.e. ~60 % of the
patch side: blur and a mis-placed corner of up to a quarter pitch stay outside it.
In that window, with :math:`m` the per-channel median and
:math:`s = 1.4826\,\mathrm{MAD}` the robust spread,

* a pixel is **glare** when its luminance exceeds the median luminance by more than
  :math:`\max(4 s_Y, 0.04 m_Y + 0.004)` (a specular highlight brightens), and so is
  every pixel of a block of the window's 3 x 3 split whose mean luminance exceeds the
  median block's by more than :math:`\max(0.04 m_Y + 0.004, 4 s_Y / \sqrt{n_b})`
  (a highlight broad enough to move the median; even light varies far less than 4 %
  across a window);
* a pixel is an **outlier** when any channel is more than
  :math:`\max(5 s, 0.05 m + 0.004)` from the median (dust; the blocks of a JPEG are
  not outliers: a tighter limit biased patch means by ~1 %);
* the patch value is the mean of the remaining pixels (linear light);
* a patch **has glare** when more than ``max_glare`` (10 %) of its pixels are glare or
  any block is bright;
* the patch is **clipped** when more than 1 % of its window's pixels have a channel
  at the encoding's limits (code 0 or 255 of an 8-bit photo, < 0.5/255 from 0 or 1).

Fit
---
With :math:`T` the n x 3 measured patches and :math:`R` the reference patches in
linear sRGB, colour-science fits :math:`\mathrm{CCM} = \arg\min \lVert E(T)\,
\mathrm{CCM}^\top - R \rVert_F` (Moore-Penrose), :math:`E` the method's expansion:
``"Cheung 2004"`` (default 3 terms: a plain 3 x 3 matrix), ``"Finlayson 2015"``
(root-polynomial, exposure invariant; default degree 2) or ``"Vandermonde"`` (default
degree 1: a 3 x 4 affine map). The reference values are the chosen
``colour.CCS_COLOURCHECKERS`` data set (xyY under its illuminant, ICC D50), adapted
to D65 with the Bradford transform, or for ``"BabelColor Average"`` the spectral
reflectances integrated under CIE D65 with the CIE 1931 2° observer (no adaptation
needed). Colours are compared in CIE L*a*b* (D65) with CIEDE2000
(:func:`texturecmp.color.delta_e00`), using the same sRGB matrix and white as
OpenCV's ``COLOR_LRGB2Lab``.

References
----------
.. [1] C. S. McCamy, H. Marcus, J. G. Davidson, "A color-rendition chart",
   J. Appl. Photogr. Eng. 2(3):95-99, 1976.
.. [2] V. Cheung, S. Westland, D. Connah, C. Ripamonti, "A comparative study of the
   characterisation of colour cameras by means of neural networks and polynomial
   transforms", Coloration Technol. 120(1):19-25, 2004.
.. [3] G. D. Finlayson, M. Mackiewicz, A. Hurlbert, "Color correction using
   root-polynomial regression", IEEE Trans. Image Process. 24(5):1460-1470, 2015.
.. [4] colour-science, ``colour.characterisation`` and ``colour.CCS_COLOURCHECKERS``,
   https://www.colour-science.org.
.. [5] G. Sharma, W. Wu, E. N. Dalal, Color Res. Appl. 30(1):21-30, 2005 (CIEDE2000).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from texturecmp._checks import check_real
from texturecmp._filters import linearize
from texturecmp.color import delta_e00
from texturecmp.errors import BadMaskError, BadSettingsError
from texturecmp.io import Image, load_image
from texturecmp.settings import CHART_REFERENCES

__all__ = [
    "PATCH_NAMES",
    "REFERENCES",
    "METHODS",
    "ChartCorners",
    "GreyCard",
    "Calibration",
    "find_chart",
    "read_patches",
    "reference_patches",
    "calibrate",
    "calibrate_grey",
    "apply_calibration",
    "chart_mask",
    "card_outline",
    "prepare_calibration",
]

#: Patch names in reading order (row by row from patch 1, "dark skin", at the top left).
PATCH_NAMES: tuple[str, ...] = (
    "dark skin", "light skin", "blue sky", "foliage", "blue flower", "bluish green",
    "orange", "purplish blue", "moderate red", "purple", "yellow green", "orange yellow",
    "blue", "green", "red", "yellow", "magenta", "cyan",
    "white 9.5", "neutral 8", "neutral 6.5", "neutral 5", "neutral 3.5", "black 2",
)

#: Reference data sets (names of ``colour.CCS_COLOURCHECKERS``; also the values of ``Settings.chart_reference``).
REFERENCES: tuple[str, ...] = CHART_REFERENCES

#: Fitting methods of ``colour.characterisation.matrix_colour_correction`` and their default options.
METHODS: Mapping[str, Mapping[str, int]] = {
    "Cheung 2004": {"terms": 3},
    "Finlayson 2015": {"degree": 2},
    "Vandermonde": {"degree": 1},
}

DETECT_SIDE = 1400
"""Long side (px) of the reduced copy the chart is searched in."""

MAX_DETECT_DE = 10.0
"""A chart placement whose colours a 3 x 3 matrix cannot bring within this mean ΔE00 of the reference is no chart."""

_ROWS, _COLS = 4, 6
_GRID = np.array([(c, r) for r in range(_ROWS) for c in range(_COLS)], np.float64)  # patch centres (x=col, y=row)
_CORNER_GRID = np.array([(0, 0), (_COLS - 1, 0), (_COLS - 1, _ROWS - 1), (0, _ROWS - 1)], np.float64)

# linear sRGB (D65) -> XYZ, the matrix and white of OpenCV's COLOR_LRGB2Lab, so that the Lab here
# is the Lab texturecmp measures
_RGB2XYZ = np.array([[0.412453, 0.357580, 0.180423],
                     [0.212671, 0.715160, 0.072169],
                     [0.019334, 0.119193, 0.950227]])
_WHITE_D65 = _RGB2XYZ.sum(axis=1)
_Y_W = _RGB2XYZ[1]


# ----------------------------------------------------------------------------- colour-science


@functools.cache
def _colour() -> Any:
    """colour-science, imported on first use (its import takes about a second)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Matplotlib related API features are not available"
        import colour  # noqa: PLC0415

    return colour


def lin_to_lab(lin: ArrayLike) -> NDArray[np.float64]:
    """CIE L*a*b* (D65) of linear sRGB (..., 3), float64, as OpenCV's LRGB2Lab but defined for negative values.

    The cube root is sign-preserving, so colours outside the sRGB gamut (a fitted CCM can
    produce them for the chart's cyan) keep a meaningful Lab.
    """
    xyz = np.asarray(lin, np.float64) @ _RGB2XYZ.T / _WHITE_D65
    eps = (6.0 / 29.0) ** 3
    f = np.where(np.abs(xyz) > eps, np.cbrt(xyz), xyz / (3 * (6.0 / 29.0) ** 2) + 4.0 / 29.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], -1)


def lab_to_lin(lab: ArrayLike) -> NDArray[np.float64]:
    """Linear sRGB (..., 3), float64, of CIE L*a*b* (D65): the inverse of :func:`lin_to_lab`
    (not clipped to the gamut)."""
    lab = np.asarray(lab, np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], -1)
    xyz = np.where(f > 6.0 / 29.0, f**3, 3 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0)) * _WHITE_D65
    return np.linalg.solve(_RGB2XYZ, xyz[..., None])[..., 0]


@functools.cache
def _reference(name: str) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
    colour = _colour()
    if name not in REFERENCES:
        raise BadSettingsError(f"reference must be one of {', '.join(map(repr, REFERENCES))}, got {name!r}")
    if name == "BabelColor Average":
        sds = colour.SDS_COLOURCHECKERS[name]
        cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
        d65 = colour.SDS_ILLUMINANTS["D65"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Trimming ... boundaries": the spectra span 380-730 nm
            xyz = np.array([colour.sd_to_XYZ(sd, cmfs, d65) for sd in sds.values()]) / 100.0
        how = "spectral reflectances under CIE D65, CIE 1931 2 degree observer"
    else:
        cc = colour.CCS_COLOURCHECKERS[name]
        xyY = np.array(list(cc.data.values()), np.float64)
        xyz_src = colour.xyY_to_XYZ(xyY)
        white_src = colour.xy_to_XYZ(cc.illuminant)
        xyz = colour.adaptation.chromatic_adaptation_VonKries(xyz_src, white_src, _WHITE_D65, transform="Bradford")
        how = "xyY under ICC D50, Bradford-adapted to D65"
    lin = xyz @ np.linalg.inv(_RGB2XYZ).T
    lab = lin_to_lab(lin)
    lin.flags.writeable = False
    lab.flags.writeable = False
    return lin, lab, how


def reference_patches(reference: str = REFERENCES[0]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Reference values of the 24 patches: linear sRGB (D65) and CIE L*a*b* (D65), both (24, 3).

    Parameters
    ----------
    reference : str, optional
        One of :data:`REFERENCES`. D50 data sets are Bradford-adapted to D65;
        ``"BabelColor Average"`` is integrated from its spectra under D65.

    Returns
    -------
    lin, lab : ndarray of float64, shape (24, 3)
        Patch order of :data:`PATCH_NAMES`; linear values relative to a perfect white
        diffuser (Y = 1). The chart's cyan lies slightly outside sRGB (a negative red).
    """
    lin, lab, _ = _reference(reference)
    return lin, lab


# ----------------------------------------------------------------------------- corners


@dataclass(frozen=True)
class ChartCorners:
    """The centres of the chart's four corner patches, in pixel coordinates (x right, y down).

    Parameters
    ----------
    points : sequence of 4 (x, y)
        In this order: patch 1 "dark skin", patch 6 "bluish green", patch 24 "black 2",
        patch 19 "white 9.5" (clockwise when the chart is upright and seen from the
        front). Coordinates in pixels of the photo, pixel centres at integers.

    Notes
    -----
    Centres rather than the card's corners, because they are what one clicks on a
    photo reliably; the other 20 patch centres follow from the homography of these
    four (``cv2.getPerspectiveTransform``).
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        try:
            pts = np.asarray(self.points, np.float64)
        except (TypeError, ValueError) as exc:
            raise BadSettingsError(f"ChartCorners.points must be 4 (x, y) pairs, got {self.points!r}") from exc
        if pts.shape != (4, 2) or not np.isfinite(pts).all():
            raise BadSettingsError(f"ChartCorners.points must be 4 finite (x, y) pairs, got {self.points!r}")
        edges = np.roll(pts, -1, axis=0) - pts
        turn = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
        convex = bool((turn > 0).all() or (turn < 0).all())  # every corner turns the same way: no bow tie
        if not convex or abs(cv2.contourArea(pts.astype(np.float32))) < 16.0:
            raise BadSettingsError("ChartCorners.points must form a convex quadrilateral of some size "
                                   "(centres of patches 1, 6, 24, 19 in that order), got "
                                   f"{[tuple(round(v, 1) for v in p) for p in pts.tolist()]}")
        object.__setattr__(self, "points", tuple((float(x), float(y)) for x, y in pts))

    @classmethod
    def parse(cls, text: str) -> "ChartCorners":
        """From ``"x1,y1,x2,y2,x3,y3,x4,y4"`` (the CLI's ``--chart``)."""
        try:
            v = [float(t) for t in text.replace(";", ",").split(",") if t.strip()]
        except ValueError as exc:
            raise BadSettingsError(f"chart corners must be 8 numbers x1,y1,...,x4,y4, got {text!r}") from exc
        if len(v) != 8:
            raise BadSettingsError(f"chart corners must be 8 numbers x1,y1,...,x4,y4, got {len(v)} in {text!r}")
        return cls(tuple(zip(v[0::2], v[1::2])))

    def homography(self) -> NDArray[np.float64]:
        """3 x 3 matrix mapping grid coordinates (column, row) of patch centres to pixels."""
        return cv2.getPerspectiveTransform(_CORNER_GRID.astype(np.float32), np.asarray(self.points, np.float32)).astype(np.float64)

    def patch_centres(self) -> NDArray[np.float64]:
        """(24, 2) pixel coordinates of the patch centres, in :data:`PATCH_NAMES` order."""
        return _project(self.homography(), _GRID)

    def pitch_px(self) -> float:
        """Smallest distance between neighbouring patch centres, in pixels (the chart's scale)."""
        c = self.patch_centres().reshape(_ROWS, _COLS, 2)
        dx = np.linalg.norm(np.diff(c, axis=1), axis=-1)
        dy = np.linalg.norm(np.diff(c, axis=0), axis=-1)
        return float(min(dx.min(), dy.min()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"points": [[x, y], ...]}`` (pixels, patches 1, 6, 24, 19)."""
        return {"points": [[round(x, 2), round(y, 2)] for x, y in self.points]}


@dataclass(frozen=True, eq=False)
class GreyCard:
    """A marked neutral patch (grey card or white patch) in a photo: exposure and white balance only.

    Parameters
    ----------
    mask : region
        The patch: a boolean array or mask image of the photo's size, or a
        :class:`texturecmp.Rect` / ``Ellipse`` / ``Polygon`` in its pixels.
    reflectance : float, optional
        Its luminance factor Y in (0, 1] (0.18 for an 18 % grey card): the gains then
        also set the absolute exposure; without it only the white balance is set.
    """

    mask: Any
    reflectance: float | None = None

    def __post_init__(self) -> None:
        if self.reflectance is not None:
            check_real(self.reflectance, "GreyCard.reflectance", gt=0, le=1, expected="a number in (0, 1]", wording="must be")


def _project(H: NDArray[np.float64], pts: NDArray[np.float64]) -> NDArray[np.float64]:
    p = np.c_[pts, np.ones(len(pts))] @ H.T
    return p[:, :2] / p[:, 2:3]


# ----------------------------------------------------------------------------- detection


def _squares(small: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Candidate patch squares of an 8-bit RGB image: rows (cx, cy, side, angle mod 90).

    Regions enclosed by Canny edges that are convex, nearly square, and differ from the
    ring just outside them by at least 12 codes of the mean channel (a patch on the
    chart's dark card; skin's own closed edge loops do not); concentric duplicates (the
    inside and the outside of one edge ring) are kept once.
    """
    blur = cv2.GaussianBlur(small, (0, 0), 0.8)
    edges = np.zeros(small.shape[:2], np.uint8)
    for c in range(3):
        edges |= cv2.Canny(blur[..., c], 20, 50, L2gradient=True)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(255 - edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    h, w = small.shape[:2]
    max_area = h * w / 40.0
    out = []
    for cnt in contours:  # contours, not pixels
        area = cv2.contourArea(cnt)
        if area < 30.0 or area > max_area:
            continue
        (cx, cy), (rw, rh), ang = cv2.minAreaRect(cnt)
        if min(rw, rh) < 4 or max(rw, rh) > 1.5 * min(rw, rh) or area < 0.75 * rw * rh:
            continue
        hull = cv2.convexHull(cnt)
        if area < 0.9 * cv2.contourArea(hull):
            continue
        m = cv2.moments(cnt)
        out.append((m["m10"] / m["m00"], m["m01"] / m["m00"], math.sqrt(area) + 2.0, ang % 90.0))
        # + 2: the dilation took about a pixel off each side
    sq = np.array(out, np.float64).reshape(-1, 4)
    if len(sq) == 0:
        return sq
    # contrast with the surrounding ring (box means from an integral image, all candidates at once)
    gray = cv2.integral(small.mean(axis=2, dtype=np.float32).astype(np.float64))

    def box(half: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        x0 = np.clip(np.rint(sq[:, 0] - half), 0, w).astype(int)
        x1 = np.clip(np.rint(sq[:, 0] + half) + 1, 0, w).astype(int)
        y0 = np.clip(np.rint(sq[:, 1] - half), 0, h).astype(int)
        y1 = np.clip(np.rint(sq[:, 1] + half) + 1, 0, h).astype(int)
        total = gray[y1, x1] - gray[y0, x1] - gray[y1, x0] + gray[y0, x0]
        return total, np.maximum((x1 - x0) * (y1 - y0), 1).astype(np.float64)

    s_in, n_in = box(0.3 * sq[:, 2])
    s_mid, n_mid = box(0.5 * sq[:, 2] + 1.0)
    s_out, n_out = box(0.5 * sq[:, 2] + 1.0 + np.maximum(2.0, 0.12 * sq[:, 2]))
    ring = (s_out - s_mid) / np.maximum(n_out - n_mid, 1.0)
    sq = sq[np.abs(s_in / n_in - ring) >= 12.0]
    # concentric duplicates: keep the first of squares whose centres are within a quarter side
    if len(sq) > 1:
        d = np.linalg.norm(sq[:, None, :2] - sq[None, :, :2], axis=-1)
        dup = np.triu(d < 0.25 * np.minimum(sq[:, None, 2], sq[None, :, 2]), 1).any(axis=0)
        sq = sq[~dup]
    return sq


def _angle_diff(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Difference of orientations modulo 90 degrees, in [0, 45]."""
    d = np.abs((a - b) % 90.0)
    return np.minimum(d, 90.0 - d)


def _grid_coords(sq: NDArray[np.float64], seed: int, members: NDArray[np.intp]) -> dict[int, tuple[int, int]]:
    """Integer grid coordinates of the squares ``members`` by walking neighbours from ``seed``."""
    th = math.radians(sq[seed, 3])
    e = np.array([[math.cos(th), math.sin(th)], [-math.sin(th), math.cos(th)]])
    pts = sq[members, :2]
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    pitch = float(np.median(d.min(axis=1)))
    index = {int(m): k for k, m in enumerate(members)}
    coords = {index[int(seed)]: (0, 0)}
    queue = [index[int(seed)]]
    taken = {(0, 0)}
    while queue:
        i = queue.pop(0)
        ui, vi = coords[i]
        off = (pts - pts[i]) @ e.T / pitch
        r = np.rint(off)
        good = (np.abs(off - r).max(axis=1) < 0.25) & (np.abs(r).max(axis=1) <= 2) & (np.abs(r).sum(axis=1) > 0)
        for j in np.flatnonzero(good):
            if j in coords:
                continue
            uv = (ui + int(r[j, 0]), vi + int(r[j, 1]))
            if uv in taken:
                continue
            coords[j] = uv
            taken.add(uv)
            queue.append(j)
    return {int(members[k]): uv for k, uv in coords.items()}


def _placements(uv: NDArray[np.int64]) -> list[NDArray[np.float64]]:
    """Affine maps (3 x 3, chart grid (col, row) -> (u, v)) of every placement containing ``uv``."""
    u0, v0 = uv.min(axis=0)
    uv = uv - (u0, v0)
    nu, nv = uv.max(axis=0) + 1
    out = []
    for a in ((1, 0, 0, 1), (-1, 0, 0, 1), (1, 0, 0, -1), (-1, 0, 0, -1),
              (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, -1, 0), (0, -1, -1, 0)):
        A = np.array(a, np.float64).reshape(2, 2)
        img = _GRID @ A.T  # the chart's centres in (u, v) before the offset
        lo, hi = img.min(axis=0), img.max(axis=0)
        span = hi - lo + 1
        if span[0] < nu or span[1] < nv:
            continue
        for tu in range(int(span[0] - nu) + 1):
            for tv in range(int(span[1] - nv) + 1):
                t = -lo - (tu, tv) + (u0, v0)
                M = np.eye(3)
                M[:2, :2] = A
                M[:2, 2] = t
                out.append(M)
    return out


def _box_means(lin: NDArray[np.float32], centres: NDArray[np.float64], half: float) -> NDArray[np.float64] | None:
    """Mean linear RGB in axis-aligned boxes around ``centres`` (None if one falls outside)."""
    h, w = lin.shape[:2]
    r = max(1, int(half))
    x = np.rint(centres[:, 0]).astype(int)
    y = np.rint(centres[:, 1]).astype(int)
    if (x - r < 0).any() or (y - r < 0).any() or (x + r >= w).any() or (y + r >= h).any():
        return None
    ii = cv2.integral(lin)  # (h+1, w+1, 3), float64
    s = ii[y + r + 1, x + r + 1] - ii[y - r, x + r + 1] - ii[y + r + 1, x - r] + ii[y - r, x - r]
    return s / float((2 * r + 1) ** 2)


def _fit3_de(meas: NDArray[np.float64], ref_lin: NDArray[np.float64], ref_lab: NDArray[np.float64]) -> float:
    """Mean ΔE00 after the least-squares 3 x 3 matrix from ``meas`` to the reference (a placement's score)."""
    M, *_ = np.linalg.lstsq(meas, ref_lin, rcond=None)
    return float(np.mean(delta_e00(lin_to_lab(meas @ M), ref_lab)))


def find_chart(image: Any, *, reference: str = REFERENCES[0], max_side: int = DETECT_SIDE) -> ChartCorners | None:
    """Find a ColorChecker Classic (24 patches, 4 x 6) in a photo.

    Parameters
    ----------
    image : Image, path, bytes or array
        Anything :func:`texturecmp.load_image` accepts.
    reference : str, optional
        Reference data (:data:`REFERENCES`) used to choose the chart's orientation.
    max_side : int, optional
        The search runs on a copy whose long side is at most this (px).

    Returns
    -------
    ChartCorners or None
        The four corner patches' centres in the photo's pixels, or None when no
        chart was found (then give the corners by hand).

    Notes
    -----
    See the module docstring for the method. Works at any position, any rotation in
    the image plane and mild perspective (tested to 4 % of the card's diagonal), for
    patches at least ~8 px across in the reduced copy (a patch pitch of ~10 px there:
    ~30 px on a 4000 x 3000 photo). Its time on a 12 MP photo is in benchmarks/README.md.
    """
    img = load_image(image, name="image")
    ref_lin, ref_lab, _ = _reference(reference)
    src = img.rgb8 if img.rgb8 is not None else np.clip(np.rint(img.rgb * 255.0), 0, 255).astype(np.uint8)
    scale = min(1.0, max_side / max(img.shape))
    small = src if scale == 1.0 else cv2.resize(src, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    sq = _squares(small)
    if len(sq) < 6:
        return None
    lin_small = linearize(small, 8)
    side = sq[:, 2]
    d = np.linalg.norm(sq[:, None, :2] - sq[None, :, :2], axis=-1)
    ratio = np.abs(np.log(side[:, None] / side[None]))
    ang = _angle_diff(sq[:, 3][:, None], sq[:, 3][None])
    near = (ratio < math.log(1.5)) & (ang < 10.0) & (d < 9.0 * side[:, None])
    counts = near.sum(axis=1)
    groups = []
    for seed in np.argsort(-counts, kind="stable")[:40]:  # the 40 best-connected squares
        if counts[seed] < 6:
            break
        coords = _grid_coords(sq, int(seed), np.flatnonzero(near[seed]))
        if len(coords) >= 6:
            groups.append(coords)
    groups.sort(key=len, reverse=True)
    best: tuple[float, NDArray[np.float64]] | None = None
    seen: list[set[int]] = []
    for coords in groups:
        if any(set(coords) <= g for g in seen) or len(seen) >= 4:
            continue
        seen.append(set(coords))
        idx = np.array(list(coords), np.intp)
        uv = np.array([coords[i] for i in idx], np.int64)
        if len(np.unique(uv[:, 0])) < 2 or len(np.unique(uv[:, 1])) < 2:
            continue
        span = uv.max(axis=0) - uv.min(axis=0) + 1
        if span.max() > _COLS or span.min() > _ROWS:
            continue
        H, inl = cv2.findHomography(uv.astype(np.float32), sq[idx, :2].astype(np.float32), cv2.RANSAC,
                                    0.2 * float(np.median(sq[idx, 2])))
        if H is None:
            continue
        half = 0.2 * float(np.median(sq[idx, 2]))
        for M in _placements(uv):
            Hc = H @ M
            centres = _project(Hc, _GRID)
            meas = _box_means(lin_small, centres, half)
            if meas is None:
                continue
            score = _fit3_de(meas, ref_lin, ref_lab)
            if best is None or score < best[0]:
                best = (score, Hc)
    if best is None or best[0] > MAX_DETECT_DE:
        return None
    corners_small = _project(best[1], _CORNER_GRID)
    corners = (corners_small + 0.5) / scale - 0.5  # pixel centres of the reduced copy -> the photo's
    return ChartCorners(tuple(map(tuple, corners)))


# ----------------------------------------------------------------------------- patches


@dataclass(frozen=True)
class _Patches:
    lin: NDArray[np.float64]  # (24, 3) robust means, linear light
    n: NDArray[np.int64]  # pixels read per patch
    glare: NDArray[np.float64]  # fraction of glare pixels
    clipped: NDArray[np.float64]  # fraction of pixels with a channel at the encoding's limits
    spread: NDArray[np.float64]  # robust SD of the linear luminance
    bright_blocks: NDArray[np.int64]  # blocks of the 3 x 3 split brighter than the median block (glare)


def read_patches(image: Any, corners: ChartCorners, *, window: float = 0.5) -> dict[str, NDArray]:
    """Robust mean colour of each of the 24 patches, in linear light.

    Parameters
    ----------
    image : Image, path, bytes or array
        The photo.
    corners : ChartCorners
        Centres of the corner patches.
    window : float, optional
        Side of the square read around each patch centre, as a fraction of the patch
        pitch (0 < window <= 0.7; 0.5 reads ~60 % of a patch's side).

    Returns
    -------
    dict
        ``lin`` (24, 3) robust means of linear RGB (NaN for a patch outside the
        photo), ``n`` pixels read, ``glare`` and ``clipped`` fractions of them,
        ``spread`` robust SD of linear luminance, ``bright_blocks`` how many blocks of a
        3 x 3 split of the window are brighter than the median block (a highlight).

    Notes
    -----
    Formulas in the module docstring ("Patch reading").
    """
    img = load_image(image, name="image")
    if not (0.0 < window <= 0.7):
        raise BadSettingsError(f"window must be in (0, 0.7] (a fraction of the patch pitch), got {window!r}")
    p = _read(img, corners, window)
    return {"lin": p.lin, "n": p.n, "glare": p.glare, "clipped": p.clipped, "spread": p.spread,
            "bright_blocks": p.bright_blocks}


def _robust_mean(px: NDArray[np.float64], block: NDArray[np.intp] | None = None
                 ) -> tuple[NDArray[np.float64], float, float, int]:
    """Robust mean of linear pixels (n, 3), the fraction of glare pixels, the robust SD of
    luminance and the number of bright blocks.

    Glare: pixels brighter than the median luminance by more than max(4 s_Y, 0.04 m_Y + 0.004),
    and, with ``block`` (each pixel's block 0-8 of a 3 x 3 split of the window), whole blocks
    whose mean luminance exceeds the median block's by more than max(0.04 m_Y + 0.004, 4 s_Y / sqrt(n_b))
    (a highlight broad enough to move the median). Outliers: a channel more than
    max(5 s, 0.05 m + 0.004) from the median (dust, dead pixels; JPEG blocks are not outliers). The mean is over the rest.
    """
    med = np.median(px, axis=0)
    s = 1.4826 * np.median(np.abs(px - med), axis=0)
    Y = px @ _Y_W
    mY = float(np.median(Y))
    sY = 1.4826 * float(np.median(np.abs(Y - mY)))
    is_glare = Y > mY + max(4.0 * sY, 0.04 * mY + 0.004)
    if block is not None:
        nb = np.bincount(block, minlength=9)
        full = nb > 0
        bY = np.bincount(block, weights=Y, minlength=9)[full] / nb[full]
        bright = np.zeros(9, bool)
        bright[full] = bY > np.median(bY) + np.maximum(0.04 * mY + 0.004, 4.0 * sY / np.sqrt(nb[full]))
        is_glare |= bright[block]
    n_bright = 0
    if block is not None:
        n_bright = int(bright.sum())
    tol = np.maximum(5.0 * s, 0.05 * med + 0.004)
    keep = ~is_glare & (np.abs(px - med) <= tol).all(axis=1)
    mean = px[keep].mean(axis=0) if keep.any() else med
    return mean, float(is_glare.mean()), sY, n_bright


def _read(img: Image, corners: ChartCorners, window: float) -> _Patches:
    H = corners.homography()
    Hinv = np.linalg.inv(H)
    src = img.pixels()
    h, w = img.shape
    hw = window / 2.0
    sq = np.array([(-hw, -hw), (hw, -hw), (hw, hw), (-hw, hw)])
    lin_out = np.full((24, 3), np.nan)
    n = np.zeros(24, np.int64)
    glare = np.zeros(24)
    clipped = np.zeros(24)
    spread = np.full(24, np.nan)
    blocks = np.zeros(24, np.int64)
    lo_code, hi_code = (0.5, 254.5) if src.dtype == np.uint8 else (0.5 / 255, 1 - 0.5 / 255)
    for k in range(24):  # 24 patches; each patch's pixels are handled as arrays
        quad = _project(H, _GRID[k] + sq)
        x0, y0 = np.floor(quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int) + 1
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            continue
        m = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(m, np.rint((quad - (x0, y0)) * 16).astype(np.int32), 1, lineType=cv2.LINE_8, shift=4)
        sel = m.astype(bool)
        codes = src[y0:y1, x0:x1][sel]
        if len(codes) < 9:
            continue
        clipped[k] = float(np.mean(((codes <= lo_code) | (codes >= hi_code)).any(axis=1)))
        px = linearize(codes[None], img.bit_depth)[0].astype(np.float64)
        # each pixel's 3 x 3 block of the window, from its grid coordinates relative to the patch centre
        yy, xx = np.nonzero(sel)
        uv = _project(Hinv, np.c_[xx + x0, yy + y0]) - _GRID[k]
        block = (np.clip(((uv + hw) / (2 * hw) * 3).astype(int), 0, 2) * (3, 1)).sum(axis=1)
        lin_out[k], glare[k], spread[k], blocks[k] = _robust_mean(px, block)
        n[k] = len(px)
    return _Patches(lin_out, n, glare, clipped, spread, blocks)


# ----------------------------------------------------------------------------- fit


def _method_options(method: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    if method not in METHODS:
        raise BadSettingsError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    opts = dict(METHODS[method])
    for k, v in (options or {}).items():
        if k not in opts:
            raise BadSettingsError(f"method_options for {method!r} take {', '.join(opts)}, got {k!r}")
        opts[k] = v
    return opts


def _fit(meas: NDArray[np.float64], ref: NDArray[np.float64], method: str, opts: Mapping[str, Any]) -> NDArray[np.float64]:
    colour = _colour()
    return np.asarray(colour.characterisation.matrix_colour_correction(meas, ref, method=method, **opts), np.float64)


def _apply(lin: NDArray, ccm: NDArray[np.float64], method: str, opts: Mapping[str, Any]) -> NDArray[np.float64]:
    colour = _colour()
    return np.asarray(colour.characterisation.apply_matrix_colour_correction(lin, ccm, method=method, **opts))


@dataclass(frozen=True)
class Calibration:
    """A colour calibration of one photo (frozen; JSON-ready with :meth:`to_dict`).

    Attributes
    ----------
    ok : bool
        True when the fit passed every check; :func:`apply_calibration` refuses a
        calibration that is not ok.
    message : str
        One line for people, e.g. ``"chart found; patches ΔE00 0.6 mean, 1.4 max after
        correction (8.7 before)"``, or why it was refused.
    reasons : tuple of str
        Why the calibration was refused (empty when ok).
    kind : str
        ``"chart"`` (a full CCM) or ``"grey card"`` (exposure and white balance only).
    method : str
        Fitting method (:data:`METHODS`), or ``"grey card"``.
    method_options : dict
        Options passed to colour-science (``terms`` or ``degree``).
    matrix : tuple of tuples or None
        The CCM (3 x n_terms), mapping the method's expansion of linear camera RGB to
        linear sRGB (D65); None when no chart was read.
    reference : str
        Reference data set name (:data:`REFERENCES`).
    reference_adaptation : str
        How the reference became D65 values.
    source : str
        ``"auto"`` (detected) or ``"corners"`` (given).
    corners : ChartCorners or None
        Centres of the corner patches in the photo's pixels.
    pitch_px : float
        Smallest distance between neighbouring patch centres (px).
    patch_de00 : tuple of float
        Each patch's CIEDE2000 to its reference after correction (NaN: not used).
    patch_de00_loo : tuple of float
        The same with the patch left out of the fit (leave-one-patch-out).
    de00_mean, de00_max : float
        Mean and max of ``patch_de00`` over the patches used.
    loo_mean, loo_max : float
        Mean and max of ``patch_de00_loo``.
    de00_before_mean : float
        Mean CIEDE2000 of the uncorrected device colours (the photo as decoded).
    excluded : tuple of int
        Patch numbers (1-24) left out of the fit (clipped or glare).
    """

    ok: bool
    message: str
    reasons: tuple[str, ...] = ()
    kind: str = "chart"
    method: str = "Cheung 2004"
    method_options: Mapping[str, Any] = field(default_factory=dict)
    matrix: tuple[tuple[float, ...], ...] | None = None
    reference: str = REFERENCES[0]
    reference_adaptation: str = ""
    source: str = "auto"
    corners: ChartCorners | None = None
    pitch_px: float = float("nan")
    patch_de00: tuple[float, ...] = ()
    patch_de00_loo: tuple[float, ...] = ()
    de00_mean: float = float("nan")
    de00_max: float = float("nan")
    loo_mean: float = float("nan")
    loo_max: float = float("nan")
    de00_before_mean: float = float("nan")
    excluded: tuple[int, ...] = ()

    @property
    def applicable(self) -> bool:
        """True when the correction can be applied: the fit passed its checks and has a matrix."""
        return self.ok and self.matrix is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready provenance (NaN -> None)."""

        def f(x: float) -> float | None:
            return round(float(x), 4) if x is not None and math.isfinite(x) else None

        return {
            "ok": self.ok, "message": self.message, "reasons": list(self.reasons), "kind": self.kind,
            "method": self.method, "method_options": dict(self.method_options),
            "matrix": None if self.matrix is None else [[round(v, 8) for v in row] for row in self.matrix],
            "reference": self.reference, "reference_adaptation": self.reference_adaptation,
            "source": self.source, "corners": None if self.corners is None else self.corners.to_dict()["points"],
            "pitch_px": f(self.pitch_px),
            "patch_de00": [f(v) for v in self.patch_de00], "patch_de00_loo": [f(v) for v in self.patch_de00_loo],
            "de00_mean": f(self.de00_mean), "de00_max": f(self.de00_max),
            "loo_mean": f(self.loo_mean), "loo_max": f(self.loo_max),
            "de00_before_mean": f(self.de00_before_mean), "excluded": list(self.excluded),
        }


def _patch_list(ks: Sequence[int]) -> str:
    return ", ".join(f"{k + 1} ({PATCH_NAMES[k]})" for k in ks)


def calibrate(image: Any, *, corners: ChartCorners | None = None, method: str = "Cheung 2004",
              method_options: Mapping[str, Any] | None = None, reference: str = REFERENCES[0],
              window: float = 0.5, min_pitch_px: float = 12.0, max_clipped: float = 0.01,
              min_patches: int = 16, max_glare: float = 0.1, max_loo_mean: float = 3.0,
              max_loo_max: float = 8.0) -> Calibration:
    """Fit a colour correction from a ColorChecker Classic in the photo.

    Parameters
    ----------
    image : Image, path, bytes or array
        The photo (anything :func:`texturecmp.load_image` accepts).
    corners : ChartCorners, optional
        Centres of the corner patches; default: :func:`find_chart`.
    method : {"Cheung 2004", "Finlayson 2015", "Vandermonde"}, optional
        ``colour.characterisation.matrix_colour_correction`` method. The default
        3-term Cheung fit is a 3 x 3 matrix (no offset).
    method_options : mapping, optional
        ``terms`` (Cheung 2004; default 3) or ``degree`` (Finlayson 2015, default 2;
        Vandermonde, default 1).
    reference : str, optional
        Reference data set (:data:`REFERENCES`); the default fits charts made after
        November 2014.
    window : float, optional
        Side of the read square around each patch centre, as a fraction of the pitch.
    min_pitch_px : float, optional
        Smallest accepted patch pitch (px): below it a patch window holds too few
        pixels, and blur mixes in the black gaps ("chart too small").
    max_clipped : float, optional
        A patch with more than this fraction of pixels at the encoding's limits is
        clipped and left out of the fit (saturated patches, the cyan above all, often
        clip a channel at 0 in sRGB).
    min_patches : int, optional
        The calibration is refused when fewer patches than this are usable (not clipped,
        no glare), or when any of the neutral patches 19-23 is clipped (they carry the
        exposure and white balance).
    max_glare : float, optional
        A patch with more than this fraction of glare pixels, or with a bright block
        (module docstring), is left out and the calibration refused.
    max_loo_mean, max_loo_max : float, optional
        Largest accepted mean and maximum leave-one-patch-out ΔE00.

    Returns
    -------
    Calibration
        ``ok`` False with ``reasons`` when no chart was found or a check failed.

    Notes
    -----
    Leave-one-patch-out: for each used patch k the CCM is refitted without k and
    applied to k; its ΔE00 then measures how well the correction predicts a colour
    it was not fitted on (skin is such a colour).
    """
    img = load_image(image, name="image")
    opts = _method_options(method, method_options)
    ref_lin, ref_lab, how = _reference(reference)
    base = dict(method=method, method_options=opts, reference=reference, reference_adaptation=how)
    source = "corners" if corners is not None else "auto"
    if corners is None:
        corners = find_chart(img, reference=reference)
        if corners is None:
            return Calibration(False, "no colour chart found: give the centres of its four corner patches",
                               ("no ColorChecker (24 patches, 4 x 6) found in the photo",), source=source, **base)
    elif not isinstance(corners, ChartCorners):
        raise BadSettingsError(f"corners must be a ChartCorners, got {type(corners).__name__}")
    pitch = corners.pitch_px()
    reasons: list[str] = []
    if pitch < min_pitch_px:
        reasons.append(f"chart too small: patches {pitch:.1f} px apart, need at least {min_pitch_px:g} px")
        return Calibration(False, "chart refused: " + reasons[0], tuple(reasons), source=source, corners=corners,
                           pitch_px=pitch, **base)
    p = _read(img, corners, window)
    outside = np.flatnonzero(~np.isfinite(p.lin).all(axis=1))
    if len(outside):
        reasons.append(f"patches outside the photo: {_patch_list(outside)}")
        return Calibration(False, "chart refused: " + reasons[0], tuple(reasons), source=source, corners=corners,
                           pitch_px=pitch, **base)
    clipped = np.flatnonzero(p.clipped > max_clipped)
    glare = np.flatnonzero((p.glare > max_glare) | (p.bright_blocks > 0))
    notes: list[str] = []
    bad_clip = [k for k in clipped if 18 <= k <= 22]  # white .. neutral 3.5 carry exposure and white balance
    if bad_clip:
        reasons.append(f"clipped neutral patches (exposure or white balance at the limit): {_patch_list(bad_clip)}")
    if len(clipped):
        notes.append(f"left out clipped {_patch_list(clipped)}")
    if len(glare):
        reasons.append(f"glare on patches: {_patch_list(glare)}")
    used = np.setdiff1d(np.arange(24), np.union1d(clipped, glare))
    n_terms = _expansion_terms(method, opts)
    if len(used) < max(min_patches, n_terms + 4):
        reasons.append(f"too few usable patches: {len(used)} of 24 (need {max(min_patches, n_terms + 4)})")
        return Calibration(False, "chart refused: " + "; ".join(reasons), tuple(reasons), source=source,
                           corners=corners, pitch_px=pitch, excluded=tuple(int(k) + 1 for k in range(24) if k not in used),
                           **base)
    T, R = p.lin[used], ref_lin[used]
    ccm = _fit(T, R, method, opts)
    de = np.full(24, np.nan)
    de[used] = delta_e00(lin_to_lab(_apply(T, ccm, method, opts)), ref_lab[used])
    loo = np.full(24, np.nan)
    for i, k in enumerate(used):  # 24 refits of a 24 x 3 least-squares problem
        rest = np.delete(np.arange(len(used)), i)
        m_k = _fit(T[rest], R[rest], method, opts)
        loo[k] = delta_e00(lin_to_lab(_apply(T[i : i + 1], m_k, method, opts)), ref_lab[k : k + 1])[0]
    before = float(np.mean(delta_e00(lin_to_lab(p.lin[used]), ref_lab[used])))
    loo_mean, loo_max = float(np.nanmean(loo)), float(np.nanmax(loo))
    if loo_mean > max_loo_mean or loo_max > max_loo_max:
        worst = int(np.nanargmax(loo))
        reasons.append(f"fit not good enough: leave-one-out ΔE00 {loo_mean:.1f} mean, {loo_max:.1f} max "
                       f"(limits {max_loo_mean:g}, {max_loo_max:g}; worst patch {_patch_list([worst])}): "
                       "uneven light on the chart, glare, or a chart lit differently from the skin")
    if notes:
        quality_note = "; " + "; ".join(notes)
    else:
        quality_note = ""
    quality = (f"patches ΔE00 {np.nanmean(de):.1f} mean, {np.nanmax(de):.1f} max after correction "
               f"({before:.1f} before; leave-one-out {loo_mean:.1f} mean, {loo_max:.1f} max){quality_note}")
    ok = not reasons
    found = "chart found" if source == "auto" else "chart at the given corners"
    message = f"{found}; {quality}" if ok else f"chart refused: {'; '.join(reasons)}; {quality}"
    return Calibration(
        ok, message, tuple(reasons), source=source, corners=corners, pitch_px=pitch,
        matrix=tuple(tuple(float(v) for v in row) for row in ccm),
        patch_de00=tuple(float(v) for v in de), patch_de00_loo=tuple(float(v) for v in loo),
        de00_mean=float(np.nanmean(de)), de00_max=float(np.nanmax(de)), loo_mean=loo_mean, loo_max=loo_max,
        de00_before_mean=before, excluded=tuple(int(k) + 1 for k in range(24) if k not in used), **base)


def _expansion(rgb: NDArray, method: str, opts: Mapping[str, Any]) -> NDArray[np.float64]:
    """colour-science's expansion of (n, 3) RGB for ``method`` (the columns the CCM multiplies)."""
    ch = _colour().characterisation
    rgb = np.asarray(rgb, np.float64)
    if method == "Cheung 2004":
        return ch.matrix_augmented_Cheung2004(rgb, opts["terms"])
    if method == "Finlayson 2015":
        return ch.polynomial_expansion_Finlayson2015(rgb, opts["degree"])
    return ch.polynomial_expansion_Vandermonde(rgb, opts["degree"])


def _expansion_terms(method: str, opts: Mapping[str, Any]) -> int:
    return int(_expansion(np.full((1, 3), 0.5), method, opts).shape[-1])


def calibrate_grey(image: Any, mask: Any, *, reflectance: float | None = None,
                   max_clipped: float = 0.01) -> Calibration:
    """Exposure and white balance from a marked neutral patch (grey card or white patch).

    Parameters
    ----------
    image : Image, path, bytes or array
        The photo.
    mask : region
        The neutral patch (boolean array or mask image of the photo's size).
    reflectance : float, optional
        The patch's luminance factor Y (e.g. 0.18 for an 18 % grey card): then the
        gains also set the absolute exposure; without it only the white balance is set
        (the patch's own luminance is kept).

    Returns
    -------
    Calibration
        ``kind`` ``"grey card"``, ``matrix`` the diagonal of gains
        :math:`g_c = Y_\\mathrm{target} / \\bar c` (3 x 3), no patch errors (a single
        neutral patch cannot check a colour correction).
    """
    img = load_image(image, name="image")
    from texturecmp.io import load_mask  # noqa: PLC0415

    from texturecmp.regions import resolve_region  # noqa: PLC0415

    m = resolve_region(mask, img.shape, name="grey card", required_min=1)
    if m is None:
        raise BadMaskError("grey card: no mask given")
    if m.sum() < 25:
        raise BadMaskError(f"grey card: the mask holds {int(m.sum())} pixels, need at least 25")
    codes = img.pixels()[m]
    lo, hi = (0.5, 254.5) if codes.dtype == np.uint8 else (0.5 / 255, 1 - 0.5 / 255)
    clip = float(np.mean(((codes <= lo) | (codes >= hi)).any(axis=1)))
    px = linearize(codes[None], img.bit_depth)[0].astype(np.float64)
    mean, _, _, _ = _robust_mean(px)
    Y = float(mean @ _Y_W)
    base = dict(kind="grey card", method="grey card", reference="grey card" if reflectance is None else f"grey card Y={reflectance:g}",
                reference_adaptation="neutral under D65")
    if clip > max_clipped:
        return Calibration(False, f"grey card refused: {100 * clip:.0f} % of its pixels are clipped",
                           (f"grey card clipped in {100 * clip:.0f} % of its pixels",), **base)
    if reflectance is not None:
        check_real(reflectance, "reflectance", gt=0, le=1, expected="in (0, 1]", wording="must be")
    target = Y if reflectance is None else float(reflectance)
    gains = target / mean
    what = "white balance" if reflectance is None else "exposure and white balance"
    return Calibration(True, f"grey card: {what} set (gains {gains[0]:.2f}, {gains[1]:.2f}, {gains[2]:.2f}); "
                       "no colour correction", (), matrix=tuple(tuple(float(v) for v in row) for row in np.diag(gains)),
                       method_options={"terms": 3}, **base)


_PAD = 64
"""cv2.transform runs SIMD vectors over a row and a scalar loop over its last few pixels, which
differ in the last bit; redoing the last pixels with this many zeros behind them puts every
pixel on the vector path (more than any x86-64 vector width)."""


def _matrix3(flat: NDArray[np.float32], m: NDArray[np.float32]) -> NDArray[np.float32]:
    """``flat @ m.T`` for (n, 3) float32 with the same bits for a pixel whatever n is.

    measure applies the correction strip by strip, so a pixel's result must not depend on
    the strip (tested). One row, hence one thread.
    """
    n = len(flat)
    out = cv2.transform(flat.reshape(1, n, 3), m).reshape(n, 3)
    k = min(n, _PAD)
    tail = np.zeros((1, k + _PAD, 3), np.float32)
    tail[0, :k] = flat[n - k :]
    out[n - k :] = cv2.transform(tail, m)[0, :k]
    return out


def apply_calibration(linear_rgb: ArrayLike, calibration: Calibration) -> NDArray[np.float32]:
    """Correct linear RGB with a calibration: true linear sRGB (D65), ready for L*a*b*.

    Parameters
    ----------
    linear_rgb : array_like, shape (..., 3)
        Linear-light camera RGB (decoded sRGB, as :func:`texturecmp.color.srgb_to_linear`).
    calibration : Calibration
        An ``ok`` calibration.

    Returns
    -------
    ndarray of float32, shape (..., 3)
        :math:`\\mathrm{CCM}\\,E(c)` per pixel, negative values set to 0 (not clipped at 1:
        the measurement clips where it needs to).

    Raises
    ------
    BadSettingsError
        If the calibration is not ok (its reasons are repeated).
    """
    if not isinstance(calibration, Calibration):
        raise BadSettingsError(f"calibration must be a Calibration, got {type(calibration).__name__}")
    if not calibration.ok or calibration.matrix is None:
        raise BadSettingsError("calibration was refused and cannot be applied: " + "; ".join(calibration.reasons))
    lin = np.asarray(linear_rgb, np.float32)
    if lin.ndim < 1 or lin.shape[-1] != 3:
        raise BadSettingsError(f"linear_rgb must have 3 channels on its last axis, got shape {lin.shape}")
    ccm = np.asarray(calibration.matrix, np.float64)
    flat = lin.reshape(-1, 3)
    if ccm.shape == (3, 3):  # Cheung 3 terms, grey card: one OpenCV pass
        out = _matrix3(flat, ccm.astype(np.float32))
    else:
        out = np.empty_like(flat)
        step = 1 << 18
        for s in range(0, len(flat), step):  # chunks bound the expansion's float64 memory
            e = _expansion(flat[s : s + step], calibration.method, calibration.method_options)
            # the product as elementwise multiply-adds (BLAS's result may depend on the length)
            acc = e[:, 0:1] * ccm[:, 0]
            for t in range(1, ccm.shape[1]):
                acc += e[:, t : t + 1] * ccm[:, t]
            out[s : s + step] = acc
    out = out.reshape(lin.shape)
    np.maximum(out, 0.0, out=out)
    return out


# ----------------------------------------------------------------------------- integration


#: How far beyond the outer patch centres a chart is kept out of the roi, the reference and
#: the registration, in patch pitches: the card (0.85) and one pitch more, because the card's
#: edge still reads as texture beside it (blur, its thickness). With the card's own outline the
#: calibrated sample's medium band read 1.25, 1.06, 1.06 L* over its sessions (and a false
#: "blurred" warning); with 1.85, 0.70, 0.46, 0.22, as the same skin without a chart does.
KEEP_OUT = 1.85


def card_outline(corners: ChartCorners, *, margin: float = 0.85) -> NDArray[np.float64]:
    """The four corners (x, y) in the photo's pixels of the quadrilateral ``margin`` patch
    pitches beyond the outer patch centres (0.85: the Classic card's edge), clockwise from
    patch 1's corner."""
    quad = np.array([(-margin, -margin), (_COLS - 1 + margin, -margin), (_COLS - 1 + margin, _ROWS - 1 + margin),
                     (-margin, _ROWS - 1 + margin)])
    return _project(corners.homography(), quad)


def chart_mask(shape: tuple[int, int], corners: ChartCorners, *, margin: float = 0.85) -> NDArray[np.bool_]:
    """Boolean mask of the chart card, to leave it out of the roi, reference and registration.

    Parameters
    ----------
    shape : (height, width)
        The photo's shape.
    corners : ChartCorners
        Centres of the corner patches.
    margin : float, optional
        How far beyond the outer patch centres the mask reaches, in patch pitches
        (0.5 reaches the outer patch edges; the default 0.85 covers the Classic card's
        black border).

    Returns
    -------
    ndarray of bool, shape ``shape``
    """
    if not (margin >= 0.5):
        raise BadSettingsError(f"margin must be at least 0.5 patch pitches, got {margin!r}")
    pts = card_outline(corners, margin=margin)
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, np.rint(pts * 16).astype(np.int32), 1, lineType=cv2.LINE_8, shift=4)
    return m.astype(bool)


def prepare_calibration(image: Any, calibration: Any = "auto", **options: Any) -> tuple[Calibration | None, NDArray[np.bool_] | None]:
    """What a measurement needs from a chart: the calibration and the chart's mask.

    Parameters
    ----------
    image : Image, path, bytes or array
        The photo.
    calibration : "auto", ChartCorners, GreyCard, Calibration or None
        ``"auto"``: detect the chart; ChartCorners: the chart there; GreyCard: exposure
        and white balance from the marked neutral patch (:func:`calibrate_grey`); a
        Calibration already made for this photo: used as it is; None: no calibration.
    **options
        Passed to :func:`calibrate` (method, reference, limits).

    Returns
    -------
    calibration : Calibration or None
        None when ``calibration`` is None; otherwise possibly not ``ok`` (the caller
        reports its message and measures uncalibrated, or refuses).
    mask : ndarray of bool or None
        The chart card and a pitch around it (:func:`chart_mask` at :data:`KEEP_OUT`)
        whenever corners are known, even for a refused fit (the chart is never skin), or
        the grey card's mask; None without either.
    """
    if calibration is None:
        return None, None
    img = load_image(image, name="image")
    if isinstance(calibration, GreyCard):
        from texturecmp.regions import resolve_region  # noqa: PLC0415

        cal = calibrate_grey(img, calibration.mask, reflectance=calibration.reflectance)
        return cal, resolve_region(calibration.mask, img.shape, name="grey card", required_min=1)
    if isinstance(calibration, Calibration):
        cal = calibration
    elif isinstance(calibration, ChartCorners):
        cal = calibrate(img, corners=calibration, **options)
    elif isinstance(calibration, str) and calibration == "auto":
        cal = calibrate(img, **options)
    else:
        raise BadSettingsError(f"calibration must be 'auto', a ChartCorners, a GreyCard, a Calibration or None, "
                               f"got {calibration!r}")
    mask = None if cal.corners is None else chart_mask(img.shape, cal.corners, margin=KEEP_OUT)
    return cal, mask
