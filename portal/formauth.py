"""The hand-off for controllers with their own web-auth (external portal), as data.

Such a controller (Huawei, H3C, Ruijie style) redirects an unauthenticated browser to the
portal with its own parameter names, and expects the portal to POST a login form to the
controller's login URL (``portal_login_url`` on the NAS); the controller then asks RADIUS
with the user name and password it received (PAP). citynet posts the phone number and a
one-time RADIUS token, so the password is good once, for two minutes, from that device.

The redirect is not signed, so the portal trusts it only as far as it can check: the NAS
must be registered with a login URL, and the client address it names must be the address
the portal sees. Devices are not remembered from such a hand-off (the MAC is unchecked).
The parameter names below follow the vendors' public external-portal documentation;
they are defaults to confirm against each controller model and release.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.uam import Handoff


@dataclass(frozen=True)
class Names:
    """The query parameters a controller's redirect carries, and its form's fields."""

    nas: str
    ip: str
    mac: str
    url: str
    ssid: str = "ssid"
    username: str = "username"
    password: str = "password"  # noqa: S105 - a form field's name, not a password


VENDORS = {
    "huawei": Names(nas="wlanacname", ip="wlanuserip", mac="usermac", url="url"),
    "h3c": Names(nas="nasname", ip="userip", mac="usermac", url="userurl"),
    "ruijie": Names(nas="nasname", ip="ip", mac="mac", url="url"),
}


def recognise(args: dict[str, str]) -> tuple[str, Names] | None:
    """(NAS name, the vendor's names) when the query looks like a controller's redirect."""
    for names in VENDORS.values():
        if args.get(names.nas) and args.get(names.ip):
            return args[names.nas], names
    return None


def handoff(args: dict[str, str], names: Names, login_url: str) -> Handoff:
    return Handoff(res="notyet", uamip="", uamport=0, challenge="",
                   nasid=args.get(names.nas, "")[:64], mac=args.get(names.mac, "")[:17],
                   ip=args.get(names.ip, "")[:45], ssid=args.get(names.ssid, "")[:64],
                   userurl=args.get(names.url, "")[:2000], login_url=login_url,
                   form_username=names.username, form_password=names.password)


def fields(handoff: Handoff, username: str, password: str) -> list[tuple[str, str]]:
    """The hidden fields of the form the browser posts to the controller."""
    return [(handoff.form_username, username), (handoff.form_password, password)]
