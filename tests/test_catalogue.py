"""The metric catalogue: complete, documented, consistent with METRICS.md and with the metric families."""

from __future__ import annotations

import re

import pytest

import texturecmp as tc
from texturecmp.catalogue import DIRECTIONS, FAMILIES, METRICS, metrics_table
from texturecmp.metrics import FAMILY_REGISTRY

ALL = list(METRICS.values())

#: Metrics that are dimensionless on purpose (fractions, ratios, indices, counts in bins, chi-square):
#: every other metric must name a unit. Adding a dimensionless metric means adding it here.
DIMENSIONLESS = {
    "texture.glcm_contrast",      # squared grey-level differences in bins of a fixed L* width
    "texture.glcm_homogeneity", "texture.glcm_energy", "texture.glcm_correlation",
    "texture.anisotropy",         # coherence, 0..1
    "wrinkle.density", "pore.area_fraction", "scar.visible_fraction",
    "quality.clipped_fraction", "quality.specular_fraction",  # fractions of the region
    "color.erythema_index", "color.melanin_index", "scar.delta_erythema", "scar.delta_melanin",  # 100 log10 ratios
    "scar.texture_ratio", "change.lbp_chi2",
}

#: METRICS.md section 3, the minimum catalogue (hard-coded as a fallback when the file is absent).
SECTION3 = [
    "texture.sa", "texture.sq", "texture.band_fine", "texture.band_medium", "texture.band_coarse",
    "texture.glcm_contrast", "texture.glcm_homogeneity", "texture.glcm_energy", "texture.glcm_correlation",
    "texture.glcm_entropy", "texture.lbp_entropy", "change.lbp_chi2", "texture.anisotropy",
    "wrinkle.density", "wrinkle.length_density", "wrinkle.depth",
    "pore.density", "pore.mean_diameter", "pore.area_fraction",
    "color.L", "color.a", "color.b", "color.ita_deg", "color.erythema_index", "color.melanin_index", "color.unevenness",
    "scar.delta_e00", "scar.delta_L", "scar.delta_a", "scar.delta_b", "scar.delta_erythema", "scar.delta_melanin",
    "scar.visible_area", "scar.visible_fraction", "scar.texture_ratio", "scar.border_sharpness",
    "quality.sharpness", "quality.clipped_fraction", "quality.specular_fraction", "quality.exposure_shift",
]

#: Directions METRICS.md section 3 gives in brackets (checked against the catalogue).
SECTION3_BETTER = {
    "texture.sa": "lower", "texture.sq": "lower", "texture.band_fine": "lower", "texture.glcm_contrast": "lower",
    "texture.glcm_homogeneity": "higher", "texture.glcm_energy": "higher", "texture.glcm_correlation": "none",
    "texture.glcm_entropy": "lower", "texture.lbp_entropy": "none", "texture.anisotropy": "none",
    "wrinkle.density": "lower", "wrinkle.length_density": "lower", "wrinkle.depth": "lower",
    "pore.density": "lower", "pore.mean_diameter": "lower", "pore.area_fraction": "lower",
    "color.L": "none", "color.ita_deg": "none", "color.erythema_index": "lower", "color.melanin_index": "none",
    "color.unevenness": "lower", "scar.delta_e00": "lower", "scar.delta_L": "toward 0", "scar.delta_a": "toward 0",
    "scar.delta_melanin": "toward 0", "scar.visible_area": "lower", "scar.visible_fraction": "lower",
    "scar.texture_ratio": "toward 1", "scar.border_sharpness": "lower", "quality.sharpness": "none",
}


def section3_names(text: str) -> list[str]:
    """Backticked metric names of METRICS.md section 3, with ``_suffix`` shorthands expanded."""
    m = re.search(r"^## 3\..*?(?=^## 4\.)", text, flags=re.S | re.M)
    assert m, "METRICS.md has no section 3"
    names, last = [], None
    for tok in re.findall(r"`([^`]+)`", m.group(0)):
        if re.fullmatch(r"[a-z]+\.[A-Za-z0-9_]+", tok) and tok.split(".")[0] in FAMILIES:
            names.append(tok)
            last = tok
        elif re.fullmatch(r"_[a-z0-9_]+", tok) and last is not None:
            names.append(last.rsplit("_", 1)[0] + tok)  # `texture.glcm_contrast` ... `_homogeneity`
    return names


# ----------------------------------------------------------------------------- per entry

@pytest.mark.parametrize("info", ALL, ids=[m.name for m in ALL])
def test_entry_is_complete(info):
    assert info.name in METRICS and METRICS[info.name] is info
    assert re.fullmatch(r"[a-z]+\.[A-Za-z0-9_]+", info.name)
    assert info.family in FAMILIES
    assert info.name.split(".")[0] == info.family
    assert info.better in DIRECTIONS
    assert isinstance(info.unit, str) and isinstance(info.unit_px, str)
    if info.name in DIMENSIONLESS:
        assert info.unit == "" and info.unit_px == "", f"{info.name} is listed as dimensionless but has a unit"
    else:
        assert info.unit.strip() and info.unit_px.strip(), f"{info.name} has no unit (add it to DIMENSIONLESS if intended)"
    assert len(info.definition.strip()) > 20
    assert info.reference.strip()
    assert info.floor in ("abs", "rel")
    assert info.scope in ("photo", "pair")


