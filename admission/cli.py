"""``citynet nac …``: people, the district CA, client certificates and CRLs."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy.orm import Session

from admission import authority, ca, disabling, eap, holds, passwords, people
from admission.settings import NacConfig
from citynet import audit
from citynet.catalogs import N_
from citynet.catalogs import gettext as _
from citynet.crypto import SecretBox
from citynet.errors import CitynetError, SecretsError
from citynet.gates import Ended
from citynet.listings import Column, Listing, emit, format_options
from citynet.runtime import Runtime
from citynet.spreadsheets import Problem

pass_runtime = click.make_pass_decorator(Runtime)


class ImportRejected(CitynetError):
    exit_code = 3


def _now() -> datetime:
    return datetime.now(UTC)


def _box(runtime: Runtime, *, create: bool = False) -> SecretBox:
    box = runtime.box(create=create)
    if box is None:
        raise SecretsError(_("no secrets key is configured: the CA keys are sealed with it "
                             "(`citynet nac ca init` makes one)"))
    return box


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner reads, whole or not at all (temp file, then rename)."""
    where = path.resolve()
    try:
        fd, temp = tempfile.mkstemp(dir=where.parent, prefix=f".{where.name}.")
    except OSError as exc:
        raise CitynetError(_("cannot write %(path)s: %(error)s", path=path,
                             error=exc.strerror)) from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, where)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@click.group("nac")
def admission() -> None:
    """Network admission (802.1X): people, the district CA, certificates, CRLs.

    \b
    First steps:
      citynet nac people import hr.csv --dry-run
      citynet nac ca init --district 示范区 --server-name radius.example.org
      citynet nac cert issue t001 --device laptop --out t001.p12
    """


# --- people -------------------------------------------------------------------------

@admission.group("people")
def people_group() -> None:
    """The people who may join the network under their real name."""


@people_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@pass_runtime
def import_people(runtime: Runtime, path: Path, dry_run: bool) -> None:
    """Import people from an HR or school CSV, all or nothing.

    Columns: username, real_name, role (staff, teacher, student) required; department,
    phone, status (active, disabled) optional; Chinese headers (工号 姓名 部门 电话 角色
    状态) work too. People are matched by username: new ones created, known ones updated,
    others left alone. If any row is bad, every problem is listed as FILE:LINE: FIELD:
    REASON and nothing is written. Someone the file disables is disabled as by `people
    disable`: certificates revoked, live sessions Disconnected.
    """
    rows, problems = people.read_file(path)
    if problems:
        _reject(problems)
    with runtime.store.session() as session:
        outcome = people.apply(session, rows)
        if dry_run:
            session.rollback()
            click.echo(_("dry run: nothing written; an import would do: %(summary)s",
                         summary=outcome.said()))
            if outcome.disabled:
                click.echo(_("it would disable: %(names)s", names=", ".join(outcome.disabled)))
            if outcome.enabled:
                click.echo(_("it would make active again: %(names)s",
                             names=", ".join(outcome.enabled)))
            return
        revoked = disabling.disabled_by_import(session, outcome.disabled, f"import {path}",
                                               _now())
        for username in outcome.enabled:  # as visible in the audit log as a disabling
            authority.enabled_elsewhere(session, username, f"import {path}")
        audit.record(session, audit.Action("admission.people.import", str(path), "ok",
                                           detail=dict(outcome.created)))
        session.commit()
    click.echo(_("imported: %(summary)s", summary=outcome.said()))
    # a person the file disabled is disabled as by `people disable`: their sessions end now
    for username in outcome.disabled:
        click.echo(_("%(name)s disabled", name=username))
        _said_ended(disabling.end_all_of(runtime, username, authority.CLI))
    for username in outcome.enabled:
        click.echo(_("%(name)s active again (their revoked certificates stay revoked)",
                     name=username))
    _said_revoked(revoked)


