"""The docs that are generated or mirror code stay in step with it."""

import re
from pathlib import Path

from citynet.cli import reference_table
from inventory.kinds import KINDS

ROOT = Path(__file__).resolve().parents[2]


def test_readme_config_reference_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- config-reference.*?-->\n(.*?)\n<!-- /config-reference -->",
                      readme, re.S)
    assert block is not None
    assert block.group(1) == reference_table(), "run `citynet config reference` into README"


def test_inventory_doc_lists_every_column_and_which_are_required() -> None:
    doc = (ROOT / "docs" / "inventory.md").read_text()
    for kind in KINDS.values():
        columns = ", ".join(f"**{f.name}**" if f.required else f.name for f in kind.fields)
        assert f"| {kind.name} | " in doc
        assert f" | {columns} |" in doc, kind.name
