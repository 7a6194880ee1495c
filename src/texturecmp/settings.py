"""One validated, serialisable settings object for every front end.

:class:`Settings` drives the Python API, the CLI (``--settings FILE``), the app and batch
scoring alike. It is frozen; derive variants with :meth:`Settings.replace`. Its
:attr:`Settings.hash` (SHA-256 of the canonical JSON) goes into every record's provenance.

Spatial settings are in **millimetres**. When the photo's pixel size is unknown
(``pixel_size_mm=None``) texturecmp converts them to pixels with
``nominal_pixel_size_mm`` (0.05 mm: a 1024-px-wide photo of a 5 cm skin area) and then
reports lengths and areas in pixels, not millimetres.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass, fields
from typing import Any, Mapping

from texturecmp._checks import check_int, check_real
from texturecmp.errors import BadSettingsError

__all__ = ["Settings", "CHART_METHODS"]

#: Settings.chart_method -> the method name of ``colour.characterisation.matrix_colour_correction``.
CHART_METHODS = {"cheung2004": "Cheung 2004", "finlayson2015": "Finlayson 2015", "vandermonde": "Vandermonde"}

#: Settings.chart_reference: the names of ``texturecmp.chart.REFERENCES`` (colour-science's data sets).
CHART_REFERENCES = ("ColorChecker24 - After November 2014", "ColorChecker24 - Before November 2014",
                    "ColorChecker 2005", "BabelColor Average")


def _pair(name: str, value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise BadSettingsError(f"settings.{name}: expected two numbers (low, high), got {value!r}") from None
    if not (0 < lo < hi) or not math.isfinite(hi):
        raise BadSettingsError(f"settings.{name}: expected 0 < low < high, got ({lo}, {hi})")
    return (lo, hi)


@dataclass(frozen=True)
class Settings:
    """Analysis settings, with documented defaults (``name [default]: meaning``).

    Scale
        nominal_pixel_size_mm [0.05]: pixel size assumed to convert the mm settings
        below to pixels when the photo's pixel size is not given.
    Detail layer
        detail_sigma_mm [2.0]: sigma of the masked (normalised-convolution) Gaussian
        whose output is subtracted from L* to give the detail layer D.
    Texture
        band_fine_mm [(0.05, 0.15)], band_medium_mm [(0.15, 0.5)], band_coarse_mm
        [(0.5, 2.0)]: (low, high) Gaussian sigmas of the difference-of-Gaussian bands.
        glcm_bin_width [1.0]: fixed GLCM bin width in L* units of D (IBSI fixed bin
        size); glcm_levels [32]: number of bins, centred on D = 0; glcm_distance_mm
        [0.1]: pixel-pair distance (at least 1 px).
        lbp_radius_mm [0.05]: radius of the 8-neighbour uniform LBP (at least 1 px).
        anisotropy_sigma_mm [0.5]: integration sigma of the structure tensor.
    Wrinkles
        wrinkle_sigmas_mm [(0.1, 0.2, 0.4)]: Hessian scales; wrinkle_threshold [1.2]:
        minimum scale-normalised ridge strength (sigma^2 * largest Hessian eigenvalue,
        L* units); wrinkle_min_length_mm [1.0]: shorter ridges are dropped (pores,
        grain); wrinkle_elongation [3.0]: minimum ratio of the two eigenvalues'
        magnitudes on a ridge.
    Pores
        pore_diameter_mm [(0.15, 0.6)]: accepted diameters; pore_threshold [2.5]:
        minimum darkening (L* units) of the difference-of-Gaussian response.
    Colour and scar
        unevenness_sigma_mm [0.5]: smoothing before colour unevenness; jnd_delta_e00
        [2.3]: just-noticeable CIEDE2000 difference for the visible scar area;
        visibility_sigma_mm [0.25]: smoothing of the lesion before the visibility map;
        border_width_mm [0.5]: half-width of the band across the lesion border;
        reference_ring [(1.0, 2.0)]: default reference ring, inner and outer radius as
        multiples of the lesion's equivalent radius.
    Uncertainty and verdicts
        target_tiles [64]: about this many tiles cover a region for tile standard
        errors; min_tile_mm [1.0]: smallest tile side; z [1.96]: normal quantile of a
        verdict's confidence (1.96: 95 % two-sided; with few tiles the matching Student t
        quantile is used); capture_multiplier [1.0]: scales the calibrated capture error;
        capture_prior_df [8]: how many retakes the calibrated capture error counts for
        when it is pooled with a test-retest pair (``baseline_repeat``).
    Quality gate
        min_sharpness [0.5]: warn when quality.sharpness (variance of the Laplacian of
        L*) is below it; blur_ratio [0.7]: warn when a follow-up's ratio of fine-band to
        medium-band texture is below this fraction of the baseline's (relative blur); clipped_max [0.01]; specular_max [0.005];
        exposure_shift_max [2.0]: warn when the reference skin's L* differs by more
        (before photometric correction).
    Registration and maps
        align_max_side [768]: long side of the downsampled images registration works
        on; min_correlation [0.3]; min_overlap [0.5]; map_max_side [768]: long side of
        the exported maps.
    Colour truth
        fixed_light [False]: the user states that light, exposure and camera were the
        same for every photo: the follow-up's colour is then taken as it is (no gains
        estimated on skin) and the whole-region colour metrics get verdicts without a
        chart or colour reference. Recorded in provenance (and in the settings hash).
        chart_method ["cheung2004"]: how a colour chart's correction is fitted
        (colour-science ``matrix_colour_correction``): ``"cheung2004"`` (a 3 x 3
        matrix), ``"finlayson2015"`` (root-polynomial, degree 2) or ``"vandermonde"``
        (an affine 3 x 4 map). chart_reference ["ColorChecker24 - After November 2014"]:
        the chart's reference data (``texturecmp.chart.REFERENCES``).
    """

    nominal_pixel_size_mm: float = 0.05
    detail_sigma_mm: float = 2.0
    band_fine_mm: tuple[float, float] = (0.05, 0.15)
    band_medium_mm: tuple[float, float] = (0.15, 0.5)
    band_coarse_mm: tuple[float, float] = (0.5, 2.0)
    glcm_bin_width: float = 1.0
    glcm_levels: int = 32
    glcm_distance_mm: float = 0.1
    lbp_radius_mm: float = 0.05
    anisotropy_sigma_mm: float = 0.5
    wrinkle_sigmas_mm: tuple[float, ...] = (0.1, 0.2, 0.4)
    wrinkle_threshold: float = 1.2
    wrinkle_min_length_mm: float = 1.0
    wrinkle_elongation: float = 3.0
    pore_diameter_mm: tuple[float, float] = (0.15, 0.6)
    pore_threshold: float = 2.5
    unevenness_sigma_mm: float = 0.5
    jnd_delta_e00: float = 2.3
    visibility_sigma_mm: float = 0.25
    border_width_mm: float = 0.5
    reference_ring: tuple[float, float] = (1.0, 2.0)
    target_tiles: int = 64
    min_tile_mm: float = 1.0
    z: float = 1.96
    capture_multiplier: float = 1.0
    capture_prior_df: float = 8.0
    min_sharpness: float = 0.5
    blur_ratio: float = 0.7
    clipped_max: float = 0.01
    specular_max: float = 0.005
    exposure_shift_max: float = 2.0
    align_max_side: int = 768
    min_correlation: float = 0.3
    min_overlap: float = 0.5
    map_max_side: int = 768
    fixed_light: bool = False
    chart_method: str = "cheung2004"
    chart_reference: str = "ColorChecker24 - After November 2014"

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("band_fine_mm", "band_medium_mm", "band_coarse_mm", "pore_diameter_mm", "reference_ring"):
                object.__setattr__(self, f.name, _pair(f.name, v))
            elif f.name == "wrinkle_sigmas_mm":
                try:
                    sig = tuple(float(s) for s in v)
                except (TypeError, ValueError):
                    raise BadSettingsError(f"settings.{f.name}: expected a list of positive numbers, got {v!r}") from None
                if not sig or any(not (s > 0 and math.isfinite(s)) for s in sig):
                    raise BadSettingsError(f"settings.{f.name}: expected a list of positive numbers, got {v!r}")
                object.__setattr__(self, f.name, sig)
            elif f.name == "fixed_light":
                if not isinstance(v, bool):
                    raise BadSettingsError(f"settings.fixed_light: expected true or false, got {v!r}")
            elif f.name == "chart_method":
                if v not in CHART_METHODS:
                    raise BadSettingsError(f"settings.chart_method: expected one of {', '.join(CHART_METHODS)}, got {v!r}")
            elif f.name == "chart_reference":
                if v not in CHART_REFERENCES:
                    raise BadSettingsError(f"settings.chart_reference: expected one of {', '.join(map(repr, CHART_REFERENCES))}, "
                                           f"got {v!r}")
            elif f.type in ("int",) or isinstance(f.default, int) and not isinstance(f.default, bool):
                object.__setattr__(self, f.name, check_int(v, f"settings.{f.name}", ge=1))
            else:
                object.__setattr__(self, f.name, check_real(v, f"settings.{f.name}", ge=0))
        for name in ("nominal_pixel_size_mm", "detail_sigma_mm", "glcm_bin_width", "glcm_distance_mm", "lbp_radius_mm",
                     "anisotropy_sigma_mm", "wrinkle_min_length_mm", "min_tile_mm", "z", "unevenness_sigma_mm", "capture_prior_df"):
            if getattr(self, name) <= 0:
                raise BadSettingsError(f"settings.{name}: expected a number > 0, got {getattr(self, name)!r}")
        if self.glcm_levels < 2 or self.glcm_levels > 256:
            raise BadSettingsError(f"settings.glcm_levels: expected an integer from 2 to 256, got {self.glcm_levels}")
        if self.target_tiles < 4:
            raise BadSettingsError(f"settings.target_tiles: expected an integer >= 4, got {self.target_tiles}")
        if not (0 < self.min_overlap <= 1) or not (0 <= self.min_correlation < 1):
            raise BadSettingsError("settings.min_overlap must be in (0, 1] and settings.min_correlation in [0, 1)")
        if self.align_max_side < 64 or self.map_max_side < 64:
            raise BadSettingsError("settings.align_max_side and settings.map_max_side: expected integers >= 64")

    # -- conversions --------------------------------------------------------------------------
    def px(self, mm: float, pixel_size_mm: float | None) -> float:
        """Convert a length in mm to pixels with the photo's (or the nominal) pixel size."""
        return float(mm) / float(pixel_size_mm or self.nominal_pixel_size_mm)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples as lists)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Settings":
        """Build from a mapping; unknown names raise :class:`BadSettingsError`."""
        if not isinstance(data, Mapping):
            raise BadSettingsError(f"settings: expected a mapping of setting names to values, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadSettingsError(f"settings: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**dict(data))

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "Settings":
        """Read settings from a JSON or TOML file (only the settings you change need be given)."""
        p = os.fspath(path)
        try:
            with open(p, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise BadSettingsError(f"settings file {p}: cannot be read ({exc.strerror})") from None
        try:
            if p.endswith(".toml"):
                import tomllib

                data = tomllib.loads(raw.decode("utf-8"))
            else:
                data = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadSettingsError(f"settings file {p}: not valid {'TOML' if p.endswith('.toml') else 'JSON'} ({exc})") from None
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some settings changed (validated)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise BadSettingsError(f"settings: unknown setting(s) {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of all settings."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


def coerce_settings(settings: Settings | Mapping[str, Any] | str | os.PathLike | None) -> Settings:
    """Accept a :class:`Settings`, a mapping, a settings file path or None (defaults)."""
    if settings is None:
        return Settings()
    if isinstance(settings, Settings):
        return settings
    if isinstance(settings, Mapping):
        return Settings.from_dict(settings)
    if isinstance(settings, (str, os.PathLike)):
        return Settings.from_file(settings)
    raise BadSettingsError(f"settings: expected a texturecmp.Settings, a mapping or a file path, got {type(settings).__name__}")
