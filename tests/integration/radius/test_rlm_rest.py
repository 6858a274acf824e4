"""The rlm_rest API's contract over real HTTP (the RADIUS service with its UDP ports off,
as beside FreeRADIUS): access rules, status codes, records."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from citynet import catalogs
from citynet.config import Config, RadiusConfig
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from citynet.domains import registered
from citynet.tunnel import TunnelAnswer, TunnelLogin, Verdict
from radius import records, tokens, vouchers
from radius.models import AccountingRecord
from radius.rlm_rest import STATUS
from radius.service import RadiusService
from tests.integration.radius.conftest import SECRET, add_nas
from tests.support import free_port, status_server, wait_until

TOKEN = "t0ken"


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Api:
    url: str
    service: RadiusService

    def post(self, path: str, data: Any, token: str = TOKEN) -> Answer:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        request = urllib.request.Request(f"{self.url}/{path}", data=raw, method="POST",
                                         headers={"X-Citynet-Token": token,
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, response.read())
        except urllib.error.HTTPError as refused:
            with refused:
                return Answer(refused.code, refused.read())


@contextmanager
def api(store: Store, box: SecretBox | None = None, **radius: Any) -> Iterator[Api]:
    config = RadiusConfig(**{"rest_token": TOKEN, "rest_port": 0, **radius})
    service = RadiusService(store, box, config, udp=False)
    service.start()
    try:
        yield Api(service.api_url, service)
    finally:
        service.stop()


def body(**attributes: Any) -> dict[str, Any]:
    return {name: {"type": "string", "value": [value]} for name, value in attributes.items()}


def post(client: Api, section: str, data: Any, token: str = TOKEN) -> Answer:
    return client.post(f"{section}?nas=gw", data, token)


def test_status_contract_is_freeradius_s() -> None:
    assert STATUS == {"ok": 204, "updated": 200, "reject": 401, "notfound": 404,
                      "userlock": 403, "fail": 503}


@pytest.mark.parametrize(("token", "allow", "status"), [
    ("wrong", ["127.0.0.1/32"], 403),
    ("", ["127.0.0.1/32"], 403),
    ("t0ken\xff", ["127.0.0.1/32"], 403),  # not UTF-8 on the wire: refused, not a 500
    (TOKEN, ["192.0.2.0/24", "::1/128"], 403),
    (TOKEN, ["127.0.0.0/8"], 401),  # allowed: gets the real answer (no valid login token)
])
def test_access_rules(sqlite_store: Store, token: str, allow: list[str], status: int) -> None:
    with api(sqlite_store, rest_allow=allow) as client:
        assert post(client, "authorize", body(**{"User-Name": "nobody"}),
                    token).status == status
        assert sum(client.service.api.refusals.values()) == (status == 403)  # type: ignore[union-attr]


def test_without_a_token_there_is_no_api(sqlite_store: Store) -> None:
    service = RadiusService(sqlite_store, None, RadiusConfig(rest_port=0), udp=False)
    assert service.api is None  # FreeRADIUS finds nobody there: fail, so reject


def test_one_service_answers_on_its_udp_ports_and_its_api(sqlite_store: Store,
                                                          sqlite_config: Config) -> None:
    """`citynet serve` with the listener on and a token set: both, on one loop."""
    add_nas(sqlite_config, sqlite_store)
    config = RadiusConfig(rest_token=TOKEN, rest_port=0, auth_port=0, acct_port=0)
    service = RadiusService(sqlite_store, open_box(sqlite_config, sqlite_store), config)
    service.start()
    try:
        assert "RADIUS on" in service.describe() and "rlm_rest API on" in service.describe()
        with catalogs.speaking("zh-Hant", registered()):
            said = service.describe()
        assert said.startswith(f"RADIUS 於 {config.bind} 監聽：認證 {service.ports[0]}/udp，")
        assert "rlm_rest API 於 http://" in said and said.endswith("1 個 NAS")
        assert status_server(service.ports[0], SECRET.encode()) is not None
        answer = Api(service.api_url, service).post(
            "authorize?nas=test-gw", body(**{"User-Name": "nobody"}))
        assert answer.status == 401
    finally:
        service.stop()


def test_two_processes_worth_of_services_share_the_api_port(sqlite_store: Store) -> None:
    """A node's listener processes serve the API on one port (SO_REUSEPORT, share_ports);
    each answers."""
    port = free_port()
    config = RadiusConfig(rest_token=TOKEN, rest_port=port)
    services = [RadiusService(sqlite_store, None, config, udp=False, share_ports=True)
                for _ in range(2)]
    for service in services:
        service.start()
    try:
        assert {service.api_port for service in services} == {port}
        client = Api(services[0].api_url, services[0])
        for _ in range(24):  # a connection each: the kernel spreads them by source port
            assert post(client, "authorize", body(**{"User-Name": "nobody"})).status == 401
        # both took calls (all 24 to one of two: a chance of one in eight million)
        assert all(service.writer.batches > 0 for service in services)
    finally:
        for service in services:
            service.stop()


def test_the_api_on_ipv6_loopback(sqlite_store: Store) -> None:
    with api(sqlite_store, rest_bind="::1", rest_allow=["::1/128"]) as client:
        assert client.url.startswith("http://[::1]:")
        assert post(client, "authorize", body(**{"User-Name": "nobody"})).status == 401


def test_radius_serve_refuses_to_run_nothing(sqlite_store: Store, sqlite_config: Config) -> None:
    from click.testing import CliRunner

    from citynet.cli import cli

    env = {"CITYNET_DATA_DIR": str(sqlite_config.data_path), "CITYNET_RADIUS__ENABLED": "false",
           "CITYNET_RADIUS__REST_TOKEN": ""}
    result = CliRunner().invoke(cli, ["radius", "serve"], env=env)
    assert result.exit_code != 0 and "nothing to run" in result.output


def test_bad_calls_are_refused_with_the_reason(sqlite_store: Store) -> None:
    with api(sqlite_store) as client:
        for path, data in (("authorize?nas=gw", b"not json"),
                           ("authorize?nas=gw", ["not", "an", "object"]),
                           ("authorize", body(**{"User-Name": "x"})),
                           ("accounting", {})):
            refused = client.post(path, data)
            assert refused.status == 400 and refused.body
        too_big = client.post("authorize?nas=gw", b"{" + b" " * 70_000 + b"}")
        assert too_big.status == 413
        assert client.post("nothing-here?nas=gw", {}).status == 404
        # an attribute not in rlm_rest's form is no attribute: the login has no User-Name
        odd = post(client, "authorize", {"User-Name": {"type": "string", "value": "x"}})
        assert odd.status == 401
        # an attribute in a form FreeRADIUS never sends: 400, with which and why
        for name, value in (("CHAP-Password", "plain text"), ("User-Password", ["a", "b"]),
                            ("User-Name", 42), ("User-Name", "名" * 254)):  # > 253 bytes
            refused = post(client, "authorize", {"User-Name": {"value": ["u"]},
                                                 name: {"type": "string", "value": [value]}})
            assert refused.status == 400 and name.encode() in refused.body


def test_authorize_decides_in_one_call_and_authenticate_agrees(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
        code = voucher.code
    with api(sqlite_store) as client:
        good = post(client, "authorize", body(**{"User-Name": code, "User-Password": code}))
        assert good.status == 200 and good.json()["control:Auth-Type"] == "Accept"
        assert 1700 < good.json()["reply:Session-Timeout"] <= 1800
        assert good.json()["reply:Class"] == "0x" + f"citynet:voucher:{code}".encode().hex()
        assert good.json()["control:Citynet-Decided"] == "accept"
        bad = post(client, "authorize", body(**{"User-Name": code, "User-Password": "nope"}))
        assert bad.status == 401
        assert bad.json() == {"reply:Reply-Message": "wrong password / 密码错误",
                              "control:Citynet-Decided": "reject"}
        nobodys = post(client, "authorize",
                       body(**{"User-Name": "ZZZZZZZZZZ", "User-Password": "x"}))
        assert nobodys.status == 404  # notfound: a module after ours may claim it
        again = post(client, "authenticate", body(**{"User-Name": code, "User-Password": code}))
        assert again.status == 200 and "control:Auth-Type" not in again.json()
        assert post(client, "authenticate", body(**{"User-Name": code, "User-Password": "no"})
                    ).status == 401
    with sqlite_store.session() as session:  # every decision recorded, in order
        rows = records.search(session, identity=code)
        assert [row.result for row in rows] == ["accept", "wrong password", "accept",
                                                "wrong password"]


def test_accounting_is_stored_once_and_answered(sqlite_store: Store) -> None:
    start = body(**{"User-Name": "u1", "Acct-Status-Type": "Start",
                    "Acct-Session-Id": "rest-1", "Framed-IP-Address": "10.8.0.9"})
    with api(sqlite_store) as client:
        assert post(client, "accounting", start).status == 204
        assert post(client, "accounting", start).status == 204  # FreeRADIUS's retry
        # a record that can never be stored is answered (no endless retries), not stored
        assert post(client, "accounting", body(**{"User-Name": "u1"})).status == 204
        assert post(client, "accounting", body(**{
            "User-Name": "u1", "Acct-Status-Type": "Interim-Update", "Acct-Session-Id":
            "rest-1", "Acct-Input-Octets": "lots"})).status == 204
    with sqlite_store.session() as session:
        assert [r.event for r in records.search(session)] == ["session-start"]


def test_post_auth_records_what_freeradius_decided_alone(sqlite_store: Store) -> None:
    failure = "rlm_pap: Cleartext password does not match " + "x" * 80
    with api(sqlite_store) as client:

        def post_auth(query: str, **attributes: Any) -> Answer:
            return client.post(f"post-auth?nas=gw&{query}", body(**attributes))

        assert post_auth("packet=Access-Reject&auth=PAP", **{
            "User-Name": "staff-7", "User-Password": "hunter2", "Calling-Station-Id":
            "AA-BB-CC-DD-EE-07", "Module-Failure-Message": failure}).status == 204
        assert post_auth("packet=Access-Accept&auth=Accept",
                         **{"User-Name": "staff-8"}).status == 204
        for query in ("", "packet=Access-Challenge", "packet=access-accept"):  # nothing else
            refused = post_auth(query, **{"User-Name": "staff-9"})
            assert refused.status == 400 and b"packet" in refused.body
    with sqlite_store.session() as session:
        rows = [(r.identity, r.method, r.result, r.mac) for r in records.search(session)]
    assert rows == [("staff-7", "fr:pap", failure[:64], "aa:bb:cc:dd:ee:07"),
                    ("staff-8", "fr:accept", "accept", "")]



def test_an_8021x_login_freeradius_refused_is_recorded_with_its_port(
        sqlite_store: Store) -> None:
    """A refused 802.1X login is recorded at its switch port like an admitted one (so
    `records search --port` finds it)."""
    with api(sqlite_store) as client:
        assert client.post("post-auth?nas=sw-1&packet=Access-Reject&auth=eap", body(**{
            "User-Name": "t001", "Calling-Station-Id": "00-1B-A9-00-00-01",
            "NAS-Port-Id": "GigabitEthernet0/0/7",
            "Module-Failure-Message": "eap_tls: (TLS) Alert write:fatal:internal error"})
            ).status == 204
    with sqlite_store.session() as session:
        [row] = records.search(session, identity="t001")
    assert (row.identity, row.method, row.called_station) == (
        "t001", "fr:eap", "port:GigabitEthernet0/0/7")

def test_concurrent_calls_share_rounds_and_all_get_answers(store: Store) -> None:
    """Calls on many connections at once: every one answered, one unbroken chain (on
    SQLite, concurrent calls once failed with 'database is locked')."""
    with store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
        code = voucher.code
    statuses: list[int] = []
    barrier = threading.Barrier(16)
    with api(store) as client:
        batches = client.service.writer.batches

        def login() -> None:
            barrier.wait(timeout=30)
            for _ in range(5):
                statuses.append(post(client, "authenticate", body(**{
                    "User-Name": code, "User-Password": code,
                    "Calling-Station-Id": "AA-BB-CC-DD-EE-01"})).status)

        threads = [threading.Thread(target=login) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        rounds = client.service.writer.batches - batches
    assert statuses == [200] * 80
    assert rounds < 80  # calls that came in together were decided together
    with store.session() as session:
        assert records.verify(session) == (80, [])  # one chain, no fork, no gap


def test_a_store_failure_is_a_fail_and_keeps_nothing(sqlite_store: Store) -> None:
    """503 — FreeRADIUS's fail: the login is rejected, the accounting left unanswered
    (the NAS retries)."""
    with sqlite_store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
        code = voucher.code
    with api(sqlite_store) as client:
        with sqlite_store.session() as session:
            session.execute(text("DROP TABLE login_record"))
        assert post(client, "authorize", body(**{"User-Name": code, "User-Password": code})
                    ).status == 503
        assert post(client, "accounting", body(**{
            "User-Name": "u1", "Acct-Status-Type": "Start", "Acct-Session-Id": "lost"})
                    ).status == 503
    with sqlite_store.session() as session:
        assert session.scalars(select(AccountingRecord)).all() == []
        assert session.execute(text("SELECT devices_used FROM voucher")).scalar() == 0


def test_a_portal_token_logs_in_through_the_api(sqlite_store: Store,
                                                sqlite_config: Config) -> None:
    box = open_box(sqlite_config, sqlite_store, create=True)
    assert box is not None
    with sqlite_store.session() as session:
        token = tokens.issue(session, box, "13800138000", "totp")
    with api(sqlite_store, box=box) as client:
        stranger = body(**{"User-Name": "13900139000", "User-Password": token})
        refused = post(client, "authorize", stranger)  # a phone number: refused, with why
        assert refused.status == 401
        assert "登录凭证无效" in refused.json()["reply:Reply-Message"]
        login = body(**{"User-Name": "13800138000", "User-Password": token})
        good = post(client, "authorize", login)
        assert good.status == 200
        assert good.json()["reply:Class"] == "0x" + b"citynet:totp:13800138000".hex()
        assert post(client, "authorize", login).status == 401  # once only


def attribute_values(*likely: str) -> st.SearchStrategy[Any]:
    """What rlm_rest sends ({"type": ..., "value": [...]}) and anything else, with the
    ``likely`` strings (a real voucher code, a MAC) among the leaves to reach policy."""
    leaves = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
              | st.text() | st.sampled_from(likely))
    json_values = st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.text(), inner, max_size=3), max_leaves=8)
    return st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "octets", "integer", "ipaddr"]),
         "value": st.lists(json_values, max_size=2)}) | json_values


NAMES = st.sampled_from([
    "User-Name", "User-Password", "CHAP-Password", "CHAP-Challenge", "Calling-Station-Id",
    "Called-Station-Id", "Framed-IP-Address", "Class", "Acct-Status-Type", "Acct-Session-Id",
    "Acct-Session-Time", "Acct-Input-Octets", "Acct-Input-Gigawords", "Acct-Delay-Time",
    "H3C-NAT-Start-Port", "Module-Failure-Message", "Anything-Else"])


def rlm_rest(**attributes: Any) -> dict[str, Any]:
    """Attributes as rlm_rest posts them."""
    return {name: {"type": "string", "value": [value]} for name, value in attributes.items()}


def test_any_json_body_gets_a_defined_answer(store: Store) -> None:
    """Whatever FreeRADIUS (or anybody with the token) posts: one of the contract's
    statuses or a 400, never a 500 — and the service keeps answering. On both stores:
    PostgreSQL refuses text longer than its column, SQLite does not."""
    with store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 2, "t", valid_days=1)
        code = voucher.code
    mac = "AA-BB-CC-DD-EE-01"
    values = attribute_values(code, mac, "0x00ff", "Start", "Interim-Update")
    logins = st.fixed_dictionaries({
        "User-Name": st.sampled_from([code, mac, "13800138000"]),
        "User-Password": st.sampled_from([code, "wrong"]),
        "Calling-Station-Id": st.sampled_from([mac, "x"])}).map(lambda login: rlm_rest(**login))
    start = {"Acct-Status-Type": "Start", "Acct-Session-Id": "s1"}
    seen: set[tuple[str, int]] = set()
    with api(store) as client:

        @settings(max_examples=200, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(section=st.sampled_from(["authorize", "authenticate", "accounting",
                                        "post-auth?packet=Access-Reject&auth=PAP&x=1"]),
               attributes=st.builds(lambda login, extra: {**login, **extra}, logins,
                                    st.dictionaries(NAMES, values, max_size=5)))
        # policy's three answers, and inputs found by review: JSON's Infinity, a counter
        # beyond 32 bits, a lone surrogate
        @example("authorize", rlm_rest(**{"User-Name": code, "User-Password": code,
                                          "Calling-Station-Id": mac}))
        @example("authorize", rlm_rest(**{"User-Name": mac, "Calling-Station-Id": mac}))
        @example("authorize", rlm_rest(**{"User-Name": "13800138000", "User-Password": "x"}))
        @example("accounting", rlm_rest(**start, **{"Acct-Session-Time": float("inf")}))
        @example("accounting", rlm_rest(**start, **{"Acct-Input-Gigawords": 1 << 40}))
        @example("authorize", rlm_rest(**{"User-Name": "\ud800"}))
        # longer than a RADIUS attribute (a 400), and as long as one but longer than the
        # column that keeps it (stored, cut to fit)
        @example("authorize", rlm_rest(**{"User-Name": "u" * 254, "User-Password": "x"}))
        @example("authorize", rlm_rest(**{"User-Name": "名" * 253, "User-Password": "x"}))
        @example("accounting", rlm_rest(**{**start, "User-Name": "a\u0000b"}))
        @example("accounting", rlm_rest(**{**start, "Calling-Station-Id": "m" * 253,
                                           "Acct-Session-Id": "s" * 253}))
        @example("post-auth?packet=Access-Accept&auth=PAP&x=1",
                 rlm_rest(**{"User-Name": "u", "Called-Station-Id": "c" * 253}))
        def check(section: str, attributes: dict[str, Any]) -> None:
            path, _, query = section.partition("?")
            answer = client.post(f"{path}?nas=gw" + (f"&{query}" if query else ""), attributes)
            seen.add((path, answer.status))
            assert answer.status in {200, 204, 400, 401, 404}, (answer.status,
                                                                answer.body[:200])

        check()
        assert post(client, "authorize", body(**{"User-Name": "nobody"})).status == 401
    assert {("authorize", 200), ("authorize", 401), ("authorize", 404),
            ("authorize", 400), ("accounting", 400)} <= seen


def scrape(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # no token: Prometheus
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, ""


def events(text: str, event: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "citynet_radius_events_total"
               and sample.labels == {"event": event})


def test_the_api_serves_the_radius_role_s_metrics(sqlite_store: Store) -> None:
    with api(sqlite_store) as client:
        metrics_url = client.url.removesuffix("/radius/rest") + "/metrics"
        status, before = scrape(metrics_url)
        assert status == 200
        start = body(**{"User-Name": "u1", "Acct-Status-Type": "Start",
                        "Acct-Session-Id": "metrics-1"})
        assert post(client, "accounting", start).status == 204
        assert post(client, "accounting", start, token="wrong").status == 403
        status, after = scrape(metrics_url)
    assert status == 200
    for event in ("rlm_rest accounting 204",
                  "rlm_rest refused: no valid X-Citynet-Token (radius.rest_token)"):
        assert events(after, event) - events(before, event) == 1
    assert "citynet_radius_round_seconds_bucket" in after


def test_the_api_s_metrics_are_for_the_allowed_addresses_only(sqlite_store: Store) -> None:
    config = RadiusConfig(rest_token=TOKEN, rest_port=0)  # type: ignore[arg-type]
    service = RadiusService(sqlite_store, None, config, udp=False,
                            metrics_allow=["10.9.0.0/16"])
    service.start()
    try:
        assert scrape(service.api_url.removesuffix("/radius/rest") + "/metrics")[0] == 404
    finally:
        service.stop()


@pytest.mark.parametrize(("vendor", "up", "down"), [
    ("huawei", "Huawei-Input-Average-Rate", "Huawei-Output-Average-Rate"),
    ("h3c", "H3C-Input-Average-Rate", "H3C-Output-Average-Rate")])
def test_a_huawei_or_h3c_nas_gets_its_own_rate_attributes(sqlite_config: Config,
                                                          sqlite_store: Store, vendor: str,
                                                          up: str, down: str) -> None:
    """The same vendor attributes the UDP listener adds (radius.vendors), on this path."""
    from radius import profiles
    from radius.profiles import Terms

    with sqlite_store.session() as session:
        profiles.save(session, Terms(name="rated", bandwidth_up_kbps=2000,
                                     bandwidth_down_kbps=8000))
        voucher, second = vouchers.create(session, 2, 30, 1, "t", valid_days=1)
    add_nas(sqlite_config, sqlite_store, policy="rated", vendor=vendor, name="ac")
    add_nas(sqlite_config, sqlite_store, address="127.0.0.2", policy="rated")  # test-gw
    with api(sqlite_store, open_box(sqlite_config, sqlite_store)) as client:
        said = client.post("authorize?nas=ac", body(**{"User-Name": voucher.code,
                                                       "User-Password": voucher.code})).json()
        other = client.post("authorize?nas=test-gw", body(**{
            "User-Name": second.code, "User-Password": second.code})).json()
    assert (said[f"reply:{up}"], said[f"reply:{down}"]) == (2_000_000, 8_000_000)
    assert said["reply:WISPr-Bandwidth-Max-Down"] == 8_000_000  # kept beside them
    assert other["reply:WISPr-Bandwidth-Max-Up"] == 2_000_000
    assert not [name for name in other if "Average-Rate" in name]  # CoovaChilli: WISPr only


def _tunnel_source(login: TunnelLogin) -> TunnelAnswer:
    """A domain's answers, by name (the contract in citynet/tunnel.py)."""
    if login.user == "broken":
        raise RuntimeError("the store is down")
    if login.user == "pap" and login.password == "right":
        return TunnelAnswer(Verdict.ACCEPT)
    if login.user == "peap" and login.eap_type == "MSCHAPv2":
        return TunnelAnswer(Verdict.CREDENTIALS, control={"NT-Password": "0x" + "ab" * 16})
    if login.user in {"pap", "peap"}:
        return TunnelAnswer(Verdict.REJECT, "wrong password")
    return TunnelAnswer(Verdict.NOTFOUND)


