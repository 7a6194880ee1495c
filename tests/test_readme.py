"""The README stays true: generated metric table, two-command Quick start, CI runs command 2."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from texturecmp.catalogue import METRICS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"


def _load_update_readme():
    spec = importlib.util.spec_from_file_location("_update_readme", ROOT / "scripts" / "update_readme.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


def _quick_start_commands(readme: str) -> list[str]:
    """Non-comment, non-blank lines of the first bash block of the Quick start section."""
    m = re.search(r"^## Quick start\s*$(.*?)(?=^## )", readme, flags=re.M | re.S)
    assert m, "README has no '## Quick start' section"
    block = re.search(r"^```bash\s*\n(.*?)^```", m.group(1), flags=re.M | re.S)
    assert block, "the Quick start section has no ```bash block"
    return [ln.strip() for ln in block.group(1).splitlines() if ln.strip() and not ln.strip().startswith("#")]


def test_metric_table_is_generated_from_the_catalogue(readme):
    mod = _load_update_readme()
    assert readme.count(mod.START) == 1 and readme.count(mod.END) == 1
    assert mod.render(readme) == readme, "README metric table is out of date: run python scripts/update_readme.py"


def test_update_readme_check_passes():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_readme.py"), "--check"], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr


def test_every_metric_is_in_the_readme(readme):
    missing = [name for name in METRICS if f"`{name}`" not in readme]
    assert not missing, f"metrics missing from README.md: {missing}"


def test_quick_start_has_exactly_two_commands(readme):
    cmds = _quick_start_commands(readme)
    assert len(cmds) == 2, cmds


def test_ci_runs_quick_start_command_two_verbatim(readme):
    cmd2 = _quick_start_commands(readme)[1]
    ci_lines = [ln.strip() for ln in CI.read_text(encoding="utf-8").splitlines()]
    assert cmd2 in ci_lines, f".ci/run does not contain the README's command 2 verbatim: {cmd2!r}"
    assert "pytest" in cmd2


def test_quick_start_command_one_starts_the_app(readme):
    cmd1 = _quick_start_commands(readme)[0]
    assert "streamlit run app.py" in cmd1, cmd1
    assert (ROOT / "app.py").is_file()


def test_readme_cli_example_uses_existing_sample_files(readme):
    paths = re.findall(r"sample_images/[\w/.-]+\.(?:jpg|png)", readme)
    assert paths
    for p in paths:
        assert (ROOT / p).is_file(), f"README names a missing file: {p}"


def test_readme_links_exist(readme):
    for target in re.findall(r"\]\(([^)#:]+)\)", readme):
        if target.startswith(("http", "mailto")):
            continue
        assert (ROOT / target).exists(), f"README links to a missing file: {target}"
