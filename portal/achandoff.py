"""The hand-off from a Portal-protocol AC (Huawei, H3C, Ruijie): the redirect parameters
each vendor's AC appends to the portal URL, as data, and the AC they name.

The redirect is not signed. The AC is found by the address parameter (``wlanacip``,
``nasip``) or else by its name (``wlanacname``) in the NAS registry, and only a NAS
registered with a Portal protocol qualifies. The login itself then goes from the portal
to that AC over the Portal protocol, for the user address the redirect names: the AC
logs in only an address it serves, and its RADIUS request carries the device's real MAC,
which the one-time RADIUS token is bound to (radius.tokens), so a forged ``usermac``
gets nobody in.

Parameter names follow the vendors' public configuration guides (docs/portal.md); an AC
administrator can rename them (url-template / url-parameter), so the names are defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.acnas import AcDirectory
from portal.uam import Handoff


@dataclass(frozen=True)
class RedirectNames:
    """One vendor's redirect parameters (several spellings each, the first one wins)."""

    user_ip: tuple[str, ...]
    ac_ip: tuple[str, ...]
    ac_name: tuple[str, ...]
    user_mac: tuple[str, ...]
    url: tuple[str, ...]
    ssid: tuple[str, ...] = ("ssid",)


VENDORS: dict[str, RedirectNames] = {
    # Huawei url-template: user-ipaddress wlanuserip, ac-ip wlanacip, sysname wlanacname
    "huawei": RedirectNames(user_ip=("wlanuserip",), ac_ip=("wlanacip",),
                            ac_name=("wlanacname",), user_mac=("usermac", "wlanusermac"),
                            url=("redirect-url", "url")),
    # H3C portal web-server url-parameter: userip, usermac, nasip (the AC), userurl
    "h3c": RedirectNames(user_ip=("userip",), ac_ip=("nasip", "wlanacip"),
                         ac_name=("wlanacname", "nasname"), user_mac=("usermac",),
                         url=("userurl", "url")),
    # Ruijie eportalv2 with fmt cmcc-normal: wlanuserip, wlanacname, nasip, mac, url
    "ruijie": RedirectNames(user_ip=("wlanuserip", "userip"), ac_ip=("nasip",),
                            ac_name=("wlanacname",), user_mac=("mac", "usermac"),
                            url=("url",)),
}


def _first(args: dict[str, str], names: tuple[str, ...]) -> str:
    return next((args[name].strip() for name in names if args.get(name, "").strip()), "")


def _own(found_by: RedirectNames, args: dict[str, str], vendor: str) -> RedirectNames:
    """The registered vendor's names when its redirect carries them: vendors share some
    names (Huawei's and Ruijie's ``wlanuserip`` and ``wlanacname``), so the first vendor
    whose names found the AC may not be the AC's own, and would miss e.g. Ruijie's ``mac``."""
    own = VENDORS.get(vendor)
    return own if own is not None and _first(args, own.user_ip) else found_by


def renamed(vendor: str, names: dict[str, str]) -> RedirectNames:
    """The vendor's names with the AC's own (``portal_parameters``) in their place."""
    base = VENDORS.get(vendor, VENDORS["huawei"])
    return RedirectNames(**{role: (names[role],) if role in names else getattr(base, role)
                            for role in ("user_ip", "ac_ip", "ac_name", "user_mac", "url",
                                         "ssid")})


def recognise(args: dict[str, str], directory: AcDirectory) -> Handoff | None:
    """The hand-off of a redirect from a registered Portal-protocol AC, or None. An AC
    registered with its own parameter names is tried first, by those names only."""
    candidates = [(renamed(vendor, names), name)
                  for name, (vendor, names) in sorted(directory.renamed.items())]
    for names, only in [*candidates, *((n, None) for n in VENDORS.values())]:
        user_ip = _first(args, names.user_ip)
        if not user_ip:
            continue
        ac_ip, ac_name = _first(args, names.ac_ip), _first(args, names.ac_name)
        endpoint = (directory.by_address(ac_ip) if ac_ip else None) or (
            directory.by_name(ac_name) if ac_name else None)
        if endpoint is None or (only is not None and endpoint.name != only):
            continue
        if only is None:  # read it with its own vendor's names if they fit
            names = _own(names, args, directory.vendors.get(endpoint.name, ""))
        return Handoff(res="notyet", uamip="", uamport=0, challenge="", nasid=endpoint.name,
                       mac=_first(args, names.user_mac)[:17], ip=user_ip[:45],
                       ssid=_first(args, names.ssid)[:64], userurl=_first(args, names.url)[:2000],
                       ac=endpoint.name)
    return None
