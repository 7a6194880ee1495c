"""Registration of a follow-up photo onto its baseline (docs/method.md, section 4).

Two photos of the same skin area, taken in different treatment sessions, are
related by a similarity transform (shift, rotation about the image centre,
uniform scale) estimated here on downsampled, band-pass ("detail") versions of
the two images:

1. both images are reduced once (``cv2.INTER_AREA``) to the same long side of at
   most ``max_side`` pixels and turned into zero-mean, unit-variance detail
   layers (light Gaussian blur minus a wide one), so that illumination
   gradients and exposure differences do not drive the match;
2. a Hanning-windowed phase correlation gives the translation;
3. ECC (enhanced correlation coefficient) refines it to a Euclidean transform,
   or to an affine one projected onto a similarity when ``allow_scale``;
4. for larger motion (rotation of more than a few degrees, scale change, ECC
   failure or low correlation) ORB features, Hamming matching with a ratio
   test and RANSAC ``estimateAffinePartial2D`` give a start for another ECC
   refinement; the candidate with the highest correlation wins.

Conventions
-----------
Pixel coordinates are ``(x, y)`` with ``x`` to the right and ``y`` down; pixel
``(0, 0)`` has its centre at ``(0.0, 0.0)``. :attr:`Alignment.matrix` maps
*baseline* (fixed) full-resolution coordinates to *follow-up* (moving)
full-resolution coordinates: a skin feature at baseline ``(x, y)`` is at
``matrix @ (x, y, 1)`` in the follow-up. This is the matrix ``cv2.warpAffine``
expects to carry a baseline-grid image (mask, labels) into the follow-up grid.
Angles follow ``cv2.getRotationMatrix2D``: positive is counter-clockwise as
displayed (y down).

Photos are measured in their own pixel grid; masks are carried through the
registration with :func:`warp_mask` / :func:`warp_labels`. Resampling a photo
(:func:`warp_to_baseline`) is meant for pixel-wise maps and display only,
because interpolation low-passes texture.

References
----------
.. [1] G. D. Evangelidis and E. Z. Psarakis, "Parametric Image Alignment Using
   Enhanced Correlation Coefficient Maximization", IEEE TPAMI 30(10), 2008.
.. [2] C. D. Kuglin and D. C. Hines, "The phase correlation image alignment
   method", Proc. IEEE Int. Conf. Cybernetics and Society, 1975.
.. [3] E. Rublee, V. Rabaud, K. Konolige and G. Bradski, "ORB: an efficient
   alternative to SIFT or SURF", ICCV 2011.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from texturecmp._checks import check_int, check_real
from texturecmp.errors import (
    AlignmentError,
    BadMaskError,
    BadSettingsError,
    ImageTooSmallError,
    MismatchedImagesError,
    UnreadableImageError,
)

__all__ = [
    "Alignment",
    "identity_alignment",
    "register",
    "warp_mask",
    "warp_labels",
    "warp_to_baseline",
    "warp_valid_mask",
    "convex_hull_mask",
]

Matrix23 = tuple[tuple[float, float, float], tuple[float, float, float]]

_IDENTITY: Matrix23 = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))

#: One image's side may be at most this many times the other's.
_MAX_SIZE_RATIO = 4.0
#: Orientation-independent aspect ratios (long / short side) may differ at most by this factor.
_MAX_ASPECT_RATIO = 2.0
#: Smallest side (pixels) an image must have to be registered.
_MIN_SIDE = 16
#: Smallest number of working-resolution pixels a correlation is computed on.
_MIN_PIXELS = 64
#: Detail layer: noise-suppression sigma and background sigma (pixels at a 768 px long side).
_SIGMA_NOISE = 1.0
_SIGMA_BACKGROUND_768 = 12.0
#: Detail values are clipped to this many standard deviations (glare, hair, dark spots).
_DETAIL_CLIP = 5.0
#: ECC termination (iterations, increment of the correlation coefficient) and pre-blur kernel,
#: for the coarse level (working resolution / _COARSE_FACTOR) and the working resolution.
_ECC_CRITERIA_COARSE = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
_ECC_CRITERIA_FINE = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5)
_ECC_GAUSS_COARSE = 3
_ECC_GAUSS_FINE = 5
_COARSE_FACTOR = 4.0
_COARSE_MIN_SIDE = 96
#: A coarse ECC result below this correlation is not refined further (saves a futile fine run).
_COARSE_MIN_CORRELATION = 0.2
#: Below this correlation the feature-based fallback is tried as well.
_FEATURE_TRIGGER = 0.6
_ORB_FEATURES = 1200
_RATIO_TEST = 0.8
_MIN_INLIERS = 8
_RANSAC_THRESHOLD_PX = 3.0
#: Candidates with less overlap than this (or than min_overlap when lower) rank last.
_CANDIDATE_MIN_OVERLAP = 0.25
#: Tolerance when deciding whether correlation got worse (it is re-measured, not ECC's value).
_CORR_TOLERANCE = 0.02
#: Estimates closer than this (working pixels, at any corner) to "no motion" agree with it.
_SAME_MOTION_PX = 0.5

_INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}


# --------------------------------------------------------------------------- result type


@dataclass(frozen=True)
class Alignment:
    """Similarity transform from a baseline photo to a follow-up photo.

    Attributes
    ----------
    matrix : tuple of tuple of float
        2x3 affine matrix (a similarity up to rounding of the working
        resolution) mapping baseline full-resolution pixel coordinates
        ``(x, y)`` to follow-up full-resolution pixel coordinates. Stored as
        nested tuples so the object is hashable; see :attr:`matrix_array`.
    shift_px : tuple of float
        ``(dx, dy)`` in follow-up pixels: where the centre of the baseline
        image, ``((W - 1) / 2, (H - 1) / 2)``, lands in the follow-up minus that
        centre. A pure rotation about the centre gives ``(0, 0)``.
    rotation_deg : float
        Rotation of the follow-up relative to the baseline in degrees,
        counter-clockwise as displayed (y down); the sign convention of
        ``cv2.getRotationMatrix2D``.
    scale : float
        Size of the skin in the follow-up divided by its size in the baseline
        (includes any difference in photo resolution).
    correlation_before : float
        Pearson correlation of the two working-resolution detail layers in the
        overlap, with the identity transform (pixel ``(x, y)`` of one photo on
        pixel ``(x, y)`` of the other). NaN when not measured.
    correlation_after : float
        The same with the estimated transform. NaN when not measured.
    overlap : float
        Fraction (0..1) of the baseline image, or of the baseline mask when one
        was given, that lands inside the follow-up image.
    ok : bool
        Whether the alignment can be trusted for pixel-wise comparison.
    method : str
        ``"phase+ecc"``, ``"features"``, ``"identity"`` or ``"failed"``.
    message : str
        Plain-words summary, usable as a user-facing warning.
    fixed_shape, moving_shape : tuple of int or None
        ``(H, W)`` of the baseline and follow-up images the transform was
        estimated for, when known; used to check the arguments of the warp
        functions.
    """

    matrix: Matrix23
    shift_px: tuple[float, float]
    rotation_deg: float
    scale: float
    correlation_before: float
    correlation_after: float
    overlap: float
    ok: bool
    method: str
    message: str
    fixed_shape: tuple[int, int] | None = None
    moving_shape: tuple[int, int] | None = None

    @property
    def matrix_array(self) -> NDArray[np.float64]:
        """The 2x3 baseline -> follow-up matrix as a new float64 array."""
        return np.array(self.matrix, dtype=np.float64)

    def inverse_matrix(self) -> NDArray[np.float64]:
        """Return the 2x3 float64 matrix mapping follow-up -> baseline pixel coordinates."""
        return cv2.invertAffineTransform(self.matrix_array)

    def map_points(self, points: ArrayLike) -> NDArray[np.float64]:
        """Map baseline pixel coordinates to follow-up pixel coordinates.

        Parameters
        ----------
        points : array_like, shape (N, 2) or (2,)
            ``(x, y)`` baseline pixel coordinates.

        Returns
        -------
        numpy.ndarray
            Follow-up ``(x, y)`` coordinates, same shape as `points`, float64.
        """
        p = np.asarray(points, dtype=np.float64)
        if p.shape[-1:] != (2,):
            raise BadSettingsError(f"points must have shape (N, 2) or (2,), got {p.shape}")
        m = self.matrix_array
        return p @ m[:, :2].T + m[:, 2]

    def raise_if_failed(self) -> Alignment:
        """Return `self` when :attr:`ok`, else raise :class:`AlignmentError` with :attr:`message`.

        For callers that require alignment (e.g. pixel-wise maps).
        """
        if not self.ok:
            raise AlignmentError(f"alignment is required but the photos {self.message}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (matrix as nested lists, NaN as ``None``)."""
        return {
            "matrix": [list(map(float, row)) for row in self.matrix],
            "shift_px": [float(self.shift_px[0]), float(self.shift_px[1])],
            "rotation_deg": _json_float(self.rotation_deg),
            "scale": _json_float(self.scale),
            "correlation_before": _json_float(self.correlation_before),
            "correlation_after": _json_float(self.correlation_after),
            "overlap": _json_float(self.overlap),
            "ok": bool(self.ok),
            "method": self.method,
            "message": self.message,
            "fixed_shape": None if self.fixed_shape is None else list(self.fixed_shape),
            "moving_shape": None if self.moving_shape is None else list(self.moving_shape),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alignment:
        """Rebuild an :class:`Alignment` from :meth:`to_dict` output."""
        try:
            m = np.asarray(data["matrix"], dtype=np.float64)
            if m.shape != (2, 3):
                raise ValueError(f"matrix must be 2x3, got shape {m.shape}")

            def num(key: str) -> float:
                v = data[key]
                return math.nan if v is None else float(v)

            def shape(key: str) -> tuple[int, int] | None:
                v = data.get(key)
                return None if v is None else (int(v[0]), int(v[1]))

            return cls(
                matrix=_matrix_tuple(m),
                shift_px=(float(data["shift_px"][0]), float(data["shift_px"][1])),
                rotation_deg=num("rotation_deg"),
                scale=num("scale"),
                correlation_before=num("correlation_before"),
                correlation_after=num("correlation_after"),
                overlap=num("overlap"),
                ok=bool(data["ok"]),
                method=str(data["method"]),
                message=str(data["message"]),
                fixed_shape=shape("fixed_shape"),
                moving_shape=shape("moving_shape"),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise BadSettingsError(f"not a valid alignment record: {exc}") from exc


def _json_float(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _matrix_tuple(m: NDArray[np.float64]) -> Matrix23:
    return (
        (float(m[0, 0]), float(m[0, 1]), float(m[0, 2])),
        (float(m[1, 0]), float(m[1, 1]), float(m[1, 2])),
    )


def _hw(shape: Sequence[int], name: str) -> tuple[int, int]:
    try:
        h, w = int(shape[0]), int(shape[1])
    except (TypeError, ValueError, IndexError) as exc:
        raise BadSettingsError(f"{name} must be an (H, W) shape, got {shape!r}") from exc
    if h < 1 or w < 1:
        raise BadSettingsError(f"{name} must have positive height and width, got {shape!r}")
    return h, w


def _size_text(hw: tuple[int, int]) -> str:
    return f"{hw[1]}x{hw[0]} px"


def _decompose(m: NDArray[np.float64], fixed_hw: tuple[int, int]) -> tuple[tuple[float, float], float, float]:
    """Return (shift at the baseline centre, rotation ccw-as-displayed in degrees, scale)."""
    a = m[:, :2]
    c = np.array([(fixed_hw[1] - 1) / 2.0, (fixed_hw[0] - 1) / 2.0])
    shift = a @ c + m[:, 2] - c
    # getRotationMatrix2D: [[s cos, s sin], [-s sin, s cos]]
    rotation = math.degrees(math.atan2(a[0, 1] - a[1, 0], a[0, 0] + a[1, 1]))
    scale = math.sqrt(abs(float(np.linalg.det(a))))
    return (float(shift[0]), float(shift[1])), rotation, scale


def identity_alignment(shape_fixed: Sequence[int], shape_moving: Sequence[int]) -> Alignment:
    """Return the "no alignment" result: baseline pixel ``(x, y)`` = follow-up pixel ``(x, y)``.

    Parameters
    ----------
    shape_fixed, shape_moving : sequence of int
        Shapes of the baseline and follow-up images; ``(H, W)`` or ``(H, W, C)``.

    Returns
    -------
    Alignment
        Method ``"identity"``; correlations are NaN (not measured); `ok` is
        True only when the two images have the same height and width.
    """
    fh, fw = _hw(shape_fixed, "shape_fixed")
    mh, mw = _hw(shape_moving, "shape_moving")
    same = (fh, fw) == (mh, mw)
    overlap = (min(fh, mh) * min(fw, mw)) / float(fh * fw)
    if same:
        message = "not aligned: identity transform assumed (photos have the same size)"
    else:
        message = (
            f"not aligned: the photos have different sizes ({_size_text((fh, fw))} and "
            f"{_size_text((mh, mw))}), identity transform assumed"
        )
    return Alignment(
        matrix=_IDENTITY,
        shift_px=(0.0, 0.0),
        rotation_deg=0.0,
        scale=1.0,
        correlation_before=math.nan,
        correlation_after=math.nan,
        overlap=overlap,
        ok=same,
        method="identity",
        message=message,
        fixed_shape=(fh, fw),
        moving_shape=(mh, mw),
    )


# --------------------------------------------------------------------------- working resolution


@dataclass(frozen=True)
class _Prepared:
    """One image at working resolution."""

    detail: NDArray[np.float32]  # zero mean, unit variance (in the weight), clipped
    weight: NDArray[np.float32] | None  # soft mask 0..1 at working resolution, None = everywhere
    to_small: NDArray[np.float64]  # 3x3: full-resolution -> working-resolution pixel coordinates
    full_hw: tuple[int, int]
    coarse: NDArray[np.float32] | None  # detail at working resolution / _COARSE_FACTOR
    coarse_weight: NDArray[np.float32] | None
    to_coarse: NDArray[np.float64] | None  # 3x3: working-resolution -> coarse pixel coordinates

    @property
    def hw(self) -> tuple[int, int]:
        return self.detail.shape[0], self.detail.shape[1]


def _check_image(image: ArrayLike, name: str) -> NDArray[np.float32]:
    try:
        arr = np.asarray(image)
    except Exception as exc:  # pragma: no cover - exotic array-likes
        raise UnreadableImageError(f"{name} is not an array: {exc}") from exc
    if arr.ndim != 2:
        raise UnreadableImageError(
            f"{name} must be a 2-D grayscale image (H, W), got an array of shape {arr.shape}"
        )
    if arr.dtype.kind not in "biuf":
        raise UnreadableImageError(f"{name} must be numeric, got dtype {arr.dtype}")
    if min(arr.shape) < _MIN_SIDE:
        raise ImageTooSmallError(
            f"{name} is {_size_text(arr.shape)}; at least {_MIN_SIDE} px per side is needed to align"
        )
    return np.asarray(arr, dtype=np.float32)


def _check_sizes(fixed_hw: tuple[int, int], moving_hw: tuple[int, int]) -> None:
    side_ratio = max(
        max(fixed_hw) / max(moving_hw),
        max(moving_hw) / max(fixed_hw),
        min(fixed_hw) / min(moving_hw),
        min(moving_hw) / min(fixed_hw),
    )
    aspect_f = max(fixed_hw) / min(fixed_hw)
    aspect_m = max(moving_hw) / min(moving_hw)
    aspect_ratio = max(aspect_f / aspect_m, aspect_m / aspect_f)
    sizes = f"baseline is {_size_text(fixed_hw)}, follow-up is {_size_text(moving_hw)}"
    if side_ratio > _MAX_SIZE_RATIO:
        raise MismatchedImagesError(
            f"the photos cannot show the same skin area at comparable resolution: {sizes} "
            f"(one is {side_ratio:.1f}x the other; at most {_MAX_SIZE_RATIO:g}x is accepted)"
        )
    if aspect_ratio > _MAX_ASPECT_RATIO:
        raise MismatchedImagesError(
            f"the photos have very different shapes: {sizes} (aspect ratios {aspect_f:.2f} and "
            f"{aspect_m:.2f}; they may differ by at most {_MAX_ASPECT_RATIO:g}x)"
        )


def _check_settings(max_side: int, min_correlation: float, min_overlap: float, allow_scale: bool) -> None:
    check_int(max_side, "max_side", ge=64, expected="an integer >= 64 (pixels)", wording="must be")
    check_real(min_correlation, "min_correlation", ge=-1, le=1, expected="a number in [-1, 1]", wording="must be")
    check_real(min_overlap, "min_overlap", ge=0, le=1, expected="a fraction in [0, 1]", wording="must be")
    if not isinstance(allow_scale, (bool, np.bool_)):
        raise BadSettingsError(f"allow_scale must be True or False, got {allow_scale!r}")


def _to_small_matrix(full_hw: tuple[int, int], small_hw: tuple[int, int]) -> NDArray[np.float64]:
    """3x3 map of pixel centres for ``cv2.resize``: ``x_s = (x + 0.5) * k - 0.5`` per axis."""
    kx = small_hw[1] / full_hw[1]
    ky = small_hw[0] / full_hw[0]
    return np.array([[kx, 0.0, 0.5 * kx - 0.5], [0.0, ky, 0.5 * ky - 0.5], [0.0, 0.0, 1.0]])


def _downsample(image: NDArray[np.float32], long_side: int) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    h, w = image.shape
    f = long_side / max(h, w)
    small_hw = (max(1, round(h * f)), max(1, round(w * f)))
    if small_hw == (h, w):
        small = image
    else:
        small = cv2.resize(image, (small_hw[1], small_hw[0]), interpolation=cv2.INTER_AREA)
    return small, _to_small_matrix((h, w), small_hw)


def _weighted_mean_std(x: NDArray[np.float32], weight: NDArray[np.float32] | None) -> tuple[float, float]:
    if weight is None:
        mean, std = cv2.meanStdDev(x)
        return float(mean[0, 0]), float(std[0, 0])
    total = float(weight.sum())
    mean = float((x * weight).sum() / total)
    var = float((np.square(x - mean) * weight).sum() / total)
    return mean, math.sqrt(max(var, 0.0))


def _detail(small: NDArray[np.float32], weight: NDArray[np.float32] | None) -> NDArray[np.float32]:
    """Band-pass layer: light blur minus wide blur, normalised and clipped."""
    h, w = small.shape
    sigma_bg = max(4.0, _SIGMA_BACKGROUND_768 * max(h, w) / 768.0)
    fine = cv2.GaussianBlur(small, (0, 0), _SIGMA_NOISE)
    # the wide blur on a 4x reduced copy (same result for a smooth background, 1/16 of the pixels)
    reduced_hw = (max(1, round(h / 4)), max(1, round(w / 4)))
    reduced = cv2.resize(small, (reduced_hw[1], reduced_hw[0]), interpolation=cv2.INTER_AREA)
    reduced = cv2.GaussianBlur(reduced, (0, 0), sigma_bg * reduced_hw[1] / w, borderType=cv2.BORDER_REFLECT)
    background = cv2.resize(reduced, (w, h), interpolation=cv2.INTER_LINEAR)
    d = cv2.subtract(fine, background)
    mean, std = _weighted_mean_std(d, weight)
    if not math.isfinite(std):
        return d  # caller reports NaN/inf
    if std <= 1e-12:
        std = 1.0
    d = (d - np.float32(mean)) * np.float32(1.0 / std)
    np.clip(d, -_DETAIL_CLIP, _DETAIL_CLIP, out=d)
    return d


def _prepare(
    image: NDArray[np.float32], long_side: int, mask: NDArray[np.bool_] | None, name: str
) -> _Prepared:
    small, to_small = _downsample(image, long_side)
    if not np.isfinite(small).all():  # INTER_AREA propagates NaN / inf from every source pixel
        raise UnreadableImageError(f"{name} contains NaN or infinite values")
    weight = None
    if mask is not None:
        u8 = mask.view(np.uint8) * np.uint8(255)
        weight = cv2.resize(u8, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
        weight = weight.astype(np.float32) * np.float32(1.0 / 255.0)
    detail = _detail(small, weight)
    coarse = coarse_weight = to_coarse = None
    f = min(_COARSE_FACTOR, max(detail.shape) / _COARSE_MIN_SIDE)
    if f >= 1.5:
        coarse_hw = (max(1, round(detail.shape[0] / f)), max(1, round(detail.shape[1] / f)))
        coarse = cv2.resize(detail, (coarse_hw[1], coarse_hw[0]), interpolation=cv2.INTER_AREA)
        to_coarse = _to_small_matrix(detail.shape, coarse_hw)
        if weight is not None:
            coarse_weight = cv2.resize(weight, (coarse_hw[1], coarse_hw[0]), interpolation=cv2.INTER_AREA)
    return _Prepared(detail, weight, to_small, (image.shape[0], image.shape[1]), coarse, coarse_weight, to_coarse)


# --------------------------------------------------------------------------- geometry helpers


def _as3(m: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.vstack([np.asarray(m, dtype=np.float64)[:2], [0.0, 0.0, 1.0]])


def _inside(m: NDArray[np.float64], fixed_hw: tuple[int, int], moving_hw: tuple[int, int]) -> NDArray[np.bool_]:
    """Which pixels of the fixed grid map (by the 2x3 `m`) inside the moving image's pixel area.

    Vectorised per row: on a row the valid columns form one interval (intersection
    of four half-planes), so only two comparisons per pixel are needed.
    """
    h, w = fixed_hw
    mh, mw = moving_hw
    y = np.arange(h, dtype=np.float64)
    lo = np.zeros(h)
    hi = np.full(h, w - 1.0)
    for row, limit in ((0, mw), (1, mh)):
        a, b, c = m[row]
        beta = b * y + c  # coordinate = a * x + beta, must lie in [-0.5, limit - 0.5]
        low, high = -0.5, limit - 0.5
        if abs(a) > 1e-12:
            x1 = (low - beta) / a
            x2 = (high - beta) / a
            lo = np.maximum(lo, np.minimum(x1, x2))
            hi = np.minimum(hi, np.maximum(x1, x2))
        else:
            ok = (beta >= low) & (beta <= high)
            hi = np.where(ok, hi, -1.0)
    x = np.arange(w, dtype=np.float64)
    eps = 1e-9
    return (x[None, :] >= lo[:, None] - eps) & (x[None, :] <= hi[:, None] + eps)


def _similarity(s: NDArray[np.float64], centre: NDArray[np.float64], allow_scale: bool) -> NDArray[np.float64]:
    """Project a 2x3 affine onto the nearest similarity (or rigid) transform, keeping the centre's image."""
    a = s[:, :2]
    p = 0.5 * (a[0, 0] + a[1, 1])
    q = 0.5 * (a[1, 0] - a[0, 1])
    if not allow_scale:
        n = math.hypot(p, q)
        if n > 0:
            p, q = p / n, q / n
    new_a = np.array([[p, -q], [q, p]])
    t = a @ centre + s[:, 2] - new_a @ centre
    return np.hstack([new_a, t[:, None]])


def _plausible(s: NDArray[np.float64] | None) -> bool:
    if s is None or not np.all(np.isfinite(s)):
        return False
    det = float(np.linalg.det(s[:, :2]))
    return 1.0 / _MAX_SIZE_RATIO**2 < det < _MAX_SIZE_RATIO**2


def _pearson(a: NDArray[np.float32], b: NDArray[np.float32], w: NDArray[np.float32]) -> float:
    total = float(w.sum())
    if total < _MIN_PIXELS:
        return math.nan
    ma = float((a * w).sum()) / total
    mb = float((b * w).sum()) / total
    da = a - np.float32(ma)
    db = b - np.float32(mb)
    cov = float((da * db * w).sum())
    va = float((da * da * w).sum())
    vb = float((db * db * w).sum())
    if va <= 0 or vb <= 0:
        return math.nan
    return cov / math.sqrt(va * vb)


def _evaluate(s: NDArray[np.float64], fixed: _Prepared, moving: _Prepared) -> tuple[float, float]:
    """Correlation of the detail layers and overlap for the working-resolution 2x3 `s`."""
    h, w = fixed.hw
    inside = _inside(s, fixed.hw, moving.hw)
    warped = cv2.warpAffine(
        moving.detail, s, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )
    if fixed.weight is None:
        weight = inside.astype(np.float32)
        overlap = float(weight.mean())
    else:
        weight = fixed.weight * inside
        overlap = float(weight.sum() / fixed.weight.sum())
    return _pearson(fixed.detail, warped, weight), overlap


# --------------------------------------------------------------------------- estimators


def _phase_shift(fixed: _Prepared, moving: _Prepared) -> tuple[float, float, float]:
    """Translation (dx, dy) of the moving detail layer relative to the fixed one, and the peak response."""
    h = max(fixed.hw[0], moving.hw[0])
    w = max(fixed.hw[1], moving.hw[1])

    # With a roi on the baseline only, the follow-up is weighted by the same roi (when the
    # grids match): the motion is small against the region, and the follow-up's background
    # (hair, eyes, a door behind) would otherwise dominate the correlation.
    shared = fixed.weight if fixed.weight is not None and moving.weight is None and fixed.hw == moving.hw else None

    def padded(p: _Prepared) -> NDArray[np.float32]:
        # always a fresh array: OpenCV 5's phaseCorrelate multiplies its inputs by the
        # window IN PLACE, which would corrupt the detail layers used afterwards
        out = np.zeros((h, w), np.float32)
        weight = p.weight if p.weight is not None else shared
        out[: p.hw[0], : p.hw[1]] = p.detail if weight is None else p.detail * weight
        return out

    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(padded(fixed), padded(moving), window)
    return float(dx), float(dy), float(response)


def _ecc_run(
    template: NDArray[np.float32],
    image: NDArray[np.float32],
    template_weight: NDArray[np.float32] | None,
    start: NDArray[np.float64],
    allow_scale: bool,
    criteria: tuple[int, int, float],
    gauss: int,
) -> tuple[NDArray[np.float64], float] | None:
    """One ``cv2.findTransformECC`` run; returns (similarity warp, ECC value) or None on failure."""
    motion = cv2.MOTION_AFFINE if allow_scale else cv2.MOTION_EUCLIDEAN
    centre = _centre(template.shape)
    warp = _similarity(start, centre, allow_scale).astype(np.float32)
    try:
        if template_weight is None:
            cc, warp = cv2.findTransformECC(template, image, warp, motion, criteria, None, gauss)
        else:
            tmask = (template_weight >= 0.5).view(np.uint8)
            cc, warp = cv2.findTransformECCWithMask(template, image, tmask, None, warp, motion, criteria, gauss)
    except cv2.error:
        return None
    s = _similarity(np.asarray(warp, dtype=np.float64), centre, allow_scale)
    return (s, float(cc)) if _plausible(s) else None


def _ecc(
    fixed: _Prepared, moving: _Prepared, start: NDArray[np.float64], allow_scale: bool
) -> NDArray[np.float64] | None:
    """Coarse-to-fine ECC refinement of the working-resolution 2x3 `start` (fixed -> moving).

    The baseline detail layer is ECC's template and the follow-up its input, so
    the warp maps template (baseline) coordinates to input (follow-up)
    coordinates, the direction of :attr:`Alignment.matrix`. A coarse level
    (1/4 of the working resolution) is solved first; when it does not reach a
    correlation of 0.2 the start is abandoned (None), which keeps a hopeless
    start (large rotation) cheap.
    """
    s = start
    if fixed.coarse is not None and moving.coarse is not None:
        cf, cm = fixed.to_coarse, moving.to_coarse
        s_c = (cm @ _as3(s) @ np.linalg.inv(cf))[:2]
        res = _ecc_run(fixed.coarse, moving.coarse, fixed.coarse_weight, s_c, allow_scale,
                       _ECC_CRITERIA_COARSE, _ECC_GAUSS_COARSE)
        if res is None or res[1] < _COARSE_MIN_CORRELATION:
            return None
        s = (np.linalg.inv(cm) @ _as3(res[0]) @ cf)[:2]
    res = _ecc_run(fixed.detail, moving.detail, fixed.weight, s, allow_scale, _ECC_CRITERIA_FINE, _ECC_GAUSS_FINE)
    return s if res is None else res[0]


def _to_uint8(detail: NDArray[np.float32]) -> NDArray[np.uint8]:
    return cv2.convertScaleAbs(detail, alpha=255.0 / (2 * _DETAIL_CLIP), beta=127.5)


def _features(fixed: _Prepared, moving: _Prepared, allow_scale: bool) -> NDArray[np.float64] | None:
    """ORB + ratio-tested Hamming matches + RANSAC similarity (fixed -> moving), or None."""
    orb = cv2.ORB_create(nfeatures=_ORB_FEATURES)
    fmask = None if fixed.weight is None else (fixed.weight >= 0.5).view(np.uint8) * np.uint8(255)
    kp_f, des_f = orb.detectAndCompute(_to_uint8(fixed.detail), fmask)
    kp_m, des_m = orb.detectAndCompute(_to_uint8(moving.detail), None)
    if des_f is None or des_m is None or len(kp_f) < _MIN_INLIERS or len(kp_m) < _MIN_INLIERS:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des_f, des_m, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO_TEST * p[1].distance]
    if len(good) < _MIN_INLIERS:
        return None
    src = np.array([kp_f[g.queryIdx].pt for g in good], dtype=np.float32)
    dst = np.array([kp_m[g.trainIdx].pt for g in good], dtype=np.float32)
    m, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=_RANSAC_THRESHOLD_PX, maxIters=2000, confidence=0.995
    )
    if m is None or inliers is None or int(inliers.sum()) < _MIN_INLIERS:
        return None
    s = _similarity(np.asarray(m, dtype=np.float64), _centre(fixed.hw), allow_scale)
    return s if _plausible(s) else None


def _centre(hw: tuple[int, int]) -> NDArray[np.float64]:
    return np.array([(hw[1] - 1) / 2.0, (hw[0] - 1) / 2.0])


# --------------------------------------------------------------------------- public API


def register(
    fixed: ArrayLike,
    moving: ArrayLike,
    *,
    fixed_mask: ArrayLike | None = None,
    max_side: int = 768,
    min_correlation: float = 0.3,
    min_overlap: float = 0.5,
    allow_scale: bool = True,
) -> Alignment:
    """Estimate the similarity transform from a baseline photo to a follow-up photo.

    Parameters
    ----------
    fixed : array_like, shape (H, W)
        Baseline grayscale image (e.g. L* in 0..100 or gray in [0, 1]);
        converted to float32. Any linear intensity scale works: the match uses
        a normalised band-pass layer.
    moving : array_like, shape (H', W')
        Follow-up grayscale image of the same skin area, possibly of another
        resolution (then :attr:`Alignment.scale` differs from 1).
    fixed_mask : array_like of bool, shape (H, W), optional
        Baseline pixels to align on (e.g. the region of interest); None = all.
    max_side : int, default 768
        Long side (pixels) of the working resolution. Both images are reduced
        once to the same long side, ``min(max_side, long sides)``.
    min_correlation : float, default 0.3
        Smallest correlation of the detail layers after alignment for the
        result to be trusted (`ok`).
    min_overlap : float, default 0.5
        Smallest fraction of the baseline (or of `fixed_mask`) that must land
        inside the follow-up for the result to be trusted.
    allow_scale : bool, default True
        Estimate a scale change of the skin between the working-resolution
        images (camera distance). When False the transform is rigid at working
        resolution; a difference in photo resolution is still accounted for.

    Returns
    -------
    Alignment
        Never raises because the photos could not be aligned: then `ok` is
        False, `method` is ``"failed"``, the matrix is the best effort and
        `message` says why.

    Raises
    ------
    UnreadableImageError
        An image is not 2-D, not numeric, or contains NaN / inf.
    ImageTooSmallError
        An image has a side shorter than 16 px.
    MismatchedImagesError
        One image's side is more than 4x the other's, or the (orientation
        independent) aspect ratios differ by more than 2x.
    BadMaskError
        `fixed_mask` has the wrong shape, is empty, or covers fewer than 64
        pixels at the working resolution.
    BadSettingsError
        An option is out of range.

    Notes
    -----
    The working-resolution transform ``S`` is converted to full resolution as
    ``M = D_m^-1 S D_f`` where ``D`` maps full-resolution pixel centres to
    working-resolution ones for ``cv2.resize`` (``x_s = (x + 0.5) k - 0.5``).
    Cost is dominated by the two ``INTER_AREA`` reductions; the estimators work
    on at most ``max_side`` pixels.

    References
    ----------
    .. [1] G. D. Evangelidis and E. Z. Psarakis, "Parametric Image Alignment
       Using Enhanced Correlation Coefficient Maximization", IEEE TPAMI 30(10),
       2008.
    .. [2] OpenCV 5 documentation: ``cv::phaseCorrelate``,
       ``cv::findTransformECC``, ``cv::ORB``, ``cv::estimateAffinePartial2D``.

    Examples
    --------
    >>> import numpy as np
    >>> import texturecmp as tc
    >>> from texturecmp.color import rgb_to_lab
    >>> from texturecmp.phantoms import skin_phantom
    >>> fixed = rgb_to_lab(skin_phantom((256, 320), seed=1).rgb)[..., 0]
    >>> moving = rgb_to_lab(skin_phantom((256, 320), seed=1, shift_px=(6, -4), rotation_deg=1.0,
    ...                                  noise_seed=2).rgb)[..., 0]
    >>> al = tc.register(fixed, moving)
    >>> al.ok, al.method
    (True, 'phase+ecc')
    >>> [round(v, 1) for v in al.shift_px], round(al.rotation_deg, 1), round(al.scale, 3)
    ([6.0, -4.0], 1.0, 1.0)
    >>> round(al.correlation_before, 2) < round(al.correlation_after, 2)
    True
    """
    _check_settings(max_side, min_correlation, min_overlap, allow_scale)
    f_img = _check_image(fixed, "fixed (baseline) image")
    m_img = _check_image(moving, "moving (follow-up) image")
    fixed_hw = (f_img.shape[0], f_img.shape[1])
    moving_hw = (m_img.shape[0], m_img.shape[1])
    _check_sizes(fixed_hw, moving_hw)

    mask = None
    if fixed_mask is not None:
        mask = np.asarray(fixed_mask)
        if mask.shape != fixed_hw:
            raise BadMaskError(f"fixed_mask must have the baseline's shape {fixed_hw}, got {mask.shape}")
        mask = np.ascontiguousarray(mask != 0) if mask.dtype != np.bool_ else np.ascontiguousarray(mask)
        if not mask.any():
            raise BadMaskError("fixed_mask is empty: no baseline pixel to align on")

    long_side = int(min(max_side, max(fixed_hw), max(moving_hw)))
    fp = _prepare(f_img, long_side, mask, "fixed (baseline) image")
    mp = _prepare(m_img, long_side, None, "moving (follow-up) image")
    if fp.weight is not None and float((fp.weight >= 0.5).sum()) < _MIN_PIXELS:
        raise BadMaskError(
            f"fixed_mask covers too few pixels to align on at the working resolution ({long_side} px long side)"
        )

    def finish(s: NDArray[np.float64], method: str, corr_before: float, corr_after: float, overlap: float,
               note: str = "", failure: str = "") -> Alignment:
        full = np.linalg.inv(mp.to_small) @ _as3(s) @ fp.to_small
        m = full[:2]
        shift, rotation, scale = _decompose(m, fixed_hw)
        reasons = [failure] if failure else []
        if not math.isfinite(corr_after) or corr_after < min_correlation:
            ca = "not measurable" if not math.isfinite(corr_after) else f"{corr_after:.2f}"
            reasons.append(f"the images do not match (correlation {ca} after alignment, needs {min_correlation:.2f})")
        if overlap < min_overlap:
            reasons.append(f"only {100 * overlap:.0f} % overlap (needs {100 * min_overlap:.0f} %)")
        high_before = math.isfinite(corr_before) and corr_before >= max(0.8, min_correlation)
        if (math.isfinite(corr_before) and math.isfinite(corr_after)
                and corr_after < corr_before - _CORR_TOLERANCE and not high_before):
            reasons.append(f"correlation did not improve ({corr_before:.2f} -> {corr_after:.2f})")
        ok = not reasons
        desc = f"shift ({shift[0]:.1f}, {shift[1]:.1f}) px, rotation {rotation:.1f} deg"
        if abs(scale - 1.0) >= 0.005:
            desc += f", scale {scale:.3f}"
        if ok:
            message = f"aligned: {desc} (correlation {corr_before:.2f} -> {corr_after:.2f}, {100 * overlap:.0f} % overlap)"
        else:
            message = "could not be aligned: " + "; ".join(reasons) + f" (best guess: {desc})"
            method = "failed"
        if note:
            message += f"; {note}"
        return Alignment(
            matrix=_matrix_tuple(m), shift_px=shift, rotation_deg=rotation, scale=scale,
            correlation_before=corr_before, correlation_after=corr_after, overlap=overlap,
            ok=ok, method=method, message=message, fixed_shape=fixed_hw, moving_shape=moving_hw,
        )

    # the very same image: nothing to estimate
    if fixed_hw == moving_hw and np.array_equal(fp.detail, mp.detail) and np.array_equal(f_img, m_img):
        overlap = 1.0
        return Alignment(
            matrix=_IDENTITY, shift_px=(0.0, 0.0), rotation_deg=0.0, scale=1.0,
            correlation_before=1.0, correlation_after=1.0, overlap=overlap, ok=True, method="identity",
            message="same image: no alignment needed", fixed_shape=fixed_hw, moving_shape=moving_hw,
        )

    # identity in full-resolution pixels, expressed at working resolution
    s_identity = (mp.to_small @ np.linalg.inv(fp.to_small))[:2]
    corr_before, overlap_before = _evaluate(s_identity, fp, mp)

    # candidates: (s, method, correlation, overlap)
    candidates: list[tuple[NDArray[np.float64], str, float, float]] = [
        (s_identity, "identity", corr_before, overlap_before)
    ]
    dx, dy, _response = _phase_shift(fp, mp)
    s_phase = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    s_ecc = _ecc(fp, mp, s_phase, allow_scale)
    if s_ecc is not None:
        candidates.append((s_ecc, "phase+ecc", *_evaluate(s_ecc, fp, mp)))
    else:
        candidates.append((s_phase, "phase+ecc", *_evaluate(s_phase, fp, mp)))

    # a correlation measured on a sliver of overlap means little: such candidates rank last
    overlap_floor = min(float(min_overlap), _CANDIDATE_MIN_OVERLAP)

    def best() -> tuple[NDArray[np.float64], str, float, float]:
        def key(c: tuple[NDArray[np.float64], str, float, float]) -> tuple[bool, float]:
            corr = c[2] if math.isfinite(c[2]) else -2.0
            if c[1] == "identity":  # an estimate must be clearly worse to lose to "no motion"
                corr -= _CORR_TOLERANCE
            return (c[3] >= overlap_floor, corr)
        return max(candidates, key=key)

    current = best()
    if (s_ecc is None or current[1] == "identity"
            or not (math.isfinite(current[2]) and current[2] >= max(_FEATURE_TRIGGER, min_correlation))):
        s_feat = _features(fp, mp, allow_scale)
        if s_feat is not None:
            s_feat_ecc = _ecc(fp, mp, s_feat, allow_scale)
            chosen = s_feat_ecc if s_feat_ecc is not None else s_feat
            candidates.append((chosen, "features", *_evaluate(chosen, fp, mp)))
        current = best()

    s, method, corr_after, overlap = current
    note = failure = ""
    if method == "identity":
        # "no motion" won: either the estimators agree with it (then report theirs), or they
        # found a motion that does not match better than none, which is a failure to align
        estimates = [c for c in candidates if c[1] != "identity" and math.isfinite(c[2])]
        moved = [_displacement(c[0], s_identity, fp.detail.shape) for c in estimates]
        if estimates and min(moved) < _SAME_MOTION_PX:
            s, method, corr_after, overlap = estimates[int(np.argmin(moved))]
        else:
            failure = ("no estimated transform matched better than none "
                       f"(correlation {corr_before:.2f} without moving the photo)")
            if fixed_hw != moving_hw:
                note = "photos of different sizes"
    return finish(s, method, corr_before, corr_after, overlap, note, failure)


def convex_hull_mask(mask: ArrayLike) -> NDArray[np.bool_]:
    """The convex hull of a region's pixels, as a mask of the same shape (bool).

    A region drawn on skin (cheeks, forehead) can hold too little structure to register
    on when the camera distance changed; its hull takes in what lies between its parts
    (eyes, nose, brows), still the subject and not the background, which moves by
    parallax when the camera does.
    """
    m = np.asarray(mask, dtype=bool)
    out = np.zeros(m.shape, np.uint8)
    ys, xs = np.nonzero(m)
    if len(xs):
        pts = np.stack([xs, ys], axis=1).astype(np.int32)
        cv2.fillConvexPoly(out, cv2.convexHull(pts), 1)
    return out.astype(bool)


def _displacement(a: NDArray[np.float64], b: NDArray[np.float64], shape: tuple[int, ...]) -> float:
    """Largest distance (working pixels) between where two 2x3 transforms put the corners of ``shape``."""
    h, w = shape[:2]
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], np.float64).T
    return float(np.max(np.hypot(*((a - b) @ corners))))


def _check_alignment(alignment: Alignment) -> NDArray[np.float64]:
    if not isinstance(alignment, Alignment):
        raise BadSettingsError(f"alignment must be an Alignment, got {type(alignment).__name__}")
    m = alignment.matrix_array
    if m.shape != (2, 3) or not np.all(np.isfinite(m)) or abs(np.linalg.det(m[:, :2])) < 1e-12:
        raise BadSettingsError("alignment.matrix must be a finite, invertible 2x3 matrix")
    return m


def _is_identity(m: NDArray[np.float64]) -> bool:
    return bool(np.array_equal(m, np.asarray(_IDENTITY)))


def _check_grid(name: str, got: tuple[int, int], expected: tuple[int, int] | None,
                what: str, error: type[Exception]) -> None:
    if expected is not None and got != expected:
        raise error(f"{name} has shape {got} but the alignment was estimated for a {what} of shape {expected}")


def warp_mask(mask: ArrayLike, alignment: Alignment, shape: Sequence[int]) -> NDArray[np.bool_]:
    """Carry a baseline mask into the follow-up pixel grid.

    Parameters
    ----------
    mask : array_like of bool, shape (H, W)
        Mask in the baseline grid.
    alignment : Alignment
        Result of :func:`register` (baseline -> follow-up).
    shape : sequence of int
        ``(H', W')`` (or ``(H', W', C)``) of the follow-up image.

    Returns
    -------
    numpy.ndarray of bool, shape (H', W')
        Nearest-neighbour warp (``cv2.warpAffine`` with the alignment matrix,
        ``INTER_NEAREST``, border 0): follow-up pixels that come from outside
        the baseline are False.

    Raises
    ------
    BadMaskError
        `mask` is not 2-D or does not match the alignment's baseline shape.
    """
    m = _check_alignment(alignment)
    out_hw = _hw(shape, "shape")
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise BadMaskError(f"mask must be a 2-D boolean array, got shape {arr.shape}")
    _check_grid("mask", arr.shape, alignment.fixed_shape, "baseline", BadMaskError)
    _check_grid("shape", out_hw, alignment.moving_shape, "follow-up", BadSettingsError)
    u8 = (arr != 0).view(np.uint8)
    if _is_identity(m) and arr.shape == out_hw:
        return u8.astype(bool)
    H, W = out_hw
    rows, cols = np.flatnonzero(u8.any(axis=1)), np.flatnonzero(u8.any(axis=0))
    if rows.size == 0:
        return np.zeros(out_hw, bool)
    # only the window where the mask's bounding box lands (a lesion is small): the pixels
    # outside it come from outside the mask
    corners = np.array([[cols[0] - 1, rows[0] - 1], [cols[-1] + 2, rows[0] - 1],
                        [cols[0] - 1, rows[-1] + 2], [cols[-1] + 2, rows[-1] + 2]], np.float64)
    mapped = corners @ m[:, :2].T + m[:, 2]
    x0, y0 = (max(0, int(math.floor(v)) - 2) for v in mapped.min(axis=0))
    x1, y1 = min(W, int(math.ceil(mapped[:, 0].max())) + 3), min(H, int(math.ceil(mapped[:, 1].max())) + 3)
    out = np.zeros(out_hw, np.uint8)
    if x1 > x0 and y1 > y0:
        shifted = m.copy()
        shifted[:, 2] -= (x0, y0)
        out[y0:y1, x0:x1] = cv2.warpAffine(u8, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST,
                                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out.view(bool)


def warp_labels(labels: ArrayLike, alignment: Alignment, shape: Sequence[int], *, fill: int = -1) -> NDArray[np.int32]:
    """Carry a baseline label image into the follow-up pixel grid (nearest neighbour).

    Parameters
    ----------
    labels : array_like of int, shape (H, W)
        Label image in the baseline grid; converted to int32.
    alignment : Alignment
        Result of :func:`register` (baseline -> follow-up).
    shape : sequence of int
        ``(H', W')`` of the follow-up image.
    fill : int, default -1
        Label of follow-up pixels that come from outside the baseline.

    Returns
    -------
    numpy.ndarray of int32, shape (H', W')

    Raises
    ------
    BadMaskError
        `labels` is not a 2-D integer array or does not match the alignment's baseline shape.
    """
    m = _check_alignment(alignment)
    out_hw = _hw(shape, "shape")
    arr = np.asarray(labels)
    if arr.ndim != 2 or arr.dtype.kind not in "biu":
        raise BadMaskError(f"labels must be a 2-D integer array, got shape {arr.shape} and dtype {arr.dtype}")
    _check_grid("labels", arr.shape, alignment.fixed_shape, "baseline", BadMaskError)
    _check_grid("shape", out_hw, alignment.moving_shape, "follow-up", BadSettingsError)
    lab = np.ascontiguousarray(arr, dtype=np.int32)
    if _is_identity(m) and arr.shape == out_hw:
        return lab.copy()
    return cv2.warpAffine(lab, m, (out_hw[1], out_hw[0]), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=int(fill))


def warp_valid_mask(alignment: Alignment, baseline_shape: Sequence[int], moving_shape: Sequence[int]) -> NDArray[np.bool_]:
    """Baseline pixels that have follow-up data.

    Parameters
    ----------
    alignment : Alignment
        Result of :func:`register` (baseline -> follow-up).
    baseline_shape, moving_shape : sequence of int
        ``(H, W)`` of the baseline and of the follow-up image.

    Returns
    -------
    numpy.ndarray of bool, shape (H, W)
        True where the baseline pixel centre maps inside the follow-up's pixel
        area, ``[-0.5, W' - 0.5] x [-0.5, H' - 0.5]`` (exact, computed per row).
    """
    m = _check_alignment(alignment)
    fixed_hw = _hw(baseline_shape, "baseline_shape")
    moving_hw = _hw(moving_shape, "moving_shape")
    _check_grid("baseline_shape", fixed_hw, alignment.fixed_shape, "baseline", BadSettingsError)
    _check_grid("moving_shape", moving_hw, alignment.moving_shape, "follow-up", BadSettingsError)
    return _inside(m, fixed_hw, moving_hw)


def warp_to_baseline(
    image: ArrayLike,
    alignment: Alignment,
    shape: Sequence[int],
    *,
    interpolation: str = "lanczos",
    fill: float = math.nan,
) -> NDArray[np.float32]:
    """Resample a follow-up image into the baseline pixel grid (for maps and display only).

    Do not measure texture on the result: interpolation low-passes it
    (docs/method.md section 4). Use :func:`warp_valid_mask` for the pixels that have data.

    Parameters
    ----------
    image : array_like, shape (H', W') or (H', W', C)
        Follow-up image; converted to float32.
    alignment : Alignment
        Result of :func:`register` (baseline -> follow-up).
    shape : sequence of int
        ``(H, W)`` (or ``(H, W, C)``) of the baseline grid.
    interpolation : {"lanczos", "cubic", "linear", "nearest"}, default "lanczos"
        Resampling kernel (``cv2.INTER_LANCZOS4`` etc.).
    fill : float, default NaN
        Value of baseline pixels without follow-up data. Near the follow-up's
        border the kernel uses replicated edge pixels.

    Returns
    -------
    numpy.ndarray of float32, shape (H, W) or (H, W, C)
        ``out[y, x] = image(matrix @ (x, y, 1))``. With the identity transform
        and equal shapes it is an exact copy.

    Raises
    ------
    BadSettingsError
        Unknown `interpolation`, or an image/shape that does not match the alignment.
    """
    m = _check_alignment(alignment)
    out_hw = _hw(shape, "shape")
    if interpolation not in _INTERPOLATIONS:
        raise BadSettingsError(
            f"interpolation must be one of {sorted(_INTERPOLATIONS)}, got {interpolation!r}"
        )
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.dtype.kind not in "biuf":
        raise BadSettingsError(f"image must be a numeric (H, W) or (H, W, C) array, got shape {arr.shape}")
    img = np.ascontiguousarray(arr, dtype=np.float32)
    in_hw = (img.shape[0], img.shape[1])
    _check_grid("image", in_hw, alignment.moving_shape, "follow-up", BadSettingsError)
    _check_grid("shape", out_hw, alignment.fixed_shape, "baseline", BadSettingsError)
    if _is_identity(m) and in_hw == out_hw:
        return img.copy()
    flags = _INTERPOLATIONS[interpolation] | cv2.WARP_INVERSE_MAP
    size = (out_hw[1], out_hw[0])

    def warp(plane: NDArray[np.float32]) -> NDArray[np.float32]:
        return cv2.warpAffine(plane, m, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)

    if img.ndim == 2 or img.shape[2] <= 4:
        out = warp(img)
        if img.ndim == 3 and out.ndim == 2:  # OpenCV drops a single channel axis
            out = out[:, :, None]
    else:
        out = np.stack([warp(np.ascontiguousarray(img[:, :, c])) for c in range(img.shape[2])], axis=2)
    valid = _inside(m, out_hw, in_hw)
    out[~valid] = fill
    return out
