"""``citynet staff …``: staff accounts of the admin web and API, from the command line.

Every change is written to the audit log in the same transaction as the change itself;
no password, code or token ever reaches the audit log, a log line or an error message.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from citynet import audit, staff
from citynet.catalogs import N_, Message, said
from citynet.catalogs import gettext as _
from citynet.domains import BannerLine
from citynet.errors import CitynetError
from citynet.listings import Column, Listing, emit, format_options
from citynet.runtime import Runtime
from citynet.staff import Role

pass_runtime = click.make_pass_decorator(Runtime)

DEMO_ADMIN = "admin"


def _password_options(func: click.decorators.FC) -> click.decorators.FC:
    func = click.option("--generate", is_flag=True,
                        help="Generate a strong password and print it once.")(func)
    return click.option("--password-stdin", is_flag=True,
                        help="Read the password from the first line of stdin (scripts).")(func)


def _new_password(name: str, password_stdin: bool, generate: bool) -> tuple[str, bool]:
    """(password, generated?): from stdin, generated, or typed twice without echo."""
    if password_stdin and generate:
        raise click.UsageError(_("--password-stdin and --generate exclude each other"))
    if generate:
        return staff.generate_password(name), True
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(_("Password for %(name)s", name=name), hide_input=True,
                                confirmation_prompt=True)
    problem = staff.password_problem(name, password)
    if problem is not None:
        raise CitynetError(problem)
    return password, False


def _record(session: Session, action: str, name: str, **detail: str) -> None:
    audit.record(session, audit.Action(action, name, "ok", detail=detail))


@click.group("staff")
def staff_group() -> None:
    """Staff accounts of the admin web and API: roles, passwords, 2FA, tokens.

    \b
    Roles: admin (everything), engineer (devices, NAS), operator (vouchers, sessions,
    merchants), manager (dashboard, reports), auditor (read-only).
    Admins and engineers enrol an authenticator app at their first login.

    \b
    Examples:
      citynet staff add li.wei --role engineer
      citynet staff list
      citynet staff reset-2fa li.wei      # lost phone: enrol again at next login
      citynet staff token ci-bot --label "nightly inventory sync"
    """


@staff_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="What this person may do.")
@_password_options
@pass_runtime
def staff_add(runtime: Runtime, name: str, role: str, password_stdin: bool,
              generate: bool) -> None:
    """Add a staff user NAME. The password is asked twice (not shown), read from stdin,
    or generated; at least 12 characters, not containing NAME.

    \b
    Examples:
      citynet staff add li.wei --role engineer
      citynet staff add front-desk-1 --role operator --generate
      printf '%s\\n' "$PW" | citynet staff add ci-bot --role auditor --password-stdin
    """
    password, generated = _new_password(name, password_stdin, generate)
    with runtime.store.session() as session:
        staff.add(session, name, Role(role), password)
        _record(session, "staff.add", name, role=role)
    click.echo(_("added %(name)s (%(role)s)", name=name, role=role))
    if generated:
        click.echo(_("password: %(password)s  (shown once: hand it over safely)",
                     password=password))
    if Role(role) in staff.NEEDS_TOTP:
        click.echo(_("the first login asks to enrol an authenticator app"))


# the 2fa column's values (also the JSON's and CSV's, English for scripts) as a table
# says them: "no!" is a role that must enrol and has not
TOTP_WORDS = {"yes": N_("yes"), "missing": N_("no!"), "no": N_("no")}

STAFF_COLUMNS = (Column("name"), Column("role"),
                 Column("totp", "2fa", text=lambda v: _(TOTP_WORDS[v])),
                 Column("state", text=said),
                 Column("locked_seconds", table=False), Column("last_login_at", "last login",
                                                              text=lambda v: v or _("never")))


@staff_group.command("list")
@format_options
@pass_runtime
def staff_list(runtime: Runtime, fmt: str | None) -> None:
    """Every staff user: role, 2FA, locked or disabled, last login (no secrets).

    2fa "no!" (JSON: "missing") is a role that must enrol an authenticator app and has not
    yet."""
    now = datetime.now(UTC)
    with runtime.store.session() as session:
        shown = Listing("staff", N_("%(count)s staff user"), N_("%(count)s staff users"),
                        STAFF_COLUMNS, [_staff_row(user, now) for user in staff.users(session)])
    emit(shown, fmt, empty=_("(no staff users: citynet staff add NAME --role admin)"))


def _staff_row(user: staff.StaffUser, now: datetime) -> dict[str, object]:
    wait = user.locked_for(now)
    return {"name": user.name, "role": user.role.value,
            "totp": "yes" if user.totp_enrolled else (
                "missing" if user.role in staff.NEEDS_TOTP else "no"),
            "state": Message(N_("disabled")) if user.disabled
            else Message(N_("locked %(seconds)s s"), seconds=wait) if wait
            else Message(N_("active")),
            "locked_seconds": wait or 0,
            "last_login_at": user.last_login_at.isoformat(timespec="seconds")
            if user.last_login_at else None}


@staff_group.command("reset-2fa")
@click.argument("name")
@pass_runtime
def staff_reset_2fa(runtime: Runtime, name: str) -> None:
    """Forget NAME's authenticator app (a lost phone): the next login enrols a new one."""
    with runtime.store.session() as session:
        staff.reset_2fa(session, name)
        _record(session, "staff.reset_2fa", name)
    click.echo(_("%(name)s: authenticator app forgotten; the next login enrols a new one",
                 name=name))


