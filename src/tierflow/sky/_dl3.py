"""DL3 input in the GADF format: observation and HDU index files, event lists, GTIs and IRFs.

Each observation reads each of its files once (a gzipped file is inflated once into memory) and
keeps every HDU it has decoded, so the makers can ask for the effective area many times.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import FormatError, NotFoundError
from tierflow.sky._axis import Axis, Scale
from tierflow.sky._fitsread import UnsupportedFeatureError, read_hdus
from tierflow.sky._irf import IRF, IRF_READERS, _ParametricPSF

__all__ = ["DataStore", "EventList", "GTI", "Observation", "read_irf"]

# GADF column prefix -> (axis name, scale, unit)
_AXIS_SPEC: dict[str, tuple[str, Scale, str]] = {
    "ENERG": ("energy_true", Scale.LOG, "TeV"),
    "THETA": ("offset", Scale.LIN, "deg"),
    "MIGRA": ("migra", Scale.LIN, ""),
    "RAD": ("rad", Scale.LIN, "deg"),
    "DETX": ("fov_lon", Scale.LIN, "deg"),
    "DETY": ("fov_lat", Scale.LIN, "deg"),
}
_PREFIX_OF = {name: prefix for prefix, (name, _, _) in _AXIS_SPEC.items()}
_PREFIX_OF["energy"] = "ENERG"
_DATA_COLUMNS = {
    "aeff_2d": ("EFFAREA",),
    "edisp_2d": ("MATRIX",),
    "psf_table": ("RPSF",),
    "bkg_3d": ("BKG", "BGD"),
    "bkg_2d": ("BKG", "BGD"),
}
_PARAM_COLUMNS = {
    "psf_3gauss": ("SCALE", "SIGMA_1", "AMPL_2", "SIGMA_2", "AMPL_3", "SIGMA_3"),
    "psf_king": ("GAMMA", "SIGMA"),
}
_DEFAULT_UNIT = {"aeff_2d": "m2", "bkg_3d": "s-1 MeV-1 sr-1", "bkg_2d": "s-1 MeV-1 sr-1"}


def _column(data: Any, names: Iterable[str], file: str, obj: str) -> tuple[str, Any]:
    available = list(data.columns.names)
    for name in names:
        if name in available:
            return name, data[name][0]
    want = next(iter(names))
    raise NotFoundError(f"no column {want!r}", file=file, obj=f"{obj}/{want}", candidates=available)


def _read_axis(data: Any, name: str, file: str, obj: str) -> Axis:
    prefix = _PREFIX_OF[name]
    _, scale, default_unit = _AXIS_SPEC[prefix]
    _, lo = _column(data, [f"{prefix}_LO"], file, obj)
    _, hi = _column(data, [f"{prefix}_HI"], file, obj)
    unit = data.columns[f"{prefix}_LO"].unit or default_unit
    factor = 1.0
    if default_unit and unit.strip() != default_unit:
        from tierflow.sky._irf import unit_factor

        factor = unit_factor(unit, default_unit)
    lo_a = np.asarray(lo, dtype=np.float64) * factor
    hi_a = np.asarray(hi, dtype=np.float64) * factor
    return Axis.from_lo_hi(name, lo_a, hi_a, scale, default_unit)


def read_irf(header: Mapping[str, Any], data: Any, hdu_class: str, file: str = "") -> Any:
    """Decode one GADF IRF binary table into its IRF object.

    Parameters
    ----------
    header, data
        The HDU header and its FITS_rec (one row).
    hdu_class
        GADF class: ``aeff_2d``, ``edisp_2d``, ``psf_table``, ``psf_3gauss``, ``psf_king``,
        ``bkg_2d`` or ``bkg_3d``.
    file
        For error messages.
    """
    cls = IRF_READERS[hdu_class]
    obj = str(header.get("EXTNAME", hdu_class))
    meta = dict(header)
    if issubclass(cls, _ParametricPSF):
        axes = tuple(_read_axis(data, n, file, obj) for n in ("energy_true", "offset"))
        params = {
            p: np.asarray(_column(data, [p], file, obj)[1], dtype=np.float64).T
            for p in _PARAM_COLUMNS[hdu_class]
        }
        return cls(axes, params, meta)
    assert issubclass(cls, IRF)
    axes = tuple(_read_axis(data, n, file, obj) for n in cls.required_axes)
    col, raw = _column(data, _DATA_COLUMNS[hdu_class], file, obj)
    values = np.asarray(raw).astype(np.float32 if raw.dtype.kind == "f" else np.float64)
    shape = tuple(a.nbin for a in axes)
    # gammapy's reading: transpose the FITS array, and transpose back when that does not fit
    data_t = values.T if values.T.shape == shape else values
    if data_t.shape != shape:
        raise FormatError(f"{col} has shape {values.shape}, axes give {shape}", file=file, obj=obj)
    unit = data.columns[col].unit or _DEFAULT_UNIT.get(hdu_class, "")
    return cls(axes, np.ascontiguousarray(data_t), unit, meta)


@dataclass(frozen=True)
class EventList:
    """Events of one observation: sky position (deg), energy (TeV), time (s) and the header."""

    ra: NDArray[np.float64]
    dec: NDArray[np.float64]
    energy: NDArray[np.float64]
    time: NDArray[np.float64]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ra.size)


@dataclass(frozen=True)
class GTI:
    """Good time intervals (mission time, s)."""

    start: NDArray[np.float64]
    stop: NDArray[np.float64]

    @property
    def time_sum(self) -> float:
        """Total good time in seconds."""
        return float(np.sum(self.stop - self.start))


class Observation:
    """One DL3 observation: its HDUs, read on first use and kept.

    Parameters
    ----------
    obs_id
        Observation id.
    hdus
        HDU type (``events``, ``gti``, ``aeff``, ``edisp``, ``psf``, ``bkg``) →
        (file path, HDU name, HDU class).

    Examples
    --------
    >>> store = DataStore.from_dir("hess-dl3-dr1")            # doctest: +SKIP
    >>> obs = store.observation(23523)                          # doctest: +SKIP
    >>> obs.aeff.evaluate({"energy_true": [1.0]}, {"offset": [0.5]})  # doctest: +SKIP
    """

    def __init__(self, obs_id: int, hdus: Mapping[str, tuple[Path, str, str]]) -> None:
        self.obs_id = int(obs_id)
        self.hdus = dict(hdus)
        self._files: dict[Path, Any] = {}

    def __repr__(self) -> str:
        return f"Observation({self.obs_id}, hdus={sorted(self.hdus)})"

    def _hdu(self, hdu_type: str) -> tuple[Any, Any, str]:
        if hdu_type not in self.hdus:
            raise NotFoundError(
                f"observation {self.obs_id} has no {hdu_type!r} HDU",
                obj=hdu_type,
                candidates=self.hdus,
            )
        path, name, hdu_class = self.hdus[hdu_type]
        hdus = self._open(path)
        if isinstance(hdus, dict):
            if name.upper() in hdus:
                header, table = hdus[name.upper()]
                return header, table, hdu_class
            raise NotFoundError(f"no HDU {name!r}", file=path, obj=name, candidates=list(hdus))
        try:
            hdu = hdus[name]
        except KeyError:
            names = [h.name for h in hdus]
            raise NotFoundError(f"no HDU {name!r}", file=path, obj=name, candidates=names) from None
        return hdu.header, hdu.data, hdu_class

    def _open(self, path: Path) -> Any:
        """The HDUs of a file: headers and tables by name, or astropy's HDU list when the
        file uses FITS features the fast reader leaves to astropy."""
        if path not in self._files:
            if not path.is_file():
                raise NotFoundError(
                    f"observation {self.obs_id}: DL3 file is missing",
                    file=path,
                    obj=path.name,
                    candidates=[p.name for p in path.parent.glob("*")]
                    if path.parent.is_dir()
                    else [],
                )
            self._files[path] = _read_fits(path)
        return self._files[path]

    def close(self) -> None:
        """Release the in-memory files (decoded HDUs are kept)."""
        for hdus in self._files.values():
            if not isinstance(hdus, dict):
                hdus.close()
        self._files.clear()

    def _irf(self, hdu_type: str) -> Any:
        header, data, hdu_class = self._hdu(hdu_type)
        return read_irf(header, data, hdu_class, file=str(self.hdus[hdu_type][0]))

    @cached_property
    def events(self) -> EventList:
        """The event list (RA/Dec as stored, taken as ICRS like gammapy does)."""
        header, data, _ = self._hdu("events")
        col = {n.upper(): n for n in data.columns.names}
        for need in ("RA", "DEC", "ENERGY"):
            if need not in col:
                raise NotFoundError(
                    f"event list has no column {need!r}",
                    file=self.hdus["events"][0],
                    obj=f"EVENTS/{need}",
                    candidates=list(col),
                )
        energy = np.asarray(data[col["ENERGY"]], dtype=np.float64)
        e_unit = data.columns[col["ENERGY"]].unit or "TeV"
        if e_unit.strip() != "TeV":
            from tierflow.sky._irf import unit_factor

            energy = energy * unit_factor(e_unit, "TeV")
        time = np.asarray(data[col["TIME"]], dtype=np.float64) if "TIME" in col else energy * 0
        return EventList(
            np.asarray(data[col["RA"]], dtype=np.float64),
            np.asarray(data[col["DEC"]], dtype=np.float64),
            energy,
            time,
            dict(header),
        )

    @cached_property
    def gti(self) -> GTI:
        """Good time intervals."""
        _, data, _ = self._hdu("gti")
        return GTI(np.asarray(data["START"], np.float64), np.asarray(data["STOP"], np.float64))

    @cached_property
    def aeff(self) -> Any:
        """Effective area (:class:`~tierflow.sky.irf.EffectiveArea2D`)."""
        return self._irf("aeff")

    @cached_property
    def edisp(self) -> Any:
        """Energy dispersion (:class:`~tierflow.sky.irf.EnergyDispersion2D`)."""
        return self._irf("edisp")

    @cached_property
    def psf(self) -> Any:
        """PSF (table, 3-gauss or King)."""
        return self._irf("psf")

    @cached_property
    def bkg(self) -> Any:
        """Background model (2-D or 3-D).

        H.E.S.S. files written by SASH with HDUVERS 0.2 have the FoV longitude reversed; like
        gammapy, their alignment is taken as ``REVERSE_LON_RADEC``.
        """
        bkg = self._irf("bkg")
        meta = self.meta
        legacy = str(meta.get("CREATOR", "")).strip() == "SASH FITS::EventListWriter"
        if legacy and str(meta.get("HDUVERS", "")).strip() == "0.2":
            fixed = dict(bkg.meta, FOVALIGN="REVERSE_LON_RADEC")
            bkg = type(bkg)(bkg.axes, bkg.data, bkg.unit, fixed)
        return bkg

    @cached_property
    def bkg_filled(self) -> Any:
        """The background with empty energy bins filled (``interp_missing_data``), once per run."""
        return self.bkg.interp_missing_data("energy")

    @property
    def meta(self) -> Mapping[str, Any]:
        """The event-list header."""
        return self.events.meta

    @property
    def pointing_radec(self) -> tuple[float, float]:
        """Fixed pointing (RA_PNT, DEC_PNT) in degrees."""
        try:
            return float(self.meta["RA_PNT"]), float(self.meta["DEC_PNT"])
        except KeyError:
            raise NotFoundError(
                "event header has no RA_PNT/DEC_PNT",
                file=self.hdus["events"][0],
                obj="EVENTS/RA_PNT",
                candidates=list(self.meta),
            ) from None

    @property
    def ontime(self) -> float:
        """Observation time TSTOP - TSTART in s (not corrected for dead time)."""
        return float(self.meta["TSTOP"]) - float(self.meta["TSTART"])

    @property
    def livetime(self) -> float:
        """Ontime corrected for dead time, as gammapy computes it (1 - dead-time fraction)."""
        dead_fraction = 1.0 - float(self.meta.get("DEADC", 1.0))
        return self.ontime * (1.0 - dead_fraction)


class DataStore:
    """A DL3 data release: its observation index and HDU index.

    Parameters
    ----------
    base_dir
        Folder the HDU index paths are relative to.
    obs_table, hdu_table
        Columns of ``OBS_INDEX`` and ``HDU_INDEX`` as numpy arrays.

    Examples
    --------
    >>> store = DataStore.from_dir("hess-dl3-dr1")      # doctest: +SKIP
    >>> store.obs_ids_in_cone(83.633, 22.014, 2.5)     # doctest: +SKIP
    [23523, 23526, 23559, 23592]
    """

    OBS_INDEX = ("obs-index.fits.gz", "obs-index.fits")
    HDU_INDEX = ("hdu-index.fits.gz", "hdu-index.fits")
    #: Observations kept (with their decoded HDUs) so that asking again reads nothing.
    CACHE_SIZE = 8

    def __init__(
        self,
        base_dir: str | Path,
        obs_table: Mapping[str, NDArray[Any]],
        hdu_table: Mapping[str, NDArray[Any]],
    ) -> None:
        self.base_dir = Path(base_dir)
        self.obs_table = dict(obs_table)
        self.hdu_table = dict(hdu_table)
        self._cache: dict[int, Observation] = {}

    @classmethod
    def from_dir(cls, base_dir: str | Path) -> DataStore:
        """Read the index files of a DL3 folder."""
        base = Path(base_dir)
        tables = []
        for names in (cls.OBS_INDEX, cls.HDU_INDEX):
            path = next((base / n for n in names if (base / n).is_file()), None)
            if path is None:
                found = [p.name for p in base.glob("*")] if base.is_dir() else []
                raise NotFoundError("no index file", file=base, obj=names[0], candidates=found)
            tables.append(_read_table(path))
        return cls(base, tables[0], tables[1])

    @property
    def obs_ids(self) -> list[int]:
        """Observation ids of the observation index."""
        return [int(i) for i in self.obs_table["OBS_ID"]]

    def has_files(self, obs_id: int) -> bool:
        """Whether every file the HDU index lists for `obs_id` exists."""
        rows = self._rows(obs_id)
        return bool(rows) and all(self._path(r).is_file() for r in rows)

    def obs_ids_in_cone(
        self, ra: float, dec: float, radius: float, *, require_files: bool = True
    ) -> list[int]:
        """Observations pointed within `radius` deg of (ra, dec), optionally with files present."""
        from tierflow.sky._geom import angular_separation

        sep = angular_separation(
            np.radians(self.obs_table["RA_PNT"].astype(np.float64)),
            np.radians(self.obs_table["DEC_PNT"].astype(np.float64)),
            np.radians(ra),
            np.radians(dec),
        )
        ids = [i for i, s in zip(self.obs_ids, np.degrees(sep), strict=False) if s < radius]
        return [i for i in ids if self.has_files(i)] if require_files else ids

    def _rows(self, obs_id: int) -> list[int]:
        return [int(k) for k in np.nonzero(self.hdu_table["OBS_ID"] == obs_id)[0]]

    def _path(self, row: int) -> Path:
        return (
            self.base_dir
            / _s(self.hdu_table["FILE_DIR"][row])
            / _s(self.hdu_table["FILE_NAME"][row])
        )

    def observation(self, obs_id: int, required: Sequence[str] = ()) -> Observation:
        """The observation `obs_id`; missing files or required HDUs raise NotFoundError.

        The last :attr:`CACHE_SIZE` observations asked for are kept, so asking again returns the
        same object with the HDUs it has decoded already.
        """
        obs = self._cache.pop(int(obs_id), None) or self._make_observation(obs_id)
        for kind in required:
            if kind not in obs.hdus:
                raise NotFoundError(
                    f"observation {obs_id} has no {kind!r} HDU", obj=kind, candidates=obs.hdus
                )
        self._cache[obs.obs_id] = obs
        while len(self._cache) > self.CACHE_SIZE:
            del self._cache[next(iter(self._cache))]
        return obs

    def _make_observation(self, obs_id: int) -> Observation:
        rows = self._rows(obs_id)
        if not rows:
            raise NotFoundError(
                f"observation {obs_id} is not in the HDU index",
                file=self.base_dir,
                obj=str(obs_id),
                candidates=[str(i) for i in self.obs_ids],
            )
        hdus = {}
        for r in rows:
            path = self._path(r)
            if not path.is_file():
                present = [str(i) for i in self.obs_ids if i != obs_id and self.has_files(i)]
                raise NotFoundError(
                    f"observation {obs_id} is listed in the HDU index but its file is missing"
                    f" (observations with files: {', '.join(present) or 'none'})",
                    file=path,
                    obj=str(obs_id),
                )
            kind = _s(self.hdu_table["HDU_TYPE"][r]).lower()
            hdus[kind] = (
                path,
                _s(self.hdu_table["HDU_NAME"][r]),
                _s(self.hdu_table["HDU_CLASS"][r]).lower(),
            )
        return Observation(obs_id, hdus)

    def observations(
        self, obs_ids: Iterable[int], required: Sequence[str] = ()
    ) -> Iterator[Observation]:
        """The observations of `obs_ids`, in order."""
        for obs_id in obs_ids:
            yield self.observation(obs_id, required)


def _listing(folder: Path) -> list[str]:
    return [p.name for p in folder.glob("*")] if folder.is_dir() else []


def _s(value: Any) -> str:
    return (value.decode() if isinstance(value, bytes) else str(value)).strip()


def _read_fits(path: Path) -> Any:
    """Headers and tables of a (gzipped) FITS file read once into memory (see ``_fitsread``)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        return read_hdus(raw)
    except UnsupportedFeatureError:
        from astropy.io import fits

        return fits.open(io.BytesIO(raw), memmap=False, lazy_load_hdus=True)


def _read_table(path: Path) -> dict[str, NDArray[Any]]:
    hdus = _read_fits(path)
    if isinstance(hdus, dict):
        tables = [t for _, t in hdus.values() if t is not None]
        if not tables:
            raise FormatError("no binary table", file=path)
        return {name: tables[0][name] for name in tables[0].columns.names}
    with hdus as hdulist:
        data = hdulist[1].data
        return {name: np.asarray(data[name]) for name in data.columns.names}
