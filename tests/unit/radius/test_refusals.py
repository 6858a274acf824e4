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
    ("eap: No mutually acceptable types found",
     "EAP method not offered (EAP-TLS, PEAP and TTLS are)"),
    ("eap: EAP-Identity Unknown", "no EAP identity"),
    ("", "rejected by FreeRADIUS"),
])
def test_freeradius_refusals_are_named(failure: str, reason: str) -> None:
    assert refusal_reason(failure) == reason


@pytest.mark.parametrize(("eap_type", "reason"), [
    ("NAK", "the device declined the EAP method (EAP NAK)"),
    (3, "the device declined the EAP method (EAP NAK)"),
    ("TLS", "rejected by FreeRADIUS"), (None, "rejected by FreeRADIUS")])
def test_a_nak_without_a_message_is_named(eap_type: object, reason: str) -> None:
    assert refusal_reason("", eap_type) == reason


def test_every_reason_fits_the_record() -> None:
    from radius.refusals import CERTIFICATE_ERRORS, DECLINED, EAP_ERRORS
    reasons = [*CERTIFICATE_ERRORS.values(), *EAP_ERRORS.values(), DECLINED]
    assert max(len(reason) for reason in reasons) <= 64
