"""The staff pages for what the portal hands out share one blueprint (``portal_admin``)
and these helpers; the pages are :mod:`portal.voucher_pages`,
:mod:`portal.remembered_pages` and :mod:`portal.merchant_pages`."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint

from citynet.web import form_text, query_arg

blueprint = Blueprint("portal_admin", __name__, url_prefix="/admin",
                      template_folder="templates")

REASON_MAX = 200
LONGEST = {"phone": 32, "mac": 32, "ended": 1, "all": 1}


def now() -> datetime:
    return datetime.now(UTC)


def arg(name: str) -> str:
    """A query parameter given at most once, within its length (else 400), stripped."""
    return query_arg(name, LONGEST[name])


def reason() -> str:
    return form_text("reason")[:REASON_MAX]
