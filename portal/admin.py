"""The staff pages for what the portal hands out: vouchers (create, list, print, revoke),
remembered devices (find, revoke) and merchants' promotions (add, edit, remove).

Voucher codes are credentials: they appear on the batch page and the printed sheet (both
``no-store``, as every staff page), never in an audit entry — revocations name the
voucher by its id."""

from portal import merchant_pages, remembered_pages, voucher_pages  # noqa: F401  (their routes)
from portal.admin_pages import blueprint

__all__ = ["blueprint"]
