"""FileImage: new LH5 files written without the HDF5 library equal those written through it,
and HDF5 reads, extends and adds to them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierflow import lh5
from tierflow.codecs import ULEB128ZigZagDiff
from tierflow.errors import MismatchError
from tierflow.lh5 import FileImage, WriteMode
from tierflow.lh5 import _h5format as fmt
from tierflow.types import (
    Array,
    ArrayOfEqualSizedArrays,
    Scalar,
    Struct,
    Table,
    VectorOfVectors,
)

PROPERTY = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ZSTD = {"compression": "zstd", "compression_opts": 3, "shuffle": True}
GZIP = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


def _table(n: int, start: int, dtype: str, seed: int) -> Table:
    rng = np.random.default_rng(seed)
    return Table(
        {
            "x": Array(np.arange(start, start + n).astype(dtype), attrs={"units": "ns"}),
            "flag": Array(rng.integers(0, 2, n).astype(bool)),
            "wf": ArrayOfEqualSizedArrays(rng.integers(0, 900, (n, 13)).astype(np.uint16)),
            "hits": VectorOfVectors([list(range(i % 4)) for i in range(start, start + n)]),
            "label": ArrayOfEqualSizedArrays(
                np.array([[f"ch{i % 1000}", "x"] for i in range(start, start + n)], "S5").reshape(
                    n, 2
                )
            ),
        }
    )


def _tree(path: Path) -> dict[str, Any]:
    """Everything of a file that tells two files apart: objects, attributes, types, shapes,
    chunks, filters, values and every stored chunk's bytes."""
    found: dict[str, Any] = {}

    def visit(name: str, obj: Any) -> None:
        attrs = {k: obj.attrs[k] for k in sorted(obj.attrs)}
        if not isinstance(obj, h5py.Dataset):
            found[name] = ("group", attrs)
            return
        stored = []
        if obj.chunks is not None:
            for index in range(obj.id.get_num_chunks()):
                info = obj.id.get_chunk_info(index)
                stored.append((info.chunk_offset, obj.id.read_direct_chunk(info.chunk_offset)))
        value = obj[()]
        found[name] = (
            attrs,
            obj.id.get_type(),  # equal HDF5 types: order, padding, character set too
            obj.dtype.str,
            obj.shape,
            obj.maxshape,
            obj.chunks,
            obj.compression,
            obj.compression_opts,
            obj.shuffle,
            value.tobytes() if isinstance(value, np.ndarray) else value,
            sorted(stored),
        )

    with h5py.File(path) as f:
        f.visititems(visit)
    return found


def _both(
    tmp_path: Path, writes: list[tuple[Any, str, str, WriteMode]], hdf5: Any
) -> tuple[Path, Path]:
    ours, theirs = tmp_path / "image.lh5", tmp_path / "h5py.lh5"
    image = FileImage(ours, hdf5)
    with h5py.File(theirs, "w") as handle:
        for obj, name, group, mode in writes:
            assert image.supports(obj)
            image.write(obj, name, group, mode)
            lh5.write(obj, name, handle, group, mode=mode, hdf5_settings=hdf5)
    image.close()
    if not (isinstance(hdf5, dict) and hdf5.get("chunks")):
        _own_rows_chunks(theirs)
    return ours, theirs


def _own_rows_chunks(path: Path) -> None:
    """Give each dataset that never filled a chunk one chunk of its own rows, with its
    filters and type (what the image writes: the h5py path cannot know the final rows)."""
    with h5py.File(path, "a") as f:
        small: list[str] = []

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset) and obj.chunks and 0 < obj.shape[0] < obj.chunks[0]:
                small.append(name)

        f.visititems(visit)
        for name in small:
            old = f[name]
            data, attrs = old[()], dict(old.attrs)
            dcpl = old.id.get_create_plist()
            dcpl.set_chunk((old.shape[0], *old.chunks[1:]))
            maxshape = tuple(h5py.h5s.UNLIMITED if m is None else m for m in old.maxshape)
            space = h5py.h5s.create_simple(old.shape, maxshape)
            kind = old.id.get_type()
            del f[name]
            new = h5py.Dataset(h5py.h5d.create(f.id, name.encode(), kind, space, dcpl=dcpl))
            new[()] = data
            for key, value in attrs.items():
                new.attrs[key] = value


@PROPERTY
@given(
    sizes=st.lists(st.integers(0, 2500), min_size=1, max_size=5),
    dtype=st.sampled_from(["u1", "i2", ">i4", "u8", "f4", ">f8"]),
    hdf5=st.sampled_from([ZSTD, GZIP, {"compression": None}]),
)
def test_appended_tables_equal_those_hdf5_writes(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], dtype: str, hdf5: Any
) -> None:
    tmp_path = tmp_path_factory.mktemp("image")
    writes = []
    start = 0
    for seed, n in enumerate(sizes):
        writes.append((_table(n, start, dtype, seed), "raw", "ch7", WriteMode.APPEND))
        start += n
    ours, theirs = _both(tmp_path, writes, hdf5)
    assert _tree(ours) == _tree(theirs)
    back = lh5.read("ch7/raw", ours)
    assert len(back) == start
    assert np.array_equal(back["x"].nda, np.arange(start).astype(dtype))


