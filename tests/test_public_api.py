"""The public surface: every name in every ``__all__`` resolves; importing tierflow is cheap."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import tierflow


def _public_modules() -> list[str]:
    names = ["tierflow"]
    for info in pkgutil.walk_packages(tierflow.__path__, "tierflow."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


@pytest.mark.parametrize("module_name", _public_modules())
def test_all_names_resolve(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.__all__ names {name!r}, which does not exist"


def test_import_is_fast_and_light() -> None:
    code = (
        "import time, sys; t = time.perf_counter(); import tierflow, tierflow.types, tierflow.lh5;"
        "print(time.perf_counter() - t);"
        "print(','.join(m for m in ('pandas', 'awkward', 'matplotlib', 'pyarrow') if m in sys.modules))"
    )
    best = min(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
              .stdout.split()[0])
        for _ in range(3)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy = out.split("\n")[1]
    assert heavy == "", f"importing tierflow pulled in {heavy}"
    assert best < 0.3, f"import tierflow took {best:.3f} s"


def test_plain_import_loads_no_numba_compile() -> None:
    code = "import tierflow, sys; print('numba' in sys.modules, 'h5py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
