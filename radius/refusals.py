"""FreeRADIUS's own refusals in citynet's words, for the login records.

A login FreeRADIUS refuses itself (an 802.1X certificate refused in the TLS handshake, a
wrong PEAP password) reaches citynet only as its Module-Failure-Message: module-prefixed
text with OpenSSL's verification error inside, cut to the record's column. The causes an
operator acts on are named the way citynet's own refusals are; anything else is kept as
FreeRADIUS said it.
"""

from __future__ import annotations

import re

# OpenSSL's X509_V_ERR_* numbers (x509_vfy.h) that FreeRADIUS's eap_tls reports as
# "OpenSSL says error N : …", by what the operator is to do about them (the CRL's — 3,
# 11, 12, 23 — come only from a FreeRADIUS told to check CRLs: not citynet's generated
# config, which leaves revocation to citynet; a site's own edit of it may)
CERTIFICATE_ERRORS = {
    2: "certificate not from the district CA",  # unable to get issuer certificate
    3: "CRL missing: publish one (citynet nac crl)",  # unable to get CRL
    9: "certificate not yet valid",
    10: "certificate expired",
    11: "CRL not yet valid: check the clocks",
    12: "CRL expired: publish one (citynet nac crl)",
    18: "certificate not from the district CA",  # self-signed
    19: "certificate not from the district CA",  # self-signed CA in the chain
    20: "certificate not from the district CA",  # unable to get local issuer
    21: "certificate not from the district CA",  # unable to verify the first one
    23: "certificate revoked",
    26: "certificate not for client authentication",  # unsupported purpose
}
OPENSSL_ERROR = re.compile(r"OpenSSL says error (\d+)\b")
WRONG_PASSWORD = ("MS-CHAP2-Response is incorrect", "MS-CHAP-Response is incorrect")
# the eap module's own refusals of a device it cannot talk EAP with
EAP_ERRORS = {
    # the device NAK'd asking only for methods not configured (EAP-MD5, EAP-FAST…)
    "No mutually acceptable types found": "EAP method not offered (EAP-TLS, PEAP and TTLS are)",
    # an empty EAP identity: the NAS sends no User-Name
    "EAP-Identity Unknown": "no EAP identity",
}
# a NAK naming no other method (wpa_supplicant's when it cannot run the one offered, e.g.
# EAP-TLS without its certificate): the eap module says nothing, the request's EAP-Type
# (rlm_rest sends its name, or the number) is all there is
NAK = ("NAK", 3)
DECLINED = "the device declined the EAP method (EAP NAK)"
FALLBACK = "rejected by FreeRADIUS"


def refusal_reason(failure: str, eap_type: object = None) -> str:
    """The reason to record for a login FreeRADIUS refused with ``failure`` (its
    Module-Failure-Message; empty when it gave none); ``eap_type``: the refused request's
    EAP-Type, if it had one."""
    found = OPENSSL_ERROR.search(failure)
    if found is not None and int(found[1]) in CERTIFICATE_ERRORS:
        return CERTIFICATE_ERRORS[int(found[1])]
    if any(text in failure for text in WRONG_PASSWORD):
        return "wrong password"
    for text, reason in EAP_ERRORS.items():
        if text in failure:
            return reason
    if not failure and eap_type in NAK:
        return DECLINED
    return failure or FALLBACK
