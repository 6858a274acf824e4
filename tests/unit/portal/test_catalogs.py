"""The portal's catalogs: what it must say is in them. The checks every package with
catalogs passes (catalogs complete, translated, compiled; templates without literal
text) are in tests/unit/test_every_catalog.py."""

from __future__ import annotations

from tests.unit.catalog_checks import packages, used_msgids


def test_the_portal_has_catalogs_the_common_checks_cover() -> None:
    assert "portal" in packages()


def test_the_portal_uses_its_messages() -> None:
    used = used_msgids("portal")
    assert "Luohu Free WiFi" in used  # a template's _()
    assert "Wrong code" in used  # portal.i18n's N_()
    assert len(used) > 60