def test_tunnel_logins_are_answered_by_the_registered_sources(sqlite_store: Store) -> None:
    config = RadiusConfig(rest_token=TOKEN, rest_port=0)
    service = RadiusService(sqlite_store, None, config, udp=False,
                            tunnel_sources=[_tunnel_source])
    service.start()
    try:
        client = Api(service.api_url, service)
        accepted = post(client, "tunnel", body(**{"User-Name": "pap", "User-Password": "right"}))
        assert accepted.status == 200 and accepted.json() == {"control:Auth-Type": "Accept"}
        assert post(client, "tunnel", body(**{"User-Name": "pap", "User-Password": "wrong"})
                    ).json() == {"reply:Reply-Message": "wrong password"}
        # FreeRADIUS names the inner EAP type, or rlm_rest sends its number (26)
        for eap_type in ({"type": "integer", "value": ["MSCHAPv2"]},
                         {"type": "integer", "value": [26]}):
            hashed = post(client, "tunnel", {**body(**{"User-Name": "peap"}),
                                             "EAP-Type": eap_type})
            assert hashed.status == 200
            assert hashed.json() == {"control:NT-Password": "0x" + "ab" * 16}
        assert post(client, "tunnel", body(**{"User-Name": "peap"})).status == 401
        assert post(client, "tunnel", body(**{"User-Name": "nobody"})).status == 404
        assert post(client, "tunnel", body(**{"User-Name": "broken"})).status == 503
        assert post(client, "tunnel", {"User-Name": {"type": "string", "value": [42]}}
                    ).status == 400
        counted = dict(service.server.counters)
        assert counted["rlm_rest tunnel 200"] == 3 and counted["rlm_rest tunnel 503"] == 1
    finally:
        service.stop()
    # without sources (no domain registers any) every name is nobody's
    with api(sqlite_store) as client:
        assert post(client, "tunnel", body(**{"User-Name": "pap", "User-Password": "right"})
                    ).status == 404


