"""Move type tags as a node reads and prints them, and primitive table keys in node JSON.

``parse_type("0x1::table::Table<u64, 0xabc…::lottery_registry::Lottery>")`` → ``TypeTag``;
``str(tag)`` prints it back in the canonical form: addresses in the AIP-40 standard form
(``0x0``…``0xf`` short, e.g. ``0x1``; every other address ``0x`` + 64 lowercase hex), type
arguments separated by ``", "``. Parsing accepts either form of an address (and upper case), so
``0x01::m::S`` and ``0x1::m::S`` are the same tag.

Named addresses (``lottery_multi::types::SalesWindow``) are accepted only where a ``named``
mapping is given (the vendored layouts use them); a request's type string must use hex addresses.

``key_from_json(tag, raw)`` turns a table key given in node JSON (u64/u128/u256 as decimal
strings, u8/u16/u32 as numbers, ``bool``, addresses as ``0x`` hex) into the Python value the
storage renderer indexes with; ``KeyError``-free: a bad key raises ``ValueError`` with a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from autobot.localnet.accounts import normalise_address

__all__ = ["PRIMITIVES", "TypeTag", "key_from_json", "parse_type", "standard_address"]

PRIMITIVES = frozenset({"u8", "u16", "u32", "u64", "u128", "u256", "bool", "address", "signer"})
_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "u128": 128, "u256": 256}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{1,64}")
_DECIMAL = re.compile(r"[0-9]{1,78}")
_MAX_DEPTH = 16


def standard_address(address: str) -> str:
    """AIP-40 standard form: ``0x0``…``0xf`` short, any other address ``0x`` + 64 hex."""
    full = normalise_address(address)
    body = full[2:].lstrip("0")
    return "0x" + (body or "0") if len(body) <= 1 else full


@dataclass(frozen=True, slots=True)
class TypeTag:
    """A Move type: a primitive (``name`` only), ``vector`` (one argument) or a struct."""

    name: str
    address: str = ""  # struct only: 0x + 64 hex
    module: str = ""  # struct only
    args: tuple[TypeTag, ...] = ()

    @property
    def is_struct(self) -> bool:
        return bool(self.module)

    @property
    def struct_id(self) -> str:
        """``<address>::<module>::<name>`` without type arguments (structs only)."""
        return f"{standard_address(self.address)}::{self.module}::{self.name}"

    def __str__(self) -> str:
        if self.is_struct:
            if not self.args:
                return self.struct_id
            return f"{self.struct_id}<{', '.join(str(a) for a in self.args)}>"
        if self.name == "vector":
            return f"vector<{self.args[0]}>"
        return self.name


class _Parser:
    def __init__(self, text: str, named: Mapping[str, str], params: Mapping[str, TypeTag]) -> None:
        self.text = text
        self.pos = 0
        self.named = named
        self.params = params

    def fail(self, why: str) -> ValueError:
        return ValueError(f"invalid Move type {self.text!r}: {why} at offset {self.pos}")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def take(self, token: str) -> bool:
        self.skip_spaces()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def word(self, pattern: re.Pattern[str]) -> str:
        self.skip_spaces()
        found = pattern.match(self.text, self.pos)
        if found is None:
            raise self.fail("expected an identifier or address")
        self.pos = found.end()
        return found.group()

    def type(self, depth: int = 0) -> TypeTag:
        if depth > _MAX_DEPTH:
            raise self.fail("nested too deeply")
        self.skip_spaces()
        if self.text.startswith("0x", self.pos):
            address = normalise_address(self.word(_HEX_ADDRESS))
        else:
            head = self.word(_IDENT)
            if head == "vector":
                if not self.take("<"):
                    raise self.fail("vector needs one type argument")
                element = self.type(depth + 1)
                if not self.take(">"):
                    raise self.fail("expected '>'")
                return TypeTag("vector", args=(element,))
            if head in PRIMITIVES:
                return TypeTag(head)
            if head in self.params:
                return self.params[head]
            if head not in self.named:
                raise self.fail(f"unknown address or type {head!r}")
            address = normalise_address(self.named[head])
        if not self.take("::"):
            raise self.fail("expected '::'")
        module = self.word(_IDENT)
        if not self.take("::"):
            raise self.fail("expected '::'")
        name = self.word(_IDENT)
        args: list[TypeTag] = []
        if self.take("<"):
            args.append(self.type(depth + 1))
            while self.take(","):
                args.append(self.type(depth + 1))
            if not self.take(">"):
                raise self.fail("expected '>'")
        return TypeTag(name, address=address, module=module, args=tuple(args))


def parse_type(
    text: str,
    *,
    named: Mapping[str, str] | None = None,
    params: Mapping[str, TypeTag] | None = None,
) -> TypeTag:
    """Parse a Move type string; ``ValueError`` (naming the text) if it is not one.

    ``named`` maps named addresses to hex; ``params`` substitutes a generic struct's type
    parameters (``K``, ``V``) by the tags they stand for.
    """
    if not isinstance(text, str) or not text or len(text) > 4096:
        raise ValueError(f"invalid Move type {text!r}")
    parser = _Parser(text, named or {}, params or {})
    tag = parser.type()
    parser.skip_spaces()
    if parser.pos != len(text):
        raise parser.fail("unexpected trailing text")
    return tag


def key_from_json(tag: TypeTag, raw: object) -> object:
    """A table key in node JSON → ``int`` / ``bool`` / normalised address ``str``."""
    if tag.name in ("u64", "u128", "u256") and not tag.is_struct:
        if not isinstance(raw, str) or _DECIMAL.fullmatch(raw) is None:
            raise ValueError(f"a {tag.name} key is a decimal string, got {raw!r}")
        number = int(raw)
    elif tag.name in ("u8", "u16", "u32") and not tag.is_struct:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"a {tag.name} key is a JSON number, got {raw!r}")
        number = raw
    elif tag.name == "bool" and not tag.is_struct:
        if not isinstance(raw, bool):
            raise ValueError(f"a bool key is true or false, got {raw!r}")
        return raw
    elif tag.name == "address" and not tag.is_struct:
        if not isinstance(raw, str) or _HEX_ADDRESS.fullmatch(raw) is None:
            raise ValueError(f"an address key is 0x-prefixed hex, got {raw!r}")
        return normalise_address(raw)
    else:
        raise ValueError(f"keys of type {tag} are not supported by the localnet")
    if not 0 <= number < 2 ** _BITS[tag.name]:
        raise ValueError(f"{number} is out of range for {tag.name}")
    return number
