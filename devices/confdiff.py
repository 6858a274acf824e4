"""Config trees, normalisation, redaction and plans. Pure: no I/O.

A config (a device's running config, or an intent: the partial config citynet wants) is
read into a tree of ``Line``s by indentation. ``plan`` compares an intent with a running
config and gives the exact command stream that makes the intent true, its inverse, and a
human-readable diff. ``restore`` gives the stream that brings a device back to an earlier
running config for everything an intent touches (rollback after a failed push).

Every vendor difference comes from the ``Profile`` tables; the rules here are generic:

* Matching is by line text within a section. Secret values are not compared between an
  intent and a running config (the device shows them encrypted), so a changed key is not
  seen unless ``plan(..., resend_secrets=True)``. Between two running configs only the
  values a device re-encrypts on every display (``churn_patterns``) are ignored.
* A section the intent lists with children is *owned*: running children it lacks are
  removed, except in ``shared_sections``. Elsewhere (top level, shared sections) only
  leaf lines starting with an ``owned`` prefix are removed. A top-level section is never
  removed by ``plan``; ``restore`` removes one the push created, except that a section
  the device will not delete (``kept_sections``: FRR's kernel-owned interfaces) loses its
  lines instead.
* Order within a section: the intent's lines in the intent's order (definitions before the
  lines that use them), then removals (new NTP/RADIUS/syslog servers are in place before
  the old ones go). A keyed (single-valued) line that changes is replaced where the new
  line stands: in place (``no``-CLIs overwrite), or its old value negated right before
  the new one (``profile.replace_negating_first``, VRP/Comware). ``X`` and ``no X`` are
  one setting: the new line simply flips it.
* Negation: ``no X`` is negated as ``X``; ``short_negation`` lines by their leading part;
  otherwise ``<negate> <line>``. A removed section is negated by its header.

Over 400 lines on purpose: ``plan`` and ``restore`` share the private tree, rules and
step types (``_Node``, ``_Rules``, ``_Step``); apart, those would be public only to be
shared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache

from devices.platforms import CIPHER, Profile

REDACTED = "<redacted>"


@dataclass(frozen=True)
class Line:
    """One config line and the lines of its section."""

    text: str  # stripped; a literal block (banner) keeps its inner newlines
    children: tuple[Line, ...] = ()


# --- reading ------------------------------------------------------------------------------


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _matches(patterns: Sequence[str], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        found = _compiled(pattern).match(text)
        if found:
            return found
    return None


def _literal_end(opened: re.Match[str], lines: Sequence[str], start: int) -> int:
    """Index after the last raw line of the literal block that ``opened`` (a match of
    ``profile.literal_block`` on the stripped ``lines[start]``) begins."""
    first, delim = opened.string, opened.group("delim")
    if delim in first[opened.end():]:
        return start + 1
    # Caret notation: IOS shows the delimiter as "^C"; a template may have used a bare "^".
    if len(delim) == 2 and delim.startswith("^") and "^" in first[opened.start("delim") + 1:]:
        return start + 1
    for index in range(start + 1, len(lines)):
        if delim in lines[index]:
            return index + 1
    return len(lines)


def _chunks(text: str, profile: Profile) -> Iterator[list[str]]:
    """The config's lines, right-stripped and without blank lines outside literal blocks;
    a literal block comes as one chunk of several lines."""
    lines = [raw.expandtabs().rstrip() for raw in text.splitlines()]
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        opened = _compiled(profile.literal_block).match(stripped) if (
            stripped and profile.literal_block) else None
        if opened is not None:
            end = _literal_end(opened, lines, index)
            yield lines[index:end]
            index = end
            continue
        if stripped:
            yield [line]
        index += 1


def _is_comment(stripped: str, profile: Profile) -> bool:
    return stripped.startswith(profile.comment)


def _is_separator(stripped: str, profile: Profile) -> bool:
    return bool(stripped) and set(stripped) == {profile.comment}


def _is_volatile(stripped: str, profile: Profile) -> bool:
    return _matches(profile.volatile, stripped) is not None


@dataclass
class _Node:
    text: str
    children: list[_Node] = field(default_factory=list)

    def freeze(self) -> Line:
        return Line(self.text, tuple(child.freeze() for child in self.children))


def _child(siblings: list[_Node], text: str) -> _Node:
    """The sibling with this text (a section opened twice is one section), or a new one."""
    for node in siblings:
        if node.text == text:
            return node
    node = _Node(text)
    siblings.append(node)
    return node


def parse(text: str, profile: Profile) -> tuple[Line, ...]:
    """The config as a tree; comments, separators, section closers and volatile lines are
    dropped. A separator at column 0 ends every open section (Comware indents global
    commands by one space after a ``#``)."""
    roots: list[_Node] = []
    open_sections: list[tuple[int, _Node]] = []
    for chunk in _chunks(text, profile):
        first = chunk[0]
        stripped = first.strip()
        indent = len(first) - len(first.lstrip())
        if _is_comment(stripped, profile):
            if indent == 0:
                open_sections.clear()
            continue
        if stripped in profile.closers or _is_volatile(stripped, profile):
            continue
        while open_sections and open_sections[-1][0] >= indent:
            open_sections.pop()
        siblings = open_sections[-1][1].children if open_sections else roots
        body = "\n".join([stripped, *chunk[1:]])
        open_sections.append((indent, _child(siblings, body)))
    return tuple(node.freeze() for node in roots)


def render(lines: Sequence[Line], profile: Profile, depth: int = 0) -> str:
    """A tree back as config text (children indented by ``profile.indent``)."""
    out: list[str] = []
    for line in lines:
        out.append(" " * (profile.indent * depth) + line.text)
        if line.children:
            out.append(render(line.children, profile, depth + 1).rstrip("\n"))
    return "\n".join(out) + "\n" if out else ""


# --- secrets ------------------------------------------------------------------------------


def _secret_spans(line: str, patterns: Sequence[re.Pattern[str]]) -> list[tuple[int, int]]:
    """Where the secret values are in ``line``, merged where they overlap."""
    spans = sorted(
        found.span("secret")
        for pattern in patterns
        for found in pattern.finditer(line)
        if found.group("secret") is not None
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _secret_values(line: str, patterns: Sequence[re.Pattern[str]]) -> list[str]:
    return [line[start:end] for start, end in _secret_spans(line, patterns)]


def _mask(line: str, patterns: Sequence[re.Pattern[str]], placeholder: str) -> str:
    for start, end in reversed(_secret_spans(line, patterns)):
        line = line[:start] + placeholder + line[end:]
    return line


def redact_line(line: str, profile: Profile) -> str:
    """``line`` with every secret value replaced by ``<redacted>`` (works on config lines,
    commands and diff lines alike)."""
    return _mask(line, profile.secret_patterns, REDACTED)


def redact(text: str, profile: Profile) -> str:
    """``text`` with every secret value replaced by ``<redacted>``."""
    return "".join(redact_line(line, profile) for line in text.splitlines(keepends=True))


def normalise(text: str, profile: Profile) -> str:
    """The running config as it should be stored and compared over time: volatile lines
    and blank lines dropped, trailing spaces stripped, runs of separators collapsed, and
    ciphertext the device re-salts on every display replaced by ``<cipher>``.

    The price of the last rule: a changed key behind such ciphertext is not seen as a
    change here; the push path deals with secrets from the intent, not from backups."""
    out: list[str] = []
    for chunk in _chunks(text, profile):
        stripped = chunk[0].strip()
        if _is_volatile(stripped, profile):
            continue
        if _is_separator(stripped, profile) and out and _is_separator(out[-1].strip(), profile):
            continue
        out.extend(_mask(line, profile.churn_patterns, CIPHER) for line in chunk)
    return "\n".join(out) + "\n" if out else ""


# --- comparing ----------------------------------------------------------------------------


def _literal_key(text: str, profile: Profile) -> str:
    """A literal block (banner) by its header and content, whatever the delimiter: IOS
    shows "^C" where the template said "^"."""
    opened = _compiled(profile.literal_block).match(text) if profile.literal_block else None
    if opened is None:
        return text
    delim = opened.group("delim")
    body = text[opened.end():]
    if delim not in body and len(delim) == 2:  # caret notation, see _literal_end
        delim, body = delim[0], text[opened.start("delim") + 1:]
    body = body[: body.rfind(delim)] if delim in body else body
    return text[: opened.start("delim")] + "\x00" + body


@dataclass(frozen=True)
class _Rules:
    """How lines compare in one plan: which secret values to ignore, what is owned."""

    profile: Profile
    masks: tuple[re.Pattern[str], ...]
    owned: tuple[str, ...] = ()
    own_everything: bool = False  # restore: everything in scope is the target's to decide
    resend_secrets: bool = False

    def same(self, text: str) -> str:
        """The comparison key: secret values masked, a literal block by its content only."""
        return _literal_key(_mask(text, self.masks, REDACTED), self.profile)

    def agree(self, want: str, have: str) -> bool:
        """Whether running line ``have`` holds intent line ``want``, given they compare
        the same: each secret value is equal, or ``have``'s was encrypted by the device."""
        encrypted = _compiled(self.profile.encrypted_value)
        wanted, held = _secret_values(want, self.masks), _secret_values(have, self.masks)
        return len(wanted) == len(held) and all(
            a == b or encrypted.match(b) for a, b in zip(wanted, held, strict=True))

    def slot(self, text: str) -> str:
        """The setting a line sets: ``X`` and ``no X`` share one; a keyed line's is its
        leading part; any other line's is the line itself."""
        negate = self.profile.negate + " "
        base = text[len(negate):] if text.startswith(negate) else text
        keyed = _matches(self.profile.keyed, base)
        return "\x01" + keyed.group(0) if keyed else _literal_key(base, self.profile)

    def owns(self, section: Line) -> bool:
        """Whether the intent owns this section's children (see the module docstring)."""
        if self.own_everything:
            return True
        return bool(section.children) and not _matches(self.profile.shared_sections,
                                                       section.text)

    def removable(self, line: Line, owned_context: bool) -> bool:
        if line.text in self.profile.hidden_defaults:
            return False  # "no shutdown" removed would shut the interface
        if owned_context:
            return True
        return bool(self.owned) and not line.children and line.text.startswith(self.owned)


class _Kind(Enum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"
    ENTER = "enter"


@dataclass(frozen=True)
class _Step:
    """One edit in one section: add ``new``, remove ``old``, replace ``old`` by ``new``,
    or enter section ``new`` and apply ``steps`` there."""

    kind: _Kind
    new: Line | None = None
    old: Line | None = None
    steps: tuple[_Step, ...] = ()

    def inverse(self) -> _Step:
        if self.kind is _Kind.ADD:
            return _Step(_Kind.REMOVE, old=self.new)
        if self.kind is _Kind.REMOVE:
            return _Step(_Kind.ADD, new=self.old)
        if self.kind is _Kind.REPLACE:
            return _Step(_Kind.REPLACE, new=self.old, old=self.new)
        return _Step(_Kind.ENTER, new=self.new, steps=_inverse(self.steps))


def _inverse(steps: Sequence[_Step]) -> tuple[_Step, ...]:
    """Undo in reverse order: the last change is the first to go."""
    return tuple(step.inverse() for step in reversed(steps))


def _reconcile(target: Sequence[Line], current: Sequence[Line], rules: _Rules,
               owned_context: bool) -> list[_Step]:
    """The steps that make ``target`` hold in a section whose lines are ``current``."""
    by_key: dict[str, list[Line]] = {}
    for line in current:
        by_key.setdefault(rules.same(line.text), []).append(line)
    position = {id(line): index for index, line in enumerate(current)}
    pairs: list[tuple[Line, Line | None]] = []
    for want in target:
        candidates = by_key.get(rules.same(want.text), [])
        exact = next((c for c in candidates if c.text == want.text), None)
        have = exact or next((c for c in candidates if rules.agree(want.text, c.text)), None)
        if have is not None:
            candidates.remove(have)
        pairs.append((want, have))
    unmatched = [line for lines in by_key.values() for line in lines]
    unmatched.sort(key=lambda line: position[id(line)])
    steps: list[_Step] = []
    for want, have in pairs:
        step = _step(want, have, unmatched, rules)
        if step is not None:
            steps.append(step)
    # removals last to first: in a config what uses a thing comes after its definition
    # (VLANIF after VLAN, an ACL's users after the ACL), and devices refuse to remove a
    # definition still in use
    steps.extend(step for line in reversed(unmatched)
                 if rules.removable(line, owned_context)
                 and (step := _removal(line, rules)) is not None)
    return steps


def _removal(line: Line, rules: _Rules) -> _Step | None:
    """The step that removes ``line``; a section the device keeps (``kept_sections``)
    loses its lines instead, and needs no step once it has none to lose."""
    if _matches(rules.profile.kept_sections, line.text) is None:
        return _Step(_Kind.REMOVE, old=line)
    inner = tuple(_Step(_Kind.REMOVE, old=child) for child in reversed(line.children)
                  if rules.removable(child, True))
    return _Step(_Kind.ENTER, new=line, steps=inner) if inner else None


def _step(want: Line, have: Line | None, unmatched: list[Line], rules: _Rules) -> _Step | None:
    """The step for one target line; takes a replaced line out of ``unmatched``."""
    if have is not None:
        if want.children or have.children:
            steps = _reconcile(want.children, have.children, rules, rules.owns(want))
            return _Step(_Kind.ENTER, new=want, steps=tuple(steps)) if steps else None
        if rules.resend_secrets and want.text != have.text:
            return _Step(_Kind.REPLACE, new=want, old=have)
        return None
    slot = rules.slot(want.text)
    rival = next((line for line in unmatched
                  if not line.children and not want.children and rules.slot(line.text) == slot),
                 None)
    if rival is not None:
        unmatched.remove(rival)
        return _Step(_Kind.REPLACE, new=want, old=rival)
    if want.text in rules.profile.hidden_defaults:
        return None  # its positive form is absent: the default holds
    return _Step(_Kind.ADD, new=want)


# --- writing commands ---------------------------------------------------------------------


def negation(text: str, profile: Profile) -> str:
    """The command that removes config line ``text``."""
    negate = profile.negate + " "
    if text.startswith(negate):
        return text[len(negate):]
    short = _matches(profile.short_negation, text)
    return negate + (short.group(0) if short else text)


def _section(line: Line, profile: Profile) -> list[str]:
    """The commands that create ``line`` with everything under it."""
    if not line.children:
        return [line.text]
    inner = [command for child in line.children for command in _section(child, profile)]
    return [line.text, *inner, profile.exit_section]


def _commands(steps: Sequence[_Step], profile: Profile) -> list[str]:
    out: list[str] = []
    for step in steps:
        if step.kind is _Kind.ADD and step.new is not None:
            out.extend(_section(step.new, profile))
        elif step.kind is _Kind.REMOVE and step.old is not None:
            out.append(negation(step.old.text, profile))
        elif step.kind is _Kind.REPLACE and step.new is not None and step.old is not None:
            out.extend(_replacement(step.old.text, step.new.text, profile))
        elif step.kind is _Kind.ENTER and step.new is not None:
            out.extend([step.new.text, *_commands(step.steps, profile), profile.exit_section])
    return out


def _replacement(old: str, new: str, profile: Profile) -> list[str]:
    negate = profile.negate + " "
    flips = old.startswith(negate) or new.startswith(negate)
    if flips or not profile.replace_negating_first or old == new:
        return [new]
    return [negation(old, profile), new]


def _tree_lines(line: Line, depth: int, sign: str) -> list[str]:
    pad = " " * depth
    out = [f"{sign} {pad}{text}" for text in line.text.split("\n")]
    for child in line.children:
        out.extend(_tree_lines(child, depth + 1, sign))
    return out


def _diff_lines(steps: Sequence[_Step], depth: int = 0) -> tuple[list[str], list[str]]:
    """("+ ..." lines, "- ..." lines), each with the headers of the sections they are in
    (shown with two spaces instead of a sign)."""
    added: list[str] = []
    removed: list[str] = []
    for step in steps:
        if step.new is not None and step.kind in (_Kind.ADD, _Kind.REPLACE):
            added.extend(_tree_lines(step.new, depth, "+"))
        if step.old is not None and step.kind in (_Kind.REMOVE, _Kind.REPLACE):
            removed.extend(_tree_lines(step.old, depth, "-"))
        if step.kind is _Kind.ENTER and step.new is not None:
            inner_added, inner_removed = _diff_lines(step.steps, depth + 1)
            header = f"  {' ' * depth}{step.new.text}"
            added.extend([header, *inner_added] if inner_added else [])
            removed.extend([header, *inner_removed] if inner_removed else [])
    return added, removed


@dataclass(frozen=True)
class Change:
    """What it takes to go from one config to another."""

    commands: list[str]  # the stream to send inside config mode
    rollback: list[str]  # undoes exactly ``commands``
    added: list[str]  # "+ line" with section context ("  header")
    removed: list[str]  # "- line" with section context

    @property
    def empty(self) -> bool:
        return not self.commands


def _change(steps: Sequence[_Step], profile: Profile) -> Change:
    added, removed = _diff_lines(steps)
    return Change(_commands(steps, profile), _commands(_inverse(steps), profile), added,
                  removed)


def plan(intent: str, running: str, profile: Profile, owned: Sequence[str] = (), *,
         resend_secrets: bool = False) -> Change:
    """The change that makes ``intent`` (a partial config) hold on a device whose running
    config is ``running``; ``owned`` are prefixes of top-level lines the intent manages in
    full (``"ntp server"``: running NTP servers the intent lacks are removed).

    ``resend_secrets`` sends intent lines holding a secret even when the running config
    has them (their values cannot be compared): use it to rotate a key."""
    rules = _Rules(profile, profile.secret_patterns + profile.churn_patterns,
                   owned=tuple(owned), resend_secrets=resend_secrets)
    steps = _reconcile(parse(intent, profile), parse(running, profile), rules, False)
    return _change(steps, profile)


def _scoped(lines: Sequence[Line], scope: Sequence[Line], rules: _Rules) -> tuple[Line, ...]:
    """The part of a config that intent ``scope`` touches: the lines it names (a keyed line
    by its key), owned sections whole, shared sections down to what the intent names, and
    leaf lines starting with an owned prefix outside owned sections."""
    by_slot = {rules.slot(line.text): line for line in scope}
    by_key = {rules.same(line.text): line for line in scope}
    out: list[Line] = []
    for line in lines:
        named = by_slot.get(rules.slot(line.text)) or by_key.get(rules.same(line.text))
        if named is None:
            if not line.children and rules.owned and line.text.startswith(rules.owned):
                out.append(line)
        elif not named.children:
            out.append(Line(line.text))
        elif rules.owns(named):
            out.append(line)
        else:
            out.append(Line(line.text, _scoped(line.children, named.children, rules)))
    return tuple(out)


def restore(before: str, now: str, intent: str, profile: Profile,
            owned: Sequence[str] = ()) -> Change:
    """The change that brings everything ``intent`` touches from running config ``now``
    back to running config ``before`` (rollback after a push failed part-way); it removes
    sections the push created. Empty once the device is back."""
    scope = parse(intent, profile)
    selecting = _Rules(profile, profile.secret_patterns + profile.churn_patterns,
                       owned=tuple(owned))
    target = _scoped(parse(before, profile), scope, selecting)
    current = _scoped(parse(now, profile), scope, selecting)
    # Two running configs: their secrets compare, except ciphertext re-salted per display.
    comparing = _Rules(profile, profile.churn_patterns, owned=tuple(owned), own_everything=True)
    return _change(_reconcile(target, current, comparing, True), profile)
