"""The device jobs pages: every plan, push, backup and rollback with each device's diff
and result, read from the kernel's audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, url_for

from citynet import audit
from citynet.access import require
from citynet.admin import PAGE, entries, page_end
from citynet.web import store
from devices.fleet import STATUS_WORDS

blueprint = Blueprint("device_jobs", __name__, url_prefix="/admin/devices/jobs",
                      template_folder="templates")
ACTIONS = "devices."  # the audit log's device jobs


@blueprint.get("")
@require("devices.read")
def listing() -> str:
    return render_template("device_jobs/jobs.html", entries=entries(ACTIONS, page_end()),
                           page=PAGE)


@blueprint.get("/<int:seq>")
@require("devices.read")
def job(seq: int) -> str:
    with store().session() as session:
        entry = session.get(audit.AuditEntry, seq)
    if entry is None or not entry.action.startswith(ACTIONS):
        abort(404)
    devices: list[dict[str, Any]] = list(entry.detail.get("devices", []))
    return render_template("device_jobs/job.html", entry=entry, devices=devices,
                           not_ready=entry.detail.get("not_ready", []),
                           status_words=STATUS_WORDS)


def link(entry: audit.AuditEntry) -> str | None:
    """The job's page, for an audit log entry of a job over devices."""
    if entry.action.startswith(ACTIONS) and entry.detail.get("devices"):
        return url_for("device_jobs.job", seq=entry.seq)
    return None
