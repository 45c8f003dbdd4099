"""Calorimeter shower point clouds for generative models, compatible with showerdata.

Showers are kept flat in memory (all points one after another, with the number of points of
each shower) and padded only on request. Files are read and written in showerdata's layout
(so that showerdata opens them) or in tierflow's LH5 layout: a flat, compressed point table
that can be appended to and reads single showers quickly.

Example
-------
>>> import numpy as np
>>> from tierflow import showers
>>> s = showers.Showers(points=np.ones((2, 3, 4)), energies=[10.0, 20.0], pdg=22)
>>> s.num_points.tolist(), s.points.shape
([3, 3], (2, 3, 4))
>>> showers.save(s, "s.lh5")  # doctest: +SKIP
>>> showers.load("s.lh5", start=1) == s[1]  # doctest: +SKIP
True
"""

from __future__ import annotations

from tierflow.showers import observables
from tierflow.showers._api import (
    add_metadata,
    add_target_dataset,
    create_empty_file,
    get_file_length,
    get_file_shape,
    layout_of,
    load,
    load_inc_particles,
    load_metadata,
    load_target,
    save,
    save_batch,
    save_target,
    save_target_batch,
)
from tierflow.showers._convert import convert, transform_file
from tierflow.showers._file import ShowerDataFile
from tierflow.showers._files import FileMode, Layout
from tierflow.showers._geometry import (
    GEOMETRIES,
    DetectorGeometry,
    get_ILD_geometry,
    get_ILD_unclustered_geometry,
    make_geometry,
    make_test_geometry,
)
from tierflow.showers._processing import cluster, filter_showers, shift_showers
from tierflow.showers._showers import IncidentParticles, Showers, concatenate
from tierflow.showers._shuffle import shuffle_files
from tierflow.showers._voxel import VoxelGrid, save_voxels, to_voxels

__all__ = [
    "GEOMETRIES",
    "DetectorGeometry",
    "FileMode",
    "IncidentParticles",
    "Layout",
    "ShowerDataFile",
    "Showers",
    "VoxelGrid",
    "add_metadata",
    "add_target_dataset",
    "cluster",
    "concatenate",
    "convert",
    "create_empty_file",
    "filter_showers",
    "get_ILD_geometry",
    "get_ILD_unclustered_geometry",
    "get_file_length",
    "get_file_shape",
    "layout_of",
    "load",
    "load_inc_particles",
    "load_metadata",
    "load_target",
    "make_geometry",
    "make_test_geometry",
    "observables",
    "save",
    "save_batch",
    "save_target",
    "save_target_batch",
    "save_voxels",
    "shift_showers",
    "shuffle_files",
    "to_voxels",
    "transform_file",
]
