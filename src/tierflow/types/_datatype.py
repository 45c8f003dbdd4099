"""The LH5 ``datatype`` grammar: strings parsed into a type tree and formatted back.

The grammar (whitespace is not allowed, as in the LEGEND spec)::

    datatype   := element | array | fixed | equal | encequal | struct | table
    element    := "real" | "bool" | "complex" | "string" | "symbol" | "detectorid" | enum
    enum       := "enum{" NAME "=" INT ("," NAME "=" INT)* "}"
    array      := "array<" INT ">{" (element | array | encoded) "}"
    encoded    := "encoded_array<1>{" element "}"
    fixed      := "fixedsize_array<" INT ">{" element "}"
    equal      := "array_of_equalsized_arrays<" INT "," INT ">{" element "}"
    encequal   := "array_of_encoded_equalsized_arrays<" INT "," INT ">{" element "}"
    struct     := "struct{" [NAME ("," NAME)*] "}"
    table      := "table{" [NAME ("," NAME)*] "}"

Example
-------
>>> t = parse_datatype("array<1>{array<1>{real}}")
>>> t.is_jagged, t.leaf.kind
(True, <ElementKind.REAL: 'real'>)
>>> str(t)
'array<1>{array<1>{real}}'
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, Union

from tierflow.errors import DatatypeError

__all__ = [
    "ArrayType",
    "Datatype",
    "ElementKind",
    "ElementType",
    "EncodedArrayType",
    "EqualSizedArrayType",
    "FixedSizeArrayType",
    "StructType",
    "TableType",
    "parse_datatype",
]


class ElementKind(str, enum.Enum):
    """What the innermost values of an object are."""

    REAL = "real"
    BOOL = "bool"
    COMPLEX = "complex"
    STRING = "string"
    SYMBOL = "symbol"
    DETECTORID = "detectorid"
    ENUM = "enum"


@dataclass(frozen=True)
class ElementType:
    """A scalar element; `enum` holds ``(name, value)`` pairs for the ``enum{...}`` kind."""

    kind: ElementKind
    enum: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        if self.kind is ElementKind.ENUM:
            return "enum{" + ",".join(f"{name}={value}" for name, value in self.enum) + "}"
        return str(self.kind.value)


@dataclass(frozen=True)
class EncodedArrayType:
    """``encoded_array<ndim>{element}``: only found inside an ``array<1>{...}``."""

    ndim: int
    element: ElementType

    def __str__(self) -> str:
        return f"encoded_array<{self.ndim}>{{{self.element}}}"


@dataclass(frozen=True)
class ArrayType:
    """``array<ndim>{element}``; an ``array<1>`` of arrays is a vector of vectors."""

    ndim: int
    element: ElementType | ArrayType | EncodedArrayType

    @property
    def is_jagged(self) -> bool:
        """Whether this is a vector of (encoded) vectors."""
        return not isinstance(self.element, ElementType)

    @property
    def leaf(self) -> ElementType:
        """The innermost element type."""
        element = self.element
        while not isinstance(element, ElementType):
            element = element.element
        return element

    def __str__(self) -> str:
        return f"array<{self.ndim}>{{{self.element}}}"


@dataclass(frozen=True)
class FixedSizeArrayType:
    """``fixedsize_array<ndim>{element}``."""

    ndim: int
    element: ElementType

    def __str__(self) -> str:
        return f"fixedsize_array<{self.ndim}>{{{self.element}}}"


@dataclass(frozen=True)
class EqualSizedArrayType:
    """``array_of_[encoded_]equalsized_arrays<outer,inner>{element}``."""

    outer: int
    inner: int
    element: ElementType
    encoded: bool = False

    def __str__(self) -> str:
        name = (
            "array_of_encoded_equalsized_arrays" if self.encoded else "array_of_equalsized_arrays"
        )
        return f"{name}<{self.outer},{self.inner}>{{{self.element}}}"


@dataclass(frozen=True)
class StructType:
    """``struct{field,...}``."""

    fields: tuple[str, ...]

    def __str__(self) -> str:
        return "struct{" + ",".join(self.fields) + "}"


@dataclass(frozen=True)
class TableType:
    """``table{column,...}``."""

    fields: tuple[str, ...]

    def __str__(self) -> str:
        return "table{" + ",".join(self.fields) + "}"


Datatype = Union[
    ElementType,
    ArrayType,
    EncodedArrayType,
    FixedSizeArrayType,
    EqualSizedArrayType,
    StructType,
    TableType,
]

# names of fields may be anything but the punctuation (LEGEND has fields like "14_bit_flag")
_TOKEN = re.compile(r"[^<>{},=]+|[<>{},=]")


class _Parser:
    """Recursive descent over the tokens of one datatype string."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text: str) -> list[str]:
        tokens: list[str] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:  # pragma: no cover  (every character matches one of the patterns)
                raise DatatypeError(f"datatype {text!r}: unexpected {text[pos]!r} at {pos}")
            tokens.append(match.group())
            pos = match.end()
        return tokens

    def _fail(self, why: str) -> NoReturn:
        raise DatatypeError(f"datatype {self.text!r} does not parse: {why}")

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None:
            self._fail(f"it ends early (expected {expected or 'more'})")
        if expected is not None and token != expected:
            self._fail(f"expected {expected!r} but found {token!r} at token {self.pos}")
        self.pos += 1
        return token

    def integer(self) -> int:
        token = self.take()
        if not re.fullmatch(r"-?\d+", token):
            self._fail(f"expected a number but found {token!r}")
        return int(token)

    def dims(self, count: int) -> list[int]:
        self.take("<")
        values = [self.integer()]
        for _ in range(count - 1):
            self.take(",")
            values.append(self.integer())
        self.take(">")
        return values

    def braced(self, inner: type) -> Datatype:
        self.take("{")
        node = self.node()
        self.take("}")
        if not isinstance(node, inner):
            self._fail(f"{node} cannot stand inside this container")
        return node

    def names(self) -> tuple[str, ...]:
        self.take("{")
        names: list[str] = []
        while self.peek() not in ("}", None):
            if names:
                self.take(",")
            names.append(self.take())
        self.take("}")
        return tuple(names)

    def enum(self) -> ElementType:
        self.take("{")
        pairs: list[tuple[str, int]] = []
        while self.peek() not in ("}", None):
            if pairs:
                self.take(",")
            name = self.take()
            self.take("=")
            pairs.append((name, self.integer()))
        self.take("}")
        return ElementType(ElementKind.ENUM, tuple(pairs))

    def node(self) -> Datatype:
        head = self.take()
        if head in _ELEMENT_NAMES:
            return ElementType(ElementKind(head))
        maker = _CONTAINERS.get(head)
        if maker is None:
            self._fail(f"unknown type name {head!r}")
        node: Datatype = maker(self)
        return node


