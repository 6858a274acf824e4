"""The captive portal: what a person on the district's free WiFi sees.

Flow (CoovaChilli UAM, :mod:`portal.uam`): the NAS redirects the browser here with a
signed hand-off (:mod:`portal.arrival`) → the person proves who they are
(:mod:`portal.logins`: voucher, SMS code, authenticator app, or one tap for a remembered
device) → the portal sends the browser to the NAS's ``/logon`` with a CHAP response over
a one-time credential → the NAS asks RADIUS → the NAS sends the browser back with
``res=success`` (or ``failed``) and the pages of :mod:`portal.online` follow. The RFC 8908
API is :mod:`portal.capport`; merchants' offers :mod:`portal.offers`.

All of them are views of one blueprint (:mod:`portal.visit`); importing them here
registers their routes before the app factory registers the blueprint.
"""

from portal import arrival, capport, logins, offers, online  # noqa: F401  (their routes)
from portal.visit import blueprint, setup

__all__ = ["blueprint", "setup"]