@pytest.mark.parametrize("info", ALL, ids=[m.name for m in ALL])
def test_pixel_units(info):
    """Lengths and areas: mm with a pixel size, px without; nothing else depends on it."""
    if "mm" in info.unit or "cm" in info.unit:
        assert "px" in info.unit_px and info.unit_px != info.unit
    else:
        assert info.unit_px == info.unit
    assert "px" not in info.unit or info.name == "quality.sharpness"  # the focus measure is per pixel of the photo


@pytest.mark.parametrize("info", ALL, ids=[m.name for m in ALL])
def test_to_dict(info):
    d = info.to_dict()
    for k in ("name", "family", "unit", "unit_px", "better", "definition", "reference", "scope"):
        assert d[k] == getattr(info, k)


def test_entropies_are_in_bits():
    for name in ("texture.glcm_entropy", "texture.lbp_entropy"):
        assert METRICS[name].unit == "bit"


def test_unit_for():
    info = METRICS["pore.mean_diameter"]
    assert info.unit_for(None) == "px" and info.unit_for(0.05) == "mm"


def test_dimensionless_allow_list_names_real_metrics():
    assert DIMENSIONLESS <= set(METRICS)


def test_catalogue_is_read_only():
    with pytest.raises(TypeError):
        METRICS["texture.new"] = METRICS["texture.sq"]  # type: ignore[index]
    assert tc.METRICS is METRICS


# ----------------------------------------------------------------------------- against METRICS.md

def test_section3_parser_expands_the_shorthands():
    text = "## 3. M\n`family.metric` `texture.glcm_contrast` [lower], `_homogeneity` [higher]\n## 4. X\n`color.L`"
    assert section3_names(text) == ["texture.glcm_contrast", "texture.glcm_homogeneity"]


def test_metrics_md_section3_names_are_all_catalogued(shared_dir):
    names = section3_names((shared_dir / "METRICS.md").read_text(encoding="utf-8"))
    assert set(SECTION3) <= set(names), "the hard-coded list has drifted from METRICS.md"
    missing = [n for n in names if n not in METRICS]
    assert not missing


def test_section3_minimum_without_the_shared_folder():
    assert [n for n in SECTION3 if n not in METRICS] == []


@pytest.mark.parametrize("name,better", sorted(SECTION3_BETTER.items()))
def test_better_direction_follows_metrics_md(name, better):
    assert METRICS[name].better == better


# ----------------------------------------------------------------------------- against the families (both ways)

def family_metrics() -> dict[str, str]:
    out: dict[str, str] = {}
    for fam in FAMILY_REGISTRY.values():
        for name in fam.metrics:
            assert name not in out, f"{name} is produced by both {out[name]} and {fam.name}"
            out[name] = fam.name
    return out


def test_every_family_metric_is_catalogued():
    missing = sorted(set(family_metrics()) - set(METRICS))
    assert not missing, f"family metrics without a catalogue entry: {missing}"


def test_every_photo_metric_is_produced_by_a_family():
    produced = family_metrics()
    orphans = sorted(n for n, m in METRICS.items() if m.scope == "photo" and n not in produced)
    assert not orphans, f"catalogue entries no family computes: {orphans}"


def test_pair_metrics_are_not_produced_per_photo():
    produced = family_metrics()
    for n, m in METRICS.items():
        if m.scope == "pair":
            assert n not in produced


def test_families_produce_their_own_metrics():
    for name, fam in family_metrics().items():
        assert METRICS[name].family == fam, name


def test_metrics_table_lists_every_metric():
    md = metrics_table(markdown=True)
    for name in METRICS:
        assert f"`{name}`" in md
    assert len(md.strip().splitlines()) == len(METRICS) + 2


# Conversion px -> mm units at p = 0.05 mm/px, derived from the metric definitions (not from the code):
# density per 10^4 px^2 -> per cm^2: 100 / (p^2 * 1e4); diameter px -> mm: p; length per area: 1 / p;
# area px^2 -> mm^2: p^2; gradient L*/px -> L*/mm: 1 / p.
MM_FACTORS = {"pore.density": 100 / (0.05**2 * 1e4), "pore.mean_diameter": 0.05, "wrinkle.length_density": 20.0,
              "scar.visible_area": 0.0025, "scar.border_sharpness": 20.0}


@pytest.mark.parametrize("info", ALL, ids=[m.name for m in ALL])
def test_mm_factor_matches_the_definition(info):
    assert info.mm_factor(0.05) == pytest.approx(MM_FACTORS.get(info.name, 1.0), rel=1e-12)
    assert info.mm_factor(None) == 1.0
    assert (info.name in MM_FACTORS) == (info.unit != info.unit_px)


def test_graded_scar_visibility_is_catalogued():
    """scar.visibility_excess (issue 12): the graded companion of the saturating visible area."""
    m = METRICS["scar.visibility_excess"]
    assert (m.family, m.unit, m.unit_px, m.better, m.floor, m.scope, m.px_power) == (
        "scar", "ΔE00", "ΔE00", "lower", "abs", "photo", 0)
    assert "JND" in m.definition and "CIEDE2000" in m.definition and "Sharma" in m.reference
    names = list(METRICS)
    assert names.index("scar.visibility_excess") == names.index("scar.visible_fraction") + 1