_ELEMENT_NAMES = {kind.value for kind in ElementKind} - {ElementKind.ENUM.value}


def _array(p: _Parser) -> ArrayType:
    (ndim,) = p.dims(1)
    return ArrayType(ndim, p.braced((ElementType, ArrayType, EncodedArrayType)))  # type: ignore[arg-type]


def _encoded(p: _Parser) -> EncodedArrayType:
    (ndim,) = p.dims(1)
    return EncodedArrayType(ndim, p.braced(ElementType))  # type: ignore[arg-type]


def _fixed(p: _Parser) -> FixedSizeArrayType:
    (ndim,) = p.dims(1)
    return FixedSizeArrayType(ndim, p.braced(ElementType))  # type: ignore[arg-type]


def _equal(p: _Parser, encoded: bool = False) -> EqualSizedArrayType:
    outer, inner = p.dims(2)
    return EqualSizedArrayType(outer, inner, p.braced(ElementType), encoded)  # type: ignore[arg-type]


_CONTAINERS: dict[str, Callable[[_Parser], Datatype]] = {
    "array": _array,
    "encoded_array": _encoded,
    "fixedsize_array": _fixed,
    "array_of_equalsized_arrays": _equal,
    "array_of_encoded_equalsized_arrays": lambda p: _equal(p, encoded=True),
    "struct": lambda p: StructType(p.names()),
    "table": lambda p: TableType(p.names()),
    "enum": _Parser.enum,
}


def parse_datatype(text: str | bytes) -> Datatype:
    """Parse an LH5 ``datatype`` attribute into a type tree.

    Raises
    ------
    DatatypeError
        When the string does not follow the grammar.

    Example
    -------
    >>> parse_datatype("table{t0,dt,values}").fields
    ('t0', 'dt', 'values')
    """
    if isinstance(text, bytes):
        text = text.decode()
    parser = _Parser(text.strip())
    node = parser.node()
    if parser.peek() is not None:
        parser._fail(f"unexpected {parser.peek()!r} after the end")
    return node
