"""The web app's cheap answer to Flask's "is this a coroutine function?": a plain
function is run as it is, anything else is left to Flask."""

from __future__ import annotations

import functools

from citynet.app import WebApp


def test_a_plain_function_is_its_own_sync_form_and_a_coroutine_is_not() -> None:
    app = WebApp(__name__)

    def plain() -> str:
        return "plain"

    async def coroutine() -> str:
        return "awaited"

    assert app.ensure_sync(plain) is plain
    bound = functools.partial(plain)
    assert app.ensure_sync(bound) is bound  # Flask's own answer for a partial
    try:
        wrapped = app.ensure_sync(coroutine)
    except RuntimeError:  # Flask without its async extra: it refuses, as before
        return
    assert wrapped is not coroutine and wrapped() == "awaited"