def test_a_tunnel_password_check_does_not_hold_the_loop(sqlite_store: Store) -> None:
    """A TTLS password is checked on a thread (argon2id takes tens of ms by design), so
    PEAP's lookup, answered on the loop, is not kept waiting behind it."""
    held, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def slow_source(login: TunnelLogin) -> TunnelAnswer:
        if login.password is not None:  # the slow hash: until the test lets it go
            held.set()
            release.wait(timeout=30)
            held.clear()
            return TunnelAnswer(Verdict.ACCEPT)
        seen.append(held.is_set())  # was the password check still running meanwhile?
        return TunnelAnswer(Verdict.CREDENTIALS, control={"NT-Password": "0x" + "ab" * 16})

    config = RadiusConfig(rest_token=TOKEN, rest_port=0)
    service = RadiusService(sqlite_store, None, config, udp=False, tunnel_sources=[slow_source])
    service.start()
    try:
        client = Api(service.api_url, service)
        answers: list[int] = []
        pap = threading.Thread(target=lambda: answers.append(post(client, "tunnel", body(**{
            "User-Name": "pap", "User-Password": "right"})).status))
        pap.start()
        wait_until(held.is_set, "the password check under way", timeout=30)
        peap = post(client, "tunnel", {**body(**{"User-Name": "peap"}),
                                       "EAP-Type": {"type": "integer", "value": [26]}})
        release.set()
        pap.join(timeout=30)
        assert peap.status == 200 and seen == [True]
        assert answers == [200]
    finally:
        release.set()
        service.stop()
