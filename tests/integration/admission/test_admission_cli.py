"""`citynet nac …` end to end over a store: import all or nothing, CA, a .p12 that
opens with the printed password only, revoke, CRL."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from citynet import audit
from citynet.cli import cli
from citynet.config import Config
from citynet.db import Store

GOOD = ("username,real_name,department,phone,role\n"
        "t001,王芳,第一中学,13800000001,teacher\n"
        "a042,张伟,区政务中心,,staff\n")


class Admission:
    def __init__(self, config: Config) -> None:
        self.env = {"CITYNET_DATA_DIR": str(config.data_path),
                    "CITYNET_DATABASE__URL": config.database.url}

    def __call__(self, *args: str, code: int = 0) -> str:
        result = CliRunner().invoke(cli, ["nac", *args], env=self.env)
        assert result.exit_code == code, result.output
        return result.output


@pytest.fixture
def admission(backend_config: Config, store: Store) -> Admission:
    return Admission(backend_config)


def test_a_bad_file_imports_nothing_and_names_every_problem(admission: Admission,
                                                            tmp_path: Path) -> None:
    bad = tmp_path / "hr.csv"
    bad.write_text(GOOD + "t001,重复,,,teacher\nx9,某人,,,janitor\n", encoding="utf-8")
    out = admission("people", "import", str(bad), code=3)
    assert f"{bad}:4: username: duplicate 't001' (first at {bad}:2)" in out
    assert f"{bad}:5: role: one of staff, teacher, student" in out
    assert "2 problems; nothing was imported" in out
    assert "(no people" in admission("people", "list")


def test_people_import_dry_run_list_disable(admission: Admission, store: Store,
                                            tmp_path: Path) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text(GOOD, encoding="utf-8")
    assert "an import would do: 2 new" in admission("people", "import", str(hr), "--dry-run")
    assert "(no people" in admission("people", "list")
    assert "imported: 2 new, 0 updated, 0 unchanged" in admission("people", "import", str(hr))
    assert "0 new, 0 updated, 2 unchanged" in admission("people", "import", str(hr))
    listed = admission("people", "list", "--json")
    assert '"real_name": "王芳"' in listed and '"status": "active"' in listed
    out = admission("people", "disable", "t001")
    assert "t001 disabled" in out and "revoked" not in out  # no certificates yet
    assert "was disabled already" in admission("people", "disable", "t001")
    assert "no person 'zz'" in admission("people", "disable", "zz", code=1)
    # a file that says active again re-enables them: said, and audited like a disabling
    hr.write_text(GOOD.replace("teacher\n", "teacher,active\n").replace(
        "phone,role\n", "phone,role,status\n").replace("staff\n", "staff,active\n"),
        encoding="utf-8")
    assert "it would make active again: t001" in admission("people", "import", str(hr),
                                                           "--dry-run")
    out = admission("people", "import", str(hr))
    assert "t001 active again" in out and "a042 active again" not in out
    with store.session() as session:
        audited = [(e.action, e.target) for e in audit.recent(session, "admission.person")]
    assert ("admission.person.enable", "t001") in audited


def test_issue_revoke_and_crl(admission: Admission, tmp_path: Path) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text(GOOD, encoding="utf-8")
    admission("people", "import", str(hr))
    assert "(`citynet nac ca init` makes one)" in admission(
        "cert", "issue", "t001", "--device", "laptop", "--out", str(tmp_path / "x.p12"),
        code=1)
    # a server name supplicants cannot match is refused before anything is made (a
    # second init is refused: the CA would be stuck with it)
    assert "server name: not a host name" in admission(
        "ca", "init", "--district", "示范区", "--server-name", "radius server", code=1)
    admission("ca", "init", "--district", "示范区", "--server-name", "radius.example.org")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    assert f"cannot write {blocked / 'ca'}" in admission("ca", "export", "--out",
                                                          str(blocked / "ca"), code=1)
    p12 = tmp_path / "t001.p12"
    out = admission("cert", "issue", "t001", "--device", "laptop", "--out", str(p12))
    serial = re.search(r"issued ([0-9a-f]+) to t001 for laptop", out)
    password = re.search(r"one-time password \(shown once, not stored\): (\S+)", out)
    assert serial and password
    assert stat.S_IMODE(p12.stat().st_mode) == 0o600
    _key, cert, _ = pkcs12.load_key_and_certificates(p12.read_bytes(),
                                                     password.group(1).encode())
    assert cert is not None and format(cert.serial_number, "x") == serial.group(1)
    assert password.group(1) not in admission("cert", "list", "--json")
    assert "exists" in admission("cert", "issue", "t001", "--device", "laptop", "--out",
                                 str(p12), code=1)

    renewed = admission("cert", "renew", serial.group(1), "--out", str(tmp_path / "r.p12"))
    assert "to t001 for laptop" in renewed and "one-time password" in renewed
    assert "(no certificates" in admission("cert", "list", "--expiring", "30")
    assert serial.group(1) in admission("cert", "list", "--expiring", "366")
    # days past any certificate's life are a usage error, not a traceback
    assert "--expiring" in admission("cert", "list", "--expiring", "99999999999", code=2)
    assert f"revoked {serial.group(1)} (t001/laptop)" in admission("cert", "revoke",
                                                                   serial.group(1))
    crl_file = tmp_path / "ca.crl"
    assert "CRL number 1" in admission("crl", "--out", str(crl_file))
    crl = x509.load_pem_x509_crl(crl_file.read_bytes())
    assert [format(r.serial_number, "x") for r in crl] == [serial.group(1)]

    other = admission("cert", "issue", "t001", "--device", "phone", "--out",
                      str(tmp_path / "phone.p12"))
    other_serial = re.search(r"issued ([0-9a-f]+) to t001 for phone", other)
    assert other_serial
    disabled = admission("people", "disable", "t001")
    # the renewed laptop certificate and the phone's; the revoked one is not counted
    assert "revoked 2 certificate(s): " in disabled and other_serial.group(1) in disabled

    admission("ca", "export", "--out", str(tmp_path / "radius"))
    server = x509.load_pem_x509_certificate((tmp_path / "radius" / "server.pem").read_bytes())
    assert server.subject.rfc4514_string() == "CN=radius.example.org"


def test_eap_config_and_crls_published_into_the_trust_dir(admission: Admission,
                                                          tmp_path: Path) -> None:
    admission("ca", "init", "--district", "示范区", "--server-name", "radius.example.org")
    out = tmp_path / "eap"
    admission("eap-config", "--out", str(out))
    assert stat.S_IMODE((out / "server.key").stat().st_mode) == 0o600
    module = (out / "eap").read_text()
    assert f"ca_path = {out / 'trust'}\n" in module
    assert f"certificate_file = {out / 'server.pem'}\n" in module
    assert "wrote CRL number 2 to" in admission("crl", "--dir", str(out / "trust"))
    names = sorted(p.name for p in (out / "trust").iterdir())
    assert [n for n in names if n.startswith("crl-")] == ["crl-000001.pem", "crl-000002.pem"]
    assert sorted(n.rsplit(".", 1)[1] for n in names if ".r" in n) == ["r0", "r1"]
    assert "one of --out FILE or --dir" in admission("crl", code=2)


def test_freeradius_config_has_eap_once_anybody_may_be_admitted(
        backend_config: Config, store: Store, tmp_path: Path) -> None:
    env = {"CITYNET_DATA_DIR": str(backend_config.data_path),
           "CITYNET_DATABASE__URL": backend_config.database.url,
           "CITYNET_RADIUS__REST_TOKEN": "a-token"}

    def config(out: Path, code: int = 0, **extra: str) -> str:
        result = CliRunner().invoke(cli, ["freeradius", "config", "--out", str(out)],
                                    env={**env, **extra})
        assert result.exit_code == code, result.output
        return result.output

    plain = tmp_path / "plain"
    assert "EAP" not in config(plain)  # no people, nac.enabled off: public WiFi only
    assert "citynet-inner-tunnel" not in (plain / "radiusd.conf").read_text()
    assert not (plain / "eap").exists()
    # nac.enabled without a CA: a clear answer, nothing half-written
    refused = config(tmp_path / "early", 1, CITYNET_NAC__ENABLED="true")
    assert "citynet nac ca init" in refused
    assert not (tmp_path / "early").exists()
    hr = tmp_path / "hr.csv"
    hr.write_text(GOOD, encoding="utf-8")
    admission = Admission(backend_config)
    admission("people", "import", str(hr))
    admission("ca", "init", "--district", "示范区", "--server-name", "radius.example.org")
    full = tmp_path / "full"
    assert "EAP-TLS, PEAP-MSCHAPv2, EAP-TTLS" in config(full)
    conf = (full / "radiusd.conf").read_text()
    assert "server citynet-inner-tunnel {" in conf and "}/tunnel?nas=" in conf
    assert 'virtual_server = "citynet-inner-tunnel"' in conf
    assert stat.S_IMODE((full / "eap" / "server.key").stat().st_mode) == 0o600
    assert list((full / "eap" / "trust").glob("crl-*.pem"))


@pytest.mark.parametrize(("args", "english"), [
    (("cert", "issue", "nobody", "--device", "x", "--out", "OUT"), "no person 'nobody'"),
    (("cert", "issue", "t001", "--device", " ", "--out", "OUT"), "device: empty"),
    (("cert", "revoke", "nobody"), "no certificate with serial 'nobody'"),
    (("cert", "renew", "ff", "--out", "OUT"), "no certificate with serial 'ff'"),
    (("people", "disable", "nobody"), "no person 'nobody'"),
    (("mab", "add", "02:1b:a9:12:34:56", "--profile", "printer"), "locally administered"),
    (("mab", "add", "00:1b:a9:12:34:56", "--profile", "camera"), "no MAC bypass profile"),
])
def test_refusals_are_said_in_the_command_s_language(
        admission: Admission, tmp_path: Path, args: tuple[str, ...], english: str) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text(GOOD, encoding="utf-8")
    admission("people", "import", str(hr))
    admission("ca", "init", "--district", "示范区", "--server-name", "radius.example.org")
    argv = [str(tmp_path / "x.p12") if arg == "OUT" else arg for arg in args]
    env = {**admission.env, "CITYNET_NAC__MAB_PROFILES": '{"printer": {"vlan": "50"}}'}
    said = CliRunner().invoke(cli, ["--lang", "zh-CN", "nac", *argv], env=env)
    assert said.exit_code == 1, said.output
    error = said.output.strip().splitlines()[-1]
    assert english not in error and re.search(r"[\u4e00-\u9fff]", error), error
    assert english in CliRunner().invoke(cli, ["--lang", "en", "nac", *argv], env=env).output



def _people_and_ca(admission: Admission, tmp_path: Path) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text(GOOD, encoding="utf-8")
    admission("people", "import", str(hr))
    admission("ca", "init", "--district", "示范区", "--server-name", "radius.example.org")


def test_serials_as_openssl_prints_them(admission: Admission, tmp_path: Path) -> None:
    """OpenSSL prints a serial in whole bytes, upper case (`openssl x509 -serial`), with
    colons (-text), FreeRADIUS maybe with a leading zero byte: a serial with an odd count
    of digits (1 in 8) is printed with a leading zero, and revoke and renew take it."""
    _people_and_ca(admission, tmp_path)
    serials = []
    for device in ("laptop", "phone", "tablet"):
        issued = admission("cert", "issue", "t001", "--device", device, "--out",
                           str(tmp_path / f"{device}.p12"))
        serial = re.search(r"issued ([0-9a-f]+) to", issued)
        assert serial
        serials.append(serial.group(1))
    laptop, phone, tablet = serials
    assert f"revoked {laptop} " in admission("cert", "revoke", laptop.zfill(42).upper())
    colons = ":".join(re.findall("..", phone.zfill(42))).upper()
    assert f"revoked {phone} " in admission("cert", "revoke", colons)
    assert "to t001 for tablet" in admission("cert", "renew", tablet.zfill(42), "--out",
                                             str(tmp_path / "r.p12"))


def test_a_certificate_issued_without_a_device_label(admission: Admission,
                                                     tmp_path: Path) -> None:
    """The issue's `cert issue NAME [--device LABEL] --out FILE.p12`."""
    _people_and_ca(admission, tmp_path)
    out = admission("cert", "issue", "a042", "--out", str(tmp_path / "a.p12"))
    assert re.search(r"issued [0-9a-f]+ to a042 for default, valid until", out), out
    assert '"device": "default"' in admission("cert", "list", "--json")