def test_headers_scalars_structs_and_encoded_waveforms(tmp_path: Path) -> None:
    codec = ULEB128ZigZagDiff()
    waveforms = ArrayOfEqualSizedArrays(np.arange(60, dtype=np.uint16).reshape(6, 10) % 7)
    waveforms.attrs["compression"] = codec
    header = Struct(
        {
            "name": Scalar("FlashCam ü"),
            "rate": Scalar(np.float64(62.5), attrs={"units": "MHz"}),
            "triggered": Scalar(False),
            "boards": Struct({"0": Struct({"adc_bits": Scalar(np.int64(16))})}),
        },
        attrs={"run": 7, "gain": 1.5, "calibrated": True},
    )
    writes = [
        (header, "header", "/", WriteMode.OVERWRITE),
        (header, "header", "/", WriteMode.OVERWRITE),  # replaced, not appended
        (Table({"values": waveforms}), "raw", "spms/ch1", WriteMode.APPEND),
        (Table({"values": waveforms}), "raw", "spms/ch1", WriteMode.APPEND),
    ]
    ours, theirs = _both(tmp_path, writes, ZSTD)
    assert _tree(ours) == _tree(theirs)
    back = lh5.read("spms/ch1/raw/values", ours)
    assert np.array_equal(back.nda, np.concatenate([waveforms.nda, waveforms.nda]))
    assert lh5.read("header/name", ours).value == "FlashCam ü"


def test_hdf5_extends_and_adds_to_an_image_file(tmp_path: Path) -> None:
    path = tmp_path / "image.lh5"
    image = FileImage(path, {"chunks": (10,), **GZIP})
    image.write(Table({"x": Array(np.arange(1000.0))}), "t")  # 100 chunks: a two-level B-tree
    image.close()
    with h5py.File(path, "a") as f:
        ds = f["t/x"]
        ds.resize((1500,))
        ds[1000:] = np.arange(1000.0, 1500.0)
        f["t"].create_dataset("y", data=np.arange(3))
        for i in range(20):
            f["t"].attrs[f"k{i}"] = i
    lh5.write(Table({"x": Array(np.arange(1500.0, 1600.0))}), "t2", path, mode=WriteMode.APPEND)
    with h5py.File(path) as f:
        assert np.array_equal(f["t/x"][:], np.arange(1500.0))
        assert sorted(f["t"]) == ["x", "y"]
        assert f["t"].attrs["k19"] == 19
        assert f["t"].attrs["datatype"] == "table{x}"
        assert f["t2/x"][-1] == 1599.0


def test_a_large_dataset_gets_a_three_level_chunk_btree(tmp_path: Path) -> None:
    n_chunks = 2 * fmt.BTREE_K * 2 * fmt.BTREE_K + 5  # more than two full levels hold
    path = tmp_path / "image.lh5"
    image = FileImage(path, {"chunks": (2,), "compression": None})
    image.write(Array(np.arange(2 * n_chunks, dtype=np.int32)), "x")
    image.close()
    with h5py.File(path, "a") as f:
        assert f["x"].id.get_num_chunks() == n_chunks
        assert np.array_equal(f["x"][:], np.arange(2 * n_chunks))
        f["x"].resize((2 * n_chunks + 7,))
        f["x"][-7:] = -1
    with h5py.File(path) as f:
        assert f["x"][2 * n_chunks - 1] == 2 * n_chunks - 1
        assert list(f["x"][-7:]) == [-1] * 7


def test_what_only_hdf5_writes_is_refused_before_anything_changes(tmp_path: Path) -> None:
    image = FileImage(tmp_path / "image.lh5", ZSTD)
    assert not image.supports(Table({"s": Array(np.array(["a", "b"]))}))  # string arrays
    assert not image.supports(Array(np.arange(3), attrs={"bins": [1, 2]}))  # array attribute
    assert not image.supports(Array(np.arange(3), attrs={"hdf5_settings": {"compression": "lzf"}}))
    assert not image.supports(Array(np.arange(3, dtype=np.complex64)))
    assert image.supports(Table({"x": Array(np.arange(3))}))
    image.write(Table({"x": Array(np.arange(3))}), "t")
    with pytest.raises(MismatchError, match="differs"):
        image.write(Table({"y": Array(np.arange(3))}), "t")
    with pytest.raises(MismatchError, match="cannot append"):  # as the HDF5 path says
        image.write(Table({"x": Array(np.array([b"a", b"b"]))}), "t")
    image.close()
    assert lh5.read("t", tmp_path / "image.lh5")["x"].nda.tolist() == [0, 1, 2]


def test_global_heap_collections_hold_at_most_their_object_count(tmp_path: Path) -> None:
    many = Struct({f"s{i}": Scalar(f"value {i}") for i in range(5000)})
    path = tmp_path / "image.lh5"
    image = FileImage(path)
    image.write(many, "strings", mode=WriteMode.OVERWRITE)
    image.close()
    back = lh5.read("strings", path)
    assert back["s4999"].value == "value 4999"
    assert back["s0"].value == "value 0"


