"""The ``texturecmp`` command: compare, measure, series, metrics.

Bad input gives one clear line on stderr (``texturecmp: error: ...``) and a non-zero exit
status (2 for a usage or input error), never a traceback. Library chatter is kept off
stderr while a command runs: Python warnings are ignored, and what C libraries (libjpeg,
libpng, libtiff, libheif, OpenCV) write to file descriptor 2 goes to the null device;
the command's own messages and progress bar still reach the real stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from texturecmp._runtime import tune_launcher
from texturecmp._version import __version__
from texturecmp.catalogue import FAMILIES, METRICS, metrics_table
from texturecmp.errors import TextureCmpError

__all__ = ["main"]


def _fmt(v: float, digits: int = 4) -> str:
    if v is None or not math.isfinite(v):
        return "—"
    a = abs(v)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{v:.3g}"
    return f"{v:.{digits}g}"


def _settings(args):
    from texturecmp.settings import Settings

    s = Settings.from_file(args.settings) if args.settings else None
    if getattr(args, "fixed_light", False):
        s = (s or Settings()).replace(fixed_light=True)
    return s


def _one_calibration(chart: str | None, grey: str | None, reflectance: float | None):
    from texturecmp.chart import ChartCorners, GreyCard

    if chart is not None and grey is not None:
        raise TextureCmpError("give either --chart or --grey-card for a photo, not both")
    if grey is not None:
        return None if grey.lower() == "none" else GreyCard(grey, reflectance)
    if chart is None or chart.lower() == "none":
        return None
    return "auto" if chart.lower() == "auto" else ChartCorners.parse(chart)


def _calibration(args, n_photos: int):
    """``calibration=`` from --chart / --grey-card: one value for every photo, or one per photo."""
    charts, greys = getattr(args, "chart", None) or [], getattr(args, "grey_card", None) or []
    refl = getattr(args, "grey_card_reflectance", None)
    if refl is not None and not greys:
        raise TextureCmpError("--grey-card-reflectance needs --grey-card")
    if not charts and not greys:
        return None
    for opt, vals in (("--chart", charts), ("--grey-card", greys)):
        if len(vals) not in (0, 1, n_photos):
            raise TextureCmpError(f"{opt}: give it once (for every photo) or once per photo ({n_photos}), got {len(vals)}")
    if len(charts) <= 1 and len(greys) <= 1:
        return _one_calibration(charts[0] if charts else None, greys[0] if greys else None, refl)
    per = []
    for i in range(n_photos):
        c = charts[i] if len(charts) == n_photos else (charts[0] if charts else None)
        g = greys[i] if len(greys) == n_photos else (greys[0] if greys else None)
        per.append(_one_calibration(c, g, refl))
    return per


def _colour(args, n_photos: int) -> dict:
    return {"calibration": _calibration(args, n_photos), "colour_reference": getattr(args, "colour_reference", None)}


def _regions(args) -> dict:
    return {"roi": args.roi, "lesion": args.lesion, "reference": args.reference}


def _print_changes(cmp, out) -> None:
    print(f"{cmp.labels[0]} -> {cmp.labels[1]}    alignment: {cmp.alignment.message}", file=out)
    g = cmp.photometric.gains
    region = cmp.photometric.region
    if region.startswith("none"):  # a chart, grey card or fixed light: nothing estimated on skin
        print(f"photometric correction: {region}", file=out)
    else:
        print(f"photometric correction (linear gains R G B): {g[0]:.3f} {g[1]:.3f} {g[2]:.3f} on the {region}", file=out)
    for m, label in ((cmp.before, cmp.labels[0]), (cmp.after, cmp.labels[1])):
        if m.calibration is not None:
            print(f"colour calibration of {label}: {m.calibration['message']}", file=out)
    truth = {"none": "none (whole-region colour metrics are not comparable)"}.get(cmp.colour_truth, cmp.colour_truth)
    print(f"colour truth: {truth}", file=out)
    if not cmp.comparable:
        print(f"\nNOT COMPARABLE: {cmp.not_comparable_reason}; no metric is judged", file=out)
    else:
        print("\nsummary (headline metrics, Holm's family-wise rule at 5 %):", file=out)
        for h in cmp.headline:
            c = h.change
            pct = f" ({c.percent:+.0f} %)" if h.verdict in ("improved", "worsened") and math.isfinite(c.percent) else ""
            print(f"  {h.metric:26} {h.verdict}{pct}", file=out)
    head = f"{'metric':28} {'unit':10} {'before':>10} {'after':>10} {'change':>10} {'%':>8} {'± u':>9}  verdict"
    for fam in FAMILIES:
        rows = [c for c in cmp.changes.values() if METRICS[c.metric].family == fam]
        if not rows:
            continue
        print(f"\n[{fam}]", file=out)
        print(head, file=out)
        for c in rows:
            print(f"{c.metric:28} {c.unit:10} {_fmt(c.before):>10} {_fmt(c.after):>10} {_fmt(c.delta):>10} "
                  f"{_fmt(c.percent, 3):>8} {_fmt(c.uncertainty, 2):>9}  {c.verdict}", file=out)
    if cmp.warnings:
        print("\nwarnings:", file=out)
        for w in cmp.warnings:
            print(f"  - {w}", file=out)


def _write_json(obj: dict, path: str) -> None:
    text = json.dumps(obj, indent=2, allow_nan=False)
    if path == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(path).write_text(text + "\n", encoding="utf-8")


def _save_maps(cmp, folder: str) -> list[str]:
    """Write the comparison's maps as PNG (no metadata): photos, ΔE00 and texture-change heat maps."""
    import cv2

    from texturecmp.io import encode_png, image_to_uint8

    os.makedirs(folder, exist_ok=True)
    written = []

    def save(name: str, arr: np.ndarray) -> None:
        p = os.path.join(folder, name)
        with open(p, "wb") as fh:
            fh.write(encode_png(arr))
        written.append(p)

    def heat(v: np.ndarray, lo: float, hi: float, cmap: int) -> np.ndarray:
        x = np.clip((np.nan_to_num(v, nan=lo) - lo) / (hi - lo), 0, 1)
        rgb = cv2.applyColorMap((x * 255).astype(np.uint8), cmap)[..., ::-1]
        rgb = rgb.copy()
        rgb[~np.isfinite(v)] = 0
        return rgb

    m = cmp.maps
    save("before.png", image_to_uint8(m["before_rgb"]))
    if "after_rgb_aligned" in m:
        save("after_aligned.png", image_to_uint8(m["after_rgb_aligned"]))
    if "delta_e00" in m:
        save("delta_e00.png", heat(m["delta_e00"], 0.0, 10.0, cv2.COLORMAP_INFERNO))
    if "texture_change" in m:
        save("texture_change.png", heat(m["texture_change"], -2.0, 2.0, cv2.COLORMAP_TWILIGHT_SHIFTED))
    for k in ("visibility_before", "visibility_after"):
        if k in m:
            save(f"{k}.png", heat(m[k], 0.0, 10.0, cv2.COLORMAP_INFERNO))
    return written


