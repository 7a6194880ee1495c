"""The app's record-store field: stores kept inside the records folder, the default in the user's data folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from texturecmp.ui import records_view as rv


def test_default_store_is_in_the_users_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(rv.RECORDS_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    data = Path(platformdirs.user_data_dir("texturecmp", appauthor=False)).resolve()
    assert rv.records_dir() == data / "records"
    assert rv.default_db_path() == str(data / "records" / rv.DEFAULT_DB)
    assert not rv.default_db_path().startswith(str(tmp_path))  # not the app's start directory
    monkeypatch.setenv(rv.RECORDS_DIR_ENV, str(tmp_path / "clinic"))
    assert rv.records_dir() == (tmp_path / "clinic").resolve()


@pytest.mark.parametrize("text", ["../elsewhere.db", "/etc/passwd", "sub/../../x.db", "~/x.db", "link/x.db"])
def test_paths_out_of_the_records_folder_are_refused(tmp_path, text):
    folder = tmp_path / "records"
    folder.mkdir()
    os.symlink(tmp_path, folder / "link")  # a link inside that leads out
    path, msg = rv.store_path(text, folder=folder.resolve())
    assert path is None and "outside the records folder" in msg and rv.RECORDS_DIR_ENV in msg


def test_names_inside_the_records_folder(tmp_path):
    folder = (tmp_path / "records").resolve()
    assert rv.store_path("clinic.db", folder=folder) == (folder / "clinic.db", None)  # the folder is made on saving
    assert rv.store_path(str(folder / "clinic.db"), folder=folder) == (folder / "clinic.db", None)
    assert rv.store_path("clinic.db", folder=folder, must_exist=True) == (None, None)
    path, msg = rv.store_path("a/b.db", folder=folder)
    assert path is None and "does not exist" in msg
    path, msg = rv.store_path("", folder=folder)
    assert path is None and str(folder) in msg
