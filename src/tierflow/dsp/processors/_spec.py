"""What a processor is: a named kernel with a gufunc-style signature and its allowed types."""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Processor", "parse_signature"]

_DIMS = re.compile(r"\(([^()]*)\)")


def parse_signature(signature: str) -> tuple[tuple[str, ...], ...]:
    """Core dimensions of every argument: ``"(n),()->(n)"`` gives ``(("n",), (), ("n",))``."""
    return tuple(
        tuple(d.strip() for d in group.split(",") if d.strip())
        for group in _DIMS.findall(signature)
    )


@dataclass(frozen=True)
class Processor:
    """A DSP processor under the name configs use.

    Parameters
    ----------
    name
        The name in configs (``trap_norm``, ``numpy.amax``).
    signature
        gufunc-style core dimensions of every argument, inputs then outputs, e.g.
        ``"(n),(),()->(n)"``. Arguments are passed with the row (event) as first axis.
    types
        Allowed type signatures, best first, in numpy type characters (``"fii->f"``); the chain
        takes the first one its inputs can be cast to.
    target
        ``"module:function"`` of the kernel, imported (and compiled) on first use.
    elementwise
        The kernel broadcasts like a numpy ufunc (arithmetic on scalars and waveforms).
    const_only
        The kernel builds a constant (a filter kernel) and runs once per chain.
    factory
        `target` makes a processor from the entry's ``init_args`` (``poly_fit``, ``iir_filter``).
    bound
        Leading arguments passed to the kernel before the chain's (a factory's constants).
    out_args
        Positions of the outputs when they are not simply the arguments after ``->`` (the
        anchor's ``histogram_stats`` takes its outputs before its last input).

    Example
    -------
    >>> import numpy as np
    >>> from tierflow.dsp.processors import PROCESSORS
    >>> trap = PROCESSORS["trap_norm"]
    >>> step = np.r_[np.zeros(20), np.ones(40)].astype("float32")
    >>> round(float(trap(step, 10, 5)[0, 32]), 6)
    1.0
    """

    name: str
    signature: str
    types: tuple[str, ...]
    target: str
    elementwise: bool = False
    const_only: bool = False
    out_args: tuple[int, ...] | None = None
    factory: bool = False
    bound: tuple[Any, ...] = field(default=(), compare=False, repr=False)
    dims: tuple[tuple[str, ...], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dims", parse_signature(self.signature))
        for types in self.types:
            if len(types.replace("->", "")) != len(self.dims):
                raise ValueError(f"{self.name}: types {types!r} do not fit {self.signature!r}")

    @property
    def n_inputs(self) -> int:
        """Arguments before ``->`` (all of them when the signature has no arrow)."""
        if "->" not in self.signature:
            return len(self.dims)
        return len(parse_signature(self.signature.split("->")[0]))

    @property
    def outputs(self) -> tuple[int, ...]:
        """Positions of the output arguments."""
        if self.out_args is not None:
            return self.out_args
        return tuple(range(self.n_inputs, len(self.dims)))

    @property
    def kernel(self) -> Callable[..., Any]:
        """The kernel function (its module is imported now)."""
        func = _load(self.target)
        return functools.partial(func, *self.bound) if self.bound else func

    def make(self, *init_args: Any, **init_kwargs: Any) -> Processor:
        """The processor a factory makes from `init_args`."""
        if not self.factory:
            raise TypeError(f"{self.name} takes no init_args")
        made = _load(self.target)(*init_args, **init_kwargs)
        if not isinstance(made, Processor):
            raise TypeError(f"the factory {self.name} did not make a processor")
        return made

    def choose_types(self, dtypes: Sequence[np.dtype[Any] | None]) -> tuple[np.dtype[Any], ...]:
        """The first allowed type signature all known argument dtypes cast to safely."""
        for types in self.types:
            chars = types.replace("->", "")
            if all(d is None or np.can_cast(d, c) for d, c in zip(dtypes, chars, strict=False)):
                return tuple(np.dtype(c) for c in chars)
        known = ", ".join(str(d) for d in dtypes if d is not None)
        raise TypeError(f"{self.name} takes types {list(self.types)}; got {known}")

    def __call__(self, *args: Any) -> Any:
        """Run on plain arrays: one waveform or rows of them; missing outputs are allocated.

        Scalars are broadcast over the rows. Outputs with a core dimension not fixed by the
        inputs must be passed. Returns the output (or the tuple of outputs).
        """
        from tierflow.dsp.processors._direct import call_direct

        return call_direct(self, args)


@functools.cache
def _load(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
