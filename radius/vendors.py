"""NAS profiles: what each NAS vendor does with the dynamic-authorization requests we send
(RFC 5176), kept as data so no caller holds a vendor ``if``.

RFC 5176 lets a CoA-Request carry only what changes, and most controllers apply it so.
CoovaChilli does not: it re-reads a CoA as a whole new authorisation, so an attribute
left out is reset (no Session-Timeout becomes no time limit). Such a NAS must be sent the
session's whole current authorisation with every change (:mod:`radius.reauth`).
"""

from __future__ import annotations

from dataclasses import dataclass

from inventory.choices import NasVendor


@dataclass(frozen=True)
class NasProfile:
    """How one NAS vendor treats a CoA-Request."""

    # True: attributes left out of a CoA are reset, so a CoA carries the whole authorisation
    coa_is_full_reauth: bool = False
    # True: a Session-Timeout or byte cap in a CoA counts from the session's start (the NAS
    # compares it with the session's time and octets so far); False: from the CoA on
    limits_count_from_start: bool = False


NAS_PROFILES: dict[NasVendor, NasProfile] = {
    # chilli.c: cb_radius_coa_ind calls config_radius_session(..., reconfig=0), which zeroes
    # every limit the packet lacks; session_interval compares Session-Timeout with the time
    # since s_state.start_time and the octet caps with the session's counters
    NasVendor.COOVACHILLI: NasProfile(coa_is_full_reauth=True, limits_count_from_start=True),
    # the rest apply what a CoA carries and keep the other limits (RFC 5176 section 3)
}


def nas_profile(vendor: str) -> NasProfile:
    """The profile of a NAS's vendor (an inventory vendor value); RFC 5176 behaviour for
    a vendor not listed."""
    try:
        return NAS_PROFILES.get(NasVendor(vendor), NasProfile())
    except ValueError:
        return NasProfile()
