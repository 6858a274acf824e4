"""The rlm_rest API's contract, through Flask's client: access rules and status codes."""

from __future__ import annotations

from typing import Any

import pytest

from citynet.config import Config, RadiusConfig
from citynet.crypto import SecretBox, open_box
from citynet.db import Store
from citynet.web import create_app
from radius import records, tokens, vouchers
from radius.rest import STATUS

TOKEN = "t0ken"


def client(store: Store, box: SecretBox | None = None, **radius: Any) -> Any:
    config = Config(radius=RadiusConfig(**{"rest_token": TOKEN, **radius}))
    return create_app(store, config, box=box, test_config={"TESTING": True}).test_client()


def body(**attributes: Any) -> dict[str, Any]:
    return {name: {"type": "string", "value": [value]} for name, value in attributes.items()}


def post(api: Any, section: str, data: dict[str, Any], token: str = TOKEN,
         source: str = "127.0.0.1") -> Any:
    return api.post(f"/radius/rest/{section}?nas=gw", json=data,
                    headers={"X-Citynet-Token": token}, environ_base={"REMOTE_ADDR": source})


def test_status_contract_is_freeradius_s() -> None:
    assert STATUS == {"ok": 204, "updated": 200, "reject": 401, "notfound": 404,
                      "userlock": 403, "fail": 503}


@pytest.mark.parametrize(("token", "source", "status"), [
    ("wrong", "127.0.0.1", 403),
    (TOKEN, "192.0.2.9", 403),
    (TOKEN, "::1", 401),  # allowed: gets the real answer (no valid login token)
])
def test_access_rules(sqlite_store: Store, token: str, source: str, status: int) -> None:
    response = post(client(sqlite_store), "authorize", body(**{"User-Name": "nobody"}),
                    token, source)
    assert response.status_code == status


def test_without_a_token_the_api_fails_closed(sqlite_store: Store) -> None:
    api = client(sqlite_store, rest_token="")
    assert post(api, "authorize", body(**{"User-Name": "x"}), token="").status_code == 503


def test_authorize_decides_in_one_call_and_authenticate_agrees(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
        code = voucher.code
    api = client(sqlite_store)
    good = post(api, "authorize", body(**{"User-Name": code, "User-Password": code}))
    assert good.status_code == 200 and good.get_json()["control:Auth-Type"] == "Accept"
    assert 1700 < good.get_json()["reply:Session-Timeout"] <= 1800
    assert good.get_json()["reply:Class"] == "0x" + f"citynet:voucher:{code}".encode().hex()
    bad = post(api, "authorize", body(**{"User-Name": code, "User-Password": "nope"}))
    assert bad.status_code == 401
    assert bad.get_json() == {"reply:Reply-Message": "wrong password / 密码错误",
                              "control:Citynet-Decided": "reject"}
    assert good.get_json()["control:Citynet-Decided"] == "accept"
    nobodys = post(api, "authorize", body(**{"User-Name": "ZZZZZZZZZZ", "User-Password": "x"}))
    assert nobodys.status_code == 404  # notfound: a module after ours may claim it
    again = post(api, "authenticate", body(**{"User-Name": code, "User-Password": code}))
    assert again.status_code == 200 and "control:Auth-Type" not in again.get_json()
    assert post(api, "authenticate", body(**{"User-Name": code, "User-Password": "nope"})
                ).status_code == 401
    assert post(api, "authorize", ["not", "an", "object"]).status_code == 400
    with sqlite_store.session() as session:  # every decision recorded, in order
        rows = records.search(session, phone=code)
        assert [row.result for row in rows] == ["accept", "wrong password", "accept",
                                                "wrong password"]
    no_nas = api.post("/radius/rest/accounting", json={}, headers={"X-Citynet-Token": TOKEN})
    assert no_nas.status_code == 400


def test_post_auth_records_what_freeradius_decided_alone(sqlite_store: Store) -> None:
    api = client(sqlite_store)

    def post_auth(query: str, **attributes: Any) -> Any:
        return api.post(f"/radius/rest/post-auth?nas=gw&{query}", json=body(**attributes),
                        headers={"X-Citynet-Token": TOKEN})

    failure = "rlm_pap: Cleartext password does not match " + "x" * 80
    assert post_auth("packet=Access-Reject&auth=PAP", **{
        "User-Name": "staff-7", "User-Password": "hunter2", "Calling-Station-Id":
        "AA-BB-CC-DD-EE-07", "Module-Failure-Message": failure}).status_code == 204
    assert post_auth("packet=Access-Accept&auth=Accept",
                     **{"User-Name": "staff-8"}).status_code == 204
    for query in ("", "packet=Access-Challenge", "packet=access-accept"):  # nothing else
        refused = post_auth(query, **{"User-Name": "staff-9"})
        assert refused.status_code == 400 and b"packet" in refused.data
    with sqlite_store.session() as session:
        rows = [(r.identity, r.method, r.result, r.mac) for r in records.search(session)]
    assert rows == [("staff-7", "fr:pap", failure[:64], "aa:bb:cc:dd:ee:07"),
                    ("staff-8", "fr:accept", "accept", "")]


def test_concurrent_logins_all_get_answers(store: Store) -> None:
    """Regression: concurrent calls on SQLite failed with 'database is locked'."""
    import threading

    with store.session() as session:
        [voucher] = vouchers.create(session, 1, 30, 1, "t", valid_days=1)
        code = voucher.code
    app_client = client(store)
    statuses: list[int] = []
    barrier = threading.Barrier(16)

    def login() -> None:
        barrier.wait(timeout=30)
        for _ in range(5):
            response = post(app_client, "authenticate", body(**{
                "User-Name": code, "User-Password": code,
                "Calling-Station-Id": "AA-BB-CC-DD-EE-01"}))
            statuses.append(response.status_code)

    threads = [threading.Thread(target=login) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [200] * 80
    with store.session() as session:
        assert records.verify(session) == (80, [])  # one chain, no fork, no gap


def test_a_portal_token_logs_in_through_the_api(sqlite_store: Store,
                                                sqlite_config: Config) -> None:
    box = open_box(sqlite_config, sqlite_store, create=True)
    assert box is not None
    with sqlite_store.session() as session:
        token = tokens.issue(session, box, "13800138000", "totp")
    api = client(sqlite_store, box=box)
    stranger = body(**{"User-Name": "13900139000", "User-Password": token})
    refused = post(api, "authorize", stranger)  # a phone number: refused with its reason
    assert refused.status_code == 401
    assert "登录凭证无效" in refused.get_json()["reply:Reply-Message"]
    login = body(**{"User-Name": "13800138000", "User-Password": token})
    good = post(api, "authorize", login)
    assert good.status_code == 200
    assert good.get_json()["reply:Class"] == "0x" + b"citynet:totp:13800138000".hex()
    assert post(api, "authorize", login).status_code == 401  # once only
