"""Headers a response gets by default: added where it has none, never over its own
(the name compared as HTTP does, whatever its case)."""

from __future__ import annotations

from werkzeug.datastructures import Headers

from citynet.web import headers_by_default


def test_a_default_fills_an_absent_header_and_leaves_a_set_one() -> None:
    headers = Headers([("content-security-policy", "default-src 'none'"),
                       ("Content-Type", "text/html")])
    headers_by_default(headers, [("Content-Security-Policy", "default-src 'self'"),
                                 ("X-Frame-Options", "DENY")])
    assert headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert headers["X-Frame-Options"] == "DENY"
    assert len(headers) == 3
