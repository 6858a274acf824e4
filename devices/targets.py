"""Which devices a command works on, and everything needed to work on each: its facts,
its login (credentials opened from the store, or from the environment) and its intent."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citynet.catalogs import N_, Message
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.errors import CitynetError
from devices.driver import Login
from devices.fleet import Target
from devices.intent import (
    DEFAULTS,
    Device,
    Intent,
    Renderer,
    load_vars,
    refuse_cli_keys,
    variables,
)
from devices.platforms import PROFILES
from devices.settings import DevicesConfig
from inventory.kinds import DEFAULT_PORTAL_PORT
from inventory.models import NasClient, NetworkDevice

# Credentials for devices that have none in the inventory (a jump account, CI)
ENV_USERNAME, ENV_PASSWORD, ENV_KEY_FILE = ("CITYNET_DEVICE_USERNAME",
                                            "CITYNET_DEVICE_PASSWORD",
                                            "CITYNET_DEVICE_KEY_FILE")
# templates that name citynet's RADIUS servers with the NAS entry's secret
KEYED_TEMPLATES = ("guest_wifi", "nac")


class SelectorError(CitynetError):
    """A selector that names no kind of device, or that matches nothing."""


@dataclass(frozen=True)
class Unready:
    """A selected device that cannot be worked on, and why (no credential, no template)."""

    hostname: str
    site: str
    reason: str


def matches(device: NetworkDevice, selector: str) -> bool:
    kind, sep, value = selector.partition(":")
    if sep and kind in ("site", "role", "platform"):
        field = {"site": device.site, "role": device.role.value,
                 "platform": device.platform.value}[kind]
        return fnmatch.fnmatchcase(field, value)
    return fnmatch.fnmatchcase(device.hostname, selector)


def select_devices(session: Session, selectors: Sequence[str]) -> list[NetworkDevice]:
    every = list(session.scalars(select(NetworkDevice).order_by(NetworkDevice.site,
                                                                NetworkDevice.hostname)))
    if not selectors:
        return every
    chosen = [d for d in every if any(matches(d, s) for s in selectors)]
    if not chosen:
        raise SelectorError(N_("no device matches %(selectors)s (HOSTNAME or a glob "
                               "(*-acc-*), site:NAME, role:ROLE or platform:NAME; several "
                               "are OR-ed; none means every device)"),
                            selectors=" ".join(selectors))
    return chosen


def radius_keys(session: Session, box: SecretBox | None) -> dict[str, str]:
    """NAS address → its RADIUS secret, for the RADIUS key pushed to that device."""
    if box is None:
        return {}
    return {nas.address: box.open(nas.secret_sealed)
            for nas in session.scalars(select(NasClient))}


def portal_acs(session: Session, box: SecretBox | None) -> dict[str, dict[str, Any]]:
    """NAS address → the Portal-protocol facts of a NAS entry that is a Portal AC, for the
    guest WiFi template (the same protocol, port and key the portal uses)."""
    if box is None:
        return {}
    return {nas.address: {"portal_protocol": nas.portal_protocol, "ac_name": nas.name,
                          "portal_port": nas.portal_port or DEFAULT_PORTAL_PORT,
                          "portal_key": box.open(nas.portal_secret_sealed)
                          if nas.portal_secret_sealed else ""}
            for nas in session.scalars(select(NasClient).where(
                NasClient.portal_protocol.is_not(None)))}


def intent_path(config: Config) -> Path:
    intent_vars = config.section(DevicesConfig).intent_vars
    return Path(intent_vars) if intent_vars else config.data_path / "intent.yaml"


def known_hosts_path(config: Config) -> Path:
    """The devices' SSH host keys as first seen (see ``Login.known_hosts``)."""
    return config.data_path / "devices_known_hosts"


