"""FreeRADIUS's own refusals named for the records."""

from __future__ import annotations

import pytest

from radius.refusals import refusal_reason


@pytest.mark.parametrize(("failure", "reason"), [
    # what FreeRADIUS 3.2.1 put in Module-Failure-Message (seen in its tests here)
    ("eap_tls: (TLS) OpenSSL says error 19 : self-signed certificate in certificate chain",
     "certificate not from the district CA"),
    ("eap_tls: (TLS) OpenSSL says error 20 : unable to get local issuer certificate",
     "certificate not from the district CA"),
    ("eap_tls: (TLS) OpenSSL says error 10 : certificate has expired", "certificate expired"),
    ("eap_tls: (TLS) OpenSSL says error 9 : certificate is not yet valid",
     "certificate not yet valid"),
    ("eap_tls: (TLS) OpenSSL says error 23 : certificate revoked", "certificate revoked"),
    ("eap_tls: (TLS) OpenSSL says error 12 : CRL has expired",
     "CRL expired: publish one (citynet nac crl)"),
    ("mschap: MS-CHAP2-Response is incorrect", "wrong password"),
    # what citynet has no better words for is kept as FreeRADIUS said it
    ("eap_tls: (TLS) OpenSSL says error 7 : certificate signature failure",
     "eap_tls: (TLS) OpenSSL says error 7 : certificate signature failure"),
    ("eap_tls: (TLS) Alert write:fatal:internal error",
     "eap_tls: (TLS) Alert write:fatal:internal error"),
    ("PEAP is not allowed for role student", "PEAP is not allowed for role student"),
    ("", "rejected by FreeRADIUS"),
])
def test_freeradius_refusals_are_named(failure: str, reason: str) -> None:
    assert refusal_reason(failure) == reason


def test_every_reason_fits_the_record() -> None:
    from radius.refusals import CERTIFICATE_ERRORS
    assert max(len(reason) for reason in CERTIFICATE_ERRORS.values()) <= 64
