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
    # the NAS's own (up, down) rate attributes, bit/s, sent beside WISPr-Bandwidth-Max-*
    # (which it ignores) in an Access-Accept and a CoA; None: WISPr is enough
    bandwidth: tuple[str, str] | None = None
    # the NAS's own attribute for the data left, in KiB, sent beside ChilliSpot's octet
    # cap (which it ignores); None: the NAS reads ChilliSpot's, or enforcement stops it
    data_left_kib: str | None = None


NAS_PROFILES: dict[NasVendor, NasProfile] = {
    # chilli.c: cb_radius_coa_ind calls config_radius_session(..., reconfig=0), which zeroes
    # every limit the packet lacks; session_interval compares Session-Timeout with the time
    # since s_state.start_time and the octet caps with the session's counters
    NasVendor.COOVACHILLI: NasProfile(coa_is_full_reauth=True, limits_count_from_start=True),
    # Huawei ACs/BRAS rate-limit by their own VSAs (vendor 2011): "Input" is what the user
    # sends (up), "Output" what the user receives (down); CIR, bit/s. A CoA carrying them
    # changes the rate of the live session (RFC 5176 CoA on udp 3799).
    # Remanent-Volume (15): the traffic the user has left, in KB (Huawei's RADIUS
    # attribute reference: 0 logs the user out, 0xFFFFFFFF means no limit)
    NasVendor.HUAWEI: NasProfile(bandwidth=("Huawei-Input-Average-Rate",
                                            "Huawei-Output-Average-Rate"),
                                 data_left_kib="Huawei-Remanent-Volume"),
    # H3C Comware (vendor 25506): the same pair, average rate, bit/s; Remanent-Volume the
    # same attribute number and unit (KB, as H3C's "extended" RADIUS server type has it)
    NasVendor.H3C: NasProfile(bandwidth=("H3C-Input-Average-Rate", "H3C-Output-Average-Rate"),
                              data_left_kib="H3C-Remanent-Volume"),
    # the rest apply what a CoA carries and keep the other limits (RFC 5176 section 3)
}


def nas_profile(vendor: str) -> NasProfile:
    """The profile of a NAS's vendor (an inventory vendor value); RFC 5176 behaviour for
    a vendor not listed."""
    try:
        return NAS_PROFILES.get(NasVendor(vendor), NasProfile())
    except ValueError:
        return NasProfile()


WISPR_RATES = ("WISPr-Bandwidth-Max-Up", "WISPr-Bandwidth-Max-Down")


OCTET_CAP = ("ChilliSpot-Max-Total-Octets", "ChilliSpot-Max-Total-Gigawords")
_NO_LIMIT_KIB = 0xFFFFFFFF  # what Remanent-Volume says for "no limit": never sent for one


def in_vendor_terms(vendor: str, attributes: dict[str, object]) -> dict[str, object]:
    """``attributes`` with the NAS vendor's own rate and data-left attributes beside the
    WISPr and ChilliSpot ones (an Access-Accept's or a CoA's); unchanged for a vendor
    that reads those."""
    profile = nas_profile(vendor)
    extra: dict[str, object] = {}
    if profile.bandwidth is not None:
        extra.update({own: attributes[wispr] for wispr, own
                      in zip(WISPR_RATES, profile.bandwidth, strict=True)
                      if wispr in attributes})
    if profile.data_left_kib is not None and OCTET_CAP[0] in attributes:
        octets = int(attributes[OCTET_CAP[0]]) + (  # type: ignore[call-overload]
            int(attributes.get(OCTET_CAP[1], 0)) << 32)  # type: ignore[call-overload]
        # rounded down: never more than is left (under 1 KiB left is 0: logged out)
        extra[profile.data_left_kib] = min(octets // 1024, _NO_LIMIT_KIB - 1)
    return {**attributes, **extra} if extra else attributes
