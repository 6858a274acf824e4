"""Policy profiles: the terms a NAS's users get (a NAS names its profile in ``policy``).

A profile says how long a session may last, when an idle one ends, how often the NAS
reports, what bandwidth a device gets, how much time and traffic a person (phone
identity) may use a day, on how many devices at once, and in which language rejections
are worded. A NAS naming a profile that does not exist gets :data:`DEFAULT` (and a
warning), so a typo never locks a district out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from citynet.cache import Reloading
from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.db import Base, Store

log = logging.getLogger(__name__)

LANGUAGES = ("zh-CN", "en", "both")


class PolicyProfile(Base):
    __tablename__ = "radius_profile"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    max_session_minutes: Mapped[int] = mapped_column(Integer)
    idle_timeout: Mapped[int] = mapped_column(Integer)
    interim_interval: Mapped[int] = mapped_column(Integer)
    bandwidth_up_kbps: Mapped[int] = mapped_column(Integer)
    bandwidth_down_kbps: Mapped[int] = mapped_column(Integer)
    daily_minutes: Mapped[int] = mapped_column(Integer)
    daily_megabytes: Mapped[int] = mapped_column(Integer)
    simultaneous_use: Mapped[int] = mapped_column(Integer)
    remember_days: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))


@dataclass(frozen=True)
class Terms:
    """A profile's values; 0 means "no limit" for the limits."""

    name: str = "default"
    max_session_minutes: int = 240
    idle_timeout: int = 900  # seconds
    interim_interval: int = 300  # seconds between Interim-Updates
    bandwidth_up_kbps: int = 0
    bandwidth_down_kbps: int = 0
    daily_minutes: int = 0  # per phone identity, summed over its sessions of the day
    daily_megabytes: int = 0
    simultaneous_use: int = 2  # devices one phone identity may have online at once
    remember_days: int = 7  # how long the portal may remember a device
    language: str = "both"  # of Reply-Messages: zh-CN, en or both

    @property
    def daily_seconds(self) -> int:
        return self.daily_minutes * 60

    @property
    def daily_octets(self) -> int:
        return self.daily_megabytes * 1_000_000

    def describe(self) -> str:
        """The terms in one line, in the command's language."""
        rate = N_("%(value)s kbit/s")
        limits = {"up": _limit(self.bandwidth_up_kbps, rate),
                  "down": _limit(self.bandwidth_down_kbps, rate),
                  "minutes": _limit(self.daily_minutes, N_("%(value)s min")),
                  "megabytes": _limit(self.daily_megabytes, N_("%(value)s MB")),
                  "devices": _limit(self.simultaneous_use, N_("%(value)s device(s)"))}
        return _("%(name)s: session ≤ %(session)s min, idle %(idle)s s, interim %(interim)s "
                 "s, bandwidth %(up)s up / %(down)s down, daily %(minutes)s and "
                 "%(megabytes)s, %(devices)s at once, remember %(days)s d, messages in "
                 "%(language)s", name=self.name, session=self.max_session_minutes,
                 idle=self.idle_timeout, interim=self.interim_interval,
                 days=self.remember_days, language=self.language, **limits)


def _limit(value: int, amount: str) -> str:
    """``amount`` (a msgid with a %(value)s blank) said, or "no limit" for 0."""
    return _(amount, value=value) if value else _("no limit")


DEFAULT = Terms()
LIMITS = {  # name → (lowest, highest) a profile may set
    "max_session_minutes": (1, 60 * 24 * 7), "idle_timeout": (60, 86400),
    "interim_interval": (60, 86400), "bandwidth_up_kbps": (0, 10_000_000),
    "bandwidth_down_kbps": (0, 10_000_000), "daily_minutes": (0, 60 * 24),
    "daily_megabytes": (0, 10_000_000), "simultaneous_use": (0, 100),
    "remember_days": (0, 365),
}


def check(terms: Terms) -> list[str]:
    """What is wrong with these terms (empty: nothing)."""
    problems = [_("%(name)s must be between %(low)s and %(high)s", name=name, low=low,
                  high=high)
                for name, (low, high) in LIMITS.items()
                if not low <= getattr(terms, name) <= high]
    if terms.language not in LANGUAGES:
        problems.append(_("language must be one of %(languages)s",
                          languages=", ".join(LANGUAGES)))
    if not terms.name or len(terms.name) > 64:
        problems.append(_("name must be 1 to 64 characters"))
    return problems


def terms_of(row: PolicyProfile) -> Terms:
    return Terms(**{f.name: getattr(row, f.name) for f in fields(Terms)})


def save(session: Session, terms: Terms) -> None:
    row = session.scalar(select(PolicyProfile).where(PolicyProfile.name == terms.name))
    if row is None:
        row = PolicyProfile(name=terms.name)
        session.add(row)
    for name, value in asdict(terms).items():
        setattr(row, name, value)


def load_all(session: Session) -> dict[str, Terms]:
    return {row.name: terms_of(row) for row in session.scalars(select(PolicyProfile))}


class ProfileBook:
    """Profiles by name, re-read from the store at most every ``ttl`` seconds; a name
    that does not exist gets :data:`DEFAULT` (and one warning)."""

    def __init__(self, load: Callable[[], dict[str, Terms]], ttl: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._profiles: Reloading[dict[str, Terms]] = Reloading(
            load, "policy profiles", ttl, clock, fallback={})
        self._warned: set[str] = set()

    @classmethod
    def of(cls, store: Store) -> ProfileBook:
        def load() -> dict[str, Terms]:
            with store.session() as session:
                return load_all(session)

        return cls(load)

    def get(self, name: str) -> Terms:
        found = self._profiles.get().get(name)
        if found is None and name != DEFAULT.name and name not in self._warned:
            self._warned.add(name)
            log.warning("policy profile %r does not exist: the built-in defaults apply "
                        "(citynet radius profile set %s …)", name, name)
        return found or DEFAULT
