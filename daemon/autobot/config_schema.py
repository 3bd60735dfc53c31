"""The generic machinery behind ``autobot.config``: TOML tables into frozen dataclasses.

Kept apart from the sections so that ``config.py`` reads as the list of settings. A table is a
frozen dataclass; each key is a field whose **type hint** says how a TOML value converts, with
``field(metadata=rules(...))`` adding bounds, a per-field ``check`` or a custom ``parse``:

=====================  ========================================================================
``bool``               ``true``/``false`` only
``int``                an integer, never a boolean (TOML ``true`` is not 1); ``0..2**64-1`` unless
                       ``ge``/``le`` say otherwise
``float``              an integer or float, finite, ``>= 0`` unless ``ge``/``gt`` say otherwise
``str``                a string
``Path``               a string; relative paths resolve against the config's folder (or, with
                       ``relative_to="credentials"``, ``$CREDENTIALS_DIRECTORY`` when set)
``Literal[...]``       one of the given strings
``X | None``           optional: absent means ``None`` (TOML has no null)
``tuple[X, ...]``      an array of ``X`` (paths ``key[0]``, ``key[1]`` …)
``Mapping[str, X]``    a table of ``X`` (paths ``key.name``)
a dataclass            a nested table
=====================  ========================================================================

Every problem is collected in a ``ParseContext`` (none stops the parse); a table with any problem
is not built. A table class may define a static ``cross_checks(values)`` for rules between keys;
it sees every key that converted (defaults for absent ones) and yields ``Problem``s with paths
relative to the table.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from autobot.domain.values import MAX_U64
from autobot.errors import Problem

__all__ = [
    "INVALID",
    "Check",
    "Invalid",
    "ParseContext",
    "Partial",
    "describe",
    "join_path",
    "parse_table",
    "rules",
]

_RULE = "autobot.config"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


# --------------------------------------------------------------------------------------------
# Field rules


class Invalid:
    """Marks a value that failed conversion; its problem has already been reported."""


INVALID = Invalid()


@dataclass(frozen=True, slots=True)
class Partial:
    """A check's answer when some of a value failed: not usable, but ``value`` (the parts that
    passed) is shown to the section's cross-checks so they can report on those parts too."""

    value: Any


Check = Callable[[Any, str, "ParseContext"], Any]
"""A per-field check: ``(converted value, dotted path, context) -> normalised value``.
On failure it reports through ``context.report(...)`` and returns what that returns (or a
``Partial`` of the parts that passed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Rule:
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    check: Check | None = None
    parse: Check | None = None  # replaces type-hint conversion (for values such as "host:port")
    relative_to: Literal["config", "credentials"] = "config"


def rules(
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    check: Check | None = None,
    parse: Check | None = None,
    relative_to: Literal["config", "credentials"] = "config",
) -> dict[str, Any]:
    """Field metadata for the generic parser: ``x: int = field(default=8, metadata=rules(ge=1))``.

    Integers are bounded to ``0..2**64-1`` unless ``ge``/``le`` narrow it (a u64 is the widest thing
    the chain takes, and no setting is meaningfully negative); floats must be finite and ``>= 0``.
    ``check`` validates/normalises the converted value; ``parse`` replaces the conversion from the
    type hint (for values written as one string, such as ``"host:port"``).
    """
    return {_RULE: _Rule(ge=ge, gt=gt, le=le, check=check, parse=parse, relative_to=relative_to)}


class _Shown:
    """A value too long to print whole: ``repr`` gives a shortened form."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _shown(value: object) -> object:
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int beyond repr's digit limit, absurd nesting
        return _Shown(f"<{describe(value)} too large to print>")
    return value if len(text) <= 120 else _Shown(text[:100] + "…")


@dataclass(slots=True, kw_only=True)
class ParseContext:
    """One parse's state: where relative paths resolve, and every problem found so far."""

    base_dir: Path
    credentials_dir: Path | None
    problems: list[Problem] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # converted keys, by table

    def report(self, path: str, message: str, *value: object) -> Invalid:
        if value:
            self.problems.append(Problem(path, message, _shown(value[0]), has_value=True))
        else:
            self.problems.append(Problem(path, message))
        return INVALID

    def resolve(self, raw: str, path: str, relative_to: str) -> Path | Invalid:
        if not raw or "\x00" in raw:
            return self.report(path, "expected a non-empty file path", raw)
        if raw.startswith("~"):
            return self.report(path, "'~' is not expanded; give an absolute path", raw)
        candidate = Path(raw)
        if candidate.is_absolute():
            return candidate
        base = self.base_dir
        if relative_to == "credentials" and self.credentials_dir is not None:
            base = self.credentials_dir
        return Path(os.path.normpath(base / candidate))


def join_path(path: str, key: str) -> str:
    """``chain`` + ``rpc_urls`` → ``chain.rpc_urls``; keys that are not bare TOML keys are quoted."""
    shown = key if _BARE_KEY.fullmatch(key) else '"' + key.replace('"', '\\"') + '"'
    return f"{path}.{shown}" if path else shown


