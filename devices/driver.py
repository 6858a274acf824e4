"""The one netmiko adapter (with ntc-templates, its TextFSM companion): log in, read the
running config, configure command by command, save, run read-only display commands (parsed
by an ntc-templates template where one fits). Every netmiko and paramiko exception becomes
a :class:`DeviceError` that names the device and what to try; no password, key or device
reply with a secret in it reaches an exception, a log line or a session log (netmiko's
session log is never turned on).

Over 400 lines on purpose: it is the one netmiko adapter, and every netmiko and paramiko
call with its exception mapping stays in it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from netmiko import ConnectHandler
from netmiko.exceptions import (
    NetmikoAuthenticationException,
    NetmikoBaseException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
    WriteException,
)
from ntc_templates.parse import ParsingException, parse_output  # type: ignore[import-untyped]
from paramiko import AutoAddPolicy, HostKeys, MissingHostKeyPolicy, PKey, SSHClient
from paramiko.hostkeys import HostKeyEntry
from paramiko.ssh_exception import (
    AuthenticationException,
    BadHostKeyException,
    NoValidConnectionsError,
    SSHException,
)
from textfsm import Error as TemplateError  # type: ignore[import-untyped]

from citynet.catalogs import N_, Message
from citynet.errors import CitynetError
from devices.confdiff import redact_line
from devices.platforms import Profile

log = logging.getLogger(__name__)
# Both log every byte of the session at DEBUG (netmiko hides only the login password):
# pushed keys and running configs must never reach a log, whatever citynet's level.
logging.getLogger("netmiko").setLevel(logging.WARNING)
# paramiko's transport thread also logs each failed connection at ERROR with a traceback
# (a port that is not SSH, a banner that never came): every such failure reaches the
# caller here as a DeviceError that says what happened, so its own account is noise.
logging.getLogger("paramiko").setLevel(logging.CRITICAL + 1)


class DeviceError(CitynetError):
    """A device could not be reached, refused a login or a command, or dropped the
    session; ``kind`` says which, for per-device results. The reason is a msgid and its
    values (``str()`` English: the results' JSON and the audit record; ``said()`` the
    reader's: the CLI's per-device lines)."""

    kind = "failed"

    def __init__(self, hostname: str, message: str, **values: object) -> None:
        super().__init__(N_("%(host)s: %(reason)s"), host=hostname,
                         reason=Message(message, **values))
        self.hostname = hostname


class Unreachable(DeviceError):
    kind = "unreachable"


class ConnectionRefused(Unreachable):
    kind = "connection_refused"


class LoginRefused(DeviceError):
    kind = "login_refused"


class HostKeyChanged(DeviceError):
    kind = "host_key_changed"


class CommandRefused(DeviceError):
    kind = "refused"

    def __init__(self, hostname: str, command: str, reply: str) -> None:
        super().__init__(hostname, N_("refused %(command)r: %(reply)s"), command=command,
                         reply=reply)
        self.command, self.reply = command, reply


class SessionLost(DeviceError):
    kind = "dropped"


@dataclass(frozen=True)
class Login:
    """What it takes to reach one device. ``repr`` never shows the secrets."""

    hostname: str
    host: str
    port: int
    profile: Profile
    username: str
    password: str = field(default="", repr=False)
    enable_secret: str = field(default="", repr=False)
    key_file: str = ""  # an SSH private key instead of (or beside) the password
    timeout: float = 30.0  # connect and per-command read timeout, seconds
    # The devices' SSH host keys citynet has seen (OpenSSH known_hosts format): a device
    # is trusted on first contact and refused if its key changes. "": not checked.
    known_hosts: str = ""


Connect = Callable[..., Any]

# Every session of this process that records a first-seen key takes this lock, and then
# an flock on the file's lock file, which orders the writers of the other citynet processes
# (a fleet run opens many sessions at once; the collectors run in another process).
_KNOWN_HOSTS_LOCK = threading.Lock()


class FirstSeenHostKeys(MissingHostKeyPolicy):  # type: ignore[misc]  # paramiko: untyped
    """Trust a device's SSH host key on first contact, refuse one that differs from the
    key kept for it. paramiko asks this when its client, loaded from ``path`` when the
    session began, has no key for the device; another session may have added one since,
    so the file is read again under the locks. (paramiko's AutoAddPolicy re-reads and
    rewrites the file unlocked: concurrent sessions lose each other's entries, and one
    that reads it half written trusts any key.) The file is replaced whole, never
    rewritten in place, so a session loading it sees the old file or the new one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def missing_host_key(self, client: SSHClient, hostname: str, key: PKey) -> None:
        with _KNOWN_HOSTS_LOCK, _flocked(self.path.with_name(self.path.name + ".lock")):
            known = HostKeys()
            if self.path.exists():
                known.load(str(self.path))
            kept = known.lookup(hostname)
            if kept is None:
                self._append(HostKeyEntry([hostname], key).to_line())
            elif kept.get(key.get_name()) != key:
                raise BadHostKeyException(hostname, key,
                                          kept.get(key.get_name()) or next(iter(kept.values())))

    def _append(self, line: str) -> None:
        text = self.path.read_text(encoding="ascii") if self.path.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name)
        try:
            with os.fdopen(handle, "w", encoding="ascii") as out:  # mkstemp: mode 0600
                out.write(text + line)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


