"""Spectra in gammapy's OGIP layout: PHA (ON counts), BKG (OFF counts), ARF, RMF files.

``gammapy.datasets.SpectrumDatasetOnOff.read(path, format="ogip")`` opens them: the PHA file
``name.fits`` has SPECTRUM (CHANNEL, COUNTS, QUALITY = not safe, BACKSCAL = acceptance),
EBOUNDS and GTI; ``name_bkg.fits`` the OFF counts with BACKSCAL = OFF acceptance;
``name_arf.fits`` SPECRESP = exposure / livetime in m²; ``name_rmf.fits`` the energy-dispersion
matrix with grouped channels. Each file is written under a temporary name and renamed.

Example
-------
>>> paths = write_ogip(stacked, "spectrum/stacked.fits")          # doctest: +SKIP
>>> sorted(paths)                                                  # doctest: +SKIP
['arf', 'bkg', 'pha', 'rmf']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tierflow.errors import NotFoundError
from tierflow.sky._axis import Axis
from tierflow.sky._fits import CREATOR, write_hdulist
from tierflow.sky._spectrum import SpectrumDataset

__all__ = ["ogip_filenames", "read_ogip", "write_ogip"]


def ogip_filenames(path: str | os.PathLike[str]) -> dict[str, Path]:
    """The four file paths of a spectrum written at `path` (gammapy's naming)."""
    p = Path(path)
    suffix = "".join(p.suffixes)
    stem = p.name[: len(p.name) - len(suffix)] if suffix else p.name
    return {
        "pha": p,
        "bkg": p.with_name(f"{stem}_bkg{suffix}"),
        "arf": p.with_name(f"{stem}_arf{suffix}"),
        "rmf": p.with_name(f"{stem}_rmf{suffix}"),
    }


def _primary() -> Any:
    from astropy.io import fits

    hdu = fits.PrimaryHDU()
    hdu.header["CREATOR"] = CREATOR
    return hdu


def _ebounds(axis: Axis) -> Any:
    from astropy.io import fits

    hdu = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "I", array=np.arange(axis.nbin, dtype=np.int16)),
            fits.Column("E_MIN", "D", unit="TeV", array=axis.edges[:-1]),
            fits.Column("E_MAX", "D", unit="TeV", array=axis.edges[1:]),
        ],
        name="EBOUNDS",
    )
    h = hdu.header
    h["CHANTYPE"], h["DETCHANS"], h["HDUCLASS"] = "PHA", axis.nbin, "OGIP"
    h["HDUCLAS1"], h["HDUCLAS2"], h["HDUVERS"] = "RESPONSE", "EBOUNDS", "1.2.0"
    return hdu


def _spectrum_hdu(
    ds: SpectrumDataset, counts: NDArray[np.float64], backscal: NDArray[np.float64], bkg: bool
) -> Any:
    from astropy.io import fits

    names = {k: v.name for k, v in ogip_filenames(ds.name + ".fits").items()}
    hdu = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "I", array=np.arange(counts.size, dtype=np.int16)),
            fits.Column("COUNTS", "J", array=np.rint(counts).astype(np.int32)),
            fits.Column("QUALITY", "L", array=~ds.mask),
            fits.Column("BACKSCAL", "D", array=np.asarray(backscal, np.float64)),
        ],
        name="SPECTRUM",
    )
    h = hdu.header
    h["EXPOSURE"], h["HDUCLASS"], h["HDUCLAS1"], h["HDUVERS"] = (
        ds.livetime,
        "OGIP",
        "SPECTRUM",
        "1.2.1",
    )
    h["POISSERR"], h["CHANTYPE"], h["DETCHANS"] = True, "PHA", counts.size
    h["GROUPING"], h["AREASCAL"] = 0, 1
    h["HDUCLAS2"], h["HDUCLAS3"], h["HDUCLAS4"] = ("BKG" if bkg else "TOTAL"), "COUNT", "TYPE:1"
    h["OBS_ID"] = ds.name
    h["ANCRFILE"] = names["arf"]
    if ds.counts_off is not None:
        h["BACKFILE"] = names["bkg"]
    if ds.edisp is not None:
        h["RESPFILE"] = names["rmf"]
    return hdu


def _arf_hdus(ds: SpectrumDataset) -> list[Any]:
    from astropy.io import fits

    assert ds.exposure is not None
    e = ds.energy_axis_true.edges
    hdu = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERG_LO", "D", unit="TeV", array=e[:-1]),
            fits.Column("ENERG_HI", "D", unit="TeV", array=e[1:]),
            fits.Column("SPECRESP", "D", unit="m2", array=ds.exposure / ds.livetime),
        ],
        name="SPECRESP",
    )
    h = hdu.header
    h["HDUCLASS"], h["HDUCLAS1"], h["HDUCLAS2"], h["HDUVERS"] = (
        "OGIP",
        "RESPONSE",
        "SPECRESP",
        "1.1.0",
    )
    return [_primary(), hdu]


