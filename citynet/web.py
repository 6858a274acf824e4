"""What every blueprint's views share: the running app's store, config and secret box,
who asks, and checked input. The app factory that registers the blueprints is
:mod:`citynet.app`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from flask import current_app
from werkzeug.datastructures import Headers

from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.db import Store
from citynet.runtime import Runtime
from citynet.typed import normalised

MAX_ID = 2**31 - 1  # an INTEGER primary key: a larger one would not even reach the database


def query_arg(name: str, longest: int) -> str:
    """A query parameter given at most once, at most ``longest`` characters and without
    a NUL (else 400: a repeated one is refused, not guessed), stripped; '' when absent
    or blank."""
    from flask import abort, request

    values = request.args.getlist(name)
    if len(values) > 1:
        abort(400, f"{name}= given more than once")
    value = values[0].strip() if values else ""
    if len(value) > longest:
        abort(400, f"{name}= is at most {longest} characters")
    if "\x00" in value:  # no store takes a NUL (PostgreSQL refuses it): refused here
        abort(400, f"{name}= holds a NUL character")
    return value


def form_text(name: str, longest: int | None = None) -> str:
    """A form field's text, stripped; 400 if it holds a NUL, which no database stores
    (PostgreSQL refuses it), or is longer than ``longest`` (if given): refused before
    anything is done, not after."""
    from flask import abort, request

    value = request.form.get(name, "").strip()
    if "\x00" in value:
        abort(400, f"{name} holds a NUL character")
    if longest is not None and len(value) > longest:
        abort(400, f"{name} is at most {longest} characters")
    return value


def whole_number(raw: str, low: int, high: int) -> int | None:
    """``raw`` as a number from ``low`` to ``high``, or None. Full-width digits from a
    Chinese input method count (NFKC); what is left must be ASCII digits ("²" is a digit
    to ``str.isdigit`` but not to ``int``), never longer than a BIGINT."""
    raw = normalised(raw)  # a full-width space typed after it
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    number = int(raw)
    return number if low <= number <= high else None


def headers_by_default(headers: Headers, defaults: Iterable[tuple[str, str]]) -> None:
    """Each of ``defaults`` (name, value) the response does not set itself. Not
    ``Headers.setdefault``: it finds an absent name by raising and catching a werkzeug
    HTTP exception (``BadRequestKeyError``), costly to build — several per answer."""
    present = set(headers.keys(lower=True))
    for name, value in defaults:
        if name.lower() not in present:
            headers.add(name, value)


def store() -> Store:
    """The store of the app handling this request."""
    found: Store = current_app.extensions["citynet.store"]
    return found


def config() -> Config:
    """The config of the app handling this request."""
    return cast(Config, current_app.extensions["citynet.config"])


def box() -> SecretBox | None:
    """The app's secret box, or None when no secrets key is configured."""
    return cast("SecretBox | None", current_app.extensions.get("citynet.box"))


def runtime() -> Runtime:
    """The app's config, store and box as a runtime, for the domain hooks that take one
    (``citynet.gates``)."""
    return Runtime.of(config(), store(), box())


def who_asks() -> tuple[str, str]:
    """The signed-in staff member's name and the request's address, as the audit log
    records an actor and their source."""
    from flask import g, request

    return g.staff.name, request.remote_addr or ""


def may(permission: str) -> bool:
    """Whether the signed-in staff member has ``permission`` (to offer an action or not;
    ``citynet.access.require`` is what enforces it)."""
    from flask import g

    return g.staff is not None and bool(g.staff.can(permission))


# --- the staff API's JSON calls -------------------------------------------------------

Answer = tuple[dict[str, Any], int]


def refused(status: int, by_field: dict[str, str]) -> Answer:
    """A refused JSON call: ``{"errors": {field: reason}}`` ("" for the call as a whole),
    the shape of every refusal of the staff API."""
    return {"errors": by_field}, status


def json_fields(known: Iterable[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The request's JSON object, and its problems by field: not an object, or a field
    the call does not know."""
    from flask import request

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return {}, {"": "the body is a JSON object"}
    return body, {name: "no such field" for name in body if name not in set(known)}


def json_whole(body: dict[str, Any], name: str, low: int, high: int,
               problems: dict[str, str]) -> int:
    """A whole number field from ``low`` to ``high`` (a JSON integer), or its problem added
    to ``problems`` (then 0)."""
    number = body.get(name)
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        problems[name] = f"a whole number from {low} to {high}"
        return 0
    return int(number)


def json_text(body: dict[str, Any], name: str, longest: int, problems: dict[str, str],
              *, required: bool = True) -> str:
    """A text field, stripped, at most ``longest`` characters, without a NUL (which no
    store takes); its problem added to ``problems``."""
    given = body.get(name, "")
    if not isinstance(given, str) or "\x00" in given:
        problems[name] = "text without a NUL character"
        return ""
    text = given.strip()
    if required and not text:
        problems[name] = "required"
    elif len(text) > longest:
        problems[name] = f"at most {longest} characters"
    return text
