"""The metric catalogue: complete, documented in docs/method.md, consistent with the metric
families and with the capture model."""

from __future__ import annotations

import math
import re
from pathlib import Path

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

METHOD = Path(__file__).resolve().parents[1] / "docs" / "method.md"


def method_md() -> str:
    return METHOD.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under the first heading that starts with ``heading`` (up to the next heading
    of the same or a higher level)."""
    level = heading.split(" ", 1)[0]
    m = re.search(rf"^{re.escape(heading)}.*?(?=^#{{1,{len(level)}}} |\Z)", text, flags=re.S | re.M)
    assert m, f"docs/method.md has no section {heading!r}"
    return m.group(0)


def table_metrics(text: str) -> list[list[str]]:
    """The metric names in the first column of each table whose header starts ``| metric |``."""
    tables = re.findall(r"^\| metric \|.*\n\|[-| ]+\|\n((?:\|.*\n?)+)", text, flags=re.M)
    return [re.findall(r"^\| `([^`]+)` \|", t, flags=re.M) for t in tables]


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


# ----------------------------------------------------------------------------- against docs/method.md

def test_method_md_lists_the_catalogue_directions():
    m = re.search(r"A direction is one of (.*?)\.", method_md(), flags=re.S)
    assert m, "docs/method.md section 2 no longer lists the better directions"
    assert re.findall(r"`([^`]+)`", m.group(1)) == list(DIRECTIONS)


def test_method_md_describes_each_family():
    """Section 2 has one paragraph per metric family, headed by its name in bold."""
    sec2 = section(method_md(), "## 2.")
    described = re.findall(r"^\*\*([a-z]+)\*\* \(", sec2, flags=re.M)
    assert described == list(FAMILY_REGISTRY)
    pair = [n for n, m in METRICS.items() if m.scope == "pair"]  # described with the family that reads them
    assert pair and all(f"`{n}`" in sec2 for n in pair)


def test_catalogue_references_cite_sections_of_method_md():
    headings = set(re.findall(r"^## (\d+)\.", method_md(), flags=re.M))
    cited = 0
    for info in ALL:
        if "method.md" not in info.reference:
            continue
        m = re.search(r"docs/method\.md sections? (\d+(?:(?:, | and )\d+)*)", info.reference)
        assert m, f"{info.name}: cite docs/method.md as 'docs/method.md section N', got {info.reference!r}"
        numbers = re.findall(r"\d+", m.group(1))
        assert set(numbers) <= headings, f"{info.name} cites a section docs/method.md does not have: {numbers}"
        cited += 1
    assert cited


def test_method_md_verdict_tables_list_every_judged_metric():
    """The measured false-verdict rates (section 5, "Verdicts measured") cover every metric
    that gets a verdict from the capture model, and no metric the catalogue lacks (the
    quality metrics, which measure the capture itself, are left out there)."""
    tables = table_metrics(section(method_md(), "### Verdicts measured"))
    judged = [n for n, m in METRICS.items() if m.family != "quality"]
    assert len(tables) >= 2  # same distance, and another distance
    for names in tables:
        assert names == judged, "re-run benchmarks/validate_verdicts.py and update docs/method.md section 5"


def test_the_table_reader_reads_a_table():
    text = "| metric | rate |\n|---|---|\n| `texture.sq` | 1 % |\n| `pore.density` | 2 % |\n\nafter\n| x |\n"
    assert table_metrics(text) == [["texture.sq", "pore.density"]]


# ----------------------------------------------------------------------------- against the capture model
# A metric's verdict reads its calibrated capture error (texturecmp/data/capture.json, written by
# scripts/calibrate_capture.py). tests/test_verdicts.py checks that every judged metric has an
# entry (a missing one raises in compare); these check that no entry silently judges wrongly.

def capture_entries() -> dict:
    from texturecmp.uncertainty import load_capture_model

    return dict(load_capture_model())


def test_capture_model_has_no_entry_the_catalogue_lacks():
    from texturecmp.compare import QUALITY_LIMITS

    stale = sorted(set(capture_entries()) - set(METRICS))
    assert not stale, f"capture.json entries of no catalogued metric (renamed?): {stale}"
    judged_by_setting = sorted(set(capture_entries()) & set(QUALITY_LIMITS))
    assert not judged_by_setting, f"judged by their quality settings, their capture model is unread: {judged_by_setting}"


@pytest.mark.parametrize("name", sorted(capture_entries()))
def test_capture_entry_is_fitted_for_its_catalogue_entry(name):
    """kind is the catalogue's floor (an "abs" SD read as "rel" scales with the baseline value),
    the fit saw retakes, and a pair metric has the quantile its threshold is (NaN would make it
    never detectable, silently)."""
    ce, info = capture_entries()[name], METRICS[name]
    assert ce.kind == info.floor, f"{name}: capture.json kind {ce.kind!r}, catalogue floor {info.floor!r} (re-calibrate)"
    assert ce.n > 0, f"{name}: fitted on no retake"
    parts = (ce.sd, ce.sd_abs, ce.sd_jpeg, ce.sd_jpeg_abs, ce.sd_scale)
    assert all(math.isfinite(v) and v >= 0 for v in parts), f"{name}: {parts}"
    if info.scope == "pair":
        assert math.isfinite(ce.quantile) and ce.quantile > 0, f"{name}: pair metric without a threshold quantile"
    else:
        assert math.isnan(ce.quantile)


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
