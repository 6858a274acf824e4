"""Which AC a redirect comes from, by each vendor's parameters or an AC's own names."""

from __future__ import annotations

import pytest

from portal.acclient import AcEndpoint
from portal.achandoff import recognise
from portal.acnas import AcDirectory
from portal.acportal import Version

AC = AcEndpoint("ac-luohu", "10.20.0.2", 2000, Version.V2, b"k")
OTHER = AcEndpoint("ac-futian", "10.20.0.3", 2000, Version.V2, b"k")
DIRECTORY = AcDirectory([AC, OTHER])
RUIJIE = AcDirectory([AC, OTHER], vendors={"ac-luohu": "ruijie", "ac-futian": "huawei"})


@pytest.mark.parametrize("args", [
    {"wlanuserip": "10.30.0.5", "wlanacip": "10.20.0.2", "usermac": "aa-bb-cc-dd-ee-ff",
     "ssid": "i-Shenzhen", "redirect-url": "http://example.com/"},  # Huawei
    {"wlanuserip": "10.30.0.5", "wlanacname": "AC-LUOHU", "usermac": "aa-bb-cc-dd-ee-ff",
     "ssid": "i-Shenzhen", "url": "http://example.com/"},  # Huawei, by the AC's name
    {"userip": "10.30.0.5", "nasip": "10.20.0.2", "usermac": "aa-bb-cc-dd-ee-ff",
     "ssid": "i-Shenzhen", "userurl": "http://example.com/"},  # H3C
    {"wlanuserip": "10.30.0.5", "nasip": "10.20.0.2", "mac": "aa-bb-cc-dd-ee-ff",
     "ssid": "i-Shenzhen", "url": "http://example.com/"},  # Ruijie
], ids=["huawei", "huawei-by-name", "h3c", "ruijie"])
def test_each_vendors_redirect_names_the_ac(args: dict[str, str]) -> None:
    handoff = recognise(args, DIRECTORY)
    assert handoff is not None
    assert (handoff.ac, handoff.nasid, handoff.ip, handoff.mac, handoff.ssid,
            handoff.userurl) == ("ac-luohu", "ac-luohu", "10.30.0.5", "aa-bb-cc-dd-ee-ff",
                                 "i-Shenzhen", "http://example.com/")
    # unsigned: its address is checked on arrival, its MAC is nobody's word but the AC's
    assert handoff.can_log_in and handoff.address_vouched and not handoff.uamip
    assert not handoff.signed


def test_a_redirect_is_read_with_the_registered_vendors_names() -> None:
    # a Ruijie AC sends Huawei's wlanuserip and wlanacname too: read as Huawei's, its
    # MAC (Ruijie's ``mac``) and original URL would be lost
    args = {"wlanuserip": "10.30.0.5", "wlanacname": "ac-luohu", "nasip": "10.20.0.2",
            "mac": "aa-bb-cc-dd-ee-ff", "ssid": "i-Shenzhen", "url": "http://example.com/"}
    handoff = recognise(args, RUIJIE)
    assert handoff is not None and (handoff.ac, handoff.mac) == ("ac-luohu",
                                                                 "aa-bb-cc-dd-ee-ff")
    # a Huawei AC's redirect stays Huawei's
    handoff = recognise({"wlanuserip": "10.30.0.6", "wlanacname": "ac-futian",
                         "usermac": "02-00-00-00-00-02"}, RUIJIE)
    assert handoff is not None and (handoff.ac, handoff.mac) == ("ac-futian",
                                                                 "02-00-00-00-00-02")


@pytest.mark.parametrize("args", [
    {"wlanuserip": "10.30.0.5", "wlanacip": "10.20.9.9"},  # an AC not registered
    {"wlanuserip": "10.30.0.5", "wlanacname": "nobody"},
    {"wlanacip": "10.20.0.2"},  # no client
    {"res": "notyet", "uamip": "10.1.0.1"},  # CoovaChilli's
    {},
])
def test_other_redirects_are_not_an_acs(args: dict[str, str]) -> None:
    assert recognise(args, DIRECTORY) is None


def test_an_ac_with_its_own_parameter_names() -> None:
    directory = AcDirectory([AC, OTHER], {"ac-futian": (
        "huawei", {"user_ip": "ip", "ac_ip": "acip", "user_mac": "m"})})
    handoff = recognise({"ip": "10.30.0.7", "acip": "10.20.0.3", "m": "02-00-00-00-00-01"},
                        directory)
    assert handoff is not None and (handoff.ac, handoff.ip, handoff.mac) == (
        "ac-futian", "10.30.0.7", "02-00-00-00-00-01")
    # its renamed names do not let it speak for another AC
    assert recognise({"ip": "10.30.0.7", "acip": "10.20.0.2"}, directory) is None
