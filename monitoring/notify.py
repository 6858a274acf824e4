"""How alert notices leave citynet: a JSON POST to each ``monitoring.alert_webhooks`` URL
and an e-mail per notice to ``monitoring.mail_to``. The only module that sends them.

Every notice on every channel gets a :class:`~monitoring.alerts.Delivery` (ok, or why
not); one channel failing never stops the others. Webhooks: 5 s timeout, two retries with
backoff for connection errors, timeouts and 5xx; a 4xx is not retried (the receiver
refused this body). E-mail: one SMTP session for the batch, plain SMTP to a relay (there
are no settings for TLS or a login). A webhook URL is shown and logged by its origin
only: chat webhooks carry their token in the path.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

from citynet.config import Config
from citynet.jsonpost import post_json
from monitoring.alerts import Delivery, Notice, duration_text, local_time, zone
from monitoring.settings import MonitoringConfig

log = logging.getLogger(__name__)

TIMEOUT = 5.0
ATTEMPTS = 3  # the first try and two retries
BACKOFF = 0.5  # seconds before the first retry, doubled for the next
SUBJECT_CHARS = 120
HEADLINE = {"firing": "告警/Alert", "resolved": "恢复/Resolved"}


def origin(url: str) -> str:
    """``https://hooks.example.com:443/…``: scheme, host and port, no path or userinfo."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}{rest}"


def headline(notice: Notice) -> str:
    """The e-mail subject (and the chat line): ``[citynet] 告警/Alert: AP … down since …``."""
    text = " ".join(notice.detail.split())
    if len(text) > SUBJECT_CHARS:
        text = text[:SUBJECT_CHARS - 1] + "…"
    return f"[citynet] {HEADLINE[notice.state]}: {text}"


def payload(notice: Notice) -> dict[str, object]:
    """The webhook body: the notice's fields, its idempotency key (``id``), plus ``text``
    for chat webhooks that show it."""
    return {**notice.as_dict(), "id": notice.idempotency_key, "text": headline(notice)}


def post(url: str, body: bytes, *, timeout: float = TIMEOUT, attempts: int = ATTEMPTS,
         backoff: float = BACKOFF, sleep: Callable[[float], None] = time.sleep,
         key: str = "") -> str:
    """POST ``body`` as JSON (with ``Idempotency-Key: key`` when given); "" when a 2xx
    came back, else what went wrong last."""
    headers = {"Idempotency-Key": key} if key else None
    posted = post_json(url, body, timeout=timeout, attempts=attempts, backoff=backoff,
                       headers=headers, sleep=sleep)
    return "" if posted.ok or not posted.failures else posted.failures[-1].reason


def message(notice: Notice, config: Config) -> EmailMessage:
    """One notice as a bilingual plain-text e-mail."""
    where = zone(config)
    mail = EmailMessage()
    mail["Subject"] = headline(notice)
    settings = config.section(MonitoringConfig)
    mail["From"] = settings.mail_from
    mail["To"] = ", ".join(settings.mail_to)
    lines = [notice.detail, "",
             f"规则 / Rule:      {notice.rule}",
             f"对象 / Subject:   {notice.subject}",
             f"状态 / State:     {notice.state}",
             f"级别 / Severity:  {notice.severity}",
             f"开始 / Since:     {local_time(notice.since, where)}",
             f"时间 / At:        {local_time(notice.at, where)}"]
    if notice.lasted is not None:
        lines.append(f"持续 / Lasted:    {duration_text(notice.lasted)}")
    mail.set_content("\n".join(lines) + "\n")
    return mail


def mail(notices: Sequence[Notice], config: Config, *,
         timeout: float = TIMEOUT) -> list[Delivery]:
    """Each notice as its own e-mail, over one SMTP session."""
    settings = config.section(MonitoringConfig)
    target = ", ".join(settings.mail_to)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            out = []
            for notice in notices:
                try:
                    refused = smtp.send_message(message(notice, config))
                except (smtplib.SMTPException, OSError) as exc:
                    out.append(Delivery(notice, "email", target, _smtp_error(exc)))
                    continue
                if refused:  # some recipients took it: not sent again to all of them
                    log.warning("alert e-mail refused for %s", ", ".join(sorted(refused)))
                out.append(Delivery(notice, "email", target))
            return out
    except (smtplib.SMTPException, OSError) as exc:
        problem = f"{settings.smtp_host}:{settings.smtp_port}: {_smtp_error(exc)}"
        return [Delivery(n, "email", target, problem) for n in notices]


def _smtp_error(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "every recipient refused"
    return f"{type(exc).__name__}: {exc}"


def deliver(notices: Sequence[Notice], config: Config, *,
            sleep: Callable[[float], None] = time.sleep,
            timeout: float = TIMEOUT) -> list[Delivery]:
    """Every notice to every webhook, then by e-mail; one Delivery per notice and channel.
    A URL that stays unreachable through its retries is not tried again for the rest of
    the batch (fifty notices would otherwise wait out fifty rounds of timeouts)."""
    out = []
    for url in config.section(MonitoringConfig).alert_webhooks:
        unreachable = ""
        for notice in notices:
            if unreachable:
                out.append(Delivery(notice, "webhook", origin(url), unreachable))
                continue
            body = json.dumps(payload(notice), ensure_ascii=False).encode()
            problem = post(url, body, timeout=timeout, sleep=sleep,
                           key=notice.idempotency_key)
            out.append(Delivery(notice, "webhook", origin(url), problem))
            if problem and not problem.startswith("HTTP 4"):
                unreachable = f"{problem} (not tried again in this batch)"
    settings = config.section(MonitoringConfig)
    if settings.smtp_host and settings.mail_to and notices:
        out += mail(notices, config, timeout=timeout)
    for failed in (d for d in out if not d.ok):
        log.warning("alert %s (%s) not delivered by %s to %s: %s", failed.notice.key,
                    failed.notice.state, failed.channel, failed.target, failed.error)
    return out


def channels(config: Config) -> list[str]:
    """The configured channels, as shown to a person."""
    settings = config.section(MonitoringConfig)
    found = [f"webhook {origin(url)}" for url in settings.alert_webhooks]
    if settings.smtp_host and settings.mail_to:
        found.append(f"email {', '.join(settings.mail_to)}")
    return found


def trial_notice(now: datetime | None = None) -> Notice:
    """A notice that says it is a test (``citynet alerts test``)."""
    moment = now or datetime.now(UTC)
    return Notice("test", "citynet", "firing",
                  "Test notice from citynet: this channel works / 测试通知：此通道正常",
                  moment, moment, "info")
