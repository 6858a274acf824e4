"""A NAS's retry that fails over to the other node (issue 18): two listeners on one
store, the same Access-Request datagram sent to each — as CoovaChilli re-sends its queued
packet to radiusserver2 when the first server's answer never came. The second node
answers what the first decided; one login, one login record."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from citynet.config import Config, RadiusConfig
from citynet.crypto import open_box
from citynet.db import Store
from radius import codec, retries, vouchers
from radius.decisions import Decision
from radius.records import LoginRecord
from radius.retries import DecidedRequest
from radius.service import RadiusService
from radius.wire import Code
from tests.integration.radius.conftest import SECRET, add_nas

pytestmark = pytest.mark.slow


@pytest.fixture
def two_nodes(backend_config: Config, store: Store) -> Iterator[list[RadiusService]]:
    """Two RADIUS services on one database, each with a store (engine) of its own, as
    two nodes have."""
    add_nas(backend_config, store)
    stores = [store, Store.from_config(backend_config)]
    services = [RadiusService(s, open_box(backend_config, s),
                              RadiusConfig(bind="127.0.0.1", auth_port=0, acct_port=0))
                for s in stores]
    for service in services:
        service.start()
    try:
        yield services
    finally:
        for service in services:
            service.stop()
        stores[1].close()


def exchange(service: RadiusService, datagram: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(10)
        sock.sendto(datagram, ("127.0.0.1", service.ports[0]))
        return sock.recv(4096)


def request(code: str, mac: str, identifier: int) -> bytes:
    """A CoovaChilli-like Access-Request (PAP, signed): a fresh Request Authenticator
    each time it is made, the very same bytes each time it is re-sent."""
    return codec.encode_request(Code.ACCESS_REQUEST, SECRET.encode(), {
        "User-Name": code, "Calling-Station-Id": mac, "NAS-Identifier": "test-gw",
        "Called-Station-Id": "AA-BB-CC-00-00-01:Luohu-Free"},
        identifier=identifier, password=code)


def logins(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(LoginRecord)
                                  .where(LoginRecord.event == "login")) or 0)


def test_a_retry_to_the_other_node_is_answered_as_decided_and_recorded_once(
        store: Store, two_nodes: list[RadiusService]) -> None:
    first, second = two_nodes
    with store.session() as session:
        [voucher] = vouchers.create(session, 1, 60, 1, "test", valid_days=30)
    sent = request(voucher.code, "AA-BB-CC-DD-EE-01", identifier=7)

    answered = exchange(first, sent)  # the first node decides, records and answers...
    retried = exchange(second, sent)  # ...the answer is lost; the NAS tries the other
    assert answered[0] == Code.ACCESS_ACCEPT
    assert retried == answered  # the very same answer: same attributes, same signature
    assert logins(store) == 1
    assert second.writer.retries == 1 and first.writer.retries == 0

    # a new request of the same device (a new authenticator) is a new login
    again = exchange(second, request(voucher.code, "AA-BB-CC-DD-EE-01", identifier=7))
    assert again[0] == Code.ACCESS_ACCEPT
    assert logins(store) == 2
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(DecidedRequest)) == 2


def test_a_refused_retry_is_refused_again_without_a_second_record(
        store: Store, two_nodes: list[RadiusService]) -> None:
    first, second = two_nodes
    sent = request("WRONG-CODE-1", "AA-BB-CC-DD-EE-02", identifier=9)
    answered = exchange(first, sent)
    assert answered[0] == Code.ACCESS_REJECT
    assert exchange(second, sent) == answered
    assert logins(store) == 1


def test_forgetting_in_batches_drops_every_expired_request_and_no_other(store: Store) -> None:
    """The purge goes a batch to a transaction (SQLite's write lock is RADIUS's too), and
    leaves the lock free between batches: what it removes is what one DELETE would."""
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    decided = Decision(True, {"Session-Timeout": 1800}, "voucher", "", "someone")
    expired = {f"expired-{n}": decided for n in range(7)}
    kept = {"kept-0": decided, "kept-1": decided}
    with store.session() as session:
        for decided_at, decisions in ((now - retries.KEEP - timedelta(seconds=1), expired),
                                      (now - retries.KEEP + timedelta(seconds=1), kept)):
            claimed, _known = retries.claim(session, decisions, decided_at)
            assert retries.remember(session, claimed, decisions) == len(decisions)
    pauses: list[float] = []
    assert retries.forget(store, now - retries.KEEP, batch=3, pause=pauses.append) == 7
    with store.session() as session:
        assert set(session.scalars(select(DecidedRequest.request_key))) == set(kept)
    assert len(pauses) == 2  # after the batches of 3 and 3, none after the last (1)
    assert all(pause >= retries.FORGET_PAUSE for pause in pauses)


@pytest.mark.postgres
def test_on_postgresql_a_round_claims_and_remembers_in_the_same_few_statements(
        pg_database: str, statements: list[str]) -> None:
    """Whatever the round's size, psycopg is given the same texts (and the round trips do
    not grow): the claims, the others' decisions recalled, the decisions, the claims
    given up."""
    store = Store(pg_database)
    decided = Decision(True, {"Session-Timeout": 1800}, "voucher", "", "someone")
    at = datetime(2026, 12, 7, 3, tzinfo=UTC)
    try:
        store.upgrade()
        texts, recalled = [], []
        for size in (4, 80):
            earlier = {f"{size}-earlier-{n}": decided for n in range(size // 2)}
            with store.session() as session:
                claimed, _known = retries.claim(session, earlier, at)
                retries.remember(session, claimed, earlier)
            keys = [*earlier, *(f"{size}-new-{n}" for n in range(size // 2))]
            statements.clear()
            with store.session() as session:
                claimed, known = retries.claim(session, keys, at)
                # every new one decided but the last: nobody waited for it any more
                fresh = {key: decided for key in sorted(claimed)[:-1]}
                assert retries.remember(session, claimed, fresh) == len(fresh)
            texts.append([sql for sql in statements if "decided_request" in sql])
            assert (claimed, known) == (set(keys) - set(earlier), earlier)
            with store.session() as session:
                recalled.append(retries.recall(session, keys))
        assert texts[0] == texts[1]
        assert len(texts[1]) == 4  # claim, recall, fill, give up
        assert [len(found) for found in recalled] == [3, 79]  # the given-up claim is gone
    finally:
        store.close()
