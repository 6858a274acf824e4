"""A web worker killed in the middle of a voucher login (issue 18, fault 7): `citynet serve
--role web --role radius` with gunicorn's two workers on PostgreSQL, a phone walking the
portal over real HTTP through the gateway simulator (its /logon asks citynet's RADIUS).
The worker serving the phone's voucher POST is held inside its transaction (the test
holds the consent table's lock) and killed with -9 there; the phone's retry — the same
form, to whichever worker answers — logs it in, and the voucher is spent once.
`make soak` does it to five phones in a row, each with its own voucher, a worker killed
under each."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from citynet.config import Config
from citynet.db import Store
from portal.consent import Consent
from portal.simulator import Simulator
from radius import vouchers
from radius.records import LoginRecord
from tests.conftest import make_config
from tests.integration.citynet.test_roles import Serve, children
from tests.integration.ha.load import audit_verify
from tests.integration.portal.conftest import NAS_SECRET, NASID, UAM_SECRET, add_hotspot_nas
from tests.support import http_answers, wait_until

MAC = "AA-BB-CC-DD-EE-{:02X}"  # one phone's MAC per round


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None  # the phone follows each redirect itself


class Phone:
    """A browser with cookies: the portal's session cookie and the gateway's."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.page = ""

    def open(self, url: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        """One request: its status and where it redirects (or "")."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(url, data=data, timeout=30) as reply:
                self.page = reply.read().decode()
                return reply.status, ""
        except urllib.error.HTTPError as answer:
            self.page = answer.read().decode(errors="replace")
            return answer.code, answer.headers.get("Location", "")

    def follow(self, url: str, form: dict[str, str] | None = None) -> int:
        status, location = self.open(url, form)
        while location:
            url = urllib.parse.urljoin(url, location)
            status, location = self.open(url)
        return status

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.page)
        assert found, "no CSRF token on the page"
        return found.group(1)


def serving(port: int) -> int | None:
    """The PID of the process on this machine whose TCP socket has local port ``port``."""
    done = subprocess.run(["ss", "-tnpH", "state", "established", f"sport = :{port}"],
                          capture_output=True, text=True, check=False, timeout=30)
    found = re.search(r"pid=(\d+)", done.stdout)
    return int(found.group(1)) if found else None


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("phones", [1, pytest.param(5, marks=pytest.mark.soak)])
def test_a_web_worker_killed_during_a_voucher_login(
        pg_database: str, tmp_path: Path, open_store: Callable[[Config], Store],
        phones: int) -> None:
    config = make_config(tmp_path, database={"url": pg_database})
    store = open_store(config)
    store.upgrade()
    add_hotspot_nas(config, store)
    with store.session() as session:
        codes = [v.code for v in vouchers.create(session, phones, 60, 1, "fault7",
                                                  valid_days=1)]
    serve = Serve(config, tmp_path, "web", "radius", web__workers="2")
    process = serve.start(ready_lines=2)
    base = f"http://127.0.0.1:{serve.web}"
    gateway = Simulator(f"{base}/portal/", "127.0.0.1", serve.auth, serve.acct, NAS_SECRET,
                        NASID, UAM_SECRET)
    gateway.start()
    victims: list[int] = []
    try:
        wait_until(lambda: http_answers(base + "/healthz"), "gunicorn workers", process)
        for round_, code in enumerate(codes):
            victims.append(_kill_a_worker_mid_login(process, pg_database, base, gateway,
                                                    code, MAC.format(round_)))
    finally:
        gateway.stop()
        serve.stop()
    with store.session() as session:
        spent = session.execute(select(vouchers.Voucher.code, vouchers.Voucher.devices_used)
                                .where(vouchers.Voucher.code.in_(codes))).all()
        slots = session.scalar(select(func.count()).select_from(vouchers.VoucherDevice))
        accepted = session.scalars(select(LoginRecord.identity).where(
            LoginRecord.event == "login", LoginRecord.result == "accept")).all()
        consents = session.scalar(select(func.count()).select_from(Consent))
    print(f"\nworkers {victims} killed -9 inside a voucher POST each; every retry logged "
          f"its phone in: {len(accepted)} login records for {phones} phones, device slots "
          f"{slots}, {consents} consent rows")
    assert sorted(spent) == sorted((code, 1) for code in codes)  # each spent once
    assert slots == phones
    assert sorted(accepted) == sorted(codes)
    # the killed worker's consent INSERT is one autocommitted statement: its server
    # session does not notice the dead client until it answers, so once the lock goes
    # it commits — a second consent row for one login, harmless (consent is a record
    # of what the person agreed to, not a spend)
    assert consents is not None and consents >= phones
    audit_verify(config)


def _kill_a_worker_mid_login(process: subprocess.Popen[bytes], pg_database: str, base: str,
                             gateway: Simulator, code: str, mac: str) -> int:
    """One phone's voucher POST held in its worker's transaction, the worker killed -9,
    the phone's retry logged in through the gateway; the killed worker's PID."""
    workers = [pid for pid in children(process.pid)
               if b"--parent" not in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(workers) == 2
    phone = Phone()
    gateway_url = f"http://{gateway.address}:{gateway.port}"
    assert phone.follow(f"{gateway_url}/news?sim-mac={mac}") == 200
    form = {"code": code, "consent": "1", "csrf": phone.csrf()}
    with psycopg.connect(pg_database) as holder:
        # hold the consent table: the voucher POST's worker waits inside its transaction
        holder.execute(f"LOCK TABLE {Consent.__tablename__} IN ACCESS EXCLUSIVE MODE")
        first: dict[str, object] = {}
        post = threading.Thread(target=lambda: first.update(
            answer=_attempt(phone, f"{base}/portal/voucher", form)))
        post.start()
        with psycopg.connect(pg_database, autocommit=True) as blocked:
            wait_until(lambda: blocked.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE '%portal_consent%'").fetchone() == (1,),
                "the voucher POST waiting inside its transaction", process)
            port = blocked.execute(
                "SELECT client_port FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE '%portal_consent%'").fetchone()
        assert port is not None
        victim = serving(port[0])
        assert victim is not None and victim in workers, (victim, workers)
        os.kill(victim, signal.SIGKILL)
        post.join(timeout=60)
        holder.rollback()  # the lock goes; the killed worker's transaction died with it
    assert isinstance(first.get("answer"), Exception), first  # the phone saw it fail
    # the phone's retry: the same form, to whichever worker answers
    status, logon = phone.open(f"{base}/portal/voucher", form)
    assert status == 303, phone.page[:500]
    assert urllib.parse.urlsplit(logon).path == "/logon"
    assert phone.follow(urllib.parse.urljoin(gateway_url, logon)) == 200
    wait_until(lambda: len(set(children(process.pid)) - set(workers)) >= 1,
               "gunicorn to replace the killed worker", process)
    return victim


def _attempt(phone: Phone, url: str, form: dict[str, str]) -> object:
    try:
        return phone.open(url, form)
    except Exception as failure:  # what the phone saw, checked by the test
        return failure
