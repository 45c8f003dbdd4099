"""Freed memory kept for reuse: glibc's thresholds set once, only when nobody else set them."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from tierflow import allocator

GLIBC = platform.libc_ver()[0] == "glibc"

# 50 times: allocate and touch sixteen 256 KiB buffers (a chunk's columns), free them all; print
# the page faults of the last 40 rounds.
_CHURN = """
import resource, sys
import numpy as np
from tierflow.allocator import retain_freed_memory
print(retain_freed_memory())
def churn(n):
    for _ in range(n):
        columns = [np.ones(1 << 15) for _ in range(16)]  # 16 x 256 KiB, touched
        del columns
churn(10)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn(40)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _churn(**env: str) -> tuple[bool, int]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    clean.pop(allocator.OPT_OUT, None)
    run = subprocess.run(
        [sys.executable, "-c", _CHURN],
        capture_output=True,
        text=True,
        check=True,
        env={**clean, **env},
    )
    done, faults = run.stdout.split()
    return done == "True", int(faults)


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_freed_buffers_are_reused_without_new_page_faults() -> None:
    done, faults = _churn()
    assert done
    # 40 rounds of fresh 4 MiB would be 40 x 1024 page faults; reused memory needs none
    assert faults < 200, faults


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_without_it_each_buffer_is_fresh_memory() -> None:
    """The check above can fail: glibc's starting thresholds give the freed 4 MiB back
    (more than twice the largest buffer) and each round touches fresh pages."""
    done, faults = _churn(**{allocator.OPT_OUT: "0"})
    assert not done
    assert faults > 40 * 900, faults


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_the_users_own_malloc_settings_win() -> None:
    done, _ = _churn(MALLOC_TRIM_THRESHOLD_="131072")
    assert not done


def test_thresholds_are_glibcs_own_adaptive_maximum() -> None:
    assert allocator.MMAP_THRESHOLD == 4 * 1024 * 1024 * 8  # DEFAULT_MMAP_THRESHOLD_MAX
    assert allocator.TRIM_THRESHOLD == 2 * allocator.MMAP_THRESHOLD
