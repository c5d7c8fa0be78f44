"""Rasters to Zarr in-process: equal to the COG, CF metadata for xarray/rioxarray/GDAL, resume, int8/float16."""

import shutil

import numpy as np
import pytest
import rasterio
import xarray as xr

from satclip_cli.embedding.config import EmbedConfig
from satclip_cli.embedding.job import EmbeddingModel, run
from satclip_cli.embedding.quantize import mean_cosine
from satclip_cli.embedding.resumable import folder_bytes, read_run
from satclip_cli.embedding.zarr_writer import DONE_FOLDER
from satclip_cli.errors import InputError, OutputExistsError

GRID = {"bbox": (-40.0, -30.0, 40.0, 30.0), "resolution": 1.0}


@pytest.fixture(scope="module")
def checkpoint(fixtures_dir):
    return str(fixtures_dir / "satclip_resnet18_l10.ckpt")


@pytest.fixture(scope="module")
def model(checkpoint, tmp_path_factory):
    return EmbeddingModel.load(EmbedConfig(model=checkpoint, device="cpu", output=tmp_path_factory.mktemp("m") / "x"))


@pytest.fixture(scope="module")
def cog(checkpoint, model, tmp_path_factory):
    path = tmp_path_factory.mktemp("cog") / "grid.tif"
    run(EmbedConfig(model=checkpoint, device="cpu", output=path, **GRID), progress=False, model=model)
    with rasterio.open(path) as src:
        return src.read(), src.transform


def _zarr(checkpoint, model, path, **kwargs):
    config = EmbedConfig(model=checkpoint, device="cpu", output=path, zarr_chunk=32, **GRID, **kwargs)
    return run(config, progress=False, model=model)


def test_zarr_equals_the_cog_with_cf_grid_mapping(checkpoint, model, cog, tmp_path):
    import rioxarray

    store = tmp_path / "grid.zarr"
    summary = _zarr(checkpoint, model, store)
    assert summary.raster is not None and summary.raster.pixels == 80 * 60 and summary.raster.output_path == store
    dataset = xr.open_zarr(store, decode_coords="all")
    assert dataset.attrs["satclip_complete"] is True and "spatial_ref" in dataset.coords
    embedding = dataset["embedding"]
    assert embedding.dims == ("band", "y", "x") and embedding.chunks == ((256,), (32, 28), (32, 32, 16))
    assert "crs_wkt" in dataset["spatial_ref"].attrs and "GeoTransform" in dataset["spatial_ref"].attrs
    values, transform = cog
    np.testing.assert_allclose(embedding.values, values, atol=1e-5, rtol=0)
    assert embedding.rio.crs.to_epsg() == 4326 and embedding.rio.transform() == transform
    assert rioxarray.open_rasterio(f'ZARR:"{store}":/embedding').rio.crs.to_epsg() == 4326
    assert read_run(store)["complete"] is True


def test_an_interrupted_store_resumes_only_the_missing_chunks(checkpoint, model, cog, tmp_path):
    store = tmp_path / "grid.zarr"
    _zarr(checkpoint, model, store)
    # Make it look like a run killed after 2 of 6 chunks: unfinished, 4 chunk records and their data gone.
    run_file = read_run(store)
    (store / ".satclip-run.json").write_text(
        __import__("json").dumps({"settings": run_file["settings"], "complete": False})
    )
    markers = sorted((store / DONE_FOLDER).iterdir())
    for marker in markers[2:]:
        marker.unlink()
    shutil.rmtree(store / "embedding" / "0.1", ignore_errors=True)
    for chunk in (store / "embedding").glob("0.*"):
        chunk.unlink() if chunk.name not in ("0.0.0", "0.0.1") else None
    summary = _zarr(checkpoint, model, store)
    assert summary.raster is not None and len(list((store / DONE_FOLDER).iterdir())) == 6
    np.testing.assert_allclose(xr.open_zarr(store)["embedding"].values, cog[0], atol=1e-5, rtol=0)
    with pytest.raises(OutputExistsError, match="overwrite"):
        _zarr(checkpoint, model, store)


def test_int8_and_float16_stores(checkpoint, model, cog, tmp_path):
    full = tmp_path / "f32.zarr"
    _zarr(checkpoint, model, full)
    q8, f16 = tmp_path / "q8.zarr", tmp_path / "f16.zarr"
    _zarr(checkpoint, model, q8, quantize="int8")
    _zarr(checkpoint, model, f16, output_dtype="float16")
    raw = xr.open_zarr(q8, mask_and_scale=False)["embedding"]
    assert raw.dtype == np.int8 and "scale_factor" in raw.attrs and raw.attrs["_FillValue"] == -128
    decoded = xr.open_zarr(q8)["embedding"].values  # xarray applies scale_factor/add_offset itself
    flat = lambda a: a.reshape(256, -1).T  # noqa: E731
    assert mean_cosine(flat(decoded), flat(cog[0])) >= 0.999
    assert folder_bytes(q8) <= 0.3 * folder_bytes(full)
    half = xr.open_zarr(f16)["embedding"]
    assert half.dtype == np.float16 and np.abs(half.values.astype(np.float32) - cog[0]).max() < 1e-2


def test_settings_that_do_not_fit_zarr(checkpoint, model, tmp_path):
    with pytest.raises(InputError, match="preview"):
        _zarr(checkpoint, model, tmp_path / "a.zarr", preview=tmp_path / "p.png")
    points = tmp_path / "p.csv"
    points.write_text("lon,lat\n1,2\n")
    with pytest.raises(InputError, match="raster grids"):
        run(EmbedConfig(model=checkpoint, device="cpu", input=points, output=tmp_path / "a.zarr"), model=model)
    with pytest.raises(InputError, match="float16"):
        run(EmbedConfig(model=checkpoint, device="cpu", output=tmp_path / "a.tif", output_dtype="float16", **GRID),
            model=model, progress=False)  # fmt: skip
