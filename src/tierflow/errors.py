"""The tierflow exception tree.

Every error tierflow raises derives from :class:`TierflowError` and from the builtin it refines,
so ``except KeyError`` keeps working for code that does not know tierflow::

    TierflowError (Exception)
    ├── FormatError (ValueError)        on-disk data that does not follow its format
    │   └── DatatypeError               a ``datatype`` attribute that does not parse
    ├── DecodeError (ValueError)        bytes that do not decode (DAQ packets, codecs)
    ├── ConfigError (ValueError)        a config that asks for something that does not exist
    ├── NotFoundError (KeyError)        an object, field or name that is not there
    ├── MismatchError (TypeError)       data that does not fit what it is written into
    └── OptionalDependencyError (ImportError)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from os import PathLike

__all__ = [
    "ConfigError",
    "DatatypeError",
    "DecodeError",
    "FormatError",
    "MismatchError",
    "NotFoundError",
    "OptionalDependencyError",
    "TierflowError",
    "closest",
]


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Return up to `n` of `candidates` that look most like `name`, best first."""
    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)


class TierflowError(Exception):
    """Root of every error raised by tierflow.

    Parameters
    ----------
    message
        What went wrong and what was expected.
    file
        The file involved, if any.
    obj
        The object (HDF5 path, config key, column) involved, if any.
    """

    def __init__(
        self, message: str, *, file: str | PathLike[str] | None = None, obj: str | None = None
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.obj = obj
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file!r}")
        if self.obj is not None:
            where.append(f"object {self.obj!r}")
        return f"{self.message} ({', '.join(where)})" if where else self.message


class FormatError(TierflowError, ValueError):
    """Data on disk that does not follow its format."""


class DatatypeError(FormatError):
    """A ``datatype`` string that does not parse."""


class DecodeError(TierflowError, ValueError):
    """Bytes that do not decode."""


class ConfigError(TierflowError, ValueError):
    """A configuration that asks for something that does not exist or does not fit."""


class NotFoundError(TierflowError, KeyError):
    """An object, field or name that is not there; suggests the closest existing names."""

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike[str] | None = None,
        obj: str | None = None,
        candidates: Iterable[str] = (),
    ) -> None:
        key = obj.rsplit("/", 1)[-1] if obj else ""
        self.suggestions = closest(key, candidates) if key else []
        if self.suggestions:
            message = f"{message}; did you mean {', '.join(map(repr, self.suggestions))}?"
        super().__init__(message, file=file, obj=obj)

    # KeyError.__str__ would print the repr of the message
    __str__ = TierflowError.__str__


class MismatchError(TierflowError, TypeError):
    """Data that does not fit what it is written into or combined with."""


class OptionalDependencyError(TierflowError, ImportError):
    """An optional dependency that is needed here is not installed."""
