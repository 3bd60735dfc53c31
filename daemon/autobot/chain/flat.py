"""Domain values built field by field from their dataclass: the one walk both read paths share.

A view's JSON (``chain/views.py``) and a stored record (``chain/records.py``) name a value's
fields as the ``domain`` dataclass does, so each reads the fields whose type is ``int``, ``bool``
or ``bytes`` by that type, in the dataclass's order; the fields a reader decodes otherwise
(enums, addresses, nested structs, renamed ones) it passes ready-made.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Mapping

__all__ = ["SCALARS", "build_flat"]

SCALARS: tuple[type, ...] = (int, bool, bytes)
"""The field types read generically (exactly these: an ``IntEnum`` field must be given)."""

type FieldReader = Callable[[str, type], object]
"""``(field name, its type: int, bool or bytes) -> the decoded value``."""


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, object], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.init)


def build_flat[T](cls: type[T], read: FieldReader, given: Mapping[str, object]) -> T:
    """``cls(**values)``: ``given`` as is, every other field ``read(name, type)``.

    A field that is neither given nor of a scalar type is a programming error (``TypeError``
    naming it), found by the first decode of that value.
    """
    values = dict(given)
    for name, kind in _fields(typing.cast(type, cls)):
        if name in values:
            continue
        if not any(kind is scalar for scalar in SCALARS):
            raise TypeError(f"{cls.__name__}.{name}: {kind!r} is not read generically; pass it")
        values[name] = read(name, typing.cast(type, kind))
    factory: Callable[..., T] = cls
    return factory(**values)