def _cmd_compare(args) -> int:
    from texturecmp.compare import compare

    if args.db and not (args.subject and args.session):
        raise TextureCmpError("--db needs --subject and --session (your identifiers for the record)")
    if args.db:  # before any photo is read: a password on the command line is refused
        from texturecmp.records import typed_target

        typed_target(args.db, env=False)
    cmp = compare(args.before, args.after, **_regions(args), align=not args.no_align, baseline_repeat=args.baseline_repeat,
                  pixel_size_mm=args.pixel_size_mm, settings=_settings(args),
                  labels=(Path(args.before).name, Path(args.after).name), **_colour(args, 2))
    _print_changes(cmp, sys.stdout)
    if args.json:
        _write_json(cmp.to_dict(), args.json)
    if args.maps:
        files = _save_maps(cmp, args.maps)
        print(f"\nmaps written: {', '.join(files)}")
    if args.db:
        from texturecmp.records import shown, store_comparison

        rid = store_comparison(cmp, args.db, subject=args.subject, session=args.session, date=args.date,
                               baseline_session=args.baseline_session or "baseline", baseline_date=args.baseline_date)
        print(f"\nstored as record {rid} in {shown(args.db)}")
    return 0


def _cmd_series(args) -> int:
    from texturecmp.compare import compare_series

    if args.labels:
        labels = [x.strip() for x in args.labels.split(",")]
    else:
        names = [Path(p).name for p in args.images]
        labels = names if len(set(names)) == len(names) else list(args.images)
    ser = compare_series(args.images, labels=labels, **_regions(args), align=not args.no_align,
                         pixel_size_mm=args.pixel_size_mm, settings=_settings(args), **_colour(args, len(args.images)))
    for c in ser.vs_baseline:
        _print_changes(c, sys.stdout)
        print("", file=sys.stdout)
    if args.csv:
        ser.to_frame().to_csv(args.csv, index=False)
    if args.json:
        _write_json(ser.to_dict(), args.json)
    return 0


