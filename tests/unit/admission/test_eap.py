"""The trust directory FreeRADIUS reads: each CRL under its own name, hash-linked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from admission import ca, eap

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_each_crl_gets_its_own_name_and_the_next_hash_link(tmp_path: Path) -> None:
    authority = ca.new_authority("示范区", NOW)
    first = ca.revocation_list(authority, [], 1, NOW)
    second = ca.revocation_list(authority, [(7, NOW)], 2, ca.next_crl_time(NOW, NOW))
    eap.publish(tmp_path, authority.cert_pem, 1, first)
    eap.publish(tmp_path, authority.cert_pem, 2, second)
    names = sorted(p.name for p in tmp_path.iterdir())
    crl_links = [n for n in names if ".r" in n]
    assert [n for n in names if n.startswith("crl-")] == ["crl-000001.pem", "crl-000002.pem"]
    assert [n.rsplit(".", 1)[1] for n in crl_links] == ["r0", "r1"]
    assert {(tmp_path / n).resolve().name for n in crl_links} == {"crl-000001.pem",
                                                                  "crl-000002.pem"}
    with pytest.raises(eap.TrustDirError, match="CRL numbers only grow"):
        eap.publish(tmp_path, authority.cert_pem, 2, second)


def test_the_eap_module_checks_crl_and_the_name() -> None:
    text = eap.eap_module(eap.TlsFiles(Path("/s.pem"), Path("/s.key"), Path("/trust")))
    assert "ca_path = /trust\n" in text
    assert "check_crl = yes" in text and "check_cert_cn = %{User-Name}" in text
    # behind citynet's post-auth, the holder and revocation are its to check (gate.py)
    text = eap.eap_module(eap.TlsFiles(Path("/s.pem"), Path("/s.key"), Path("/trust")),
                          by_citynet=True)
    assert "check_crl = no" in text and "check_cert_cn" not in text
