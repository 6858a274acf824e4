"""The hand-off URL as NAS administrators write it, and what the portal tells a device's
OS about it (RFC 8908) when the NAS stands between them."""

from __future__ import annotations

import pytest

from radius import vouchers
from tests.integration.portal.conftest import Hotspot


@pytest.mark.parametrize("portal_url", ["http://localhost/portal",
                                        "http://localhost/portal/"])
def test_the_handoff_url_works_with_and_without_its_trailing_slash(
        hotspot: Hotspot, portal_url: str) -> None:
    # CoovaChilli uses its uamserver verbatim and signs the URL as it built it: a
    # redirect to /portal/ would change the URL its md covers
    hotspot.gateway.portal_url = portal_url
    with hotspot.store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
    person = hotspot.person()
    landing = person.arrive()
    assert landing.status_code == 200, landing.status_code
    assert "上网券" in landing.get_data(as_text=True)
    page = person.finish(person.post("/portal/voucher", code=voucher.code, consent="1"))
    assert "已连接" in page.get_data(as_text=True)
