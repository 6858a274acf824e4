"""Inventory pages: the district at a glance until the managers' dashboard exists."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for

from citynet.access import require
from citynet.db import get_meta
from citynet.web import store
from inventory import queries
from inventory.demo import DEMO_MARK

blueprint = Blueprint("inventory", __name__, url_prefix="/inventory",
                      template_folder="templates")


@blueprint.get("/")
@require("inventory.read")
def overview() -> str:
    with store().session() as session:
        return render_template("inventory/overview.html", streets=queries.streets(session),
                               counts=queries.counts(session), demo=get_meta(session, DEMO_MARK))


@blueprint.get("/streets/<name>")
@require("inventory.read")
def street(name: str) -> str:
    with store().session() as session:
        communities = queries.communities(session, name)
        if communities is None:
            abort(404, f"no street named {name}")
        return render_template("inventory/street.html", street=name, communities=communities,
                               demo=get_meta(session, DEMO_MARK))


@blueprint.get("/hotspots")
@require("inventory.read")
def hotspots() -> str:
    """Every hotspot (or one community's) with what a network engineer configures on it:
    its NAS and the captive-portal API URI for DHCP option 114 / RAs (RFC 8910)."""
    community = request.args.get("community") or None
    with store().session() as session:
        rows = queries.hotspots(session, community)
        return render_template("inventory/hotspots.html", hotspots=rows, community=community,
                               captive_api=url_for("portal.captive_api", _external=True),
                               demo=get_meta(session, DEMO_MARK))


@blueprint.get("/summary.json")
@require("inventory.read")
def summary() -> dict[str, Any]:
    with store().session() as session:
        return {
            "demo": get_meta(session, DEMO_MARK),
            "counts": queries.counts(session),
            "streets": [
                {"name": s.name, "communities": s.communities, "buildings": s.buildings,
                 "eligible": s.eligible, "connected": s.connected, "hotspots": s.hotspots,
                 "fiber_coverage": s.fiber_coverage}
                for s in queries.streets(session)
            ],
        }
