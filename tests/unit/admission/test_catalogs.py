"""Network admission's gettext catalogs: every msgid its staff pages use is in each
locale's catalog (translated in both Chinese ones, with the same blanks), each .mo is its
.po compiled, and no template shows text outside the catalogs (the portal's checks,
docs/i18n.md)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from citynet import languages
from tests.unit.portal.test_catalogs import shown_literals

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = ROOT / "admission"
CATALOGS = DOMAIN / "translations"
TRANSLATED = ("zh_Hans_CN", "zh_Hant_HK")
# a column heading (the term itself) and the example of what to type
SAME_IN_EVERY_LANGUAGE = frozenset({"MAC", 'input placeholder="aa:bb:cc:dd:ee:ff"'})
_BLANK = re.compile(r"%\((\w+)\)s")


def used_msgids() -> set[str]:
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context
            in extract_from_dir(DOMAIN, method_map, options_map)}


def catalog(locale: str) -> Catalog:
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=locale)


@pytest.mark.parametrize("locale", sorted(languages.LOCALES.values()))
def test_every_msgid_used_is_in_the_catalog_and_none_is_stale(locale: str) -> None:
    held = {message.id for message in catalog(locale) if message.id}
    used = used_msgids()
    assert "Live admission sessions" in used and len(used) > 80
    assert sorted(used - held) == [], "missing: run `make catalogs` and translate"
    assert sorted(held - used) == [], "no longer used: run `make catalogs`"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_with_the_same_blanks(locale: str) -> None:
    for message in catalog(locale):
        if message.id:
            assert message.string and not message.fuzzy, f"{locale}: {message.id!r}"
            assert sorted(_BLANK.findall(str(message.string))) == sorted(
                _BLANK.findall(str(message.id))), f"{locale}: {message.id!r}"


@pytest.mark.parametrize("locale", sorted(languages.LOCALES.values()))
def test_the_compiled_catalog_is_the_source_one(locale: str) -> None:
    with (CATALOGS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as compiled:
        held = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    source = {message.id: message.string for message in catalog(locale)
              if message.id and message.string and not message.fuzzy}
    assert {key: value for key, value in held.items() if key} == source


@pytest.mark.parametrize("path", sorted((DOMAIN / "templates").rglob("*.html")),
                         ids=lambda path: path.name)
def test_a_template_shows_no_text_outside_the_catalogs(path: Path) -> None:
    found = shown_literals(path.read_text(encoding="utf-8"))
    assert [text for text in found if text not in SAME_IN_EVERY_LANGUAGE] == []