def _cmd_measure(args) -> int:
    from texturecmp.io import load_image
    from texturecmp.measure import measure

    results = []
    cal = _calibration(args, len(args.images))
    for i, path in enumerate(args.images):
        photo = load_image(path, name=Path(path).name)  # errors name the photo
        m = measure(photo, **_regions(args), pixel_size_mm=args.pixel_size_mm, settings=_settings(args),
                    calibration=cal[i] if isinstance(cal, list) else cal, colour_reference=args.colour_reference)
        if m.calibration is not None:
            print(f"  colour calibration: {m.calibration['message']}")
        results.append(m)
        print(f"{path}")
        for name, v in m.metrics.items():
            note = f"  ({v.note})" if v.note else ""
            print(f"  {name:28} {_fmt(v.value):>10} ± {_fmt(v.uncertainty, 2):<8} {v.unit}{note}")
        for w in m.warnings:
            print(f"  warning: {w}")
    if args.json:
        _write_json({"kind": "measurements", "items": [m.to_dict() for m in results]} if len(results) > 1
                    else results[0].to_dict(), args.json)
    return 0


def _cmd_metrics(args) -> int:
    if args.json:
        print(json.dumps({k: v.to_dict() for k, v in METRICS.items()}, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(metrics_table(markdown=args.markdown))
    return 0


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--roi", help="mask image of the region to measure (default: whole photo)")
    p.add_argument("--lesion", help="mask image of the scar / lesion (needed for scar metrics)")
    p.add_argument("--reference", help="mask image of normal reference skin (default: a ring around the lesion)")
    p.add_argument("--pixel-size-mm", type=float, dest="pixel_size_mm", help="millimetres per pixel")
    p.add_argument("--settings", help="settings file (JSON or TOML) with the settings to change")
    add_colour_options(p)


def add_colour_options(p: argparse.ArgumentParser) -> None:
    """The colour-truth options (also used by ``texturecmp batch``)."""
    p.add_argument("--chart", action="append", metavar="auto|x1,y1,...,x4,y4",
                   help="a ColorChecker in the photo: 'auto' to detect it, or the centres of patches 1, 6, 24, 19; "
                        "once for every photo, or once per photo in order ('none' for a photo without)")
    p.add_argument("--grey-card", action="append", dest="grey_card", metavar="MASK",
                   help="mask image of a grey card or white patch (exposure and white balance only); once for every "
                        "photo or once per photo")
    p.add_argument("--grey-card-reflectance", type=float, dest="grey_card_reflectance", metavar="Y",
                   help="the grey card's luminance factor (0.18 for an 18 %% card): also sets the exposure")
    p.add_argument("--colour-reference", dest="colour_reference", metavar="MASK",
                   help="mask image (baseline pixels) of untreated skin outside the treated area: the colour "
                        "correction is estimated on it, and it is left out of the roi")
    p.add_argument("--fixed-light", action="store_true", dest="fixed_light",
                   help="light, exposure and camera were the same for every photo: no colour correction, colour "
                        "metrics judged as taken (recorded in the settings)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="texturecmp", description="Measure skin texture and scar change between photos.")
    ap.add_argument("--version", action="version", version=f"texturecmp {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compare", help="compare a baseline photo with a follow-up")
    p.add_argument("before")
    p.add_argument("after")
    _add_common(p)
    p.add_argument("--baseline-repeat", help="second baseline photo taken minutes apart (test-retest MDC)")
    p.add_argument("--no-align", action="store_true", help="photos are already aligned (same size)")
    p.add_argument("--json", help="write the comparison as JSON to FILE ('-' for stdout)")
    p.add_argument("--maps", help="write the maps as PNG into DIR")
    p.add_argument("--db", help="also store the comparison as a record in this store (SQLite file or postgresql:// URL)")
    p.add_argument("--subject", help="subject identifier for --db (yours; no names)")
    p.add_argument("--session", help="session identifier of the follow-up for --db")
    p.add_argument("--date", help="capture date of the follow-up (YYYY-MM-DD) for --db")
    p.add_argument("--baseline-session", dest="baseline_session", help="session identifier of the baseline (default 'baseline')")
    p.add_argument("--baseline-date", dest="baseline_date", help="capture date of the baseline for --db")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("series", help="compare a baseline (first) with each follow-up")
    p.add_argument("images", nargs="+")
    _add_common(p)
    p.add_argument("--labels", help="comma-separated session labels")
    p.add_argument("--no-align", action="store_true")
    p.add_argument("--csv", help="write the tidy table (session x metric) as CSV")
    p.add_argument("--json", help="write the series as JSON")
    p.set_defaults(func=_cmd_series)

    p = sub.add_parser("measure", help="measure one or more photos")
    p.add_argument("images", nargs="+")
    _add_common(p)
    p.add_argument("--json", help="write the measurement(s) as JSON")
    p.set_defaults(func=_cmd_measure)

    from texturecmp.batch import add_cli as add_batch_cli
    from texturecmp.records import add_cli as add_records_cli

    add_batch_cli(sub)
    add_records_cli(sub)

    p = sub.add_parser("metrics", help="list the metric catalogue")
    p.add_argument("--markdown", action="store_true", help="as a Markdown table")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=_cmd_metrics)
    return ap


@contextlib.contextmanager
def _library_chatter_silenced() -> Iterator[None]:
    """Run the block with Python warnings ignored and file descriptor 2 on the null device.

    ``sys.stderr`` keeps writing where stderr went before (through a duplicate of the
    descriptor when it wrote to descriptor 2 itself), so the command's own lines still
    show. Worker processes started inside inherit the null device as their stderr, so
    they never hold the caller's stderr pipe open either.
    """
    try:
        sys.stderr.flush()
        own_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # replaced by a non-file stream (tests, IDEs)
        own_fd2 = False
    saved = os.dup(2)
    old_stderr = sys.stderr
    if own_fd2:
        sys.stderr = open(saved, "w", closefd=False, buffering=1,  # noqa: SIM115 - closed below
                          encoding=getattr(old_stderr, "encoding", None) or "utf-8", errors="backslashreplace")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        try:
            sys.stderr.flush()
        finally:
            if own_fd2:
                sys.stderr.close()
            sys.stderr = old_stderr
            os.dup2(saved, 2)
            os.close(saved)


def _error(text: object, status: int) -> int:
    """Print ``texturecmp: error: ...`` as one line (decoder messages may span several) and return ``status``."""
    print(f"texturecmp: error: {' '.join(str(text).split())}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    tune_launcher()  # this process is ours
    with _library_chatter_silenced():
        try:
            return int(args.func(args) or 0)
        except (TextureCmpError, OSError, ValueError) as exc:
            return _error(exc, 2)
        except MemoryError:
            return _error("not enough memory for this input (is it a photo file?)", 2)
        except KeyboardInterrupt:
            print("texturecmp: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:  # noqa: BLE001 - a defect of texturecmp: still one line, not a traceback
            return _error(f"internal error ({type(exc).__name__}: {exc}); please report it", 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