def logins(session: Session, config: Config, box: SecretBox | None, selectors: Sequence[str],
           environ: Mapping[str, str] = os.environ
           ) -> tuple[list[tuple[Device, Login]], list[Unready]]:
    """The selected devices that can be logged in to, with their logins (no intent), and
    those that cannot (with why)."""
    ready, unready = [], []
    for row in select_devices(session, selectors):
        device = Device(row.hostname, row.platform.value, row.role.value, row.site, row.host)
        profile = PROFILES.get(device.platform)
        if profile is None:
            unready.append(Unready(row.hostname, row.site, Message(
                N_("platform %(platform)s is not managed (no profile)"),
                platform=device.platform)))
            continue
        login = _login(row, profile, box, config.section(DevicesConfig).timeout_seconds, environ)
        if not isinstance(login, str):
            login = replace(login, known_hosts=str(known_hosts_path(config)))
        if isinstance(login, str):
            unready.append(Unready(row.hostname, row.site, login))
            continue
        ready.append((device, login))
    return ready, unready


def build(session: Session, config: Config, box: SecretBox | None, selectors: Sequence[str],
          templates: Sequence[str] | None = None,
          environ: Mapping[str, str] = os.environ) -> tuple[list[Target], list[Unready]]:
    """Targets ready to work on, and the selected devices that are not (with why)."""
    document = load_vars(intent_path(config))
    templates_dir = document.get("templates_dir")
    renderer = Renderer(Path(templates_dir) if templates_dir else None)
    keys, portals = radius_keys(session, box), portal_acs(session, box)
    chosen = list(templates or config.section(DevicesConfig).templates)
    reachable, unready = logins(session, config, box, selectors, environ)
    ready = []
    for device, login in reachable:
        try:
            values = variables(device, document, keys, portals,
                               radius_servers=config.radius.servers)
            # where citynet takes the ACs' notices, RADIUS and sends CoA: its own config,
            # not the intent file (0, "any free port", is a test's; a NAS needs a number)
            radius = config.radius
            values.update(portal_notify_port=config.portal.protocol_port,
                          radius_auth_port=radius.auth_port or DEFAULTS["radius_auth_port"],
                          radius_acct_port=radius.acct_port or DEFAULTS["radius_acct_port"],
                          coa_port=radius.coa_port)
            refuse_cli_keys(device, values, login.profile.cli_keys)
            keyed = [name for name in KEYED_TEMPLATES if name in chosen]
            if keyed and not values.get("radius_key"):
                raise CitynetError(N_("no RADIUS key for %(templates)s: add a NAS entry with "
                                      "the address %(host)s (its secret is the key pushed)"),
                                   templates=", ".join(keyed), host=device.host)
            intent = renderer.render(device, chosen, values)
        except CitynetError as exc:
            unready.append(Unready(device.hostname, device.site, exc.message()))
            continue
        ready.append(Target(device, login, intent))
    return ready, unready


def readable(session: Session, config: Config, box: SecretBox | None,
             selectors: Sequence[str], environ: Mapping[str, str] = os.environ
             ) -> tuple[list[Target], list[Unready]]:
    """Targets to read only (backup): a login each, no intent. Reading a running config
    needs neither the intent file nor a template that renders for the device."""
    reachable, unready = logins(session, config, box, selectors, environ)
    return [Target(device, login, Intent(device.hostname, "", (), ()))
            for device, login in reachable], unready


def _login(row: NetworkDevice, profile: object, box: SecretBox | None, timeout: float,
           environ: Mapping[str, str]) -> Login | str:
    from devices.platforms import Profile

    assert isinstance(profile, Profile)  # noqa: S101 - from PROFILES
    if row.credential is not None:
        if box is None:
            return Message(N_("its credential is sealed and there is no secrets key"))
        credential = row.credential
        return Login(row.hostname, row.host, row.port, profile, credential.username,
                     box.open(credential.password_sealed),
                     box.open(credential.enable_secret_sealed)
                     if credential.enable_secret_sealed else "", timeout=timeout)
    username = environ.get(ENV_USERNAME, "")
    if not username:
        return Message(N_("no credential in the inventory and no %(variable)s in the "
                          "environment"), variable=ENV_USERNAME)
    return Login(row.hostname, row.host, row.port, profile, username,
                 environ.get(ENV_PASSWORD, ""), key_file=environ.get(ENV_KEY_FILE, ""),
                 timeout=timeout)
