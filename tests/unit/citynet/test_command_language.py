"""The CLI's language (citynet.catalogs outside a request): --lang, else the environment's
locale, else English; and the kernel's catalogs, complete in both Chinese ones."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g

from citynet import catalogs, languages
from citynet.domains import Domain

ROOT = Path(__file__).resolve().parents[3]
_BLANK = re.compile(r"%\((\w+)\)s")


@pytest.mark.parametrize(("chosen", "environ", "language"), [
    (None, {}, "en"),
    (None, {"LANG": "C.UTF-8"}, "en"),
    (None, {"LANG": "zh_CN.UTF-8"}, "zh-CN"),
    (None, {"LANG": "zh_SG"}, "zh-CN"),
    (None, {"LANG": "zh"}, "zh-CN"),
    (None, {"LANG": "zh_TW.UTF-8"}, "zh-Hant"),
    (None, {"LANG": "zh_HK.Big5-HKSCS"}, "zh-Hant"),
    (None, {"LANG": "zh_Hant_MO"}, "zh-Hant"),
    (None, {"LANG": "de_DE.UTF-8"}, "en"),
    (None, {"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "zh_HK.UTF-8"}, "zh-Hant"),
    (None, {"LANG": "zh_CN.UTF-8", "LC_ALL": "POSIX"}, "en"),
    (None, {"LANG": "zh_CN.UTF-8", "LC_ALL": ""}, "zh-CN"),  # empty is unset
    ("zh-Hant", {"LANG": "en_US.UTF-8"}, "zh-Hant"),
    ("en", {"LC_ALL": "zh_CN.UTF-8"}, "en"),
])
def test_the_command_language(chosen: str | None, environ: dict[str, str],
                              language: str) -> None:
    assert catalogs.command_language(chosen, environ) == language


def _domain_catalogs(folder: Path) -> Path:
    for locale, text in (("zh_Hans_CN", "请填写名称"), ("zh_Hant_HK", "請填寫名稱")):
        catalog = Catalog(locale=locale)
        catalog.add("the name is empty", text)
        (folder / locale / "LC_MESSAGES").mkdir(parents=True)
        with (folder / locale / "LC_MESSAGES" / "messages.mo").open("wb") as out:
            write_mo(out, catalog)
    return folder


def test_outside_a_request_gettext_speaks_the_command_language(tmp_path: Path) -> None:
    domains = [Domain("toy", translations=_domain_catalogs(tmp_path)), Domain("bare")]
    assert catalogs.gettext("%(name)s: disabled", name="li") == "li: disabled"
    with catalogs.speaking("zh-Hant", domains):
        assert catalogs.gettext("%(name)s: disabled", name="li") == "li：已停用"  # kernel
        assert catalogs.gettext("the name is empty") == "請填寫名稱"  # a domain's
        with catalogs.speaking("zh-CN", domains):
            assert catalogs.gettext("the name is empty") == "请填写名称"
        assert catalogs.gettext("the name is empty") == "請填寫名稱"
        app = Flask(__name__)
        catalogs.setup(app, domains)
        with app.test_request_context():  # a request speaks the page's language
            g.lang = "en"
            assert catalogs.gettext("the name is empty") == "the name is empty"
    assert catalogs.gettext("the name is empty") == "the name is empty"  # the default


# --- the kernel's catalogs ---------------------------------------------------------------

def _kernel_msgids() -> set[str]:
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context
            in extract_from_dir(ROOT / "citynet", method_map, options_map)}


@pytest.mark.parametrize("locale", sorted(languages.LOCALES.values()))
def test_the_kernel_catalog_is_complete_and_compiled(locale: str) -> None:
    folder = catalogs.KERNEL / locale / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=locale)
    used = _kernel_msgids()
    assert "%(name)s: disabled" in used
    held = {message.id for message in catalog if message.id}
    assert sorted(used - held) == [] and sorted(held - used) == [], "run `make catalogs`"
    for message in catalog:
        if message.id and locale != "en":
            assert message.string and not message.fuzzy, message.id
            assert sorted(_BLANK.findall(str(message.string))) == sorted(
                _BLANK.findall(str(message.id))), message.id
            assert not re.search(r"[\u3400-\u9fff]", str(message.id))
    with (folder / "messages.mo").open("rb") as compiled:
        shown = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    assert {key: value for key, value in shown.items() if key} == {
        message.id: message.string for message in catalog
        if message.id and message.string and not message.fuzzy}


def test_an_error_keeps_its_english_and_says_itself_in_the_commands_language() -> None:
    """A msgid and its values (an error an API also returns): str() is English, said()
    the command's language; a text already said (gettext at the raise) is itself."""
    from citynet.catalogs import N_
    from citynet.domains import registered
    from citynet.errors import CitynetError

    error = CitynetError(N_("%(file)s is missing"), file="x.db")
    with catalogs.speaking("zh-CN", registered()):
        assert (str(error), error.said()) == ("x.db is missing", "缺少 x.db")
        assert catalogs.spoken() == "zh-CN"
        assert CitynetError(catalogs.gettext("citynet stopped")).said() == "citynet 已停止"
    assert error.said() == "x.db is missing" and catalogs.spoken() == "en"
