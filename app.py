"""texturecmp in the browser: ``streamlit run app.py`` (settings in .streamlit/config.toml)."""

from pathlib import Path

from texturecmp.ui import main

main(sample_dir=Path(__file__).resolve().parent / "sample_images" / "series_scar")
