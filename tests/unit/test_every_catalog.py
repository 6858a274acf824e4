"""Every package with gettext catalogs (the Makefile's CATALOGS: the kernel and the
domains): each msgid its code and templates use is in each locale's catalog and none is
stale, both Chinese catalogs translate every message with the same blanks, the committed
.mo files are the .po sources compiled, and no template nor command shows text outside
the catalogs."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest

from citynet import catalogs, languages
from citynet.domains import registered
from tests.unit.catalog_checks import (
    BLANK,
    ROOT,
    TRANSLATED,
    catalog,
    command_modules,
    packages,
    printed_literals,
    shown_literals,
    templates,
    translations,
    used_msgids,
)

PACKAGES = packages()
LOCALES = sorted(languages.LOCALES.values())


def test_the_makefile_lists_every_package_the_app_serves_catalogs_of() -> None:
    served = {catalogs.KERNEL.parent.name} | {
        domain.translations.parent.name for domain in registered()
        if domain.translations is not None}
    assert sorted(PACKAGES) == sorted(served)
    assert PACKAGES[0] == "citynet"  # the kernel first, as the app merges them


@pytest.mark.parametrize("package", PACKAGES)
def test_every_language_has_a_catalog(package: str) -> None:
    assert sorted(path.name for path in translations(package).iterdir()
                             if path.is_dir()) == LOCALES


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgid_used_is_in_the_catalog_and_none_is_stale(package: str,
                                                              locale: str) -> None:
    held = {message.id for message in catalog(package, locale) if message.id}
    used = used_msgids(package)
    assert used, f"{package} uses no msgid: why does it have catalogs?"
    assert sorted(used - held) == [], "missing: run `make catalogs` and translate"
    assert sorted(held - used) == [], "no longer used: run `make catalogs`"


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_with_the_same_blanks(package: str, locale: str) -> None:
    in_templates = used_msgids(package, templates_only=True)
    for message in catalog(package, locale):
        if not message.id:
            continue
        name = f"{package} {locale}: {message.id!r}"
        assert message.string, f"{name} is untranslated"
        assert not message.fuzzy, f"{name} is fuzzy"
        assert sorted(BLANK.findall(str(message.string))) == sorted(
            BLANK.findall(str(message.id))), name
        if message.id in in_templates:  # Python's gettext formats only when given values
            assert "%" not in BLANK.sub("", str(message.id)), f"{name}: only named blanks"
        assert not any("\u3400" <= c <= "\u9fff" for c in str(message.id))  # English


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalog_is_the_source_one(package: str, locale: str) -> None:
    """The .mo files are committed (the app reads them, no build step): they must be
    the .po files compiled — `make catalogs-compile` after every .po change."""
    path = translations(package) / locale / "LC_MESSAGES" / "messages.mo"
    with path.open("rb") as compiled:
        held = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    source = {message.id: message.string for message in catalog(package, locale)
              if message.id and message.string and not message.fuzzy}
    assert {key: value for key, value in held.items() if key} == source


@pytest.mark.parametrize("path", [path for package in PACKAGES for path in templates(package)],
                         ids=lambda path: path.relative_to(ROOT).as_posix())
def test_a_template_shows_no_text_outside_the_catalogs(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert shown_literals(text) == []
    assert re.findall(r"\btr\(\s*[\"'].*?\)", text) == []  # the older (zh, en) shape


@pytest.mark.parametrize(("template", "found"), [
    ("<h2>欢迎</h2>", ["欢迎"]),
    ("<p>{{ n }} MB</p>", ["MB"]),
    ('<img src="x" alt="Logo">', ['img alt="Logo"']),
    ('<input aria-label="验证码">', ['input aria-label="验证码"']),
    ("<h2>{{ _('Welcome') }} →</h2>", []),
    ("<p>{% trans %}Hello {{ name }}{% endtrans %}</p>", []),
    ("<style>body{font:16px sans-serif}</style><p>✓ 12 · 3</p>", []),
    ('<input placeholder="ABCD-EFGH-JK" name="code">', []),
    ("<th>MAC</th><td>{{ t }} UTC</td><title>{{ x }} · citynet</title>", []),
    ("<th>MACs</th>", ["MACs"]),
    ("<p>{{ _('Lost?') }} <code>citynet staff reset-2fa</code>.</p>", []),
    ('{% if bad %} aria-invalid="true"{% endif %}', []),
])
def test_what_counts_as_shown_text(template: str, found: list[str]) -> None:
    assert shown_literals(template) == found


@pytest.mark.parametrize("locale", TRANSLATED)
def test_a_msgid_two_catalogs_share_is_translated_alike(locale: str) -> None:
    """The app merges every catalog into one (the kernel's first, a later one's wins): a
    msgid with two translations shows the later one on the other's pages too (the portal's
    商户名称 for 'Name' stood on the staff login). Give it one translation, or a more
    specific msgid."""
    seen: dict[str, dict[str, str]] = {}
    for package in PACKAGES:
        for message in catalog(package, locale):
            if message.id:
                seen.setdefault(str(message.id), {})[package] = str(message.string)
    assert {msgid: by for msgid, by in seen.items() if len(set(by.values())) > 1} == {}


# literal text a command module may print: (module, the literal's text as found)
NOT_TEXT_FOR_PEOPLE = {
    # the registry's refusals: raised while the CLI is composed, before any command has a
    # language (and before the catalogs, which the registered domains name, are known)
    ("citynet/domains.py", "domain   requires  , which is not registered (  entry points)"),
    ("citynet/domains.py", "domains require each other in a circle:"),
    ("citynet/domains.py", "entry point   =   is not a Domain"),
    ("citynet/domains.py", "no domain is registered (  entry points): install citynet into "
                           "its virtual environment (pip install -e .)"),
}


@pytest.mark.parametrize("path", [path for package in PACKAGES
                                  for path in command_modules(package)],
                         ids=lambda path: path.relative_to(ROOT).as_posix())
def test_a_command_prints_no_text_outside_the_catalogs(path: Path) -> None:
    """What a module that uses click echoes, asks or raises is ``_()``/``N_()`` text or
    values (names, tables, JSON), never a literal sentence in one language."""
    module = path.relative_to(ROOT).as_posix()
    found = [f"line {line}: {text!r}" for line, text in printed_literals(path.read_text())
             if (module, text) not in NOT_TEXT_FOR_PEOPLE]
    assert found == [], "wrap them in _() and run `make catalogs` (docs/i18n.md)"


@pytest.mark.parametrize(("source", "found"), [
    ('click.echo("done")', ["done"]),
    ('click.echo(f"{n} rows written")', ["rows written"]),
    ('raise click.UsageError("--a excludes --b")', ["--a excludes --b"]),
    ('raise CitynetError(f"no NAS named {name!r}")', ["no NAS named"]),
    ('raise SomeError("refused: " + why)', ["refused:"]),
    ('emit(shown, fmt, more="raise --limit")', ["raise --limit"]),
    ('click.confirm("Replace it?", abort=True)', ["Replace it?"]),
    ('click.echo(_("done"))', []),
    ('click.echo(_("%(n)s rows", n=n) + f" {extra}")', []),
    ('raise CitynetError(N_("no NAS named %(name)r"), name=name)', []),
    ('click.echo(f"{name:<12} {value}")', []),
    ('click.echo(f"[{section}]")', []),
    ('click.echo(f"{when} UTC  {mac}")', []),
    ('click.echo(json.dumps(rows))', []),
    ('log.warning("store away: %s", exc)', []),
])
def test_what_counts_as_printed_text(source: str, found: list[str]) -> None:
    assert [text for _line, text in printed_literals(source)] == found
