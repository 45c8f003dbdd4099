"""The public surface: every name in every ``__all__`` resolves; importing tierflow is cheap."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import tierflow


def _public_modules() -> list[str]:
    found = [info.name for info in pkgutil.walk_packages(tierflow.__path__, "tierflow.")]
    return ["tierflow"] + [n for n in found if not any(p.startswith("_") for p in n.split("."))]


@pytest.mark.parametrize("module_name", _public_modules())
def test_all_names_resolve(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.__all__ names {name!r}, which does not exist"


HEAVY = ("pandas", "awkward", "matplotlib", "pyarrow", "numba")


def _import_in_fresh_process(statement: str) -> tuple[float, list[str]]:
    code = (
        f"import time, sys; t = time.perf_counter(); {statement}; dt = time.perf_counter() - t;"
        f"print(dt); print(*[m for m in {HEAVY!r} if m in sys.modules])"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, heavy = run.stdout.split("\n")[:2]
    return float(seconds), heavy.split()


def test_import_is_fast_and_light() -> None:
    best = min(_import_in_fresh_process("import tierflow")[0] for _ in range(3))
    assert best < 0.3, f"import tierflow took {best:.3f} s"
    _, heavy = _import_in_fresh_process("import tierflow.types, tierflow.lh5, tierflow.cli")
    assert heavy == [], f"importing the core pulled in {heavy}"


def test_plain_import_loads_no_numba_compile() -> None:
    code = "import tierflow, sys; print('numba' in sys.modules, 'h5py' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
