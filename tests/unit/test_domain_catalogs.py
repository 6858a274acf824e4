"""Each listed domain's gettext catalogs (docs/i18n.md): every msgid its code and templates
use is in each locale's catalog (translated in both Chinese ones, same blanks), the
compiled .mo files are those of the .po sources, and no template of the domain shows text
outside the catalogs. A domain with catalogs is one more name in ``DOMAINS`` (or in
``COMMANDS_ONLY`` while only its command line's messages are in them)."""

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

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("inventory", "monitoring")  # pages and commands in the catalogs
# the command line's messages in catalogs, the pages not yet
COMMANDS_ONLY = ("radius", "devices", "admission")
DOMAINS = PAGES + COMMANDS_ONLY
TRANSLATED = ("zh_Hans_CN", "zh_Hant_HK")  # en: the msgids are the English text
# what a template may show as it is, the same in every language: the product's name,
# protocol and device names, a format's name
SAME_EVERYWHERE = frozenset({"citynet", "SSID", "AP", "NAS", "DHCP 114", "JSON"})
# a msgid's named blanks, any conversion (%(key)r, %(value)g, %(name)s)
_BLANK = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")
LOCALES = sorted(languages.LOCALES.values())


def used_msgids(domain: str) -> set[str]:
    """The msgids ``pybabel extract`` finds in the domain (the Makefile's babel.cfg)."""
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context
            in extract_from_dir(ROOT / domain, method_map, options_map)}


def template_msgids(domain: str) -> set[str]:
    """The msgids the domain's templates use (Jinja's ``_()`` always %-formats them)."""
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    return {message if isinstance(message, str) else message[0]
            for file, _line, message, _comments, _context
            in extract_from_dir(ROOT / domain, method_map, options_map)
            if file.endswith(".html")}


def catalog(domain: str, locale: str) -> Catalog:
    path = ROOT / domain / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        return read_po(source, locale=locale)


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_language_has_a_catalog(domain: str) -> None:
    assert sorted(path.name for path in (ROOT / domain / "translations").iterdir()
                             if path.is_dir()) == LOCALES


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_domain_uses_its_messages(domain: str) -> None:
    assert len(used_msgids(domain)) > (50 if domain in PAGES else 10)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_msgid_used_is_in_the_catalog_and_none_is_stale(domain: str, locale: str) -> None:
    held = {message.id for message in catalog(domain, locale) if message.id}
    used = used_msgids(domain)
    assert sorted(used - held) == [], "missing: run `make catalogs` and translate"
    assert sorted(held - used) == [], "no longer used: run `make catalogs`"


@pytest.mark.parametrize("locale", TRANSLATED)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated_with_the_same_blanks(domain: str, locale: str) -> None:
    for message in catalog(domain, locale):
        if not message.id:
            continue
        assert message.string, f"{locale}: {message.id!r} is untranslated"
        assert not message.fuzzy, f"{locale}: {message.id!r} is fuzzy"
        assert sorted(_BLANK.findall(str(message.string))) == sorted(
            _BLANK.findall(str(message.id))), f"{locale}: {message.id!r}"
        assert not re.search(r"[\u3400-\u9fff]", str(message.id))  # msgids are English


@pytest.mark.parametrize("locale", TRANSLATED)
@pytest.mark.parametrize("domain", PAGES)
def test_a_templates_message_survives_jinjas_formatting(domain: str, locale: str) -> None:
    """A template's ``_()`` formats even without values: a lone ``%`` (``80%``) in its
    msgid or a translation would fail the page (write ``80 percent``)."""
    in_templates = template_msgids(domain)
    assert in_templates
    blanks = {name: 1 for message in catalog(domain, locale)
              for name in _BLANK.findall(str(message.id))}
    for message in catalog(domain, locale):
        if message.id in in_templates:
            for text in (str(message.id), str(message.string)):
                assert isinstance(text % blanks, str)  # raises on a lone %


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_the_compiled_catalog_is_the_source_one(domain: str, locale: str) -> None:
    """The .mo files are committed (no build step): they must be the .po files compiled,
    `make catalogs-compile` after every .po change."""
    path = ROOT / domain / "translations" / locale / "LC_MESSAGES" / "messages.mo"
    with path.open("rb") as compiled:
        held = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    source = {message.id: message.string for message in catalog(domain, locale)
              if message.id and message.string and not message.fuzzy}
    assert {key: value for key, value in held.items() if key} == source


TEMPLATES = sorted(path for domain in PAGES
                   for path in (ROOT / domain / "templates").glob("*/*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_a_template_shows_no_text_outside_the_catalogs(path: Path) -> None:
    shown = shown_literals(path.read_text(encoding="utf-8"))
    assert [text for text in shown if text.strip(" ·") not in SAME_EVERYWHERE] == []


def test_the_blanks_are_found_whatever_their_conversion() -> None:
    assert _BLANK.findall("%(raw)r is not %(most)s, %(value)g or %(n)d") == [
        "raw", "most", "value", "n"]
