"""CONTRIBUTING.md stays true: the files, tests and names it points to exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from texturecmp.metrics._base import Family

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")

#: Repository paths it names (placeholders such as metrics/<family>.py left out).
PATHS = sorted(set(re.findall(r"(?<![\w/.])((?:src|tests|benchmarks|scripts|docs|\.ci)/[\w/.-]*\w)", TEXT)))


@pytest.mark.parametrize("path", PATHS)
def test_named_paths_exist(path):
    assert (ROOT / path).exists(), f"CONTRIBUTING.md names {path}, which is not in the repository"


def test_every_benchmark_script_is_listed():
    missing = [p.name for p in sorted((ROOT / "benchmarks").glob("*.py")) if f"benchmarks/{p.name}" not in TEXT]
    assert not missing, f"CONTRIBUTING.md does not mention these benchmarks: {missing}"


def test_named_tests_exist():
    named = re.findall(r"(tests/\w+\.py)::(\w+)", TEXT)
    assert named
    for path, name in named:
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(encoding="utf-8"), flags=re.M), f"{path}::{name}"


#: Names the checklist tells a contributor to edit, by where they live (module path, or the Family class).
NAMED = {
    "texturecmp.catalogue": ("METRICS", "DIRECTIONS", "FAMILIES", "HEADLINE"),
    "texturecmp.compare": ("QUALITY_LIMITS", "COLOUR_TRUTH_METRICS", "_COLOUR_SPACE_METRICS", "_changes"),
    "texturecmp.metrics._base": ("Family", "register_family", "safe_div"),
    "texturecmp.uncertainty": ("holm",),
    "Family": ("metrics", "stats", "finish", "finest_mm", "cost"),
}


@pytest.mark.parametrize("where", sorted(NAMED))
def test_named_code_exists(where):
    owner = Family if where == "Family" else importlib.import_module(where)
    for name in NAMED[where]:
        assert re.search(rf"`[@\w.]*\b{name}`", TEXT), f"CONTRIBUTING.md no longer names {name}: update NAMED"
        declared = hasattr(owner, name) or name in getattr(owner, "__annotations__", {})  # Family.metrics: ClassVar
        assert declared, f"CONTRIBUTING.md names {where}.{name}, which does not exist"
