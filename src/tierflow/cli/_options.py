"""Options that several commands share, defined once."""

from __future__ import annotations

import argparse

__all__ = ["add_hdf5_option"]


def add_hdf5_option(parser: argparse.ArgumentParser) -> None:
    """``--hdf5 legend|anchor``: the HDF5 preset of a tier's output
    (:class:`tierflow.lh5.Hdf5Preset`).

    Example
    -------
    >>> parser = argparse.ArgumentParser()
    >>> add_hdf5_option(parser)
    >>> parser.parse_args(["--hdf5", "anchor"]).hdf5
    'anchor'
    """
    parser.add_argument(
        "--hdf5",
        default="legend",
        choices=["legend", "anchor"],
        help="HDF5 filters: shuffle+Zstd as LEGEND production (default) or the anchor's "
        "shuffle+gzip",
    )
