"""``citynet nac mab …`` (MAC authentication bypass) and ``citynet nac roles``."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from admission import mab
from admission.settings import NacConfig
from citynet import audit
from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.errors import CitynetError
from citynet.listings import Column, Listing, emit, format_options
from citynet.runtime import Runtime

pass_runtime = click.make_pass_decorator(Runtime)


@click.group("mab")
def mab_group() -> None:
    """MAC authentication bypass: printers, cameras and other gear without 802.1X.

    \b
    Profiles (each with its VLAN) are config: [nac.mab_profiles.printer] vlan = "30".
    Example:
      citynet nac mab add 00:1b:a9:12:34:56 --profile printer
    """


@mab_group.command("add")
@click.argument("mac")
@click.option("--profile", required=True, help="A [nac.mab_profiles] name (printer, …).")
@pass_runtime
def mab_add(runtime: Runtime, mac: str, profile: str) -> None:
    """Admit a device by its MAC, into its profile's VLAN. Randomised (locally
    administered) MACs are refused: they change, and the next holder would get in."""
    config = runtime.config.section(NacConfig)
    with runtime.store.session() as session:
        entry, new = mab.add(session, config, mac, profile, datetime.now(UTC))
        audit.record(session, audit.Action("admission.mab.add", entry.mac, "ok",
                                           detail={"profile": profile}))
        session.commit()
        shown = entry.mac
    vlan = config.mab_profiles[profile].vlan
    click.echo(_("%(mac)s added to profile %(profile)s (VLAN %(vlan)s)", mac=shown,
                 profile=profile, vlan=vlan) if new else
               _("%(mac)s moved to profile %(profile)s (VLAN %(vlan)s)", mac=shown,
                 profile=profile, vlan=vlan))


@mab_group.command("remove")
@click.argument("mac")
@pass_runtime
def mab_remove(runtime: Runtime, mac: str) -> None:
    """Take a device off the list (its next bypass request is rejected)."""
    with runtime.store.session() as session:
        entry = mab.remove(session, mac)
        if entry is None:
            raise CitynetError(_("%(mac)s is not on the MAC bypass list", mac=mac))
        audit.record(session, audit.Action("admission.mab.remove", entry.mac, "ok"))
        session.commit()
        click.echo(_("%(mac)s removed", mac=entry.mac))


MAB_COLUMNS = (Column("mac"), Column("profile"), Column("vlan"), Column("added_at", "added"))


@mab_group.command("list")
@format_options
@pass_runtime
def mab_list(runtime: Runtime, fmt: str | None) -> None:
    """The devices admitted by MAC, with their profile's VLAN."""
    profiles = runtime.config.section(NacConfig).mab_profiles
    with runtime.store.session() as session:
        shown = Listing("devices", N_("%(count)s device"), N_("%(count)s devices"),
                        MAB_COLUMNS, [
            {"mac": e.mac, "profile": e.profile,
             "vlan": profiles[e.profile].vlan if e.profile in profiles else "(no profile)",
             "added_at": e.added_at.isoformat(timespec="seconds")}
            for e in mab.entries(session)])
    emit(shown, fmt, empty=_("(none: citynet nac mab add MAC --profile PROFILE)"))


# beside an unknown MAC that is randomised: why adding it would be refused
RANDOMISED = N_("randomised (private address): turn it off on the device, then add its "
                "own MAC")
UNKNOWN_COLUMNS = (Column("mac"), Column("nas", "switch"), Column("port"),
                   Column("first_seen"), Column("last_seen"), Column("count", right=True),
                   Column("randomised", "note",
                          text=lambda value: _(RANDOMISED) if value else ""))


@mab_group.command("unknown")
@format_options
@pass_runtime
def mab_unknown(runtime: Runtime, fmt: str | None) -> None:
    """MACs that asked for bypass and are on no list: where, since when, how often."""
    with runtime.store.session() as session:
        shown = Listing("unknown", N_("%(count)s unknown MAC"), N_("%(count)s unknown MACs"),
                        UNKNOWN_COLUMNS, [
            {"mac": u.mac, "nas": u.nas, "port": u.port,
             "first_seen": u.first_seen.isoformat(timespec="seconds"),
             "last_seen": u.last_seen.isoformat(timespec="seconds"), "count": u.count,
             "randomised": mab.randomised(u.mac)}
            for u in mab.unknown(session)])
    emit(shown, fmt, empty=_("(no unknown MAC has asked)"))


ROLE_COLUMNS = (Column("role"), Column("vlan"), Column("filter_id", "filter"),
                Column("acl", table=False), Column("hours"), Column("devices", right=True))


@click.command("roles")
@format_options
@pass_runtime
def roles(runtime: Runtime, fmt: str | None) -> None:
    """What each role gets on the network ([nac.roles.*] in the config file)."""
    config = runtime.config.section(NacConfig)
    emit(Listing("roles", N_("%(count)s role"), N_("%(count)s roles"), ROLE_COLUMNS, [
        {"role": name, "vlan": policy.vlan, "filter_id": policy.filter_id,
         "acl": dict(policy.acl), "hours": policy.hours or "always",
         "devices": policy.devices or "no limit"}
        for name, policy in sorted(config.roles.items())]),
        fmt, empty=_("(no role has a policy: every 802.1X login is refused; add "
                     "[nac.roles.staff] vlan = \"10\")"))