def _rmf_hdus(ds: SpectrumDataset) -> list[Any]:
    from astropy.io import fits

    assert ds.edisp is not None
    f_chan, n_chan, matrix, n_grp = [], [], [], []
    for row in ds.edisp:
        pos = np.nonzero(row)[0]
        groups = np.split(pos, np.nonzero(np.diff(pos) != 1)[0] + 1)
        n_grp.append(max(len(groups), 1))
        f_chan.append(np.array([g[0] for g in groups if g.size] or [0], dtype=np.int16))
        n_chan.append(np.array([g.size for g in groups], dtype=np.int16))
        matrix.append(row[pos].astype(np.float32))
    e = ds.energy_axis_true.edges
    hdu = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERG_LO", "E", unit="TeV", array=e[:-1]),
            fits.Column("ENERG_HI", "E", unit="TeV", array=e[1:]),
            fits.Column("N_GRP", "I", array=np.array(n_grp, dtype=np.int16)),
            fits.Column("F_CHAN", "PI()", array=np.array(f_chan, dtype=object)),
            fits.Column("N_CHAN", "PI()", array=np.array(n_chan, dtype=object)),
            fits.Column("MATRIX", "PE()", array=np.array(matrix, dtype=object)),
        ],
        name="MATRIX",
    )
    h = hdu.header
    h["CHANTYPE"], h["HDUCLASS"], h["HDUCLAS1"], h["HDUCLAS2"] = (
        "PHA",
        "OGIP",
        "RESPONSE",
        "RSP_MATRIX",
    )
    h["DETCHANS"], h["NUMGRP"] = ds.energy_axis.nbin, int(np.sum(n_grp))
    h["NUMELT"], h["TLMIN4"] = int(sum(int(n.sum()) for n in n_chan)), 0
    return [_primary(), hdu, _ebounds(ds.energy_axis)]


def write_ogip(
    ds: SpectrumDataset, path: str | os.PathLike[str], *, overwrite: bool = False
) -> dict[str, Path]:
    """Write a spectrum as OGIP PHA/BKG/ARF/RMF files (gammapy ``format="ogip"``).

    Returns the paths written, by kind (``pha``, ``bkg``, ``arf``, ``rmf``).
    """
    from tierflow.sky._fits import _gti_hdu

    files = ogip_filenames(path)
    acc = np.ones(ds.energy_axis.nbin) if ds.acceptance is None else ds.acceptance
    pha = [_primary(), _spectrum_hdu(ds, ds.counts, acc, False), _ebounds(ds.energy_axis)]
    if ds.gti[0]:
        pha.append(_gti_hdu(*ds.gti))
    out = {"pha": write_hdulist(pha, files["pha"], overwrite)}
    if ds.exposure is not None:
        out["arf"] = write_hdulist(_arf_hdus(ds), files["arf"], overwrite)
    if ds.counts_off is not None and ds.acceptance_off is not None:
        bkg = [_primary(), _spectrum_hdu(ds, ds.counts_off, ds.acceptance_off, True)]
        out["bkg"] = write_hdulist([*bkg, _ebounds(ds.energy_axis)], files["bkg"], overwrite)
    if ds.edisp is not None:
        out["rmf"] = write_hdulist(_rmf_hdus(ds), files["rmf"], overwrite)
    return out


def _table(path: Path, name: str) -> Any:
    from astropy.io import fits

    if not path.is_file():
        raise NotFoundError("OGIP file is missing", file=path, obj=name)
    with fits.open(path, memmap=False) as hdus:
        names = [h.name for h in hdus]
        if name not in names:
            raise NotFoundError("no such HDU", file=path, obj=name, candidates=names)
        data = hdus[name].data
        columns = {c: [np.asarray(v) for v in data[c]] for c in data.columns.names}
        return columns, dict(hdus[name].header)


def read_ogip(path: str | os.PathLike[str]) -> dict[str, NDArray[Any]]:
    """Arrays of an OGIP spectrum: counts, mask_safe, acceptance, counts_off, acceptance_off,
    energy_edges, energy_true_edges, aeff (m²), edisp ``[true, reco]``, and livetime."""
    files = ogip_filenames(path)
    spec, header = _table(files["pha"], "SPECTRUM")
    ebounds, _ = _table(files["pha"], "EBOUNDS")
    ebounds = {k: np.asarray(v, np.float64) for k, v in ebounds.items()}
    out: dict[str, Any] = {
        "counts": np.asarray(spec["COUNTS"], np.float64),
        "mask_safe": ~np.asarray(spec["QUALITY"], dtype=bool),
        "acceptance": np.asarray(spec["BACKSCAL"], np.float64),
        "energy_edges": np.append(ebounds["E_MIN"], ebounds["E_MAX"][-1]),
        "livetime": float(header["EXPOSURE"]),
    }
    if files["bkg"].is_file():
        bkg, _ = _table(files["bkg"], "SPECTRUM")
        out["counts_off"] = np.asarray(bkg["COUNTS"], np.float64)
        out["acceptance_off"] = np.asarray(bkg["BACKSCAL"], np.float64)
    if files["arf"].is_file():
        arf, _ = _table(files["arf"], "SPECRESP")
        out["energy_true_edges"] = np.append(np.asarray(arf["ENERG_LO"]), arf["ENERG_HI"][-1])
        out["aeff"] = np.asarray(arf["SPECRESP"], np.float64)
    if files["rmf"].is_file():
        rmf, _ = _table(files["rmf"], "MATRIX")
        n_reco = out["counts"].size
        edisp = np.zeros((len(rmf["MATRIX"]), n_reco))
        for k in range(len(rmf["MATRIX"])):
            values, start = np.asarray(rmf["MATRIX"][k], np.float64), 0
            chans = zip(
                np.atleast_1d(rmf["F_CHAN"][k]), np.atleast_1d(rmf["N_CHAN"][k]), strict=False
            )
            for f, n in chans:
                edisp[k, int(f) : int(f) + int(n)] = values[start : start + int(n)]
                start += int(n)
        out["edisp"] = edisp
    return out
