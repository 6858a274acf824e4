"""The portal server's Portal-protocol client and notice listener against the fake AC:
both versions, CHAP and PAP, loss, retransmission, wrong secrets, NTF_LOGOUT."""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from portal import acportal
from portal.acclient import (
    AcClient,
    AcEndpoint,
    Drops,
    LoginOutcome,
    LogoutOutcome,
    NoticeListener,
    Timing,
)
from portal.acportal import AuthMethod, DropReason, PacketType, Version
from tests.fakes.ac import FakeAc

SECRET = b"ac-shared-secret-1"
USER_IP = "10.30.0.17"
FAST = Timing(timeout=0.3, tries=3)


def endpoint(fake: FakeAc, secret: bytes = SECRET,
             method: AuthMethod = AuthMethod.CHAP) -> AcEndpoint:
    return AcEndpoint("ac-test", fake.address, fake.port, Version(fake.version), secret, method)


@pytest.fixture(params=[2, 1], ids=["v2", "v1"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeAc]:
    with FakeAc(SECRET, version=request.param, passwords={"alice": "wonder"}) as ac:
        yield ac


@pytest.mark.parametrize("method", list(AuthMethod))
def test_login_logout(fake: FakeAc, method: AuthMethod) -> None:
    client = AcClient(Drops(), FAST)
    answer = client.login(endpoint(fake, method=method), USER_IP, "alice", "wonder")
    assert answer.outcome == LoginOutcome.LOGGED_IN
    assert fake.online[USER_IP].name == "alice"
    assert fake.accounting == [("Start", USER_IP)]
    assert client.logout(endpoint(fake), USER_IP).outcome == LogoutOutcome.LOGGED_OUT
    assert USER_IP not in fake.online
    assert client.logout(endpoint(fake), USER_IP).outcome == LogoutOutcome.NOT_ONLINE


def test_affirmation_reaches_the_ac(fake: FakeAc) -> None:
    AcClient(Drops(), FAST).login(endpoint(fake), USER_IP, "alice", "wonder")
    for _ in range(200):  # AFF_ACK_AUTH has no answer: wait for the AC to take it
        if fake.online[USER_IP].affirmed:
            break
        threading.Event().wait(0.01)
    assert fake.online[USER_IP].affirmed


def test_wrong_password_is_rejected(fake: FakeAc) -> None:
    answer = AcClient(Drops(), FAST).login(endpoint(fake), USER_IP, "alice", "nope")
    assert answer.outcome == LoginOutcome.REJECTED
    assert answer.text == "rejected by RADIUS"
    assert not fake.online


def test_a_second_login_is_told_already_online(fake: FakeAc) -> None:
    client = AcClient(Drops(), FAST)
    client.login(endpoint(fake), USER_IP, "alice", "wonder")
    assert client.login(endpoint(fake), USER_IP, "alice", "wonder").outcome == (
        LoginOutcome.ALREADY_ONLINE)


def test_a_lost_ack_auth_is_answered_again_without_a_second_login(fake: FakeAc) -> None:
    fake.drop_answers[PacketType.ACK_AUTH] = 1
    answer = AcClient(Drops(), FAST).login(endpoint(fake), USER_IP, "alice", "wonder")
    assert answer.outcome == LoginOutcome.LOGGED_IN
    assert fake.received[PacketType.REQ_AUTH] >= 2
    assert fake.accounting == [("Start", USER_IP)]  # one login, not two


def test_the_next_login_of_an_address_is_not_taken_for_the_last_ones_retransmission(
        fake: FakeAc, monkeypatch: pytest.MonkeyPatch) -> None:
    """The AC answers a serial it has just answered for an address with its earlier answer.
    With a random serial per login, a refused login and the next try shared one once in
    65,535: the AC gave the second the first one's challenge, then the first one's ACK_AUTH
    (on v2 signed over the first REQ_AUTH: dropped as wrong_authenticator, no answer). The
    random draw forced to repeat, as it could: the serials still differ."""
    monkeypatch.setattr(secrets, "randbelow", lambda _below: 52458)
    drops = Drops()
    client = AcClient(drops, FAST)
    assert client.login(endpoint(fake), USER_IP, "alice", "nope").outcome == (
        LoginOutcome.REJECTED)
    assert client.login(endpoint(fake), USER_IP, "alice", "wonder").outcome == (
        LoginOutcome.LOGGED_IN)
    assert not drops.counts and fake.online[USER_IP].name == "alice"


class ReleaseHook:
    """The fake AC's lock, running ``then`` (once) right after its next release."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.then: Callable[[], None] | None = None

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *_exc: object) -> None:
        self._lock.release()
        then, self.then = self.then, None
        if then is not None:
            then()


def test_a_retransmission_arriving_as_the_first_copy_is_answered_gets_that_answer() -> None:
    """The AC acts on a request once. A copy that comes just as the first one's answer is
    made (at the lock's next release after acting, where the fake once had neither the
    request in hand nor its answer kept) gets that answer, not a second challenge, after
    which a REQ_AUTH built on the first answer would be "no such challenge"."""
    with FakeAc(SECRET, passwords={"alice": "wonder"}) as fake, socket.socket(
            socket.AF_INET, socket.SOCK_DGRAM) as portal:
        portal.bind(("127.0.0.1", 0))
        portal.settimeout(5)
        request = fake._unpack(acportal.encode(
            acportal.request_challenge(Version.V2, 7, USER_IP), SECRET))
        assert request is not None
        hook, act = ReleaseHook(), fake._act
        fake._lock = hook  # type: ignore[assignment]

        def act_then_retransmit(r: dict[str, Any]) -> bytes | None:
            fake._act = act  # type: ignore[method-assign]
            answer = act(r)
            hook.then = lambda: fake._answer(request, portal.getsockname())
            return answer

        fake._act = act_then_retransmit  # type: ignore[method-assign]
        fake._answer(request, portal.getsockname())
        answers = [portal.recv(4096), portal.recv(4096)]
    assert answers[0] == answers[1]
    given = acportal.decode(answers[0], SECRET, request_authenticator=request["auth"])
    assert given.req_id == fake.challenges[USER_IP][1]  # the challenge the AC keeps


def test_a_lost_request_is_retransmitted(fake: FakeAc) -> None:
    fake.drop_requests[PacketType.REQ_CHALLENGE] = 2
    answer = AcClient(Drops(), FAST).login(endpoint(fake), USER_IP, "alice", "wonder")
    assert answer.outcome == LoginOutcome.LOGGED_IN


def test_ack_auth_never_arriving_leaves_no_half_login(fake: FakeAc) -> None:
    fake.drop_answers[PacketType.ACK_AUTH] = FAST.tries
    answer = AcClient(Drops(), FAST).login(endpoint(fake), USER_IP, "alice", "wonder")
    assert answer.outcome == LoginOutcome.NO_ANSWER
    assert USER_IP not in fake.online  # the timeout logout undid the AC's login
    assert fake.logged_out == [(USER_IP, "portal timeout")]
    assert fake.accounting == [("Start", USER_IP), ("Stop", USER_IP)]


def test_an_unanswered_timeout_logout_is_not_required(fake: FakeAc) -> None:
    # no document says the AC answers REQ_LOGOUT ErrCode 1: without an answer the portal
    # sends its copies and reports the login it never got, nothing more
    fake.drop_answers[PacketType.ACK_AUTH] = FAST.tries
    fake.drop_answers[PacketType.ACK_LOGOUT] = FAST.tries
    answer = AcClient(Drops(), FAST).login(endpoint(fake), USER_IP, "alice", "wonder")
    assert answer.outcome == LoginOutcome.NO_ANSWER
    for _ in range(200):  # the last copies are not waited for: let the AC take them
        if fake.received[PacketType.REQ_LOGOUT] == FAST.tries:
            break
        threading.Event().wait(0.01)
    assert fake.received[PacketType.REQ_LOGOUT] == FAST.tries
    assert USER_IP not in fake.online and fake.logged_out == [(USER_IP, "portal timeout")]


def test_no_challenge_answer_withdraws_the_challenge(fake: FakeAc) -> None:
    fake.drop_answers[PacketType.ACK_CHALLENGE] = FAST.tries
    answer = AcClient(Drops(), FAST).login(endpoint(fake), USER_IP, "alice", "wonder")
    assert answer.outcome == LoginOutcome.NO_ANSWER
    assert USER_IP not in fake.challenges
    assert fake.received[PacketType.REQ_LOGOUT] >= 1


def test_duplicate_answers_are_counted_not_used(fake: FakeAc) -> None:
    fake.answer_twice = True
    drops = Drops()
    answer = AcClient(drops, FAST).login(endpoint(fake), USER_IP, "alice", "wonder")
    assert answer.outcome == LoginOutcome.LOGGED_IN
    assert drops.counts[DropReason.UNEXPECTED_TYPE] >= 1  # the second ACK_CHALLENGE


def test_answers_signed_with_another_secret_are_dropped() -> None:
    with FakeAc(SECRET, passwords={"alice": "wonder"}, sign_secret=b"not the secret") as fake:
        drops = Drops()
        answer = AcClient(drops, FAST).login(endpoint(fake), USER_IP, "alice", "wonder")
    assert answer.outcome == LoginOutcome.NO_ANSWER
    assert drops.counts[DropReason.WRONG_AUTHENTICATOR] >= FAST.tries


def test_the_ac_ignores_requests_signed_with_another_secret() -> None:
    with FakeAc(SECRET, passwords={"alice": "wonder"}) as fake:
        answer = AcClient(Drops(), FAST).login(endpoint(fake, b"wrong secret"), USER_IP,
                                               "alice", "wonder")
    assert answer.outcome == LoginOutcome.NO_ANSWER
    assert fake.bad_authenticator >= FAST.tries


def test_info(fake: FakeAc) -> None:
    answer = AcClient(Drops(), FAST).info(endpoint(fake))
    assert answer is not None and answer.type == PacketType.ACK_INFO


# --- NTF_LOGOUT ---------------------------------------------------------------------

@pytest.fixture
def listening(fake: FakeAc) -> Iterator[tuple[NoticeListener, list[str]]]:
    ended: list[str] = []
    listener = NoticeListener(
        lambda address: endpoint(fake) if address == fake.address else None,
        lambda ac, ip: ended.append(ip), Drops())
    port = listener.start("127.0.0.1", 0)
    fake.portal = ("127.0.0.1", port)
    try:
        yield listener, ended
    finally:
        listener.close()


def test_ntf_logout_ends_the_session_and_is_acknowledged(
        fake: FakeAc, listening: tuple[NoticeListener, list[str]]) -> None:
    AcClient(Drops(), FAST).login(endpoint(fake), USER_IP, "alice", "wonder")
    assert fake.kick(USER_IP)
    assert listening[1] == [USER_IP]


def test_a_repeated_notice_is_acked_once_more_without_a_second_logout(
        fake: FakeAc, listening: tuple[NoticeListener, list[str]]) -> None:
    fake.drop_requests[PacketType.ACK_NTF_LOGOUT] = 1  # our first ack is lost
    assert fake.kick(USER_IP)
    assert listening[1] == [USER_IP]


def _notice(serial: int, secret: bytes = SECRET, version: Version = Version.V2) -> bytes:
    return acportal.encode(acportal.Packet(version, PacketType.NTF_LOGOUT, serial, USER_IP),
                           secret)


def test_notices_refused_by_reason() -> None:
    now = [0.0]
    ac = AcEndpoint("ac", "192.0.2.1", 2000, Version.V2, SECRET)
    ended: list[str] = []
    drops = Drops()
    listener = NoticeListener(lambda a: ac if a == ac.address else None,
                              lambda _ac, ip: ended.append(ip), drops, clock=lambda: now[0])
    assert listener.handle(_notice(1), "192.0.2.9") is None
    assert listener.handle(_notice(1, b"wrong"), ac.address) is None
    assert listener.handle(_notice(1, version=Version.V1), ac.address) is None
    assert listener.handle(b"\x02\x08\x00", ac.address) is None
    first = listener.handle(_notice(1), ac.address)
    assert first is not None
    now[0] = 5.0
    assert listener.handle(_notice(1), ac.address) == first  # the AC missed our ack
    now[0] = 100.0
    assert listener.handle(_notice(1), ac.address) is None  # a replay
    assert ended == [USER_IP]
    assert drops.counts == {DropReason.UNKNOWN_AC: 1, DropReason.WRONG_AUTHENTICATOR: 1,
                            DropReason.BAD_VERSION: 1, DropReason.MALFORMED: 1,
                            DropReason.REPLAYED_SERIAL: 1}


def test_drops_log_one_line_a_minute_per_reason(caplog: pytest.LogCaptureFixture) -> None:
    from citynet.logs import Throttle
    now = [0.0]
    drops = Drops(throttle=Throttle(clock=lambda: now[0]))

    def lines() -> list[str]:
        return [r.message for r in caplog.records if "dropped" in r.message]

    for _ in range(5):
        drops.count(DropReason.WRONG_AUTHENTICATOR, "ac")
    drops.count(DropReason.UNKNOWN_AC, "x")
    assert drops.counts[DropReason.WRONG_AUTHENTICATOR] == 5
    assert len(lines()) == 2  # one per reason
    now[0] = 59.0
    drops.count(DropReason.WRONG_AUTHENTICATOR, "ac")
    assert len(lines()) == 2
    now[0] = 60.0  # a minute after its last line: the next says how many it stands for
    drops.count(DropReason.WRONG_AUTHENTICATOR, "ac")
    assert len(lines()) == 3 and "(6× since the last line" in lines()[-1]


def test_the_listener_survives_garbage(listening: tuple[NoticeListener, list[str]],
                                       fake: FakeAc) -> None:
    assert fake.portal is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for size in (0, 1, 16, 31, 32, 5000):
            sock.sendto(bytes([2, 8]) + bytes(max(0, size - 2)), fake.portal)
    AcClient(Drops(), FAST).login(endpoint(fake), USER_IP, "alice", "wonder")
    assert fake.kick(USER_IP)
    assert listening[1] == [USER_IP]
