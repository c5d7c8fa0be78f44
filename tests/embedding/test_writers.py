"""Streaming embedding writers: GeoParquet, CSV and .npy, all atomic."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import Point, Polygon

from satclip_cli.embedding.writers import (
    NpyEmbeddingWriter,
    embedding_column_names,
    npy_header,
    open_embedding_writer,
    output_format,
)
from satclip_cli.errors import InputError, OutputExistsError

D = 5


def _blocks() -> list[tuple[gpd.GeoDataFrame, np.ndarray]]:
    """Two blocks of rows (EPSG:3857 geometry, attributes) and float32 embeddings."""
    rng = np.random.default_rng(0)
    blocks = []
    for start, n in ((0, 4), (4, 3)):
        frame = gpd.GeoDataFrame(
            {
                "name": [f"r{start + i}" for i in range(n)],
                "count": pd.array(list(range(start, start + n)), dtype="int64"),
            },
            geometry=[Point(1000.0 * (start + i), -500.0 * i) for i in range(n)],
            crs="EPSG:3857",
        )
        blocks.append((frame, rng.standard_normal((n, D)).astype(np.float32)))
    return blocks


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_output_format_by_extension() -> None:
    assert output_format("a.parquet") == "geoparquet"
    assert output_format("a.GeoParquet") == "geoparquet"
    assert output_format("a.csv") == "csv"
    assert output_format("a.npy") == "npy"
    with pytest.raises(InputError, match=r"supported extensions: \.parquet, \.geoparquet, \.csv, \.npy"):
        output_format("a.gpkg")
    with pytest.raises(InputError, match="no extension"):
        output_format("embeddings")


def test_embedding_column_names() -> None:
    assert embedding_column_names(3) == ["emb_000", "emb_001", "emb_002"]
    assert embedding_column_names(1000)[-1] == "emb_999"
    assert embedding_column_names(1001)[-1] == "emb_1000"
    assert embedding_column_names(1001)[0] == "emb_0000"


def test_geoparquet_list_column(tmp_path: Path) -> None:
    out = tmp_path / "emb.parquet"
    blocks = _blocks()
    with open_embedding_writer(out, D) as writer:
        for frame, emb in blocks:
            writer.write(emb, attributes=frame, lonlat=np.zeros((len(frame), 2)))
        assert not out.exists()  # nothing visible before completion
    assert writer.rows_written == 7
    schema = pq.read_schema(out)
    assert schema.field("embedding").type == pa.list_(pa.float32(), D)
    assert schema.names == ["name", "count", "geometry", "embedding"]
    geo = json.loads(schema.metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    result = gpd.read_parquet(out)
    assert result.crs.to_epsg() == 3857
    expected = pd.concat([frame for frame, _ in blocks], ignore_index=True)
    assert list(result["name"]) == list(expected["name"])
    assert list(result["count"]) == list(range(7))
    assert shapely.equals(result.geometry.array, expected.geometry.array).all()
    np.testing.assert_array_equal(np.stack(result["embedding"].to_numpy()), np.concatenate([e for _, e in blocks]))


def test_geoparquet_wide_columns(tmp_path: Path) -> None:
    out = tmp_path / "wide.geoparquet"
    blocks = _blocks()
    with open_embedding_writer(out, D, wide=True) as writer:
        for frame, emb in blocks:
            writer.write(emb, attributes=frame)
    result = gpd.read_parquet(out)
    names = [f"emb_{i:03d}" for i in range(D)]
    assert list(result.columns) == ["name", "count", "geometry", *names]
    assert all(result[name].dtype == np.float32 for name in names)
    np.testing.assert_array_equal(result[names].to_numpy(), np.concatenate([e for _, e in blocks]))


def test_geoparquet_points_from_lonlat_when_no_geometry(tmp_path: Path) -> None:
    out = tmp_path / "pts.parquet"
    table = pd.DataFrame({"id": [1, 2], "geometry": ["not", "a geometry"]})
    lonlat = np.array([[10.5, 20.25], [-30.0, -40.0]])
    with open_embedding_writer(out, 2) as writer:
        writer.write(np.ones((2, 2), np.float32), attributes=table, lonlat=lonlat)
    result = gpd.read_parquet(out)
    assert result.crs.to_epsg() == 4326
    assert result.geometry.name == "geometry_point"  # the input's own column keeps its name
    assert list(result["geometry"]) == ["not", "a geometry"]
    np.testing.assert_array_equal(shapely.get_coordinates(result.geometry.array), lonlat)
    geo = json.loads(pq.read_schema(out).metadata[b"geo"])
    assert geo["columns"]["geometry_point"]["geometry_types"] == ["Point"]


def test_geoparquet_consistent_schema_when_later_block_has_nulls(tmp_path: Path) -> None:
    out = tmp_path / "nulls.parquet"
    lonlat = np.zeros((2, 2))
    with open_embedding_writer(out, 1) as writer:
        writer.write(np.zeros((2, 1)), attributes=pd.DataFrame({"v": [1, 2]}), lonlat=lonlat)
        writer.write(np.zeros((2, 1)), attributes=pd.DataFrame({"v": [3.0, np.nan]}), lonlat=lonlat)
    table = pq.read_table(out)
    assert table.schema.field("v").type == pa.int64()
    assert table.column("v").to_pylist() == [1, 2, 3, None]


def test_column_name_conflict(tmp_path: Path) -> None:
    out = tmp_path / "c.parquet"
    with pytest.raises(InputError, match="already has a column named 'embedding'"), open_embedding_writer(out, 1) as w:
        w.write(np.zeros((1, 1)), attributes=pd.DataFrame({"embedding": [1]}), lonlat=np.zeros((1, 2)))
    assert _leftovers(tmp_path) == []


def test_csv_output(tmp_path: Path) -> None:
    out = tmp_path / "emb.csv"
    blocks = _blocks()
    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    blocks[1][0].loc[1, "geometry"] = square  # overall row 5
    with open_embedding_writer(out, D) as writer:
        for frame, emb in blocks:
            writer.write(emb, attributes=frame)
    result = pd.read_csv(out)
    assert list(result.columns) == ["name", "count", "geometry", *embedding_column_names(D)]
    assert len(result) == 7
    assert shapely.from_wkt(result["geometry"].iloc[0]).equals(Point(0, 0))
    assert shapely.from_wkt(result["geometry"].iloc[5]).equals(square)
    values = result[embedding_column_names(D)].to_numpy().astype(np.float32)
    np.testing.assert_array_equal(values, np.concatenate([e for _, e in blocks]))  # exact float32 round trip


def test_npy_output(tmp_path: Path) -> None:
    out = tmp_path / "emb.npy"
    blocks = _blocks()
    with open_embedding_writer(out, D) as writer:
        assert isinstance(writer, NpyEmbeddingWriter)
        for _, emb in blocks:
            writer.write(emb.astype(np.float64))
    array = np.load(out)
    assert array.dtype == np.float32 and array.shape == (7, D)
    np.testing.assert_array_equal(array, np.concatenate([e for _, e in blocks]))
    mapped = np.load(out, mmap_mode="r")
    assert mapped.shape == (7, D)
    assert _leftovers(tmp_path) == ["emb.npy"]


def test_npy_header_is_what_numpy_reads(tmp_path: Path) -> None:
    path = tmp_path / "h.npy"
    path.write_bytes(npy_header((3, 2), 128) + np.arange(6, dtype="<f4").tobytes())
    np.testing.assert_array_equal(np.load(path), np.arange(6, dtype=np.float32).reshape(3, 2))
    with pytest.raises(ValueError, match="does not fit"):
        npy_header((10**40, 10**40), 64)


@pytest.mark.parametrize("name", ["out.parquet", "out.csv", "out.npy"])
def test_failure_midway_leaves_nothing(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    frame, emb = _blocks()[0]
    with pytest.raises(RuntimeError, match="boom"), open_embedding_writer(out, D) as writer:
        writer.write(emb, attributes=frame)
        raise RuntimeError("boom")
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["out.parquet", "out.csv", "out.npy"])
def test_interrupt_with_overwrite_keeps_existing_file(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    out.write_bytes(b"precious")
    frame, emb = _blocks()[0]
    with pytest.raises(KeyboardInterrupt), open_embedding_writer(out, D, overwrite=True) as writer:
        writer.write(emb, attributes=frame)
        raise KeyboardInterrupt
    assert out.read_bytes() == b"precious"
    assert _leftovers(tmp_path) == [name]


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.npy"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError), open_embedding_writer(out, D):
        pass
    assert out.read_bytes() == b"precious"
    with open_embedding_writer(out, D, overwrite=True) as writer:
        writer.write(np.ones((1, D)))
    np.testing.assert_array_equal(np.load(out), np.ones((1, D), np.float32))


def test_nothing_written_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "empty.parquet"
    with pytest.raises(InputError, match="no rows"), open_embedding_writer(out, D):
        pass
    assert _leftovers(tmp_path) == []


def test_wrong_embedding_shape(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"shape \[n, 5\]"), open_embedding_writer(tmp_path / "x.npy", D) as writer:
        writer.write(np.zeros((2, 4)))
    assert _leftovers(tmp_path) == []
