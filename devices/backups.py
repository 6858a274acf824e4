"""Device config backups: a git repository with one ``HOSTNAME.cfg`` per device.

Each file holds a device's normalised running config with every secret value replaced by a
sealed token ``$citynet$<SecretBox token>$``, so a backup can be pushed back (``restore_text``)
while the repository never holds a clear secret. Fernet tokens differ on every seal; a secret
that did not change keeps its previous token, so it shows in no diff.

One commit per backup run, and none when nothing changed. Writers serialise on a file lock
(a push's pre-change backup and a scheduled backup may run at once); readers do not lock.
The ``git`` CLI is run with a minimal environment: neither the user's nor the system's git
config can change what it does, and it never looks for a repository above this one.
"""

from __future__ import annotations

import difflib
import fcntl
import logging
import os
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from citynet.catalogs import N_
from citynet.config import Config
from citynet.crypto import SecretBox
from citynet.errors import BackupError, SecretsError

log = logging.getLogger(__name__)

# What a platform profile's ``secret_patterns`` is: regexes with a named group "secret".
SecretPatterns = Sequence[re.Pattern[str]]

TOKEN = re.compile(r"\$citynet\$(?P<token>[A-Za-z0-9_=-]+)\$")  # Fernet: url-safe base64
SUFFIX = ".cfg"
LOCK_FILE = ".lock"
AUTHOR = ("citynet", "citynet@localhost")
# A hostname becomes a file name: no path separators, control characters, or a leading
# dot or dash (hidden files, git's own names, option-like arguments).
_HOSTNAME = re.compile(r"[^/\\\x00-\x1f.\-][^/\\\x00-\x1f]*")
_FIELD, _RECORD = "\x1f", "\x1e"


@dataclass(frozen=True)
class Revision:
    """One backup run that touched a device."""

    commit: str
    at: datetime  # commit time, UTC
    message: str  # first line: "backup: N devices, REASON"


@dataclass(frozen=True)
class BackupRun:
    """What ``save`` did: ``commit`` holds these configs (a new commit, or the existing
    HEAD when nothing changed); ``changed`` lists the devices whose backup changed."""

    commit: str
    changed: tuple[str, ...]

    @property
    def committed(self) -> bool:
        return bool(self.changed)


# --- sealing (pure: no I/O) -------------------------------------------------------------

def _lines(text: str) -> list[str]:
    """Lines split on ``\n`` only (``str.splitlines`` also splits on characters a config
    line may legitimately hold); a CR before it is dropped."""
    lines = text.replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def _sealed(token: str) -> str:
    return f"$citynet${token}$"


def _secret_spans(line: str, patterns: SecretPatterns) -> list[tuple[int, int]]:
    """Where secret values sit in a line; overlapping matches of several patterns are merged
    so no part of a secret stays clear."""
    spans: list[tuple[int, int]] = []
    for pattern in patterns:
        if "secret" not in pattern.groupindex:
            raise ValueError(f"secret pattern {pattern.pattern!r} has no group named 'secret'")
        for match in pattern.finditer(line):
            start, end = match.span("secret")
            if start < end:  # -1 when the group did not take part
                spans.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _split(line: str, spans: Sequence[tuple[int, int]]) -> tuple[tuple[str, ...], list[str]]:
    """A line as its clear pieces (its shape) and the values between them."""
    pieces: list[str] = []
    values: list[str] = []
    pos = 0
    for start, end in spans:
        pieces.append(line[pos:start])
        values.append(line[start:end])
        pos = end
    pieces.append(line[pos:])
    return tuple(pieces), values


class _PreviousTokens:
    """The tokens of a device's previous backup, found by line shape and position, opened
    only when a new line of the same shape asks for them."""

    def __init__(self, sealed: str, box: SecretBox) -> None:
        self._box = box
        self._tokens: dict[tuple[tuple[str, ...], int], list[str]] = {}
        for line in _lines(sealed):
            matches = list(TOKEN.finditer(line))
            shape, _ = _split(line, [m.span() for m in matches])
            for index, match in enumerate(matches):
                self._tokens.setdefault((shape, index), []).append(match["token"])

    def reuse(self, shape: tuple[str, ...], index: int, value: str) -> str | None:
        candidates = self._tokens.get((shape, index), [])
        for position, token in enumerate(candidates):
            try:
                opened = self._box.open(token)
            except SecretsError:
                continue  # sealed under a retired key: seal afresh
            if opened == value:
                # Each old token serves one line, so repeated lines keep their own tokens.
                return _sealed(candidates.pop(position))
        return None


