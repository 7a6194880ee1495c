"""The metric catalogue: one entry per metric, read by the API, CLI, records, UI and docs.

Each entry names the metric (``family.metric``, stable), its unit (with and without a
known pixel size), which way is better, a one-line definition and a reference. The
README's metric table is generated from this module (``texturecmp metrics --markdown``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

__all__ = ["MetricInfo", "METRICS", "FAMILIES", "DIRECTIONS", "HEADLINE", "metrics_table"]

#: Allowed better directions.
DIRECTIONS = ("lower", "higher", "toward 0", "toward 1", "none")
#: Metric families, in display order.
FAMILIES = ("texture", "wrinkle", "pore", "color", "scar", "quality", "change")
#: The metrics a summary leads with (app sentences, CLI summary, reports), in that order.
#: All have a better direction; their verdicts are read together under Holm's
#: family-wise rule (:func:`texturecmp.uncertainty.holm`).
HEADLINE = ("scar.delta_e00", "scar.visible_area", "scar.texture_ratio", "texture.sq", "texture.band_fine",
            "pore.area_fraction", "wrinkle.density")


@dataclass(frozen=True)
class MetricInfo:
    """Catalogue entry of one metric.

    Attributes
    ----------
    name : str
        Stable name ``family.metric``.
    family : str
        One of :data:`FAMILIES`.
    unit : str
        Unit when the pixel size is known (or when the unit does not depend on it).
    unit_px : str
        Unit when the pixel size is unknown (lengths and areas in pixels).
    better : str
        One of :data:`DIRECTIONS`.
    definition : str
        One-line definition (formula in words).
    reference : str
        Where the method comes from.
    floor : str
        How the calibrated capture error of a change is expressed: ``"abs"`` (in the
        metric's unit) or ``"rel"`` (a fraction of the baseline value).
    scope : str
        ``"photo"``: measured on each photo; ``"pair"``: only defined for a comparison.
    px_power : int
        How the value scales with the pixel size p (mm): the value in ``unit`` is the
        value in ``unit_px`` times :meth:`mm_factor` (p**px_power, times 100 for
        densities per cm²). 0 for metrics that do not depend on it.
    """

    name: str
    family: str
    unit: str
    better: str
    definition: str
    reference: str
    unit_px: str = ""
    floor: str = "rel"
    scope: str = "photo"
    px_power: int = 0

    def __post_init__(self) -> None:
        if not self.unit_px:
            object.__setattr__(self, "unit_px", self.unit)

    def unit_for(self, pixel_size_mm: float | None) -> str:
        """The unit that applies with or without a known pixel size."""
        return self.unit if pixel_size_mm else self.unit_px

    def mm_factor(self, pixel_size_mm: float | None) -> float:
        """Factor converting a value in ``unit_px`` to ``unit`` (1 without a pixel size)."""
        if not pixel_size_mm or self.px_power == 0:
            return 1.0
        f = float(pixel_size_mm) ** self.px_power
        return f * 1e-2 if self.name == "pore.density" else f  # per 10^4 px^2 -> per cm^2

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name, "family": self.family, "unit": self.unit, "unit_px": self.unit_px,
            "better": self.better, "definition": self.definition, "reference": self.reference,
            "scope": self.scope,
        }


_L = "L*"
_REF_ISO = "ISO 25178-2:2021 (Sa, Sq), applied to the L* detail layer (intensity roughness, not height)"
_REF_HAR = "Haralick, Shanmugam & Dinstein 1973; IBSI, Zwanenburg et al. 2020 (fixed bin size)"
_REF_WRK = "Frangi et al. 1998; Ng et al. 2014 (hybrid Hessian filter); Osman et al. 2017 (wrinkle index)"
_REF_PORE = "Lindeberg 1998 (scale-normalised blob detection, DoG approximation of the LoG)"
_REF_SCAR = "Sharma, Wu & Dalal 2005 (CIEDE2000); Cheon et al. 2010 (scar colour by L*a*b*)"
_REF_EI = "Dawson et al. 1980; Takiwaki 1998 / Yamamoto et al. 2008 (RGB erythema and melanin indices)"

_ENTRIES = [
    # texture (on the detail layer D = L* - G_sigma(L*))
    MetricInfo("texture.sa", "texture", _L, "lower", "Mean absolute deviation of the detail layer D inside the region (Sa analogue).", _REF_ISO),
    MetricInfo("texture.sq", "texture", _L, "lower", "Root-mean-square of the detail layer D inside the region (Sq analogue).", _REF_ISO),
    MetricInfo("texture.band_fine", "texture", _L, "lower", "RMS of the fine difference-of-Gaussian band of L* (grain, ~0.05-0.15 mm).", "Burt & Adelson 1983 (band-pass pyramids); docs/method.md section 2"),
    MetricInfo("texture.band_medium", "texture", _L, "lower", "RMS of the medium difference-of-Gaussian band of L* (pores, ~0.15-0.5 mm).", "Burt & Adelson 1983 (band-pass pyramids); docs/method.md section 2"),
    MetricInfo("texture.band_coarse", "texture", _L, "lower", "RMS of the coarse difference-of-Gaussian band of L* (lines, ~0.5-2 mm).", "Burt & Adelson 1983 (band-pass pyramids); docs/method.md section 2"),
    MetricInfo("texture.glcm_contrast", "texture", "", "lower", "GLCM contrast sum p(i,j)(i-j)^2 of D quantised with a fixed bin width, mean of 4 angles.", _REF_HAR, unit_px="", ),
    MetricInfo("texture.glcm_homogeneity", "texture", "", "higher", "GLCM inverse difference moment sum p(i,j)/(1+(i-j)^2), mean of 4 angles.", _REF_HAR, floor="abs"),
    MetricInfo("texture.glcm_energy", "texture", "", "higher", "GLCM joint energy (angular second moment) sum p(i,j)^2, mean of 4 angles.", _REF_HAR),
    MetricInfo("texture.glcm_correlation", "texture", "", "none", "GLCM correlation sum (i-mu_i)(j-mu_j)p(i,j)/(sigma_i sigma_j), mean of 4 angles.", _REF_HAR, floor="abs"),
    MetricInfo("texture.glcm_entropy", "texture", "bit", "lower", "GLCM joint entropy -sum p(i,j) log2 p(i,j), mean of 4 angles.", _REF_HAR, floor="abs"),
    MetricInfo("texture.lbp_entropy", "texture", "bit", "none", "Entropy of the rotation-invariant uniform LBP(8, R) histogram of lightly smoothed L* inside the region; the 8 neighbours lie on the square ring of radius R px, not on a circle (unlike scikit-image's interpolated circular LBP).", "Ojala, Pietikainen & Maenpaa 2002", floor="abs"),
    MetricInfo("texture.anisotropy", "texture", "", "none", "Mean structure-tensor coherence ((l1-l2)/(l1+l2))^2 of L*, 0 isotropic grain to 1 oriented lines.", "Bigun & Granlund 1987; Jahne 2005 (structure tensor coherence)", floor="abs"),
    # wrinkles
    MetricInfo("wrinkle.density", "wrinkle", "", "lower", "Fraction of the region on detected dark ridges (multi-scale Hessian, elongated, long enough).", _REF_WRK, floor="abs"),
    MetricInfo("wrinkle.length_density", "wrinkle", "mm/mm²", "lower", "Total ridge skeleton length per region area.", _REF_WRK, unit_px="px/px²", floor="abs", px_power=-1),
    MetricInfo("wrinkle.depth", "wrinkle", _L, "lower", "Darkening -D integrated over the detected ridges per region area (the region's mean darkening by lines; 0 without ridges).", _REF_WRK, floor="abs"),
    # pores
    MetricInfo("pore.density", "pore", "1/cm²", "lower", "Number of dark round blobs of pore size per area (centroid inside the region).", _REF_PORE, unit_px="1/10⁴px²", floor="abs", px_power=-2),
    MetricInfo("pore.mean_diameter", "pore", "mm", "lower", "Mean equivalent diameter of the detected pores (NaN when there are none).", _REF_PORE, unit_px="px", px_power=1),
    MetricInfo("pore.area_fraction", "pore", "", "lower", "Fraction of the region covered by detected pores.", _REF_PORE, floor="abs"),
    # colour
    MetricInfo("color.L", "color", _L, "none", "Mean CIE L* (D65) inside the region: true CIE L*a*b* when the photo is colour-calibrated (chart), else device sRGB Lab.", "CIE 15:2004 (CIELAB)", floor="abs"),
    MetricInfo("color.a", "color", "a*", "none", "Mean CIE a* (D65) inside the region (true CIE when colour-calibrated, else device sRGB).", "CIE 15:2004 (CIELAB)", floor="abs"),
    MetricInfo("color.b", "color", "b*", "none", "Mean CIE b* (D65) inside the region (true CIE when colour-calibrated, else device sRGB).", "CIE 15:2004 (CIELAB)", floor="abs"),
    MetricInfo("color.ita_deg", "color", "°", "none", "Individual typology angle atan2(mean L* - 50, mean b*) in degrees.", "Chardon, Cretois & Hourseau 1991", floor="abs"),
    MetricInfo("color.erythema_index", "color", "", "lower", "100 log10(R/G) of the region's mean linear-light R and G (linear sRGB when colour-calibrated, else device dependent).", _REF_EI, floor="abs"),
    MetricInfo("color.melanin_index", "color", "", "none", "100 log10(1/R) of the region's mean linear-light R (linear sRGB when colour-calibrated, else device dependent).", _REF_EI, floor="abs"),
    MetricInfo("color.unevenness", "color", "ΔE00", "lower", "RMS CIEDE2000 of the lightly smoothed region against its mean colour.", "Sharma, Wu & Dalal 2005 (CIEDE2000)"),
    # scar: lesion against reference
    MetricInfo("scar.delta_e00", "scar", "ΔE00", "lower", "CIEDE2000 between the mean Lab of the lesion and of the reference skin.", _REF_SCAR),
    MetricInfo("scar.delta_L", "scar", _L, "toward 0", "Mean L* of the lesion minus that of the reference.", _REF_SCAR, floor="abs"),
    MetricInfo("scar.delta_a", "scar", "a*", "toward 0", "Mean a* of the lesion minus that of the reference.", _REF_SCAR, floor="abs"),
    MetricInfo("scar.delta_b", "scar", "b*", "toward 0", "Mean b* of the lesion minus that of the reference.", _REF_SCAR, floor="abs"),
    MetricInfo("scar.delta_erythema", "scar", "", "toward 0", "Erythema index of the lesion minus that of the reference.", _REF_EI, floor="abs"),
    MetricInfo("scar.delta_melanin", "scar", "", "toward 0", "Melanin index of the lesion minus that of the reference.", _REF_EI, floor="abs"),
    MetricInfo("scar.visible_area", "scar", "mm²", "lower", "Area of lesion pixels (lightly smoothed) whose CIEDE2000 to the reference mean exceeds the JND.", _REF_SCAR, unit_px="px²", px_power=2),
    MetricInfo("scar.visible_fraction", "scar", "", "lower", "Visible scar area as a fraction of the lesion area.", _REF_SCAR, floor="abs"),
    MetricInfo("scar.visibility_excess", "scar", "ΔE00", "lower", "Mean over the lesion of the CIEDE2000 (lightly smoothed pixel to the reference mean) beyond the JND, max(0, ΔE00 - JND).", _REF_SCAR, floor="abs"),
    MetricInfo("scar.texture_ratio", "scar", "", "toward 1", "RMS of the lesion's own masked detail layer (sigma 0.5 mm) over the reference's, a 0.5 mm band each side of the border left out (1 = matches its surroundings).", _REF_ISO, floor="abs"),
    MetricInfo("scar.border_sharpness", "scar", "L*/mm", "lower", "Mean gradient magnitude of smoothed L* in a band across the lesion border.", "docs/method.md section 2 (border contrast)", unit_px="L*/px", px_power=-1),
    # quality: warnings, not verdicts
    MetricInfo("quality.sharpness", "quality", "L*²/px²", "none", "Variance of the Laplacian of L* inside the region (focus measure).", "Pech-Pacheco et al. 2000 (variance of Laplacian)"),
    MetricInfo("quality.clipped_fraction", "quality", "", "none", "Fraction of region pixels at 0 or full scale in any channel.", "docs/method.md sections 2 and 6 (quality warnings)", floor="abs"),
    MetricInfo("quality.specular_fraction", "quality", "", "none", "Fraction of region pixels that are bright and unsaturated (glare): L* > 92 and chroma < 8.", "docs/method.md sections 2 and 6 (quality warnings)", floor="abs"),
    MetricInfo("quality.exposure_shift", "quality", _L, "none", "L* of the reference skin's mean luminance, follow-up minus baseline, before photometric correction.", "docs/method.md sections 2 and 6 (quality warnings)", floor="abs", scope="pair"),
    # comparison-only metrics
    MetricInfo("change.lbp_chi2", "change", "", "none", "Chi-square distance sum (h1-h2)^2/(h1+h2) of the two photos' square-ring uniform LBP histograms (texture.lbp_entropy's; 0 = same texture).", "Ojala, Pietikainen & Maenpaa 2002", floor="abs", scope="pair"),
]

#: The catalogue: metric name -> :class:`MetricInfo` (read-only).
METRICS: Mapping[str, MetricInfo] = MappingProxyType({m.name: m for m in _ENTRIES})


def metrics_table(*, markdown: bool = True) -> str:
    """The catalogue as a Markdown table (used for the README) or plain text."""
    rows = ["| metric | unit | better | definition | reference |", "|---|---|---|---|---|"]
    for m in METRICS.values():
        unit = m.unit if m.unit == m.unit_px else f"{m.unit} ({m.unit_px} without pixel size)"
        rows.append(f"| `{m.name}` | {unit or '—'} | {m.better} | {m.definition} | {m.reference} |")
    if markdown:
        return "\n".join(rows) + "\n"
    width = max(len(n) for n in METRICS)
    return "\n".join(f"{m.name:<{width}}  {(m.unit_px or '-'):<10} {m.better:<9} {m.definition}" for m in METRICS.values()) + "\n"
