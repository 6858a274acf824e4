"""The kernel's catalog machinery: the locale follows the page's language, and a domain's
catalogs are served when its manifest names them."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import NullTranslations
from flask import Flask, g, render_template_string
from jinja2 import Environment

from citynet import catalogs
from citynet.domains import Domain


@pytest.mark.parametrize(("lang", "staff_lang", "locale"), [
    ("zh-Hant", None, "zh_Hant_HK"), ("en", "zh-CN", "en"), (None, "en", "en"),
    (None, None, "zh_Hans_CN"), ("fr", None, "zh_Hans_CN"),
])
def test_the_locale_is_the_page_language(lang: str | None, staff_lang: str | None,
                                         locale: str) -> None:
    with Flask(__name__).test_request_context():
        g.lang, g.staff_lang = lang, staff_lang
        assert catalogs.page_locale() == locale


def test_a_domain_catalog_is_served_in_its_locale(tmp_path: Path) -> None:
    catalog = Catalog(locale="zh_Hant_HK")
    catalog.add("Open the toy box", "打開玩具箱")
    catalog.add("Log out", "離開玩具房")  # the kernel's msgid: the domain's wins
    (tmp_path / "zh_Hant_HK" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "zh_Hant_HK" / "LC_MESSAGES" / "messages.mo").open("wb") as out:
        write_mo(out, catalog)
    app = Flask(__name__)
    catalogs.setup(app, [Domain("toy", translations=tmp_path), Domain("bare")])
    for lang, shown, out in (("zh-Hant", "打開玩具箱", "離開玩具房"),
                             ("en", "Open the toy box", "Log out"),
                             ("zh-CN", "Open the toy box", "退出登录")):  # the kernel's
        with app.test_request_context():
            g.lang = lang
            assert render_template_string("{{ _('Open the toy box') }}") == shown
            assert catalogs.gettext("Open the toy box") == shown
            assert catalogs.gettext("Log out") == out


def test_a_page_changing_its_language_midway_is_followed(tmp_path: Path) -> None:
    """A hand-off's lang= changes g.lang after the request began: what is translated
    after that is in the new language, never the first one Flask-Babel cached."""
    catalog = Catalog(locale="zh_Hans_CN")
    catalog.add("Log in", "登录")
    (tmp_path / "zh_Hans_CN" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "zh_Hans_CN" / "LC_MESSAGES" / "messages.mo").open("wb") as out:
        write_mo(out, catalog)
    app = Flask(__name__)
    catalogs.setup(app, [Domain("toy", translations=tmp_path)])
    with app.test_request_context():
        g.lang = "zh-CN"
        assert catalogs.gettext("Log in") == "登录"
        g.lang = "en"
        assert render_template_string("{{ _('Log in') }}") == "Log in"
        assert catalogs.gettext("Log in") == "Log in"
        g.lang = "zh-CN"  # and back: the catalog held for the request follows again
        assert render_template_string("{{ _('Log in') }}") == "登录"
        assert catalogs.gettext("Log in") == "登录"
        g.lang, g.staff_lang = None, "en"  # a staff page's language is followed alike
        assert catalogs.gettext("Log in") == "Log in"


def _catalog_in(directory: Path, locale: str, pairs: dict[str, str]) -> None:
    catalog = Catalog(locale=locale)
    for msgid, text in pairs.items():
        catalog.add(msgid, text)
    (directory / locale / "LC_MESSAGES").mkdir(parents=True)
    with (directory / locale / "LC_MESSAGES" / "messages.mo").open("wb") as out:
        write_mo(out, catalog)


def test_a_language_asked_for_without_a_page(tmp_path: Path) -> None:
    """No request (the CLI, an importer's labels): the directories' catalogs merged in
    order, the blanks filled; English and a missing message are the msgid."""
    first, second = tmp_path / "one", tmp_path / "two"
    _catalog_in(first, "zh_Hant_HK", {"Log in": "登入", "%(n)s rows": "%(n)s 行"})
    _catalog_in(second, "zh_Hant_HK", {"Street": "街道"})
    both = [first, second]
    assert catalogs.gettext_in("zh-Hant", both, "Log in") == "登入"
    assert catalogs.gettext_in("zh-Hant", both, "Street") == "街道"
    assert catalogs.gettext_in("zh-Hant", both, "%(n)s rows", n=3) == "3 行"
    assert catalogs.gettext_in("en", both, "%(n)s rows", n=3) == "3 rows"
    assert catalogs.gettext_in("zh-CN", both, "Log in") == "Log in"  # no such catalog
    assert catalogs.gettext_in("zh-Hant", [second], "Log in") == "Log in"


def test_a_kept_message_comes_back_with_its_plain_dict_values_as_they_were() -> None:
    inner = catalogs.Message("AP %(name)s", name="笋岗-01")
    kept = catalogs.Message("%(what)s down; tags %(tags)s", what=inner,
                            tags={"site": "dongmen"}).kept()
    restored = catalogs.Message.restored(kept)
    assert restored.values["tags"] == {"site": "dongmen"}  # a dict value, not a Message
    assert isinstance(restored.values["what"], catalogs.Message)
    assert restored == "AP 笋岗-01 down; tags {'site': 'dongmen'}"


@pytest.mark.parametrize("source", [
    "{{ _('Log in') }}",
    "{{ _('Hello %(name)s', name='<b>Ann</b>') }}",  # the values escaped, not the text
    "{{ _('100%% free') }}",  # always %-formatted, values or not
    "{% autoescape false %}{{ _('Hello %(name)s', name='<b>') }}{{ _('Log in') }}"
    "{% endautoescape %}",
    "{% for n in [1, 2] %}{{ _('Log in') }}{{ n }}{% endfor %}",
])
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_page_says_what_jinjas_newstyle_gettext_says(tmp_path: Path, source: str,
                                                        lang: str) -> None:
    """A rendered page's ``_`` answers as the globals installed for Jinja's newstyle
    gettext do (what a template rendered without the page's context still uses)."""
    _catalog_in(tmp_path, "zh_Hans_CN", {"Log in": "登录", "Hello %(name)s": "你好 %(name)s",
                                         "100%% free": "100%% 免费"})
    app = Flask(__name__)
    catalogs.setup(app, [Domain("toy", translations=tmp_path)])
    with app.test_request_context():
        g.lang = lang
        page = render_template_string(source)
        assert page == app.jinja_env.from_string(source).render()
        assert page == render_template_string(source)  # and again, from what it kept


def test_a_word_is_looked_up_once_per_language() -> None:
    asked: list[str] = []

    class Catalog(NullTranslations):
        def ugettext(self, message: str) -> str:
            asked.append(message)
            return f"«{message}»"

    environment = Environment(autoescape=True)
    environment.globals["_"] = catalogs.template_gettext(Catalog())
    for _page in range(3):
        assert environment.from_string("{{ _('Log in') }}").render() == "«Log in»"
    assert environment.from_string("{{ _('Hi %(n)s', n='<i>') }}").render() == "«Hi &lt;i&gt;»"
    assert asked == ["Log in", "Hi %(n)s"]
