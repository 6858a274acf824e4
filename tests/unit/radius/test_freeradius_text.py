"""The generated FreeRADIUS config's text where a slip would not fail a login test."""

from __future__ import annotations

from pathlib import Path

from radius.freeradius import CERTIFICATE_DETAILS, FrontConfig, radiusd_conf


def test_an_eap_tls_login_s_serial_reaches_citynet() -> None:
    """The certificate details dropped before post-auth's call never include the client
    certificate's serial: without it citynet would take the login for a name login, and
    (FreeRADIUS behind citynet checking no CN) admit it as whoever the identity names."""
    assert "TLS-Client-Cert-Serial" not in CERTIFICATE_DETAILS
    text = radiusd_conf(Path("/etc/fr"), FrontConfig(("http://127.0.0.1:8812",), "t",
                                                     eap_module="    eap {\n    }\n"))
    assert "&TLS-Client-Cert-Issuer !* ANY" in text
    assert "&TLS-Client-Cert-Serial !*" not in text
