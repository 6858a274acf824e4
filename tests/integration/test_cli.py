"""The `citynet` command as a person runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from citynet.config import from_dict
from citynet.db import Store
from radius import records
from radius.models import AccountingRecord, RadiusSession
from tests.support import CITYNET

LONG_SECRET = "a-nas-secret-of-16+"  # nas add refuses shorter ones
TYPED_TWICE = "topsecret-of-16+\ntopsecret-of-16+\n"  # the prompt and its confirmation


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.data_dir = tmp_path / "var"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CITYNET_")}
        self.env["CITYNET_DATA_DIR"] = str(self.data_dir)

    def __call__(self, *args: str, input: str | None = None, code: int = 0,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([CITYNET, *args], capture_output=True, text=True, input=input,
                                env={**self.env, **(env or {})}, timeout=120, check=False)
        assert result.returncode == code, (result.stdout, result.stderr)
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    cli("demo", "--seed-only")
    return cli


def test_help_teaches(cli: Cli) -> None:
    out = cli("--help").stdout
    assert "citynet demo" in out and "CITYNET_<SECTION>__<KEY>" in out
    # every role, not "the web app" alone (issue 18: radius, web, collect)
    assert "RADIUS, the web app, the collectors" in out
    assert "Examples:" in cli("inventory", "import", "--help").stdout


def test_bad_config_stops_with_one_line(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[web]\nprot = 8080\n")
    result = cli("--config", str(bad), "config", "show", code=2)
    assert result.stderr == f"Error: config: web.prot: unknown key (from {bad})\n"
    result = cli("config", "show", code=2, env={"CITYNET_WEB__PORT": "http"})
    assert result.stderr.startswith("Error: config: web.port: Input should be a valid integer")
    assert result.stderr.count("\n") == 1


def test_config_show_masks_secrets(cli: Cli) -> None:
    out = cli("config", "show", env={
        "CITYNET_DATABASE__URL": "postgresql://citynet:hunter2@127.0.0.1/citynet",
        "CITYNET_SECRETS__KEY": "not-shown"}).stdout
    assert "hunter2" not in out and "not-shown" not in out
    assert 'url = "postgresql://citynet:***@127.0.0.1/citynet"' in out


def test_commands_refuse_a_store_without_schema(cli: Cli) -> None:
    result = cli("nas", "list", code=1)
    assert "has no citynet schema yet: run `citynet db upgrade`" in result.stderr
    assert "Traceback" not in result.stderr
    cli("db", "upgrade")
    assert "(no NAS clients" in cli("nas", "list").stderr


def test_demo_seed_is_idempotent_and_shows_the_demo_nas(seeded: Cli) -> None:
    again = seeded("demo", "--seed-only").stdout
    assert "0 records created" in again
    listing = seeded("nas", "list").stdout
    assert "demo-hotspot-gw" in listing and "127.0.0.1" in listing
    assert "demo-radius-secret" not in listing
    streets = seeded("inventory", "show", "streets").stdout
    assert "笋岗" in streets and len(streets.splitlines()) == 11


def test_nas_add_list_remove(seeded: Cli) -> None:
    seeded("nas", "add", "gw-dongmen", "--ip", "10.20.0.0/24", "--vendor", "huawei",
           "--hotspot", "无此热点", input=TYPED_TWICE, code=1)  # no such hotspot
    result = seeded("nas", "add", "gw-dongmen", "--ip", "10.20.0.1/24", "--secret", LONG_SECRET,
                    code=1)
    assert result.stderr == ("Error: --ip: '10.20.0.1/24' has host bits set; did you mean "
                             "10.20.0.0/24?\n")
    seeded("nas", "add", "gw-dongmen", "--ip", "10.20.0.0/24", "--vendor", "huawei",
           input=TYPED_TWICE)
    listing = seeded("nas", "list").stdout
    assert "gw-dongmen" in listing and "10.20.0.0/24" in listing and "topsecret" not in listing
    assert "exists" in seeded("nas", "add", "gw-dongmen", "--ip", "10.9.9.9", "--secret",
                              LONG_SECRET, code=1).stderr
    seeded("nas", "remove", "gw-dongmen")
    assert "no NAS named 'gw-dongmen'" in seeded("nas", "remove", "gw-dongmen", code=1).stderr
    seeded("nas", "add", "ac-1", "--ip", "10.30.0.1", "--secret", LONG_SECRET, "--vendor",
           "huawei", "--portal-login-url", "https://10.30.0.1:8443/portal/login")
    exported = yaml.safe_load(seeded("inventory", "export").stdout)
    [ac] = [n for n in exported["nas"] if n["name"] == "ac-1"]
    assert ac.get("portal_login_url") == "https://10.30.0.1:8443/portal/login"
    assert ac.get("uam_secret") is None  # an option not given is not the text "None"


def test_import_reports_every_problem_and_writes_nothing(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "nas.csv"
    path.write_text("name,address,secret,vendor\n"
                    f"gw1,10.0.0.1,{LONG_SECRET},huawei\n"
                    f"gw2,10.0.0.300,{LONG_SECRET},huawei\n"
                    f"gw3,10.0.0.3,{LONG_SECRET},nokia\n")
    result = seeded("inventory", "import", str(path), code=3)
    assert result.stderr.splitlines() == [
        f"{path}:3: address: '10.0.0.300' is not an IP address or CIDR network",
        f"{path}:4: vendor: 'nokia' is not one of: coovachilli, huawei, h3c, ruijie, cisco, "
        "mikrotik, other",
        "Error: 2 problems; nothing was imported",
    ]
    assert "gw1" not in seeded("nas", "list").stdout


def test_dry_run_counts_and_writes_nothing(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "streets.csv"
    path.write_text("name,name_en\n新街道,New Street\n笋岗,Sungang\n")
    out = seeded("inventory", "import", "--dry-run", str(path)).stdout
    assert "dry run" in out and "1 new, 0 updated, 1 unchanged" in out
    assert "新街道" not in seeded("inventory", "show", "streets").stdout
    seeded("inventory", "import", str(path))
    assert "新街道" in seeded("inventory", "show", "streets").stdout


def test_export_then_import_through_the_cli(seeded: Cli, tmp_path: Path) -> None:
    out_dir = tmp_path / "export"
    seeded("inventory", "export", "--format", "csv", "--out", str(out_dir))
    assert sorted(p.name for p in out_dir.iterdir())[:3] == [
        "access_points.csv", "buildings.csv", "communities.csv"]
    assert "sealed:" in (out_dir / "nas.csv").read_text()
    counts = seeded("inventory", "import", "--dry-run", str(out_dir)).stdout.splitlines()[1:]
    assert len(counts) == 9  # every kind, nothing new, nothing changed
    assert all("0 new, 0 updated" in line for line in counts), counts
    yaml_text = seeded("inventory", "export", "--kind", "streets").stdout
    assert yaml_text.startswith("streets:\n- name: 东晓\n")


def test_backup_and_restore_commands(seeded: Cli, tmp_path: Path) -> None:
    backup_dir = tmp_path / "bk"
    assert "backup written to" in seeded("backup", "--to", str(backup_dir)).stdout
    seeded("nas", "add", "after", "--ip", "10.1.1.1", "--secret", LONG_SECRET)
    seeded("restore", "--from", str(backup_dir), "--yes")
    assert "after" not in seeded("nas", "list").stdout
    snapshot = backup_dir / "citynet.sqlite3"
    snapshot.write_bytes(snapshot.read_bytes()[:1000])
    result = seeded("restore", "--from", str(backup_dir), "--yes", code=1)
    assert "truncated or replaced" in result.stderr


def test_missing_key_is_a_start_up_error(seeded: Cli) -> None:
    (seeded.data_dir / "secret.key").unlink()
    result = seeded("serve", code=1)
    assert "holds encrypted secrets but no key was found" in result.stderr
    assert "Traceback" not in result.stderr


def test_secrets_rotate(seeded: Cli) -> None:
    old = (seeded.data_dir / "secret.key").read_text()
    # the demo NAS's shared and UAM secrets, the demo device password
    assert "re-sealed 3 secrets" in seeded("secrets", "rotate").stdout
    assert (seeded.data_dir / "secret.key").read_text() != old
    seeded("nas", "list")  # still opens with the rotated key


def test_dry_run_with_secrets_on_a_new_store_creates_no_key(cli: Cli, tmp_path: Path) -> None:
    cli("db", "upgrade")
    path = tmp_path / "nas.csv"
    path.write_text(f"name,address,secret\ngw1,10.0.0.1,{LONG_SECRET}\n")
    assert "1 new" in cli("inventory", "import", "--dry-run", str(path)).stdout
    assert not (cli.data_dir / "secret.key").exists()
    cli("inventory", "import", str(path))
    assert (cli.data_dir / "secret.key").exists()


def test_vouchers_create_prints_codes_that_log_in(seeded: Cli) -> None:
    import json

    from radius import vouchers

    rows = json.loads(seeded("vouchers", "create", "--count", "3", "--minutes", "45",
                             "--devices", "2", "--batch", "library", "--json").stdout)
    assert len(rows) == 3 and len({r["code"] for r in rows}) == 3
    assert all(vouchers.normalise(r["code"]) for r in rows)
    assert {(r["minutes"], r["devices"], r["batch"]) for r in rows} == {(45, 2, "library")}
    plain = seeded("vouchers", "create", "--count", "2", "--minutes", "10")
    assert len(plain.stdout.split()) == 2 and "2 vouchers, 10 min" in plain.stderr
    assert "--count" in seeded("vouchers", "create", "--minutes", "10", code=2).stderr


def test_records_and_audit_commands(seeded: Cli) -> None:
    assert "login records: 0 rows, chain intact" in seeded("audit", "verify").stdout
    assert "at least 60 days" in seeded("records", "purge", "--older-than-days", "30",
                                        code=1).stderr
    assert "purged 0 login records older than 180 days" in seeded("records", "purge").stdout
    assert "give at least one of" in seeded("records", "search", code=2).stderr
    # a mistyped MAC is said to be one, not answered with "0 records"
    assert "is not a MAC address" in seeded("records", "search", "--mac", "00:1b:a9:12:34",
                                            code=2).stderr
    # a limit past any store's is a usage error, not a traceback
    assert "--limit" in seeded("records", "search", "--identity", "13800138000", "--limit",
                               "99999999999999999999", code=2).stderr
    header = seeded("records", "search", "--phone", "13800138000", "--csv").stdout
    assert header.startswith("chain,seq,at,event,result,identity,method,nas,mac,")


def test_records_purge_takes_accounting_records_and_ended_sessions_too(seeded: Cli) -> None:
    """The same purge as the leader's: login records, accounting records and stopped
    sessions past retention; a live session, however old, stays."""
    old = datetime.now(UTC) - timedelta(days=200)
    store = Store.from_config(from_dict({"data_dir": str(seeded.data_dir)}))
    try:
        with store.session() as session:
            records.append(session, [records.LoginEvent(old, "login", "accept",
                                                        "13800138000", "voucher", "gw")])
            session.add(AccountingRecord(dedupe_key="old", received_at=old, nas="gw",
                                         status="stop", session_id="s-1"))
            session.add_all(RadiusSession(nas="gw", session_id=f"s-{n}", started_at=old,
                                          updated_at=old, stopped_at=stopped)
                            for n, stopped in ((1, old), (2, None)))
        out = seeded("records", "purge").stdout.splitlines()
        assert out[0].startswith("purged 1 login records older than 180 days (before ")
        assert out[1] == "purged 1 accounting records and 1 ended sessions as old"
        with store.session() as session:
            assert list(session.scalars(select(RadiusSession.session_id))) == ["s-2"]
            assert records.verify(session) == (0, [])
    finally:
        store.close()
    assert "login records: 0 rows, chain intact" in seeded("audit", "verify").stdout


def test_messages_speak_the_chosen_language(seeded: Cli) -> None:
    """English by default (what the commands always printed); --lang, else the
    environment's locale (LC_ALL, LC_MESSAGES, LANG: the first set wins), chooses."""
    def added(name: str, *options: str, env: dict[str, str] | None = None) -> str:
        return seeded(*options, "staff", "add", name, "--role", "auditor", "--generate",
                      env=env).stdout.splitlines()[0]

    assert added("a.default") == "added a.default (auditor)"
    assert added("b.hant", "--lang", "zh-Hant") == "已新增 b.hant（auditor）"
    assert added("c.hans", env={"LANG": "zh_CN.UTF-8"}) == "已添加 c.hans（auditor）"
    assert added("d.hk", env={"LANG": "zh_HK.UTF-8"}) == "已新增 d.hk（auditor）"
    assert added("e.c", env={"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}) == "added e.c (auditor)"
    assert added("f.en", "--lang", "en", env={"LANG": "zh_TW.UTF-8"}) == "added f.en (auditor)"
    missing = seeded("--lang", "zh-CN", "merchants", "remove", "nobody", code=1)
    assert missing.stderr == "Error: 没有名为 'nobody' 的商户\n"
    assert "Invalid value for '--lang'" in seeded("--lang", "fr", "config", "show",
                                                 code=2).stderr