def _reject(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(problem.said(), err=True)
    raise ImportRejected(_("%(count)s problems; nothing was imported", count=len(problems))
                         if len(problems) > 1 else _("1 problem; nothing was imported"))


PEOPLE_COLUMNS = (Column("username"), Column("real_name", "name"), Column("department"),
                  Column("phone"), Column("role"), Column("status"),
                  Column("certificates", "certs", right=True))


@people_group.command("list")
@format_options
@pass_runtime
def list_people(runtime: Runtime, fmt: str | None) -> None:
    """Everyone, by username."""
    with runtime.store.session() as session:
        shown = Listing("people", N_("%(count)s person"), N_("%(count)s people"),
                        PEOPLE_COLUMNS, [
            {"username": p.username, "real_name": p.real_name, "department": p.department,
             "phone": p.phone, "role": p.role.value, "status": p.status.value,
             "certificates": sum(c.revoked_at is None for c in p.certificates)}
            for p in people.everyone(session)])
    emit(shown, fmt, empty=_("(no people: import them with `citynet nac people import`)"))


@people_group.command("disable")
@click.argument("username")
@click.option("--reason", default="", help="Why (goes to the audit log).")
@pass_runtime
def disable_person(runtime: Runtime, username: str, reason: str) -> None:
    """Disable a person: their next login is rejected, their live sessions are
    Disconnected now (RFC 5176, to each session's switch or AC), their certificates
    revoked (then publish a CRL)."""
    done = disabling.disable(runtime, username, reason, _now())
    click.echo(_("%(name)s disabled", name=username) if done.changed
               else _("%(name)s was disabled already", name=username))
    _said_ended(done.ended)
    _said_revoked(done.revoked)


def _said_ended(ended: list[Ended]) -> None:
    for one in ended:
        said = {"session": one.session_id, "nas": one.nas, "answer": one.answer,
                "ms": f"{one.seconds * 1000:.0f}"}
        click.echo(_("session %(session)s on %(nas)s: disconnected (%(answer)s, %(ms)s ms)",
                     **said) if one.ok else
                   _("session %(session)s on %(nas)s: NOT disconnected (%(answer)s, %(ms)s "
                     "ms)", **said), err=not one.ok)


def _remind_crl() -> None:
    """After a revoke: what counts at once, and what needs a CRL (docs/admission.md)."""
    click.echo(_("citynet refuses it from the next login; a FreeRADIUS set up with "
                 "`citynet nac eap-config` alone needs a new CRL: citynet nac crl --dir "
                 "TRUST_DIR"), err=True)


def _said_revoked(revoked: list[str]) -> None:
    if revoked:
        click.echo(_("revoked %(count)s certificate(s): %(serials)s", count=len(revoked),
                     serials=", ".join(revoked)))
        _remind_crl()


@people_group.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin (no prompt).")
@pass_runtime
def person_password(runtime: Runtime, username: str, password_stdin: bool) -> None:
    """Set a person's network password (EAP-TTLS/PAP; PEAP-MSCHAPv2 if their role is in
    nac.peap_roles, which stores the NT hash, sealed: docs/admission.md)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(_("password"), hide_input=True, confirmation_prompt=True)
    roles = runtime.config.section(NacConfig).peap_roles
    box = _box(runtime, create=True)
    with runtime.store.session() as session:
        done = passwords.set_password(session, box, username, password, roles)
        session.commit()
    click.echo(_("%(name)s: password set for PEAP-MSCHAPv2 and EAP-TTLS", name=done.username)
               if done.peap else
               _("%(name)s: password set for EAP-TTLS (the role is not in nac.peap_roles: "
                 "no PEAP)", name=done.username))


@people_group.command("unhold")
@click.argument("username")
@pass_runtime
def unhold_person(runtime: Runtime, username: str) -> None:
    """Lift a person's password hold: after too many wrong PEAP/TTLS passwords their
    password logins are refused for 15 minutes (nac.password_failures; docs/admission.md)."""
    limits = runtime.config.section(NacConfig).password_limits
    with runtime.store.session() as session:
        done = holds.lift(session, username, limits, _now())
        if done is None:
            raise CitynetError(_("no person %(name)s", name=repr(username)))
        session.commit()
    if not done.held:
        click.echo(_("%(name)s: no password hold in force (counts cleared)", name=done.username))
    for device, until in done.held:
        click.echo(_("%(name)s: hold on every device until %(until)s UTC lifted",
                     name=done.username, until=f"{until:%Y-%m-%d %H:%M}")
                   if device == holds.ANY_DEVICE else
                   _("%(name)s: hold on device %(device)s until %(until)s UTC lifted",
                     name=done.username, device=device or _("(no MAC)"),
                     until=f"{until:%Y-%m-%d %H:%M}"))


# --- the CA -------------------------------------------------------------------------

@admission.group("ca")
def ca_group() -> None:
    """The district's certificate authority."""


@ca_group.command("init")
@click.option("--district", required=True, help="Organisation name in the CA certificate.")
@click.option("--server-name", required=True,
              help="FreeRADIUS's name; supplicants are told to expect it.")
@pass_runtime
def init_ca(runtime: Runtime, district: str, server_name: str) -> None:
    """Make the CA and FreeRADIUS's server certificate (keys sealed in the store)."""
    box = _box(runtime, create=True)
    with runtime.store.session() as session:
        row = authority.init(session, box, district, server_name, _now())
        session.commit()
        click.echo(_("certificate authority ready; server certificate for %(server)s "
                     "(created %(created)s UTC)", server=server_name,
                     created=f"{row.created_at:%Y-%m-%d %H:%M}"))


@ca_group.command("export")
@click.option("--out", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Directory for ca.pem, server.pem and server.key (FreeRADIUS's).")
@pass_runtime
def export_ca(runtime: Runtime, out_dir: Path) -> None:
    """Write the CA certificate and FreeRADIUS's certificate and key (key mode 0600)."""
    box = _box(runtime)
    with runtime.store.session() as session:
        ca_pair, server = authority.authority_keys(session, box)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CitynetError(_("cannot write %(path)s: %(error)s", path=out_dir,
                             error=exc.strerror)) from None
    write_private(out_dir / "ca.pem", ca_pair.cert_pem)
    write_private(out_dir / "server.pem", server.cert_pem)
    write_private(out_dir / "server.key", server.key_pem)
    click.echo(_("wrote ca.pem, server.pem, server.key to %(dir)s", dir=out_dir))


# --- certificates -------------------------------------------------------------------

# the label of a certificate issued without --device (one for the person, not a device)
DEFAULT_DEVICE = "default"


@admission.group("cert")
def cert_group() -> None:
    """Client certificates (EAP-TLS), one per person and device."""


@cert_group.command("issue")
@click.argument("username")
@click.option("--device", default=DEFAULT_DEVICE, show_default=True,
              help="Which device it is for (a label).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the .p12.")
@pass_runtime
def issue_cert(runtime: Runtime, username: str, device: str, out: Path) -> None:
    """Issue a certificate as .p12 and print its one-time password (shown only now)."""
    _deliver(runtime, out, lambda session, box: authority.issue(
        session, box, username, device, _now()))


@cert_group.command("renew")
@click.argument("serial")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the new .p12.")
@pass_runtime
def renew_cert(runtime: Runtime, serial: str, out: Path) -> None:
    """Issue a successor for the same person and device (the old one runs out)."""
    _deliver(runtime, out, lambda session, box: authority.renew(session, box, serial, _now()))


def _deliver(runtime: Runtime, out: Path,
             make: Callable[[Session, SecretBox], authority.Issued]) -> None:
    """Issue (or renew) a certificate, write its .p12 to ``out`` before the commit (and
    remove it if the commit fails), and print its one-time password once."""
    if out.exists():
        raise CitynetError(_("%(out)s exists: give another --out", out=out))
    box = _box(runtime)
    with runtime.store.session() as session:
        issued = make(session, box)
        write_private(out, issued.p12)
        try:
            session.commit()
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    click.echo(_("issued %(serial)s to %(name)s for %(device)s, valid until %(until)s; wrote "
                 "%(out)s", serial=issued.serial, name=issued.username, device=issued.device,
                 until=f"{issued.not_after:%Y-%m-%d}", out=out))
    click.echo(_("one-time password (shown once, not stored): %(password)s",
                 password=issued.password))


CERT_COLUMNS = (Column("serial"), Column("username"), Column("device"),
                Column("not_after", "valid until"), Column("revoked_at", "revoked"))


@cert_group.command("list")
# no certificate outlives the CA: a longer window is a typo (and past datetime's range)
@click.option("--expiring", type=click.IntRange(1, ca.CA_LIFETIME.days), metavar="DAYS",
              help="Only live certificates that expire within DAYS (to renew).")
@format_options
@pass_runtime
def list_certs(runtime: Runtime, expiring: int | None, fmt: str | None) -> None:
    """Every certificate issued, oldest first (or those to renew, soonest first)."""
    with runtime.store.session() as session:
        found = (authority.certificates(session) if expiring is None else
                 authority.expiring(session, _now(), timedelta(days=expiring)))
        shown = Listing("certificates", N_("%(count)s certificate"),
                        N_("%(count)s certificates"), CERT_COLUMNS, [
            {"serial": c.serial, "username": c.person.username, "device": c.device,
             "not_after": c.not_after, "revoked_at": c.revoked_at} for c in found])
    emit(shown, fmt, empty=_("(no certificates: `citynet nac cert issue`)"))


@cert_group.command("revoke")
@click.argument("which", metavar="SERIAL|USERNAME")
@pass_runtime
def revoke_cert(runtime: Runtime, which: str) -> None:
    """Revoke a certificate by serial, or every one of a person; then publish a CRL."""
    with runtime.store.session() as session:
        revoked = authority.revoke(session, which, _now())
        person = None if revoked else people.find(session, which.strip())
        none_held = person.username if person is not None and not person.certificates \
            else None
        session.commit()
        for cert in revoked:
            click.echo(_("revoked %(serial)s (%(name)s/%(device)s)", serial=cert.serial,
                         name=cert.person.username, device=cert.device))
    if none_held is not None:
        click.echo(_("nothing to revoke: %(name)s has no certificates", name=none_held))
    elif not revoked:
        click.echo(_("nothing to revoke: revoked already"))
    else:
        _remind_crl()


@admission.command("crl")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the CRL (PEM) to this file.")
@click.option("--dir", "trust_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Publish it into FreeRADIUS's trust directory (ca_path) under a new "
                   "name, rehashed: used on the next handshake.")
@pass_runtime
def crl(runtime: Runtime, out: Path | None, trust_dir: Path | None) -> None:
    """Publish the next CRL (valid 7 days; run at least daily, and after each revoke)."""
    if (out is None) == (trust_dir is None):
        raise click.UsageError(_("give one of --out FILE or --dir TRUST_DIR"))
    box = _box(runtime)
    with runtime.store.session() as session:
        number, pem = authority.publish_crl(session, box, _now())
        ca_pair, _server = authority.authority_keys(session, box)
        if out is not None:
            write_private(out, pem)
            where = str(out)
        else:
            assert trust_dir is not None  # noqa: S101 - one of the two, checked above
            where = str(eap.publish(trust_dir, ca_pair.cert_pem, number, pem))
        session.commit()
    click.echo(_("wrote CRL number %(number)s to %(where)s", number=number, where=where))


@admission.command("eap-config")
@click.option("--out", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Directory for FreeRADIUS: server.pem, server.key, trust/, eap.")
@pass_runtime
def eap_config(runtime: Runtime, out_dir: Path) -> None:
    """FreeRADIUS's EAP-TLS from this CA: its certificate and key, the trust directory
    with the CA and a first CRL, and the eap module to $INCLUDE inside modules {}."""
    box = _box(runtime)
    with runtime.store.session() as session:
        ca_pair, server = authority.authority_keys(session, box)
        number, pem = authority.publish_crl(session, box, _now())
        files = eap.write_config(out_dir, ca_pair.cert_pem, server.cert_pem, server.key_pem,
                                 number, pem)
        session.commit()
    click.echo(_("wrote %(dir)s/{server.pem,server.key,eap} and %(trust)s/ (publish CRLs "
                 "there: citynet nac crl --dir %(trust)s)", dir=files.server_cert.parent,
                 trust=files.trust_dir))


def _more_commands() -> None:
    from admission.mab_cli import mab_group, roles

    admission.add_command(mab_group)
    admission.add_command(roles)


_more_commands()