@contextlib.contextmanager
def _flocked(path: Path) -> Iterator[None]:
    """An exclusive flock on ``path`` (a lock file beside the data: the data file itself
    is replaced, and a lock on a replaced inode orders nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def netmiko_connect(host_key_policy: MissingHostKeyPolicy, **options: Any) -> Any:
    """netmiko's ConnectHandler, with ``host_key_policy`` deciding on a host key its
    client does not know (netmiko itself offers only add-anything or refuse-anything)."""
    conn = ConnectHandler(**options, auto_connect=False)
    conn.key_policy = host_key_policy
    try:
        conn._open()  # what auto_connect runs
    except BaseException:
        conn.disconnect()  # what netmiko's own failed auto-connect cleans up
        raise
    return conn


class Session:
    """One SSH session to one device, as a context manager."""

    def __init__(self, login: Login, connect: Connect = netmiko_connect) -> None:
        self.login = login
        self._connect = connect
        self._conn: Any = None

    # --- connection -------------------------------------------------------------------

    def __enter__(self) -> Session:
        login = self.login
        options: dict[str, Any] = {
            "device_type": login.profile.netmiko_type, "host": login.host,
            "port": login.port, "username": login.username, "password": login.password or None,
            "secret": login.enable_secret, "conn_timeout": login.timeout,
            "auth_timeout": login.timeout, "banner_timeout": login.timeout,
            "read_timeout_override": None, "session_log": None, "fast_cli": True,
            "allow_agent": False, "system_host_keys": False,
        }
        if login.key_file:
            options.update(use_keys=True, key_file=login.key_file)
        # not checked: any key, kept for this session only
        options["host_key_policy"] = AutoAddPolicy()
        if login.known_hosts:
            # paramiko checks a known device's key before logging in (the file is loaded
            # only if it exists); the policy records the key of a device it has not seen
            options.update(alt_host_keys=True, alt_key_file=login.known_hosts,
                           host_key_policy=FirstSeenHostKeys(login.known_hosts))
        options.update(login.profile.netmiko_options)
        try:
            self._conn = self._connect(**options)
        except (NetmikoBaseException, OSError, SSHException, EOFError, ValueError) as exc:
            raise connect_failure(exc, login) from None
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._conn is not None:
            if self.login.profile.exec_prompt is not None:
                # netmiko's logout first asks whether config mode is on, by waiting for two
                # seconds of silence (VRP); configure() always leaves it, and logging out
                # ends the session whatever view it is in
                self._conn.check_config_mode = lambda *args, **kwargs: False
            with contextlib.suppress(Exception):  # the session may already be gone
                self._conn.disconnect()
            self._conn = None

    # --- reading ----------------------------------------------------------------------

    def running(self) -> str:
        """The running configuration as the device prints it."""
        command = self.login.profile.show_running
        return str(self._call(lambda: self._conn.send_command(
            command, read_timeout=self.login.timeout * 4),
            Message(N_("reading %(command)r"), command=command)))

    def show(self, command: str, *, textfsm: bool = False) -> str | list[dict[str, str]]:
        """The device's answer to a read-only command. With ``textfsm``: its rows, as the
        ntc-templates template of the profile's platform parses them, or the text when no
        template fits. (netmiko's own ``use_textfsm`` looks templates up by the netmiko
        device type, and ntc-templates files VRP's under ``huawei_vrp``, not ``huawei``.)"""
        output = str(self._call(lambda: self._conn.send_command(
            command, read_timeout=self.login.timeout),
            Message(N_("running %(command)r"), command=command)))
        errors = [re.compile(p, re.M) for p in self.login.profile.error_patterns]
        if any(p.search(output) for p in errors):
            raise CommandRefused(self.login.hostname, self._safe(command),
                                 self._reply(output, command))
        platform = self.login.profile.textfsm_platform
        if not textfsm or platform is None:
            return output
        return table(output, platform, command) or output

    # --- changing ---------------------------------------------------------------------

    def configure(self, commands: Sequence[str]) -> int:
        """Send ``commands`` in config mode one by one and leave config mode; returns how
        many were sent. Stops at the first command the device refuses."""
        if not commands:
            return 0
        profile = self.login.profile
        errors = [re.compile(p, re.M) for p in profile.error_patterns]
        sent = 0
        self._call(self._enter_config, Message(N_("entering config mode")))
        try:
            for command in commands:
                reply = str(self._call(partial(self._send_config, command),
                                       Message(N_("sending %(command)r"),
                                               command=self._safe(command))))
                sent += 1
                if any(p.search(reply) for p in errors):
                    raise CommandRefused(self.login.hostname, self._safe(command),
                                         self._reply(reply, command))
        finally:
            if self._conn is not None:
                try:
                    self._leave_config()
                    # the change may have renamed the device (hostname, sysname): what
                    # netmiko waits for after every command is the prompt it finds now
                    self._conn.set_base_prompt()
                except Exception as exc:  # the session may be gone; the caller finds out
                    log.debug("%s: leaving config mode: %s", self.login.hostname,
                              type(exc).__name__)
        return sent

    def _send_config(self, command: str) -> str:
        profile = self.login.profile
        if profile.config_prompt is None:
            return str(self._conn.send_config_set(
                [command], enter_config_mode=False, exit_config_mode=False,
                read_timeout=self.login.timeout))
        # write and read to the next config-view prompt: a third of send_command's time
        # per line (it polls the channel on a fixed delay)
        self._conn.write_channel(self._conn.normalize_cmd(command))
        return str(self._conn.read_until_pattern(pattern=profile.config_prompt,
                                                 read_timeout=self.login.timeout,
                                                 re_flags=re.M))

    def _enter_config(self) -> None:
        profile = self.login.profile
        if profile.config_prompt is None:
            self._conn.config_mode()
        else:
            self._conn.send_command(profile.enter_config, expect_string=profile.config_prompt,
                                    read_timeout=self.login.timeout)

    def _leave_config(self) -> None:
        profile = self.login.profile
        if profile.exec_prompt is None:
            self._conn.exit_config_mode()
        else:
            self._conn.send_command(profile.exit_config, expect_string=profile.exec_prompt,
                                    read_timeout=self.login.timeout)

    def save(self) -> None:
        """Make the running config the startup config (VRP/Comware answer [Y/N])."""
        reply = self._call(lambda: self._conn.save_config(),
                           Message(N_("saving the configuration")))
        errors = [re.compile(p, re.M) for p in self.login.profile.error_patterns]
        if any(p.search(reply or "") for p in errors):
            raise CommandRefused(self.login.hostname, self.login.profile.save,
                                 self._reply(reply, self.login.profile.save))

    # --- helpers ----------------------------------------------------------------------

    def _call(self, work: Callable[[], Any], doing: str) -> Any:
        try:
            return work()
        except (ReadTimeout, NetmikoTimeoutException):
            if not self._alive():
                raise SessionLost(self.login.hostname, N_("session lost while %(doing)s: "
                                                          "the device closed it"),
                                  doing=doing) from None
            raise SessionLost(self.login.hostname, N_("no answer while %(doing)s within "
                                                      "%(seconds)s s"),
                              doing=doing, seconds=f"{self.login.timeout:g}") from None
        except (OSError, EOFError, SSHException, ReadException, WriteException) as exc:
            raise SessionLost(self.login.hostname, N_("session lost while %(doing)s "
                                                      "(%(error)s): the device closed it or "
                                                      "the network dropped"),
                              doing=doing, error=type(exc).__name__) from None
        except (ValueError, NetmikoBaseException) as exc:  # "failed to enter config mode"
            raise DeviceError(self.login.hostname, N_("unexpected answer while %(doing)s: "
                                                      "%(answer)s"),
                              doing=doing, answer=self._safe(str(exc))[:200]) from None

    def _alive(self) -> bool:
        try:
            return bool(self._conn is not None and self._conn.is_alive())
        except Exception:  # asking a broken session anything can fail
            return False

    def _safe(self, text: str) -> str:
        return redact_line(text, self.login.profile)

    def _reply(self, reply: str, command: str) -> str:
        """The device's answer to one command, echo and prompt left out, redacted."""
        lines = [line.strip() for line in reply.splitlines()]
        useful = [line for line in lines if line and command.strip() not in line
                  and not line.endswith(("]", "#", ">"))]
        return self._safe(" ".join(useful)[:300]) or Message(N_("(no reason given)"))


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling (netmiko wraps
    paramiko's and the socket's)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _refused(error: BaseException) -> bool:
    if isinstance(error, NoValidConnectionsError):  # one error per address tried
        return all(isinstance(e, ConnectionRefusedError) for e in error.errors.values())
    return isinstance(error, ConnectionRefusedError)


def connect_failure(exc: BaseException, login: Login) -> DeviceError:
    """Why a connection could not be opened, said so that the person at the keyboard
    knows what to do: refused, no answer, not SSH, login refused, host key changed."""
    where = f"{login.host}:{login.port}"
    chain = _chain(exc)
    if any(isinstance(e, BadHostKeyException) for e in chain):
        return HostKeyChanged(login.hostname, N_(
            "its SSH host key at %(where)s is not the one citynet saw before (kept in "
            "%(file)s): nothing was sent. If the device was replaced or its key regenerated, "
            "remove its line from that file; otherwise someone may be between citynet and "
            "the device"), where=where, file=login.known_hosts)
    if any(isinstance(e, NetmikoAuthenticationException | AuthenticationException)
           for e in chain):
        return LoginRefused(login.hostname, N_("login as %(user)r refused: check the "
                                               "device's credential in the inventory"),
                            user=login.username)
    if any(_refused(e) for e in chain):
        return ConnectionRefused(login.hostname, N_(
            "connection refused by %(where)s: nothing listens for SSH there (wrong address "
            "or port, SSH off, or a firewall answering with a reset)"), where=where)
    if any(isinstance(e, SSHException) and "protocol banner" in str(e) for e in chain):
        return Unreachable(login.hostname, N_(
            "%(where)s took the connection but sent no SSH greeting within %(seconds)s s: "
            "another service on that port, or an SSH server too busy to greet (a full VTY "
            "line list looks the same)"), where=where, seconds=f"{login.timeout:g}")
    no_answer = Unreachable(login.hostname, N_("no answer from %(where)s within "
                                               "%(seconds)s s: is it up, and is SSH allowed "
                                               "from here?"),
                            where=where, seconds=f"{login.timeout:g}")
    if any(isinstance(e, TimeoutError) for e in chain):
        return no_answer
    reason = next((e.strerror for e in chain if isinstance(e, OSError) and e.strerror), None)
    if reason is None and any(isinstance(e, NetmikoTimeoutException) for e in chain):
        return no_answer  # paramiko's "No existing session": the SSH session never came
    reason = reason or redact_line(str(exc), login.profile)[:200]
    return Unreachable(login.hostname, N_("cannot open SSH to %(where)s: %(reason)s"),
                       where=where, reason=reason)


def table(output: str, platform: str, command: str) -> list[dict[str, str]] | None:
    """``output`` of ``command`` as rows (lower-case column names), parsed by the
    ntc-templates template for ``platform``; None when no template fits, the text does not
    parse, or it holds no row. Pure."""
    try:
        rows = parse_output(platform=platform, command=command, data=output)
    except (ParsingException,  # no template for this platform and command
            TemplateError):  # the template's Error state: a line it does not know
        return None
    return [{str(key): value if isinstance(value, str) else " ".join(value)
             for key, value in row.items()} for row in rows] or None
