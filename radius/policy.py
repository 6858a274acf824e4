"""Who may log in, and on what terms: Access-Request in, Decision out.

Credential sources so far: printed vouchers (User-Name and User-Password are both the
code, by PAP or by CHAP as CoovaChilli's UAM sends it). Reply-Messages are bilingual so a
NAS can show them as they are.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from citynet.db import Store
from radius import codec, vouchers
from radius.accounting import CLASS_PREFIX
from radius.decisions import Decision, LoginAttempt, attempt_of
from radius.nas import NasEntry
from radius.records import normal_mac

log = logging.getLogger(__name__)

INTERIM_INTERVAL = 300  # seconds between Interim-Updates we ask the NAS for
IDLE_TIMEOUT = 900

MESSAGES = {
    "unknown voucher": "上网券无效",
    "voucher revoked": "上网券已作废",
    "voucher used up": "上网券已用完",
    "voucher already in use on its allowed devices": "上网券已在允许的设备上使用",
    "wrong password": "密码错误",
    "service busy, try again": "服务繁忙，请重试",
}

def reject(reason: str, method: str = "") -> Decision:
    return Decision(False, {"Reply-Message": f"{reason} / {MESSAGES.get(reason, '')}"},
                    method=method, reason=reason)


def password_matches(attempt: LoginAttempt, candidates: list[str]) -> bool:
    if attempt.chap is not None:
        chap_password, challenge = attempt.chap
        return any(codec.chap_ok(chap_password, challenge, c) for c in candidates)
    given = attempt.password
    if given is None:
        return False
    return vouchers.normalise(given) in candidates or given in candidates


class VoucherPolicy:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, request: codec.Request, nas: NasEntry) -> Decision:
        return self.decide(attempt_of(request), nas.name)

    def decide(self, attempt: LoginAttempt, nas: str) -> Decision:
        user = attempt.user
        code = vouchers.normalise(user)
        if code is None:
            return reject("unknown voucher")
        if not password_matches(attempt, [code, user, vouchers.display(code)]):
            return reject("wrong password", "voucher")
        mac = normal_mac(attempt.calling_station) or f"unknown@{nas}"
        result, rechecked = None, False
        for _attempt in range(5):
            try:
                with self.store.session() as session:
                    result = vouchers.redeem(session, code, mac, datetime.now(UTC),
                                             self.store.is_sqlite)
            except OperationalError as exc:
                # SQLite: another redemption committed first (snapshot conflict); retry
                log.debug("voucher redemption retried: %s", exc.orig)
                continue
            if result.reason != vouchers.IN_USE or rechecked:
                break
            # The slot may have gone to this same device in a concurrent first login,
            # committed after this transaction began: look once more in a new transaction.
            rechecked = True
        if result is None:
            return reject("service busy, try again", "voucher")
        if not result.ok:
            return reject(result.reason, "voucher")
        return Decision(True, {
            "Session-Timeout": result.seconds_left,
            "Idle-Timeout": IDLE_TIMEOUT,
            "Acct-Interim-Interval": INTERIM_INTERVAL,
            "Class": CLASS_PREFIX + b"voucher",  # echoed in accounting: the logout's method
        }, method="voucher")