def seal_lines(text: str, patterns: SecretPatterns, box: SecretBox,
               previous: str | None = None) -> str:
    """``text`` with every secret sealed; tokens of ``previous`` (the last sealed form of
    the same device) are kept where the line and its secret are unchanged.

    Lines are joined with ``\\n`` and the result ends with one.
    """
    old = _PreviousTokens(previous, box) if previous else None
    out = []
    for line in _lines(text):
        spans = _secret_spans(line, patterns)
        if not spans:
            out.append(line)
            continue
        shape, values = _split(line, spans)
        parts = [shape[0]]
        for index, value in enumerate(values):
            token = old.reuse(shape, index, value) if old else None
            parts.append(token or _sealed(box.seal(value)))
            parts.append(shape[index + 1])
        out.append("".join(parts))
    return "".join(line + "\n" for line in out)


def unseal_lines(sealed: str, box: SecretBox) -> str:
    """The clear text of a sealed backup (raises SecretsError if a token does not open)."""
    return TOKEN.sub(lambda m: box.open(m["token"]), sealed)


# --- the repository ---------------------------------------------------------------------

class BackupStore:
    """The git repository of device config backups at ``path``, created on first save."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_config(cls, config: Config) -> BackupStore:
        return cls(config.data_path / "backups" / "devices")

    # writing

    def save(self, configs: Mapping[str, tuple[str, SecretPatterns]], reason: str,
             box: SecretBox) -> BackupRun:
        """Back up ``{hostname: (normalised running config, profile.secret_patterns)}`` in
        one commit "backup: N devices, REASON"; no commit when nothing changed."""
        names = {hostname: _file_name(hostname) for hostname in configs}
        with self._locked():
            self._prepare()
            for hostname, (text, patterns) in configs.items():
                file = self.path / names[hostname]
                # bytes, not text mode: no newline translation between write and read-back
                previous = file.read_bytes().decode("utf-8") if file.exists() else None
                sealed = seal_lines(text, patterns, box, previous)
                if sealed != previous:
                    file.write_bytes(sealed.encode("utf-8"))
            if configs:
                self._git("add", "--pathspec-from-file=-", "--pathspec-file-nul",
                          stdin="\0".join(names.values()))
            staged = self._git("diff", "--cached", "--name-only", "-z").stdout
            changed = tuple(sorted(name.removesuffix(SUFFIX)
                                   for name in staged.split("\0") if name))
            if changed:
                self._git("commit", "-q", "--no-verify", "-F", "-",
                          stdin=_message(len(configs), reason, changed))
                log.info("device backup: %d devices, %d changed", len(configs), len(changed))
            return BackupRun(self._resolve("HEAD"), changed)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / LOCK_FILE).open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file closes
            yield

    def _prepare(self) -> None:
        """Create the repository on first use; otherwise discard what an interrupted save
        left behind. Called under the lock, so no other writer is running."""
        git_dir = self.path / ".git"
        if not git_dir.is_dir():
            self._git("init", "-q", "-b", "main")
            for key, value in (("user.name", AUTHOR[0]), ("user.email", AUTHOR[1]),
                               ("commit.gpgsign", "false"),
                               # gc in the foreground, under our lock, never a detached child
                               ("gc.autoDetach", "false"),
                               ("core.quotePath", "false")):
                self._git("config", key, value)
            (git_dir / "info").mkdir(exist_ok=True)
            (git_dir / "info" / "exclude").write_text(f"/{LOCK_FILE}\n")
        stale = git_dir / "index.lock"
        if stale.exists():  # only a killed git leaves this while we hold the lock
            log.warning("removing a stale %s left by an interrupted backup", stale)
            stale.unlink()
        if self._git("rev-parse", "--verify", "-q", "HEAD", ok=(0, 1)).returncode:
            self._git("commit", "-q", "--no-verify", "--allow-empty", "-m",
                      "device backups: store created")
        else:
            self._git("reset", "-q", "--hard", "HEAD")

    # reading

    def devices(self) -> list[str]:
        """Hostnames with a backup in the newest revision."""
        if not self._exists():
            return []
        names = self._git("ls-tree", "-z", "--name-only", "HEAD").stdout.split("\0")
        return sorted(name.removesuffix(SUFFIX) for name in names if name.endswith(SUFFIX))

    def history(self, hostname: str) -> list[Revision]:
        """The backup runs that changed this device's config, newest first."""
        name = _file_name(hostname)
        if not self._exists():
            return []
        out = self._git("log", f"--format=%H{_FIELD}%ct{_FIELD}%s{_RECORD}", "--",
                        name).stdout
        revisions = []
        for record in out.split(_RECORD):
            if record.strip():
                commit, stamp, subject = record.strip("\n").split(_FIELD, 2)
                revisions.append(Revision(commit, datetime.fromtimestamp(int(stamp), UTC),
                                          subject))
        return revisions

    def read(self, hostname: str, rev: str = "HEAD") -> str:
        """The device's backup (sealed form) as of revision ``rev``."""
        name = _file_name(hostname)
        commit = self._resolve(rev)
        result = self._git("cat-file", "blob", f"{commit}:{name}", ok=(0, 128))
        if result.returncode:
            raise BackupError(N_("%(host)s has no backup at revision %(rev)s; `citynet "
                                 "devices backup %(host)s` makes one"), host=hostname, rev=rev)
        return result.stdout

    def restore_text(self, hostname: str, rev: str, box: SecretBox) -> str:
        """The device's backup at ``rev`` in clear, to push back. Never log it."""
        try:
            return unseal_lines(self.read(hostname, rev), box)
        except SecretsError as exc:
            raise BackupError(N_("the backup of %(host)s at %(rev)s cannot be opened: "
                                 "%(reason)s; a retired key file may still open it"),
                              host=hostname, rev=rev, reason=exc.said()) from None

    def diff(self, hostname: str, rev_a: str, rev_b: str = "HEAD") -> str:
        """Unified diff of the device's backup between two revisions (sealed form: safe to
        print); empty when they are the same."""
        old, new = self.read(hostname, rev_a), self.read(hostname, rev_b)
        return "".join(difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            fromfile=f"{hostname}@{rev_a}", tofile=f"{hostname}@{rev_b}"))

    def _exists(self) -> bool:
        return (self.path / ".git").is_dir()

    def _resolve(self, rev: str) -> str:
        if not self._exists():
            raise BackupError(N_("no device backups yet in %(path)s; `citynet devices "
                                 "backup` makes the first one"), path=self.path)
        if not rev or rev.startswith("-") or any(c in rev for c in "\0\n"):
            raise BackupError(N_("%(rev)r is not a revision; `citynet devices history HOST` "
                                 "lists them"), rev=rev)
        result = self._git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", ok=(0, 1, 128))
        if result.returncode:
            raise BackupError(N_("no revision %(rev)r in the device backups at %(path)s; "
                                 "`citynet devices history HOST` lists them"),
                              rev=rev, path=self.path)
        return result.stdout.strip()

    def _git(self, *args: str, stdin: str | None = None,
             ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        """Run git on this repository; an exit status outside ``ok`` is a BackupError."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.path),
            "GIT_DIR": str(self.path / ".git"),  # never discover a repository further up
            "GIT_WORK_TREE": str(self.path),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
        try:
            # git from PATH (Debian's /usr/bin/git); a fixed argv, no shell
            result = subprocess.run(["git", *args],  # noqa: S603, S607
                                    cwd=self.path, env=env, input=stdin, capture_output=True,
                                    text=True, encoding="utf-8", check=False)
        except FileNotFoundError:
            raise BackupError(N_("git is not installed (Debian: git); device backups need "
                                 "it")) from None
        if result.returncode not in ok:
            detail = result.stderr.strip().splitlines()
            raise BackupError(N_("git %(command)s failed in %(path)s: %(reason)s"),
                              command=args[0], path=self.path,
                              reason=detail[-1] if detail else f"exit status {result.returncode}")
        return result


def _file_name(hostname: str) -> str:
    if not _HOSTNAME.fullmatch(hostname):
        raise BackupError(N_("cannot back up device %(host)r: its hostname is not usable "
                             "as a file name (no '/', control characters, leading '.' or "
                             "'-')"), host=hostname)
    return hostname + SUFFIX


def _message(count: int, reason: str, changed: Sequence[str]) -> str:
    subject = f"backup: {count} device{'' if count == 1 else 's'}"
    reason = " ".join(reason.split())  # one line: it is the subject history() shows
    if reason:
        subject += f", {reason}"
    return subject + "\n\nchanged:\n" + "".join(f"  {name}\n" for name in changed)
