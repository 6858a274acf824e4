"""The README's Status table says what the web app really has (it once said the
dashboard had no login and the admin pages that change things were not built)."""

from __future__ import annotations

import re
from pathlib import Path

from citynet.app import create_app
from citynet.db import Store
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parents[2]


def _status_row(area: str) -> str:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Status", 1)[1].split("\n## ", 1)[0]
    row = next((line for line in table.splitlines() if line.startswith(f"| {area}")), None)
    assert row is not None, f"no Status row for {area}"
    return row


def test_status_table_matches_the_web_app(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = Store.from_config(config)
    store.upgrade()
    try:
        app = create_app(store, config)
    finally:
        store.close()
    changing = {"/".join(rule.rule.split("/")[:3]) for rule in app.url_map.iter_rules()
                if "POST" in (rule.methods or ()) and rule.rule.startswith("/admin/")}
    admin = _status_row("web admin")
    assert changing and not re.search(r"not (built|yet)", admin)
    assert sorted(page for page in changing if f"`{page}`" not in admin) == []
    dashboard = [view for endpoint, view in app.view_functions.items()
                 if endpoint.startswith("dashboard.")]
    assert dashboard and all(getattr(view, "permission", None) for view in dashboard)
    monitoring = _status_row("monitoring")
    assert "not behind" not in monitoring and "behind the staff login" in monitoring