def test_a_failed_block_removes_the_file_and_create_refuses_what_is_there(
    tmp_path: Path,
) -> None:
    from tierflow.lh5 import ObjectExistsError

    path = tmp_path / "image.lh5"

    def write_twice() -> None:
        with FileImage(path) as image:
            image.write(Array(np.arange(3)), "x", mode=WriteMode.CREATE)
            image.write(Array(np.arange(3)), "x", mode=WriteMode.CREATE)

    with pytest.raises(ObjectExistsError, match="written already"):
        write_twice()
    assert not path.exists()
    with FileImage(path) as image:
        image.write(Array(np.arange(3)), "x", mode=WriteMode.CREATE)
        image.write(Array(np.arange(5)), "x", mode=WriteMode.OVERWRITE)
    assert lh5.read("x", path).nda.tolist() == [0, 1, 2, 3, 4]


def test_nested_and_encoded_vectors_histograms_and_growing_structs(tmp_path: Path) -> None:
    from tierflow.types import Histogram

    hits = VectorOfVectors([[1, 2], [], [3]])
    hits.attrs["compression"] = ULEB128ZigZagDiff()  # VectorOfEncodedVectors on disk
    nested = VectorOfVectors([[[1.0], [2.0, 3.0]], [], [[4.0]]])
    histogram = Histogram(np.arange(4.0), [np.linspace(0.0, 4.0, 5)])
    writes = [
        (Table({"hits": hits, "nested": nested}), "t", "/", WriteMode.APPEND),
        (Table({"hits": hits, "nested": nested}), "t", "/", WriteMode.APPEND),
        (histogram, "h", "/", WriteMode.OVERWRITE),
        (Struct({"a": Scalar(np.int32(1))}), "s", "/", WriteMode.APPEND),
        (Struct({"b": Scalar("two")}), "s", "/", WriteMode.APPEND),  # a struct gains fields
    ]
    ours, theirs = _both(tmp_path, writes, GZIP)
    assert _tree(ours) == _tree(theirs)
    assert lh5.read("h", ours) == histogram
    with h5py.File(ours) as f:
        assert f["s"].attrs["datatype"] == "struct{a,b}"
        assert list(f["t/nested/cumulative_length"][()]) == [2, 2, 3, 5, 5, 6]


@PROPERTY
@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=6),
    chunk_rows=st.integers(1, 40),
    width=st.sampled_from([0, 1, 3]),
    dtype=st.sampled_from(["<i2", ">u4", "f8", "S3"]),
)
def test_any_chunking_equals_hdf5s_and_hdf5_extends_it(
    tmp_path_factory: pytest.TempPathFactory,
    sizes: list[int],
    chunk_rows: int,
    width: int,
    dtype: str,
) -> None:
    """Chunk B-trees of one or two levels (up to 1800 chunks), full and partial last
    chunks, 1-D and 2-D rows: the same datasets as HDF5 makes, and HDF5 appends to them."""
    tmp_path = tmp_path_factory.mktemp("chunking")
    shape = (chunk_rows, width) if width else (chunk_rows,)
    settings = {"chunks": shape, **GZIP}
    start, writes = 0, []
    for n in sizes:
        values = np.arange(start, start + n * max(width, 1)).reshape((n, width) if width else (n,))
        column = Array(values.astype(dtype), attrs={"hdf5_settings": settings})
        writes.append((column, "x", "/", WriteMode.APPEND))
        start += n * max(width, 1)
    ours, theirs = _both(tmp_path, writes, None)
    assert _tree(ours) == _tree(theirs)
    with h5py.File(ours, "a") as f:
        rows = f["x"].shape[0]
        f["x"].resize(rows + 5, axis=0)
        f["x"][rows:] = np.ones((5, width) if width else 5, dtype)
    with h5py.File(ours) as f, h5py.File(theirs) as g:
        assert np.array_equal(f["x"][:rows], g["x"][()])
        assert f["x"].shape[0] == rows + 5


def test_a_dataset_that_never_fills_a_chunk_is_one_chunk_of_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "small.lh5"
    with FileImage(path, ZSTD) as image:
        image.write(Array(np.arange(37, dtype=np.uint32)), "few")
        image.write(Array(np.arange(1024, dtype=np.uint32)), "full")  # one whole chunk
        for _ in range(2):  # 1400 rows: a chunk of 1024 and 376
            image.write(Array(np.arange(700, dtype=np.uint32)), "more", mode=WriteMode.APPEND)
    with FileImage(tmp_path / "given.lh5", {**ZSTD, "chunks": (100,)}) as image:
        image.write(Array(np.arange(37, dtype=np.uint32)), "few")
    with h5py.File(path) as f, h5py.File(tmp_path / "given.lh5") as given:
        assert f["few"].chunks == (37,)
        assert f["few"].id.get_num_chunks() == 1
        assert f["full"].chunks == (1024,)
        assert f["more"].chunks == (1024,)
        assert np.array_equal(f["few"][()], np.arange(37))
        assert given["few"].chunks == (100,)  # asked for: kept