def test_revoking_for_a_person_without_certificates_says_so(admission: Admission,
                                                             tmp_path: Path) -> None:
    _people_and_ca(admission, tmp_path)
    out = admission("cert", "revoke", "a042")
    assert "a042 has no certificates" in out and "revoked already" not in out


def test_freeradius_config_has_eap_once_a_mac_bypass_entry_exists(
        backend_config: Config, store: Store, tmp_path: Path) -> None:
    """The issue: EAP "when any person or MAB entry exists (or nac.enabled)"."""
    env = {"CITYNET_DATA_DIR": str(backend_config.data_path),
           "CITYNET_DATABASE__URL": backend_config.database.url,
           "CITYNET_RADIUS__REST_TOKEN": "a-token",
           "CITYNET_NAC__MAB_PROFILES": '{"printer": {"vlan": "50"}}'}

    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    run("nac", "mab", "add", "00:1b:a9:12:34:56", "--profile", "printer")
    assert "citynet nac ca init" in run("freeradius", "config", "--out",
                                        str(tmp_path / "early"), code=1)
    assert not (tmp_path / "early").exists()
    run("nac", "ca", "init", "--district", "示范区", "--server-name", "radius.example.org")
    assert "EAP-TLS, PEAP-MSCHAPv2, EAP-TTLS" in run("freeradius", "config", "--out",
                                                     str(tmp_path / "full"))
    assert (tmp_path / "full" / "eap" / "server.pem").exists()


def test_an_out_file_that_cannot_be_written_is_a_clear_refusal(admission: Admission,
                                                                tmp_path: Path) -> None:
    _people_and_ca(admission, tmp_path)
    missing = tmp_path / "no-such-dir" / "t001.p12"
    out = admission("cert", "issue", "t001", "--out", str(missing), code=1)
    assert f"cannot write {missing}: No such file or directory" in out
    assert "(no certificates" in admission("cert", "list")  # nothing issued
    assert "cannot write" in admission("crl", "--out", str(tmp_path / "no" / "c.pem"), code=1)


def test_a_directory_that_cannot_be_written_is_a_clear_refusal(admission: Admission,
                                                               tmp_path: Path) -> None:
    _people_and_ca(admission, tmp_path)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    assert f"cannot write {blocked / 'eap'}" in admission(
        "eap-config", "--out", str(blocked / "eap"), code=1)
    assert f"cannot write {blocked / 'trust'}" in admission(
        "crl", "--dir", str(blocked / "trust"), code=1)
