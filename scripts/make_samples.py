"""Write the synthetic sample photos in ``sample_images/`` (deterministic, fixed seeds).

Usage::

    python scripts/make_samples.py [--out sample_images]

Every photo is a :func:`texturecmp.phantoms.skin_phantom` rendering (1024 x 768, saved
as JPEG quality 92 without metadata). Each folder gets the baseline's lesion mask
(``lesion.png``) and the ground truth of every photo (``truth.json``, keyed by file
name). See ``sample_images/README.md`` for what the folders show.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from texturecmp.phantoms import SkinParams, save_image, save_mask, skin_phantom  # noqa: E402

__all__ = ["SERIES", "main", "make_samples"]

SHAPE = (768, 1024)
QUALITY = 92

#: folder -> (seed, params, [(file name, skin_phantom keyword arguments), ...])
SERIES: dict[str, tuple[int, SkinParams, list[tuple[str, dict[str, Any]]]]] = {
    "series_scar": (
        11,
        SkinParams(),
        [
            ("session0_baseline.jpg", {"treatment": 0.0}),
            (
                "session1.jpg",
                {"treatment": 0.35, "shift_px": (8.0, -5.0), "rotation_deg": 0.6, "exposure": 1.08,
                 "white_balance": (1.02, 1.0, 0.98)},
            ),
            (
                "session2.jpg",
                {"treatment": 0.7, "shift_px": (-6.0, 4.0), "rotation_deg": -0.4, "exposure": 0.94,
                 "white_balance": (0.98, 1.0, 1.03)},
            ),
        ],
    ),
    "series_texture": (
        21,
        SkinParams(
            base_rgb=(0.72, 0.54, 0.43),
            fine_amplitude=2.4,
            pore_density=2.2,
            pore_depth=11.0,
            wrinkle_count=16,
            wrinkle_depth=9.0,
            scar_delta_lab=(-2.0, 5.0, 2.0),
            scar_texture_ratio=0.7,
            scar_border_px=8.0,
            scar_center=(0.35, 0.6),
            scar_radii=(0.11, 0.08),
        ),
        [
            ("session0_baseline.jpg", {"treatment": 0.0}),
            ("session1.jpg", {"treatment": 0.3, "shift_px": (1.5, -1.0), "rotation_deg": 0.1, "exposure": 1.02}),
            ("session2.jpg", {"treatment": 0.6, "shift_px": (-1.0, 0.5), "rotation_deg": -0.1, "exposure": 0.98,
                              "white_balance": (1.0, 1.0, 1.01)}),
        ],
    ),
    "retake_pair": (
        31,
        SkinParams(base_rgb=(0.82, 0.64, 0.55)),
        [
            ("baseline.jpg", {}),
            ("retake.jpg", {"shift_px": (5.0, 3.0), "rotation_deg": 0.3, "exposure": 1.04}),
        ],
    ),
}


def make_samples(out: Path) -> dict[str, int]:
    """Render every sample folder into ``out``; return the bytes written per folder."""
    sizes: dict[str, int] = {}
    for folder, (seed, params, shots) in SERIES.items():
        d = out / folder
        d.mkdir(parents=True, exist_ok=True)
        truths: dict[str, Any] = {}
        for i, (name, kwargs) in enumerate(shots):
            ph = skin_phantom(SHAPE, seed=seed, params=params, **kwargs)
            save_image(d / name, ph.rgb, quality=QUALITY)
            truth = dict(ph.truth)
            truth["jpeg_quality"] = QUALITY
            truths[name] = truth
            if i == 0:
                save_mask(d / "lesion.png", ph.lesion)
        (d / "truth.json").write_text(json.dumps(truths, indent=1) + "\n")
        sizes[folder] = sum(f.stat().st_size for f in d.iterdir() if f.is_file())
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "sample_images")
    args = ap.parse_args(argv)
    sizes = make_samples(args.out)
    for folder, n in sizes.items():
        print(f"{folder}: {n / 1e6:.2f} MB")
    print(f"total: {sum(sizes.values()) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
