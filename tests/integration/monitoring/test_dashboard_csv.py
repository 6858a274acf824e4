"""The dashboard's CSV export is opened in spreadsheets: no cell of it may run as a
formula, whatever an inventory file put in a name or an owner."""

from __future__ import annotations

import csv
import io

from citynet.app import create_app
from citynet.config import Config
from citynet.crypto import open_box
from citynet.db import Store
from inventory.files import RawRow
from inventory.importer import import_rows
from inventory.kinds import KINDS
from tests.support import staff_login

FORMULA = "=HYPERLINK(\"http://evil.example\",\"click\")"


def test_no_cell_of_the_export_runs_as_a_formula(sqlite_config: Config,
                                                  sqlite_store: Store) -> None:
    box = open_box(sqlite_config, sqlite_store, create=True)
    with sqlite_store.session() as session:
        outcome = import_rows(session, [RawRow("t", 1, KINDS["targets"], {
            "metric": "fiber_coverage_eligible", "scope": "district", "target": "90",
            "deadline": "2030-12-31", "owner": FORMULA})], box)
        assert outcome.ok, outcome.problems
    client = staff_login(create_app(sqlite_store, test_config={"TESTING": True}), sqlite_store)
    text = client.get("/dashboard/export.csv").get_data(as_text=True).lstrip("\ufeff")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + FORMULA in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")]
