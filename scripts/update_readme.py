"""Regenerate the metric table in README.md from the catalogue (texturecmp.METRICS).

Usage: python scripts/update_readme.py [--check]
The table sits between the markers <!-- metrics:start --> and <!-- metrics:end -->.
With --check, exit 1 when README.md is out of date (tests/test_readme.py does the same).
"""

from __future__ import annotations

import sys
from pathlib import Path

from texturecmp.catalogue import metrics_table

START, END = "<!-- metrics:start -->", "<!-- metrics:end -->"


def render(readme: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{metrics_table(markdown=True)}{END}{tail}"


def main() -> int:
    path = Path(__file__).resolve().parents[1] / "README.md"
    text = path.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print("README.md metric table is out of date: run python scripts/update_readme.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