@staff_group.command("set-password")
@click.argument("name")
@_password_options
@pass_runtime
def staff_set_password(runtime: Runtime, name: str, password_stdin: bool,
                       generate: bool) -> None:
    """Give NAME a new password (asked twice, from stdin, or generated)."""
    with runtime.store.session() as session:
        staff.get(session, name)  # an unknown name fails before the prompt
    password, generated = _new_password(name, password_stdin, generate)
    with runtime.store.session() as session:
        staff.set_password(session, name, password)
        _record(session, "staff.set_password", name)
    click.echo(_("%(name)s: password changed", name=name))
    if generated:
        click.echo(_("password: %(password)s  (shown once: hand it over safely)",
                     password=password))


@staff_group.command("disable")
@click.argument("name")
@pass_runtime
def staff_disable(runtime: Runtime, name: str) -> None:
    """Stop NAME logging in; its API tokens stop working too. The account stays, for
    the audit trail."""
    with runtime.store.session() as session:
        staff.disable(session, name)
        _record(session, "staff.disable", name)
    click.echo(_("%(name)s: disabled", name=name))


@staff_group.command("unlock")
@click.argument("name")
@pass_runtime
def staff_unlock(runtime: Runtime, name: str) -> None:
    """Lift a lockout after failed logins and reset the failure count."""
    with runtime.store.session() as session:
        staff.unlock(session, name)
        _record(session, "staff.unlock", name)
    click.echo(_("%(name)s: unlocked", name=name))


@staff_group.command("token")
@click.argument("name")
@click.option("--label", required=True, help="What the token is for (shown in listings).")
@pass_runtime
def staff_token(runtime: Runtime, name: str, label: str) -> None:
    """Issue an API token for NAME (same permissions as NAME). It is printed once; send
    it as `Authorization: Bearer <token>`.

    \b
    Example:
      citynet staff token ci-bot --label "nightly inventory sync"
    """
    with runtime.store.session() as session:
        token = staff.issue_token(session, name, label)
        _record(session, "staff.token", name, label=label)
    click.echo(token)
    click.echo(_("API token for %(name)s (%(label)s): shown once, keep it safe", name=name,
                 label=label), err=True)


@staff_group.command("revoke-token")
@click.argument("name")
@click.option("--label", help="Only the tokens with this label (default: all of NAME's).")
@pass_runtime
def staff_revoke_token(runtime: Runtime, name: str, label: str | None) -> None:
    """Revoke NAME's API tokens."""
    with runtime.store.session() as session:
        count = staff.revoke_tokens(session, name, label)
        _record(session, "staff.revoke_token", name, label=label or "(all)",
                count=str(count))
    click.echo(_("%(name)s: %(count)s token(s) revoked", name=name, count=count))


def demo_admin(session: Session) -> str | None:
    """The demo's first admin: created with a generated password when no staff user
    exists; returns that password (None when staff users exist already)."""
    if session.scalar(select(staff.StaffUser.id).limit(1)) is not None:
        return None
    password = staff.generate_password(DEMO_ADMIN)
    staff.add(session, DEMO_ADMIN, Role.ADMIN, password)
    audit.record(session, audit.Action("staff.add", DEMO_ADMIN, "ok", "citynet demo",
                                       {"role": Role.ADMIN.value}))
    return password


def demo_admin_line(base_url: str, password: str | None) -> BannerLine:
    """The demo banner's line for the staff admin web."""
    where = f"{base_url}/login  "
    if password is None:
        return BannerLine(90, _("staff admin web"),
                          where + "(citynet staff list; citynet staff set-password admin)")
    return BannerLine(90, _("staff admin web"), where + _(
        "user admin, password %(password)s (demo only; the first login asks to enrol an "
        "authenticator app)", password=password))
