"""``citynet merchants …``: the promotions the portal shows (the admin web has the same
pages, /admin/merchants, with the same checks)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import click
from sqlalchemy import select

from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.errors import CitynetError
from citynet.listings import Column, Listing, emit, format_options
from citynet.runtime import Runtime

pass_runtime = click.make_pass_decorator(Runtime)
OPTION = {"name": "NAME", "category": "--category", "offer": "--offer",  # Problem.field
          "valid_from": "--from", "valid_until": "--until", "communities": "--community",
          "image": "--image"}


@click.group()
def merchants() -> None:
    """Local merchants' offers on the captive portal, by community."""


@merchants.command("add")
@click.argument("name")
@click.option("--category", required=True, help="e.g. 餐饮, 零售, 文化.")
@click.option("--offer", required=True, help="The offer, as people will read it.")
@click.option("--until", "valid_until", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="Last day it is shown (YYYY-MM-DD).")
@click.option("--from", "valid_from", type=click.DateTime(["%Y-%m-%d"]),
              help="First day it is shown (default: today).")
@click.option("--community", "communities", multiple=True,
              help="Show it in this community only (repeatable; default: everywhere).")
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A PNG or JPEG, at most 200 KB.")
@pass_runtime
def merchants_add(runtime: Runtime, name: str, category: str, offer: str,
                  valid_until: datetime, valid_from: datetime | None,
                  communities: tuple[str, ...], image: Path | None) -> None:
    """Add a merchant's offer.

    \b
    Example:
      citynet merchants add 东门老字号 --category 餐饮 --offer "出示此页九折" \\
          --until 2026-12-31 --community 东门 --image logo.png
    """
    from portal import merchants as offers

    data = image.read_bytes() if image else None
    draft = offers.Draft(name, category, offer, communities,
                         (valid_from or datetime.now(UTC)).date(), valid_until.date())
    with runtime.store.session() as session:
        wrong = offers.problems(session, draft)
        if data is not None and (bad_image := offers.image_problem(data)) is not None:
            wrong.append(bad_image)
        if wrong:
            raise CitynetError("; ".join(f"{OPTION[p.field]}: {p.text()}" for p in wrong))
        merchant = offers.add(session, draft, datetime.now(UTC))
        if data is not None:
            merchant.image = offers.save_image(runtime.config.data_path / "merchants",
                                               merchant.id, data)
    where = ", ".join(communities) or _("the whole district")
    click.echo(_("added %(name)s: shown in %(where)s from %(first)s to %(last)s", name=name,
                 where=where, first=draft.valid_from, last=draft.valid_until))


MERCHANT_COLUMNS = (Column("name", "merchant"), Column("category"),
                    Column("valid_from", "from", table=False), Column("valid_until", "until"),
                    Column("impressions", "shown", right=True),
                    Column("clicks", "opened", right=True),
                    Column("communities", text=lambda v: ", ".join(v) or "all"),
                    Column("shown_now", "now"))


@merchants.command("list")
@format_options
@pass_runtime
def merchants_list(runtime: Runtime, fmt: str | None) -> None:
    """Every offer, with how often it was shown and opened (aggregate counts only).

    communities: where it is shown (none listed: everywhere); now: whether it is shown
    today."""
    from portal.merchants import Merchant

    today = date.today()
    with runtime.store.session() as session:
        shown = Listing("merchants", N_("%(count)s merchant"), N_("%(count)s merchants"),
                        MERCHANT_COLUMNS, [
            {"name": m.name, "category": m.category, "valid_from": m.valid_from,
             "valid_until": m.valid_until, "impressions": m.impressions, "clicks": m.clicks,
             "communities": list(m.communities),
             "shown_now": m.valid_from <= today <= m.valid_until}
            for m in session.scalars(select(Merchant).order_by(Merchant.name))])
    emit(shown, fmt, empty=_("(no merchants: citynet merchants add --help)"))


@merchants.command("remove")
@click.argument("name")
@pass_runtime
def merchants_remove(runtime: Runtime, name: str) -> None:
    """Remove an offer (its counts go with it)."""
    from portal.merchants import Merchant, remove

    with runtime.store.session() as session:
        found = session.scalar(select(Merchant).where(Merchant.name == name))
        if found is None:
            raise CitynetError(_("no merchant named %(name)s", name=repr(name)))
        remove(session, found, runtime.config.data_path / "merchants")
    click.echo(_("removed %(name)s", name=name))


@click.command("sheet")
@click.option("--batch", required=True, help="The batch to print (vouchers create --batch).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="HTML file to write; print it, or save it as PDF from a browser.")
@click.option("--unused/--all", default=True, show_default=True,
              help="Only codes never used (the default), or the whole batch.")
@pass_runtime
def voucher_sheet(runtime: Runtime, batch: str, out: Path, unused: bool) -> None:
    """Write a printable sheet (A4, QR codes) of a voucher batch.

    \b
    Example:
      citynet vouchers create --count 30 --minutes 120 --batch 2026-12-library
      citynet vouchers sheet --batch 2026-12-library --out library.html
    """
    from portal.sheet import of_batch, render

    with runtime.store.session() as session:
        found = of_batch(session, batch, unused)
    if not found:
        raise CitynetError(_("no unused vouchers in batch %(batch)s", batch=repr(batch))
                           if unused else
                           _("no vouchers in batch %(batch)s", batch=repr(batch)))
    out.write_text(render(batch, found), encoding="utf-8")
    click.echo(_("1 voucher of batch %(batch)s written to %(out)s", batch=batch, out=out)
               if len(found) == 1 else
               _("%(count)s vouchers of batch %(batch)s written to %(out)s",
                 count=format(len(found), ","), batch=batch, out=out))
