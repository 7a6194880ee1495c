"""Records: texturecmp results attached to subjects and sessions, with provenance, in an SQLite or PostgreSQL store.

A *record* is a JSON object (a ``dict``) following :data:`SCHEMA` (shipped as
``texturecmp/data/record.schema.json``): the user's subject and session identifiers, the
capture date, each photo's SHA-256 and size (never its pixels, file name or EXIF), the
pixel size, the regions (shapes or mask hashes), the texturecmp version, the settings and
their hash, each metric with value, unit, uncertainty and note, and for comparisons the
baseline, each change (delta, percent, uncertainty, threshold, verdict, rule), the
alignment, the photometric correction and the quality flags::

    import texturecmp as tc
    from texturecmp import records

    cmp = tc.compare("s0.jpg", "s1.jpg", lesion="lesion.png")
    rec = records.comparison_record(cmp, subject="P-0012", session="week4", date="2024-03-01",
                                    baseline_session="week0", baseline_date="2024-02-02")
    with records.Store("clinic.db") as store:   # or Store("postgresql://clinic@db-host/records")
        rid = store.add(rec)                 # content id; adding it again stores nothing
        store.history("P-0012")              # that subject's records in date order
        store.to_frame()                     # one row per subject x session x metric
    records.fhir_bundle([rec])              # FHIR R4 Bundle of Observations

Full description: ``docs/records.md``.
"""

from __future__ import annotations

from texturecmp.records._cli import add_cli, store_comparison, typed_target
from texturecmp.records._export import (FHIR_CODE_TEXT, UCUM, UCUM_SYSTEM, export, fhir_bundle, records_frame, to_csv,
                                        to_json, wide)
from texturecmp.records._record import (SCHEMA, SCHEMA_VERSION, BadRecordError, canonical_json, comparison_record,
                                        dumps, is_valid, loads, measurement_record, normalize_date, problems,
                                        read_records, record_id, series_records, validate)
from texturecmp.records._backend import DB_ENV, has_password, is_url, shown
from texturecmp.records._store import (APPLICATION_ID, MIGRATIONS, STORE_VERSION, Copied, DamagedRecordError, Entry,
                                       Store, StoredRecord, StoreError, copy_records, migrate, verified_record)

__all__ = [
    # the record
    "SCHEMA", "SCHEMA_VERSION", "BadRecordError", "measurement_record", "comparison_record", "series_records",
    "validate", "is_valid", "problems", "record_id", "canonical_json", "dumps", "loads", "read_records",
    "normalize_date",
    # the store
    "Store", "StoreError", "DamagedRecordError", "verified_record", "Entry", "StoredRecord", "MIGRATIONS", "STORE_VERSION", "APPLICATION_ID", "migrate",
    "DB_ENV", "is_url", "has_password", "shown", "copy_records", "Copied",
    # exports
    "records_frame", "wide", "to_csv", "to_json", "fhir_bundle", "export", "UCUM", "UCUM_SYSTEM", "FHIR_CODE_TEXT",
    # front ends
    "add_cli", "store_comparison", "typed_target",
]
