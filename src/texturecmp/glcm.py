"""Mask-aware grey-level co-occurrence matrices (GLCM) and Haralick/IBSI features.

The texture metrics of texturecmp compare photos taken weeks apart, so every
image is quantised with the *same* bin edges (IBSI "fixed bin size",
:func:`quantize_fixed_bin`), never with per-image minimum/maximum. Matrices are
counted only from pixel pairs whose two pixels lie inside the region (IBSI),
optionally per tile of a grid in one pass (:func:`glcm`), and features follow
the IBSI definitions (:func:`glcm_features`), vectorised over any stack of
matrices.

Direction convention (the one of ``skimage.feature.graycomatrix``): an angle
:math:`\\theta` (degrees, a multiple of 45) at Chebyshev distance :math:`d`
pairs pixel ``(r, c)`` with ``(r + dy, c + dx)`` where
``dy = d * sign(round(sin θ))`` and ``dx = d * sign(round(cos θ))`` (rows grow
downwards), i.e. 0° = (0, +d), 45° = (+d, +d), 90° = (+d, 0),
135° = (+d, -d). With ``symmetric=True`` a direction and its opposite give
the same matrix, so 45° is the down-right/up-left diagonal and 135° the
down-left/up-right one (the reverse of the mathematical y-up convention, in
which 45° points up-right).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from texturecmp._checks import check_int
from texturecmp._parallel import n_threads, pool_map
from texturecmp.errors import BadMaskError, BadSettingsError

__all__ = [
    "quantize_fixed_bin",
    "glcm",
    "glcm_grid_rows",
    "glcm_offsets",
    "glcm_features",
    "GLCM_FEATURES",
    "GLCM_FEATURE_IBSI_IDS",
]

#: Feature names accepted by :func:`glcm_features`, with their IBSI identifiers.
#: Aliases share an identifier: ``joint_energy`` = ``angular_second_moment``,
#: ``homogeneity`` = ``inverse_difference_moment``, ``dissimilarity`` =
#: ``difference_average`` (the IBSI lists dissimilarity separately as 8S9J; it
#: is the same quantity).
GLCM_FEATURE_IBSI_IDS: dict[str, str] = {
    "joint_maximum": "GYBY",
    "joint_average": "60VM",
    "joint_variance": "UR99",
    "joint_entropy": "TU9B",
    "difference_average": "TF7R",
    "dissimilarity": "8S9J",
    "difference_variance": "D3YU",
    "difference_entropy": "NTRS",
    "sum_average": "ZGXS",
    "sum_variance": "OEEB",
    "sum_entropy": "P6QZ",
    "joint_energy": "8ZQL",
    "angular_second_moment": "8ZQL",
    "contrast": "ACUI",
    "inverse_difference": "IB1Z",
    "normalised_inverse_difference": "NDRX",
    "inverse_difference_moment": "WF0Z",
    "homogeneity": "WF0Z",
    "normalised_inverse_difference_moment": "1QCO",
    "inverse_variance": "E8JP",
    "correlation": "NI2N",
    "autocorrelation": "QWB0",
    "cluster_tendency": "DG8W",
    "cluster_shade": "7NFM",
    "cluster_prominence": "AE86",
    "information_correlation_1": "R8DG",
    "information_correlation_2": "JN9H",
}

#: All feature names, in a stable order.
GLCM_FEATURES: tuple[str, ...] = tuple(GLCM_FEATURE_IBSI_IDS)

_MAX_BINS = 1 << 28  # n_tiles * n_angles * n_levels**2 limit (2 GiB of int64)
_HIST_ROWS_EXACT = 1 << 23  # pixels per calcHist call (float32 counts exact < 2**24)
_PARALLEL_MIN = 1 << 16  # pixels below which glcm runs in the calling thread


# ---------------------------------------------------------------------------
# quantisation
# ---------------------------------------------------------------------------


def quantize_fixed_bin(
    values: ArrayLike, *, bin_width: float, lower: float, n_levels: int
) -> NDArray[np.uint8] | NDArray[np.uint16]:
    r"""Discretise values with a fixed bin width (IBSI "fixed bin size").

    .. math::

        \ell = \min\!\left(\max\!\left(\left\lfloor \frac{v - v_\mathrm{lower}}{w_b} \right\rfloor, 0\right), N_g - 1\right)

    The bin edges :math:`v_\mathrm{lower} + k\,w_b` are the same for every
    image (never derived from the image's own minimum and maximum), so a value
    gets the same level in the photo before and after treatment. Values below
    the first edge go to level 0 and values beyond the last to
    :math:`N_g - 1`.

    Parameters
    ----------
    values : array_like
        Real values (e.g. the detail layer D in L* units), any shape.
    bin_width : float
        Bin width :math:`w_b` in the units of ``values`` (> 0).
    lower : float
        Lower edge of level 0, :math:`v_\mathrm{lower}`.
    n_levels : int
        Number of levels :math:`N_g`, 1..65536.

    Returns
    -------
    levels : ndarray of uint8 (n_levels <= 256) or uint16
        0-based levels, same shape as ``values``. IBSI formulas number the
        levels from 1: IBSI level = ``levels + 1``.

    Raises
    ------
    BadSettingsError
        If ``bin_width`` is not a positive finite number, ``lower`` is not
        finite or ``n_levels`` is out of range.

    Notes
    -----
    NaN values are given level 0: keep them out of the GLCM with the
    ``mask`` of :func:`glcm`.

    References
    ----------
    .. [1] A. Zwanenburg et al., "The Image Biomarker Standardization
       Initiative: standardized quantitative radiomics for high-throughput
       image-based phenotyping", Radiology 295(2):328-338, 2020;
       arXiv:1612.07003, section 2.7 (fixed bin size discretisation).
    """
    n_levels = check_int(n_levels, "n_levels", ge=1, le=65536, wording="must be")
    try:
        bw = float(bin_width)
        lo = float(lower)
    except (TypeError, ValueError) as exc:
        raise BadSettingsError(
            f"bin_width and lower must be numbers, got {bin_width!r} and {lower!r}"
        ) from exc
    if not (np.isfinite(bw) and bw > 0):
        raise BadSettingsError(f"bin_width must be a positive finite number, got {bin_width!r}")
    if not np.isfinite(lo):
        raise BadSettingsError(f"lower must be a finite number, got {lower!r}")
    v = np.asarray(values)
    if v.dtype.kind not in "fiub":
        raise BadSettingsError(f"values must be a numeric array, got dtype {v.dtype}")
    work_dtype = np.float64 if v.dtype == np.float64 else np.float32
    x = np.subtract(v, lo, dtype=work_dtype)
    x *= work_dtype(1.0 / bw)
    np.floor(x, out=x)
    # NaN -> 0; then clip into the level range
    np.nan_to_num(x, copy=False, nan=0.0, posinf=n_levels - 1, neginf=0.0)
    np.clip(x, 0, n_levels - 1, out=x)
    return x.astype(np.uint8 if n_levels <= 256 else np.uint16)


# ---------------------------------------------------------------------------
# co-occurrence matrices
# ---------------------------------------------------------------------------


def glcm_offsets(angles: Iterable[float | str], *, distance: int = 1) -> list[tuple[int, int]]:
    """Pixel offsets ``(dy, dx)`` (rows, columns) of GLCM directions.

    Parameters
    ----------
    angles : iterable of float or str
        Angles in degrees (numbers or numeric strings), multiples of 45.
    distance : int
        Chebyshev distance :math:`d \\ge 1`.

    Returns
    -------
    offsets : list of (int, int)
        ``(d * sign(round(sin θ)), d * sign(round(cos θ)))``: 0° -> (0, d),
        45° -> (d, d), 90° -> (d, 0), 135° -> (d, -d), as in
        ``skimage.feature.graycomatrix`` (rows grow downwards).

    Raises
    ------
    BadSettingsError
        For an angle that is not a multiple of 45 degrees or a bad distance.
    """
    d = check_int(distance, "distance", ge=1, wording="must be")
    out = []
    for a in angles:
        try:
            deg = float(a)
        except (TypeError, ValueError) as exc:
            raise BadSettingsError(f"angles must be numbers of degrees, got {a!r}") from exc
        if not np.isfinite(deg) or abs(deg / 45.0 - round(deg / 45.0)) > 1e-9:
            raise BadSettingsError(
                f"angles must be multiples of 45 degrees (0, 45, 90, 135), got {a!r}"
            )
        k = int(round(deg / 45.0)) % 8
        rad = np.radians(45.0 * k)
        dy = int(np.sign(round(np.sin(rad), 6))) * d
        dx = int(np.sign(round(np.cos(rad), 6))) * d
        out.append((dy, dx))
    if not out:
        raise BadSettingsError("angles must name at least one direction")
    return out


def _pair_slices(shape: tuple[int, int], dy: int, dx: int) -> tuple[slice, slice, slice, slice] | None:
    """Row/column slices of first pixels (a) and their neighbours (b)."""
    h, w = shape
    r0, r1 = max(0, -dy), h - max(0, dy)
    c0, c1 = max(0, -dx), w - max(0, dx)
    if r1 <= r0 or c1 <= c0:
        return None
    return slice(r0, r1), slice(c0, c1), slice(r0 + dy, r1 + dy), slice(c0 + dx, c1 + dx)


def glcm(
    levels: ArrayLike,
    *,
    n_levels: int,
    mask: ArrayLike | None = None,
    distance: int = 1,
    angles: Sequence[float | str] = (0, 45, 90, 135),
    symmetric: bool = True,
    tile_labels: ArrayLike | None = None,
    n_tiles: int | None = None,
) -> NDArray[np.int64]:
    r"""Grey-level co-occurrence matrices, counting only pairs inside a mask.

    For a direction with offset :math:`(\delta_y, \delta_x)` the matrix counts

    .. math::

        M_{ij} = \#\{(r, c) : \ell(r, c) = i,\ \ell(r + \delta_y, c + \delta_x) = j,\
                   m(r, c) \wedge m(r + \delta_y, c + \delta_x)\}

    i.e. a pair counts only when **both** pixels are inside the mask :math:`m`
    (IBSI). With ``symmetric=True`` the result is :math:`M + M^\mathsf{T}`
    (each pair counted in both orders). See :func:`glcm_offsets` for the
    direction convention (that of ``skimage.feature.graycomatrix``).

    Parameters
    ----------
    levels : array_like of int, shape (H, W)
        0-based grey levels (e.g. from :func:`quantize_fixed_bin`). Inside the
        mask every value must be in ``[0, n_levels - 1]``; values outside the
        mask are ignored whatever they are.
    n_levels : int
        Number of grey levels :math:`N_g` (matrix size), 1..65536.
    mask : array_like of bool, shape (H, W), optional
        Region to measure (non-zero = inside). Default: the whole image.
    distance : int, optional
        Chebyshev distance :math:`d \ge 1` between the two pixels of a pair.
    angles : sequence of float or str, optional
        Directions in degrees, multiples of 45 (default 0, 45, 90, 135).
    symmetric : bool, optional
        Count each pair in both orders (default True).
    tile_labels : array_like of int, shape (H, W), optional
        Tile index of each pixel, ``0 .. n_tiles - 1``, or -1 for "no tile".
        A pair belongs to the tile of its **first** pixel (its second pixel
        only needs to be inside the mask), so the tile matrices of a fully
        tiled image sum exactly to the whole-image matrix.
    n_tiles : int, optional
        Number of tiles (default: ``tile_labels.max() + 1``). Ignored without
        ``tile_labels``.

    Returns
    -------
    counts : ndarray of int64
        Shape ``(n_angles, n_levels, n_levels)``, or with ``tile_labels``
        ``(n_tiles, n_angles, n_levels, n_levels)``. Raw counts (not
        normalised); ``counts[..., i, j]`` counts first pixel level ``i``,
        neighbour level ``j``.

    Raises
    ------
    BadSettingsError
        Bad ``n_levels``, ``distance``, ``angles``, ``n_tiles``, ``levels``
        values outside ``[0, n_levels - 1]`` inside the mask, a non-integer
        ``levels`` array, or ``tile_labels`` values outside
        ``[-1, n_tiles - 1]``.
    BadMaskError
        If ``levels`` is not 2-D, or ``mask`` / ``tile_labels`` does not have
        the shape of ``levels``.

    Notes
    -----
    Equal to ``skimage.feature.graycomatrix(levels, [d], np.radians(angles),
    levels=n_levels, symmetric=symmetric)`` (rearranged to angle-first) when
    the mask is all-True, for ``d = 1`` and for 0° and 90° at any distance;
    scikit-image offsets diagonals by ``round(d / sqrt(2))`` where this
    function uses the Chebyshev distance ``d`` (IBSI).

    Implementation: per direction, ``cv2.calcHist`` on the two shifted level
    images (and the tile image) with the pair mask, on row blocks spread over
    the cores; each block has fewer than :math:`2^{23}` pixels so OpenCV's
    float32 counts are exact. This is faster than ``np.bincount`` on combined
    ``tile*L*L + a*L + b`` indices, threaded or not; the time at 12 MP is in
    benchmarks/README.md (``bench_kernels.py``).

    References
    ----------
    .. [1] R. M. Haralick, K. Shanmugam, I. Dinstein, "Textural features for
       image classification", IEEE Trans. Syst. Man Cybern. SMC-3(6):610-621,
       1973.
    .. [2] A. Zwanenburg et al., "The Image Biomarker Standardization
       Initiative", Radiology 295(2):328-338, 2020; arXiv:1612.07003,
       section 3.6 (grey level co-occurrence based features).
    """
    n_levels = check_int(n_levels, "n_levels", ge=1, le=65536, wording="must be")
    offsets = glcm_offsets(angles, distance=distance)
    lev = np.asarray(levels)
    if lev.ndim != 2:
        raise BadMaskError(f"levels must be a 2-D array (H, W), got shape {lev.shape}")
    if lev.dtype.kind not in "iub":
        raise BadSettingsError(
            f"levels must be an integer array of grey levels (see quantize_fixed_bin), got dtype {lev.dtype}"
        )
    shape = lev.shape

    if mask is None:
        m = np.ones(shape, dtype=bool)
        full_mask = True
    else:
        m = np.asarray(mask)
        if m.shape != shape:
            raise BadMaskError(f"mask must have the shape of levels {shape}, got {m.shape}")
        m = m.astype(bool, copy=False)
        full_mask = False
    second_mask = m  # second pixel of a pair: inside the mask
    first_mask = m

    # level range: cheap whole-image check, exact in-mask check only if needed
    if lev.size:
        lo, hi = int(lev.min()), int(lev.max())
        if lo < 0 or hi >= n_levels:
            inside = lev[m] if not full_mask else lev
            if inside.size and (int(inside.min()) < 0 or int(inside.max()) >= n_levels):
                raise BadSettingsError(
                    f"levels inside the mask must be in [0, n_levels - 1] = [0, {n_levels - 1}], "
                    f"found values in [{int(inside.min())}, {int(inside.max())}]; "
                    "raise n_levels or requantise"
                )
    tiles: NDArray | None = None
    if tile_labels is not None:
        t = np.asarray(tile_labels)
        if t.shape != shape:
            raise BadMaskError(f"tile_labels must have the shape of levels {shape}, got {t.shape}")
        if t.dtype.kind not in "iub":
            raise BadSettingsError(f"tile_labels must be an integer array, got dtype {t.dtype}")
        tmin = int(t.min()) if t.size else -1
        tmax = int(t.max()) if t.size else -1
        if n_tiles is None:
            n_tiles = max(tmax + 1, 1)
        n_tiles = check_int(n_tiles, "n_tiles", ge=1, le=65536, wording="must be")
        if tmin < -1 or tmax >= n_tiles:
            raise BadSettingsError(
                f"tile_labels must be in [-1, n_tiles - 1] = [-1, {n_tiles - 1}], "
                f"found values in [{tmin}, {tmax}]"
            )
        if tmin < 0:
            first_mask = second_mask & (t >= 0)
    else:
        n_tiles = 1
    # cv2.calcHist needs one depth (8U or 16U) for all its images
    depth = np.uint8 if max(n_levels, n_tiles) <= 256 else np.uint16
    if lev.dtype != depth:
        # out-of-range values can only be outside the mask, where they are never counted
        lev = lev.astype(depth)
    if tile_labels is not None:
        # -1 wraps to the dtype maximum; those pixels are excluded by first_mask
        tiles = t.astype(depth, copy=False)

    n_ang = len(offsets)
    if n_tiles * n_ang * n_levels * n_levels > _MAX_BINS:
        raise BadSettingsError(
            f"n_tiles * n_angles * n_levels**2 = {n_tiles * n_ang * n_levels**2} bins is too many "
            f"(limit {_MAX_BINS}); use fewer levels or tiles"
        )
    out = np.zeros((n_ang, n_tiles, n_levels, n_levels), dtype=np.int64)

    # work units: (angle index, row block) with < 2**23 pixels each
    jobs: list[tuple[int, slice, slice, slice, slice]] = []
    for k, (dy, dx) in enumerate(offsets):
        sl = _pair_slices(shape, dy, dx)
        if sl is None:
            continue
        ra, ca, rb, cb = sl
        n_rows = ra.stop - ra.start
        width = ca.stop - ca.start
        rows_per_block = max(1, _HIST_ROWS_EXACT // max(width, 1))
        n_blocks = -(-n_rows // rows_per_block)
        if n_rows * width >= _PARALLEL_MIN:
            n_blocks = max(n_blocks, n_threads())
        edges = np.linspace(0, n_rows, n_blocks + 1).astype(int)
        for b0, b1 in zip(edges[:-1], edges[1:]):
            if b1 > b0:
                jobs.append(
                    (
                        k,
                        slice(ra.start + b0, ra.start + b1),
                        ca,
                        slice(rb.start + b0, rb.start + b1),
                        cb,
                    )
                )

    hist_size = [n_levels, n_levels]
    ranges = [0, n_levels, 0, n_levels]
    if tiles is not None:
        hist_size = [n_tiles] + hist_size
        ranges = [0, n_tiles] + ranges

    def count(job: tuple[int, slice, slice, slice, slice]) -> tuple[int, NDArray[np.float32]]:
        k, ra, ca, rb, cb = job
        pair = np.logical_and(first_mask[ra, ca], second_mask[rb, cb]).view(np.uint8)
        images = [lev[ra, ca], lev[rb, cb]]
        if tiles is not None:
            images = [tiles[ra, ca]] + images
        channels = list(range(len(images)))
        return k, cv2.calcHist(images, channels, pair, hist_size, ranges)

    if lev.size >= _PARALLEL_MIN and len(jobs) > 1:
        results = pool_map(count, jobs)
    else:
        results = [count(j) for j in jobs]
    for k, h in results:
        out[k] += h.astype(np.int64).reshape(n_tiles, n_levels, n_levels)

    if symmetric:
        out += out.swapaxes(-1, -2).copy()
    if tiles is None:
        return out[:, 0]
    return np.ascontiguousarray(out.transpose(1, 0, 2, 3))


def glcm_grid_rows(
    levels: NDArray[np.uint8],
    y0: int,
    y1: int,
    *,
    height: int,
    n_levels: int,
    grid: tuple[int, int, int, int, int],
    offsets: Sequence[tuple[int, int]],
    mask: NDArray[np.bool_] | None = None,
    out: NDArray[np.int64] | None = None,
    lock: Any = None,
) -> NDArray[np.int64]:
    r"""Tile GLCM counts of the pairs whose **first** pixel lies in image rows y0 .. y1 (private
    building block of the texture family, which runs it on row strips).

    Equal, summed over strips covering the image, to :func:`glcm` with ``symmetric=False``
    and ``tile_labels`` of the rectangular grid ``(x0, y0, t, nx, ny)`` (tile
    ``iy * nx + ix`` covers x0 + ix*t .. x0 + (ix+1)*t, likewise in y); pixels outside the
    grid start no pair. Each tile's matrix is one 2-D ``cv2.calcHist`` of the tile's
    first pixels and their neighbours (8-bit levels, a 4 KB histogram that stays in the
    cache), about twice as fast as one 3-D histogram over tiles.

    ``levels`` (uint8, < n_levels <= 256 wherever the mask holds) and ``mask`` hold image rows
    y0 .. y0 + len(levels) (at least y1 + max dy, or to the image bottom); ``height`` is the
    image's height. Offsets must have dy >= 0 (those of :func:`glcm_offsets`).
    Returns (n_tiles, n_offsets, n_levels, n_levels) int64: ``out`` when given, to which
    the counts are added (under ``lock``, when strips run in threads: integer sums do not
    depend on their order).
    """
    gx0, gy0, t, nx, ny = grid
    w = levels.shape[1]
    if out is None:
        out = np.zeros((nx * ny, len(offsets), n_levels, n_levels), np.int64)
    found = []
    size, ranges = [n_levels, n_levels], [0, n_levels, 0, n_levels]
    for k, (dy, dx) in enumerate(offsets):
        r1 = min(y1, height - dy)  # the neighbour must be inside the image
        c0, c1 = max(0, -dx), w - max(0, dx)
        for iy in range(max(0, (y0 - gy0) // t), ny):
            a, b = max(y0, gy0 + iy * t), min(r1, gy0 + (iy + 1) * t)
            if a >= r1:
                break
            if b <= a:
                continue
            la, lb = a - y0, b - y0
            for ix in range(nx):
                ca, cb = max(c0, gx0 + ix * t), min(c1, gx0 + (ix + 1) * t)
                if cb <= ca:
                    continue
                first = levels[la:lb, ca:cb]
                second = levels[la + dy:lb + dy, ca + dx:cb + dx]
                pair = None
                if mask is not None:
                    pair = np.logical_and(mask[la:lb, ca:cb], mask[la + dy:lb + dy, ca + dx:cb + dx]).view(np.uint8)
                found.append((iy * nx + ix, k, cv2.calcHist([first, second], [0, 1], pair, size, ranges)))
    with lock if lock is not None else contextlib.nullcontext():
        for tile, k, hist in found:
            out[tile, k] += hist.astype(np.int64)
    return out


# ---------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------


def _entropy_bits(p: NDArray[np.float64], axis: int | tuple[int, ...]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return -plogp.sum(axis=axis)


def _diag_sums(p_flat: NDArray[np.float64], keys: NDArray[np.intp], n_bins: int) -> NDArray[np.float64]:
    """Sum the last axis of ``p_flat`` into ``n_bins`` groups given by ``keys``."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    # every key 0..n_bins-1 occurs (difference and sum distributions)
    starts = np.searchsorted(sorted_keys, np.arange(n_bins))
    return np.add.reduceat(p_flat[..., order], starts, axis=-1)


