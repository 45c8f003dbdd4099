"""Sky maps from DL3: GADF observations reduced to counts, exposure and background maps.

The pipeline of gammapy's low-level analysis, vectorised: read an observation
(:class:`DataStore`, :class:`Observation`; each HDU read once), cut the mosaic
(:class:`WcsGeom`) around its pointing, run the ``make_map_*`` makers, apply safe masks, normalise
the background in the field of view or with a ring, stack, and compute excess and Li & Ma
significance maps.

Example
-------
>>> from tierflow import sky
>>> energy = sky.Axis.from_energy_bounds(0.5, 50, 10)
>>> geom = sky.WcsGeom.create((83.633, 22.014), 0.02, (5, 5), axes=[energy])
>>> geom.data_shape
(10, 250, 250)
"""

from __future__ import annotations

from tierflow.sky._analysis import (
    SKY_MAKERS,
    FoVBackgroundMaker,
    Maker,
    MapDatasetMaker,
    ObservationProducts,
    Reduction,
    RingBackgroundMaker,
    SafeMaskMaker,
    make_exclusion_mask,
    make_geom,
    make_makers,
    reduce_observations,
    select_obs_ids,
    write_reduction,
)
from tierflow.sky._axis import Axis, Scale
from tierflow.sky._config import ReduceConfig, SpectrumConfig, parse_config, read_config
from tierflow.sky._dataset import (
    MapDataset,
    MapStack,
    OnOffStack,
    SafeMethod,
    Selection,
    dataset_to_image,
    make_excess_maps_cash,
    make_excess_maps_onoff,
    make_map_dataset,
    make_map_ring_background,
    make_mask_safe,
    reproject_mask,
    scale_background_fov,
)
from tierflow.sky._dl3 import GTI, DataStore, EventList, Observation, read_irf
from tierflow.sky._fits import (
    MapHDU,
    make_bands_hdu,
    make_excess_maps_from_file,
    make_map_hdus,
    read_map,
    read_maps,
    write_dataset,
    write_hdulist,
    write_maps,
    write_onoff,
    write_stack,
)
from tierflow.sky._geom import WcsGeom, angular_separation, position_angle
from tierflow.sky._irf import (
    IRF,
    IRF_READERS,
    Background2D,
    Background3D,
    EffectiveArea2D,
    EnergyDispersion2D,
    FoVAlignment,
    PSFKing,
    PSFTable,
    PSFThreeGauss,
)
from tierflow.sky._makers import (
    fov_coordinates,
    make_edisp_kernel_map,
    make_edisp_kernels,
    make_map_background_fov,
    make_map_background_irf,
    make_map_counts,
    make_map_exposure_reco_energy,
    make_map_exposure_true_energy,
    make_mask_safe_aeff_max,
    make_mask_safe_aeff_max_dl4,
    make_mask_safe_bkg_peak,
    make_mask_safe_edisp_bias,
    make_mask_safe_offset_max,
    make_psf_map,
    trapz_loglog,
)
from tierflow.sky._ogip import ogip_filenames, read_ogip, write_ogip
from tierflow.sky._plot import save_png, save_pngs
from tierflow.sky._region import (
    AnnulusRegion,
    CircleRegion,
    PixelRegion,
    RegionShape,
    SkyRegion,
    find_reflected_regions,
    make_region_wcs,
)
from tierflow.sky._ring import make_map_adaptive_ring_background
from tierflow.sky._spectrum import (
    SpectrumDataset,
    aeff_energy_threshold,
    make_mask_safe_spectrum,
    make_reflected_background,
    make_spectrum_dataset,
    reduce_spectra,
    stack_spectra,
)
from tierflow.sky._stats import (
    convolve,
    make_ring_kernel,
    make_tophat_kernel,
    sqrt_ts_cash,
    sqrt_ts_wstat,
)

__all__ = [
    "SKY_MAKERS",
    "FoVBackgroundMaker",
    "Maker",
    "MapDatasetMaker",
    "ObservationProducts",
    "Reduction",
    "RingBackgroundMaker",
    "SafeMaskMaker",
    "make_exclusion_mask",
    "make_geom",
    "make_makers",
    "reduce_observations",
    "select_obs_ids",
    "write_reduction",
    "ReduceConfig",
    "parse_config",
    "read_config",
    "MapHDU",
    "make_bands_hdu",
    "make_excess_maps_from_file",
    "make_map_hdus",
    "read_map",
    "read_maps",
    "write_dataset",
    "write_hdulist",
    "write_maps",
    "write_onoff",
    "write_stack",
    "save_png",
    "save_pngs",
    "make_map_adaptive_ring_background",
    "GTI",
    "IRF",
    "IRF_READERS",
    "Axis",
    "Background2D",
    "Background3D",
    "DataStore",
    "EffectiveArea2D",
    "EnergyDispersion2D",
    "EventList",
    "FoVAlignment",
    "MapDataset",
    "MapStack",
    "Observation",
    "OnOffStack",
    "PSFKing",
    "PSFTable",
    "PSFThreeGauss",
    "SafeMethod",
    "Scale",
    "Selection",
    "WcsGeom",
    "angular_separation",
    "convolve",
    "dataset_to_image",
    "fov_coordinates",
    "make_edisp_kernel_map",
    "make_edisp_kernels",
    "AnnulusRegion",
    "CircleRegion",
    "PixelRegion",
    "RegionShape",
    "SkyRegion",
    "SpectrumDataset",
    "SpectrumConfig",
    "aeff_energy_threshold",
    "find_reflected_regions",
    "make_mask_safe_spectrum",
    "make_reflected_background",
    "make_region_wcs",
    "make_spectrum_dataset",
    "ogip_filenames",
    "read_ogip",
    "reduce_spectra",
    "stack_spectra",
    "write_ogip",
    "make_excess_maps_cash",
    "make_excess_maps_onoff",
    "make_map_background_fov",
    "make_map_background_irf",
    "make_map_counts",
    "make_map_dataset",
    "make_map_exposure_reco_energy",
    "make_map_exposure_true_energy",
    "make_map_ring_background",
    "make_mask_safe",
    "make_mask_safe_aeff_max",
    "make_mask_safe_aeff_max_dl4",
    "make_mask_safe_bkg_peak",
    "make_mask_safe_edisp_bias",
    "make_mask_safe_offset_max",
    "make_psf_map",
    "make_ring_kernel",
    "make_tophat_kernel",
    "position_angle",
    "read_irf",
    "reproject_mask",
    "scale_background_fov",
    "sqrt_ts_cash",
    "sqrt_ts_wstat",
    "trapz_loglog",
]
