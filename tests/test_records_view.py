"""The app's record-store field: stores kept inside the records folder, the default in the user's data folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from texturecmp.ui import records_view as rv

from pg_fixture import pg_cluster  # noqa: F401  (the session's PostgreSQL server)


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


def test_store_field_takes_a_postgresql_url_without_its_password(tmp_path, monkeypatch):
    monkeypatch.delenv("TEXTURECMP_DB", raising=False)
    monkeypatch.setenv(rv.RECORDS_DIR_ENV, str(tmp_path))
    assert rv.default_store() == rv.DEFAULT_DB
    url = "postgresql://clinic@db.example:5432/records?sslmode=verify-full"
    assert rv.store_target(url) == (url, None)
    target, msg = rv.store_target("postgresql://clinic:s3cret@db.example/records")
    assert target is None and "PGPASSWORD" in msg and "s3cret" not in msg
    assert rv.store_target("clinic.db") == (str(tmp_path.resolve() / "clinic.db"), None)
    # the URL of TEXTURECMP_DB is shown without its password, and opens with it
    monkeypatch.setenv("TEXTURECMP_DB", "postgresql://clinic:s3cret@db.example/records")
    shown = rv.default_store()
    assert shown == "postgresql://clinic@db.example/records"
    assert rv.store_target(shown) == ("postgresql://clinic:s3cret@db.example/records", None)


def test_app_saves_to_and_reads_history_from_postgresql(pg_cluster, tmp_path, monkeypatch):
    """The app's store field with a postgresql:// URL: Save to records, then the history tab, as with a file."""
    from streamlit.testing.v1 import AppTest

    from texturecmp import records

    url = pg_cluster.new_database()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(rv.RECORDS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("TEXTURECMP_DB", url)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180).run()
    at.button(key="sample_button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="records_db").value == url
    at.text_input(key="records_subject").set_value("P-0001")
    at.button(key="records_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Saved **3** new records" in s.value and url in s.value for s in at.success)
    with records.Store(url) as store:
        assert len(store) == 3 and store.subjects() == ["P-0001"]
    assert at.selectbox(key="history_subject").value == "P-0001"
    assert list(at.dataframe[-1].value["kind"]) == ["measurement", "comparison", "comparison"]
    assert list(tmp_path.iterdir()) == []  # no SQLite file made beside it