def glcm_features(
    matrices: ArrayLike, *, features: Iterable[str] | None = None
) -> dict[str, NDArray[np.float64]]:
    r"""IBSI / Haralick features of co-occurrence matrices.

    Each matrix (last two axes) is normalised separately,
    :math:`p_{ij} = M_{ij} / \sum M`, and grey levels are numbered from 1
    as in the IBSI: :math:`i, j = 1 \dots N_g` with :math:`N_g` the matrix
    size. Marginals :math:`p_i = \sum_j p_{ij}`, :math:`p_j = \sum_i p_{ij}`
    with means :math:`\mu_i, \mu_j` and standard deviations
    :math:`\sigma_i, \sigma_j`; difference distribution
    :math:`p_{i-j}(k) = \sum_{|i-j|=k} p_{ij}`, :math:`k = 0 \dots N_g-1`;
    sum distribution :math:`p_{i+j}(k) = \sum_{i+j=k} p_{ij}`,
    :math:`k = 2 \dots 2N_g`. Entropies are in bits (:math:`\log_2`).

    ======================================  =====  ==========================================================
    name                                    IBSI   formula
    ======================================  =====  ==========================================================
    ``joint_maximum``                       GYBY   :math:`\max p_{ij}`
    ``joint_average``                       60VM   :math:`\mu = \sum i\,p_{ij}`
    ``joint_variance``                      UR99   :math:`\sum (i-\mu)^2 p_{ij}`
    ``joint_entropy``                       TU9B   :math:`-\sum p_{ij}\log_2 p_{ij}`
    ``difference_average``/``dissimilarity``  TF7R   :math:`\mu_d = \sum k\,p_{i-j}(k) = \sum |i-j|\,p_{ij}`
    ``difference_variance``                 D3YU   :math:`\sum (k-\mu_d)^2 p_{i-j}(k)`
    ``difference_entropy``                  NTRS   :math:`-\sum p_{i-j}(k)\log_2 p_{i-j}(k)`
    ``sum_average``                         ZGXS   :math:`\mu_s = \sum k\,p_{i+j}(k)`
    ``sum_variance``                        OEEB   :math:`\sum (k-\mu_s)^2 p_{i+j}(k)`
    ``sum_entropy``                         P6QZ   :math:`-\sum p_{i+j}(k)\log_2 p_{i+j}(k)`
    ``joint_energy``/``angular_second_moment``  8ZQL   :math:`\sum p_{ij}^2`
    ``contrast``                            ACUI   :math:`\sum (i-j)^2 p_{ij}`
    ``inverse_difference``                  IB1Z   :math:`\sum p_{ij}/(1+|i-j|)`
    ``normalised_inverse_difference``       NDRX   :math:`\sum p_{ij}/(1+|i-j|/N_g)`
    ``inverse_difference_moment``/``homogeneity``  WF0Z   :math:`\sum p_{ij}/(1+(i-j)^2)`
    ``normalised_inverse_difference_moment``  1QCO   :math:`\sum p_{ij}/(1+(i-j)^2/N_g^2)`
    ``inverse_variance``                    E8JP   :math:`\sum_{k\ge1} p_{i-j}(k)/k^2`
    ``correlation``                         NI2N   :math:`(\sum i j\,p_{ij} - \mu_i\mu_j)/(\sigma_i\sigma_j)`
    ``autocorrelation``                     QWB0   :math:`\sum i j\,p_{ij}`
    ``cluster_tendency``                    DG8W   :math:`\sum (i+j-\mu_i-\mu_j)^2 p_{ij}`
    ``cluster_shade``                       7NFM   :math:`\sum (i+j-\mu_i-\mu_j)^3 p_{ij}`
    ``cluster_prominence``                  AE86   :math:`\sum (i+j-\mu_i-\mu_j)^4 p_{ij}`
    ``information_correlation_1``           R8DG   :math:`(HXY - HXY_1)/\max(HX, HY)`
    ``information_correlation_2``           JN9H   :math:`\sqrt{1 - \exp(-2(HXY_2 - HXY))}`
    ======================================  =====  ==========================================================

    with :math:`HXY` the joint entropy, :math:`HX, HY` the entropies of the
    marginals, :math:`HXY_1 = -\sum p_{ij}\log_2(p_i p_j)` and
    :math:`HXY_2 = -\sum p_i p_j \log_2(p_i p_j)`.

    Parameters
    ----------
    matrices : array_like, shape (..., n_levels, n_levels)
        Co-occurrence counts (or probabilities), e.g. the output of
        :func:`glcm`: ``(n_angles, L, L)`` or ``(n_tiles, n_angles, L, L)``.
    features : iterable of str, optional
        Names to compute (see the table; default all of
        :data:`GLCM_FEATURES`).

    Returns
    -------
    features : dict of str to ndarray of float64
        One array of shape ``matrices.shape[:-2]`` per requested name. Average
        over the angle axis yourself (IBSI "averaged": features per matrix,
        then the mean).

    Raises
    ------
    BadSettingsError
        Unknown feature name, matrices that are not square on their last two
        axes, or negative / non-finite counts.

    Notes
    -----
    * An empty matrix (sum 0) gives NaN for every feature.
    * Zero-variance matrices (a single grey level, :math:`\sigma_i\sigma_j = 0`)
      give NaN correlation: it is undefined there (pyradiomics returns 1
      instead). Likewise ``information_correlation_1`` is NaN when
      :math:`\max(HX, HY) = 0`. Use ``np.nanmean`` when averaging.
    * Grey levels only enter through the 1-based numbering: empty rows and
      columns (unused levels) change nothing, except :math:`N_g` in the two
      normalised inverse differences, which is the matrix size.
    * ``homogeneity`` is IBSI's inverse difference moment (as in
      ``skimage.feature.graycoprops``); ``joint_energy`` is the angular second
      moment (skimage's ``ASM``, not its ``energy`` = sqrt(ASM)).

    References
    ----------
    .. [1] R. M. Haralick, K. Shanmugam, I. Dinstein, IEEE Trans. Syst. Man
       Cybern. SMC-3(6):610-621, 1973.
    .. [2] A. Zwanenburg et al., Radiology 295(2):328-338, 2020;
       arXiv:1612.07003, section 3.6.

    Examples
    --------
    >>> import numpy as np
    >>> from texturecmp.glcm import glcm, glcm_features
    >>> levels = np.array([[0, 0, 1, 1],
    ...                    [0, 0, 1, 1],
    ...                    [0, 2, 2, 2],
    ...                    [2, 2, 3, 3]])
    >>> m = glcm(levels, n_levels=4, angles=(0, 90))
    >>> m.shape
    (2, 4, 4)
    >>> f = glcm_features(m, features=["contrast", "homogeneity", "joint_entropy"])
    >>> for name, per_angle in f.items():
    ...     print(name, per_angle.round(4))
    contrast [0.5833 1.    ]
    homogeneity [0.8083 0.7   ]
    joint_entropy [3.0221 3.0221]
    >>> float(f["contrast"].mean())  # IBSI "2D, averaged": per direction, then the mean
    0.7916...
    """
    names = list(GLCM_FEATURES) if features is None else list(features)
    unknown = [n for n in names if n not in GLCM_FEATURE_IBSI_IDS]
    if unknown:
        raise BadSettingsError(
            f"features: unknown name(s) {unknown}; known: {', '.join(GLCM_FEATURES)}"
        )
    M = np.asarray(matrices, dtype=np.float64)
    if M.ndim < 2 or M.shape[-1] != M.shape[-2] or M.shape[-1] == 0:
        raise BadSettingsError(
            f"matrices must be square on their last two axes (..., n_levels, n_levels), got shape {M.shape}"
        )
    if not np.all(np.isfinite(M)) or np.any(M < 0):
        raise BadSettingsError("matrices must hold finite, non-negative counts")
    L = M.shape[-1]
    lead = M.shape[:-2]
    total = M.sum(axis=(-2, -1))
    empty = total == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = M / np.where(empty, 1.0, total)[..., None, None]

    g = np.arange(1, L + 1, dtype=np.float64)
    i = g[:, None]
    j = g[None, :]
    diff = np.abs(i - j)
    res: dict[str, NDArray[np.float64]] = {}
    cache: dict[str, NDArray[np.float64]] = {}

    def wsum(weights: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.einsum("...ij,ij->...", p, np.broadcast_to(weights, (L, L)))

    def marginals() -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray, NDArray]:
        if "pi" not in cache:
            cache["pi"] = p.sum(axis=-1)
            cache["pj"] = p.sum(axis=-2)
            cache["mu_i"] = cache["pi"] @ g
            cache["mu_j"] = cache["pj"] @ g
            cache["var_i"] = cache["pi"] @ (g * g) - cache["mu_i"] ** 2
            cache["var_j"] = cache["pj"] @ (g * g) - cache["mu_j"] ** 2
        return (cache["pi"], cache["pj"], cache["mu_i"], cache["mu_j"], cache["var_i"], cache["var_j"])

    def p_diff() -> NDArray[np.float64]:
        if "pd" not in cache:
            keys = diff.astype(np.intp).ravel()
            cache["pd"] = _diag_sums(p.reshape(lead + (L * L,)), keys, L)
        return cache["pd"]

    def p_sum() -> NDArray[np.float64]:
        if "ps" not in cache:
            keys = (np.arange(L)[:, None] + np.arange(L)[None, :]).astype(np.intp).ravel()
            cache["ps"] = _diag_sums(p.reshape(lead + (L * L,)), keys, 2 * L - 1)
        return cache["ps"]

    def joint_entropy() -> NDArray[np.float64]:
        if "hxy" not in cache:
            cache["hxy"] = _entropy_bits(p, axis=(-2, -1))
        return cache["hxy"]

    k_d = np.arange(L, dtype=np.float64)  # |i - j|
    k_s = np.arange(2, 2 * L + 1, dtype=np.float64)  # i + j

    with np.errstate(divide="ignore", invalid="ignore"):
        for name in names:
            if name in res:
                continue
            if name == "joint_maximum":
                v = p.max(axis=(-2, -1))
            elif name == "joint_average":
                v = marginals()[2]
            elif name == "joint_variance":
                mu = marginals()[2]
                v = np.einsum("...ij,...i->...", p, (g - mu[..., None]) ** 2)
            elif name == "joint_entropy":
                v = joint_entropy()
            elif name in ("difference_average", "dissimilarity"):
                v = p_diff() @ k_d
            elif name == "difference_variance":
                pd = p_diff()
                mu_d = pd @ k_d
                v = np.einsum("...k,...k->...", pd, (k_d - mu_d[..., None]) ** 2)
            elif name == "difference_entropy":
                v = _entropy_bits(p_diff(), axis=-1)
            elif name == "sum_average":
                v = p_sum() @ k_s
            elif name == "sum_variance":
                ps = p_sum()
                mu_s = ps @ k_s
                v = np.einsum("...k,...k->...", ps, (k_s - mu_s[..., None]) ** 2)
            elif name == "sum_entropy":
                v = _entropy_bits(p_sum(), axis=-1)
            elif name in ("joint_energy", "angular_second_moment"):
                v = np.einsum("...ij,...ij->...", p, p)
            elif name == "contrast":
                v = wsum(diff**2)
            elif name == "inverse_difference":
                v = wsum(1.0 / (1.0 + diff))
            elif name == "normalised_inverse_difference":
                v = wsum(1.0 / (1.0 + diff / L))
            elif name in ("inverse_difference_moment", "homogeneity"):
                v = wsum(1.0 / (1.0 + diff**2))
            elif name == "normalised_inverse_difference_moment":
                v = wsum(1.0 / (1.0 + diff**2 / L**2))
            elif name == "inverse_variance":
                w = np.zeros(L)
                w[1:] = 1.0 / k_d[1:] ** 2
                v = p_diff() @ w
            elif name in ("correlation", "autocorrelation"):
                auto = wsum(i * j)
                if name == "autocorrelation":
                    v = auto
                else:
                    _, _, mu_i, mu_j, var_i, var_j = marginals()
                    sd = np.sqrt(np.maximum(var_i, 0.0) * np.maximum(var_j, 0.0))
                    v = np.where(sd > 0, (auto - mu_i * mu_j) / np.where(sd > 0, sd, 1.0), np.nan)
            elif name in ("cluster_tendency", "cluster_shade", "cluster_prominence"):
                _, _, mu_i, mu_j, _, _ = marginals()
                c = (i + j) - (mu_i + mu_j)[..., None, None]
                power = {"cluster_tendency": 2, "cluster_shade": 3, "cluster_prominence": 4}[name]
                v = (p * c**power).sum(axis=(-2, -1))
            elif name in ("information_correlation_1", "information_correlation_2"):
                pi_, pj_, *_ = marginals()
                hxy = joint_entropy()
                outer = pi_[..., :, None] * pj_[..., None, :]
                log_outer = np.where(outer > 0, np.log2(np.where(outer > 0, outer, 1.0)), 0.0)
                if name == "information_correlation_1":
                    hxy1 = -(p * log_outer).sum(axis=(-2, -1))
                    hx = _entropy_bits(pi_, axis=-1)
                    hy = _entropy_bits(pj_, axis=-1)
                    hmax = np.maximum(hx, hy)
                    v = np.where(hmax > 0, (hxy - hxy1) / np.where(hmax > 0, hmax, 1.0), np.nan)
                else:
                    hxy2 = -(outer * log_outer).sum(axis=(-2, -1))
                    v = np.sqrt(np.maximum(1.0 - np.exp(-2.0 * (hxy2 - hxy)), 0.0))
            else:  # pragma: no cover - guarded by the name check above
                raise BadSettingsError(f"features: unknown name {name!r}")
            v = np.array(v, dtype=np.float64)
            v[empty] = np.nan
            res[name] = v
    return res
