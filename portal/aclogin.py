"""A login through a Portal-protocol AC, including what to do when the AC says the
address is already online (ErrCode 2 in ACK_CHALLENGE or ACK_AUTH: "link already
established").

If citynet has the device's open session at that AC, the device is online and the login
is a success. If it has none, the AC holds a login citynet does not know of — its
accounting Start was lost, citynet closed the session (a NTF_LOGOUT or Disconnect the AC
missed), or another portal logged the address in — and the person would be online
outside citynet's policy, limits and records. So the portal logs the address out at the
AC and logs it in again, once, with the credentials just verified: RADIUS decides, and the
AC's accounting starts a session citynet knows. Each such case is logged and counted
(``citynet_portal_ac_relogins_total``). docs/portal.md has the reasoning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from citynet import metrics
from citynet.db import Store
from portal import capport
from portal.acclient import AcAnswer, AcClient, AcEndpoint, LoginOutcome, LogoutOutcome

log = logging.getLogger(__name__)

RELOGINS = metrics.counter(
    "citynet_portal_ac_relogins", "logins an AC answered 'already online' for a device "
    "citynet had no open session of: logged out at the AC and logged in again, by outcome",
    ["outcome"])


def login(client: AcClient, endpoint: AcEndpoint, device: capport.Asker, user_name: str,
          password: str, *, user_mac: bytes | None, store: Store,
          interim_of: Callable[[str], int]) -> AcAnswer:
    """Log ``device`` (its address, MAC as vouched for, and NAS) in at ``endpoint``."""
    answer = client.login(endpoint, device.ip, user_name, password, user_mac=user_mac)
    if answer.outcome != LoginOutcome.ALREADY_ONLINE:
        return answer
    with store.session() as db:
        known = capport.open_session(db, device, datetime.now(UTC), interim_of)
    if known is not None:
        return AcAnswer(LoginOutcome.LOGGED_IN, answer.text)
    log.warning("portal: AC %s says %s is already online, but no session of it is open "
                "here: logging it out at the AC and in again", endpoint.name, device.ip)
    out = client.logout(endpoint, device.ip)
    if out.outcome == LogoutOutcome.NO_ANSWER:
        RELOGINS.labels("no_answer").inc()
        return AcAnswer(LoginOutcome.NO_ANSWER)
    again = client.login(endpoint, device.ip, user_name, password, user_mac=user_mac)
    if again.outcome == LoginOutcome.ALREADY_ONLINE:  # the AC kept it: not ours to show
        again = AcAnswer(LoginOutcome.FAILED, again.text)
    RELOGINS.labels(str(again.outcome)).inc()
    return again