def describe(value: object) -> str:
    """A TOML-flavoured name for a value's type, for messages ("a boolean", "a table")."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------------------------
# Generic conversion from type hints


def _convert(hint: Any, raw: object, path: str, rule: _Rule, ctx: ParseContext) -> Any:
    if isinstance(hint, typing.NewType):
        hint = hint.__supertype__
    origin, args = get_origin(hint), get_args(hint)
    if origin in (types.UnionType, typing.Union):
        (inner,) = (a for a in args if a is not type(None))
        return _convert(inner, raw, path, rule, ctx)
    if hint is bool:
        return (
            raw
            if isinstance(raw, bool)
            else ctx.report(path, f"expected true or false, got {describe(raw)}", raw)
        )
    if hint is int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            return ctx.report(path, f"expected an integer, got {describe(raw)}", raw)
        return _bounded(raw, raw, path, rule, ctx, default_ge=0, default_le=MAX_U64)
    if hint is float:
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            return ctx.report(path, f"expected a number, got {describe(raw)}", raw)
        try:
            number = float(raw)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not math.isfinite(number):
            return ctx.report(path, "expected a finite number", raw)
        return _bounded(number, raw, path, rule, ctx, default_ge=0, default_le=None)
    if hint is str:
        return (
            raw
            if isinstance(raw, str)
            else ctx.report(path, f"expected a string, got {describe(raw)}", raw)
        )
    if hint is Path:
        if not isinstance(raw, str):
            return ctx.report(path, f"expected a file path (a string), got {describe(raw)}", raw)
        return ctx.resolve(raw, path, rule.relative_to)
    if origin is Literal:
        if isinstance(raw, str) and raw in args:
            return raw
        choices = ", ".join(repr(a) for a in args)
        return ctx.report(path, f"expected one of {choices}", raw)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if not isinstance(raw, list | tuple):
            return ctx.report(path, f"expected an array, got {describe(raw)}", raw)
        items = [_convert(args[0], item, f"{path}[{i}]", rule, ctx) for i, item in enumerate(raw)]
        return INVALID if any(i is INVALID for i in items) else tuple(items)
    if origin is Mapping:
        if not isinstance(raw, Mapping):
            return ctx.report(path, f"expected a table, got {describe(raw)}", raw)
        converted = {
            str(k): _convert(args[1], v, join_path(path, str(k)), rule, ctx) for k, v in raw.items()
        }
        if any(v is INVALID for v in converted.values()):
            return INVALID
        return types.MappingProxyType(converted)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return parse_table(hint, raw, path, ctx)
    raise TypeError(f"config field {path} has a type the parser does not know: {hint!r}")


def _bounded(
    number: float,
    raw: object,
    path: str,
    rule: _Rule,
    ctx: ParseContext,
    *,
    default_ge: float,
    default_le: float | None,
) -> Any:
    ge = rule.ge if rule.ge is not None else (None if rule.gt is not None else default_ge)
    le = rule.le if rule.le is not None else default_le
    if ge is not None and number < ge:
        return ctx.report(path, f"must be at least {_num(ge)}", raw)
    if rule.gt is not None and number <= rule.gt:
        return ctx.report(path, f"must be greater than {_num(rule.gt)}", raw)
    if le is not None and number > le:
        return ctx.report(path, f"must be at most {_num(le)}", raw)
    return number


def _num(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def parse_table(cls: type[Any], raw: object, path: str, ctx: ParseContext, **supplied: Any) -> Any:
    """Build ``cls`` from a TOML table, reporting unknown, missing and invalid keys."""
    where = f"[{path}]"
    if not isinstance(raw, Mapping):
        return ctx.report(path, f"expected a table, got {describe(raw)}", raw)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name not in supplied}
    for key in raw:
        if str(key) not in fields:
            near = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            # No value shown: a stray key is where someone pastes a secret by mistake.
            what = f"unknown key in {where}" if path else "unknown table"
            ctx.report(join_path(path, str(key)), what + hint)
    values: dict[str, Any] = dict(supplied)
    partial: dict[str, Any] = {}
    ok = True
    for name, f in fields.items():
        sub = join_path(path, name)
        rule = f.metadata.get(_RULE, _Rule())
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                is_table = dataclasses.is_dataclass(hints[name])
                ctx.report(sub, "missing required table" if is_table else "missing required key")
                ok = False
            continue
        if rule.parse is not None:
            value = rule.parse(raw[name], sub, ctx)
        else:
            value = _convert(hints[name], raw[name], sub, rule, ctx)
        if value is not INVALID and rule.check is not None:
            value = rule.check(value, sub, ctx)
        if isinstance(value, Partial):
            partial[name] = value.value
            ok = False
        elif value is INVALID:
            ok = False
        else:
            values[name] = value
    ctx.values[path] = values
    # Cross-checks see every value that converted (defaults for absent keys), even when a sibling
    # failed, so one run reports as much as it can; each check skips what it lacks.
    cross_checks = getattr(cls, "cross_checks", None)
    if cross_checks is not None:
        effective = {**_defaults(fields.values()), **values, **partial}
        for problem in cross_checks(effective):
            dotted = f"{path}.{problem.path}" if path else problem.path  # already a dotted path
            ctx.problems.append(dataclasses.replace(problem, path=dotted))
            ok = False
    return cls(**values) if ok else INVALID


def _defaults(fields: Iterable[dataclasses.Field[Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for f in fields:
        if f.default is not dataclasses.MISSING:
            found[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            found[f.name] = f.default_factory()
    return found
