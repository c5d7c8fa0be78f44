"""``satclip embed`` end to end through the CLI, with an official-format checkpoint."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from satclip_cli.cli.app import app
from satclip_cli.models.checkpoints import load_location_encoder

runner = CliRunner()
CHECKPOINT = "satclip_resnet18_l10.ckpt"


@pytest.fixture(scope="module")
def checkpoint(fixtures_dir):
    return fixtures_dir / CHECKPOINT


@pytest.fixture(scope="module")
def reference_encoder(checkpoint):
    return load_location_encoder(checkpoint).double()


def _expected(encoder, lonlat):
    with torch.no_grad():
        return encoder(torch.as_tensor(np.array(lonlat, dtype=np.float64))).numpy()


def _embed(*args):
    return runner.invoke(app, ["embed", *map(str, args)])


CITIES = pd.DataFrame(
    {"name": ["Rome", "Nairobi", "Lima", "Tromso"], "lon": [12.4964, 36.8219, -77.0428, 18.9553],
     "lat": [41.9028, -1.2921, -12.0464, 69.6492]}
)  # fmt: skip


def test_geopackage_to_geoparquet(tmp_path, checkpoint, reference_encoder):
    gpkg = tmp_path / "cities.gpkg"
    gpd.GeoDataFrame(CITIES[["name"]], geometry=gpd.points_from_xy(CITIES.lon, CITIES.lat), crs=4326).to_file(gpkg)
    out = tmp_path / "cities.parquet"
    result = _embed(gpkg, "-o", out, "--model", checkpoint, "--dtype", "float64", "--quiet")
    assert result.exit_code == 0, result.output
    frame = gpd.read_parquet(out)
    assert list(frame["name"]) == list(CITIES["name"])
    embeddings = np.stack(frame["embedding"].to_numpy())
    assert embeddings.shape == (4, 256)
    np.testing.assert_allclose(embeddings, _expected(reference_encoder, CITIES[["lon", "lat"]]), atol=1e-6)


def test_csv_in_float32_matches_float64(tmp_path, checkpoint, reference_encoder):
    csv = tmp_path / "cities.csv"
    CITIES.to_csv(csv, index=False)
    out = tmp_path / "cities.npy"
    result = _embed(csv, "-o", out, "--model", checkpoint)
    assert result.exit_code == 0, result.output
    assert "Embedded 4 features" in result.stderr
    np.testing.assert_allclose(np.load(out), _expected(reference_encoder, CITIES[["lon", "lat"]]), atol=1e-4)


def test_projected_input_is_reprojected(tmp_path, checkpoint, reference_encoder):
    points = gpd.GeoDataFrame(CITIES[["name"]], geometry=gpd.points_from_xy(CITIES.lon, CITIES.lat), crs=4326)
    path = tmp_path / "cities_3857.fgb"
    points.to_crs(3857).to_file(path)
    out = tmp_path / "out.csv"
    assert _embed(path, "-o", out, "--model", checkpoint, "--dtype", "float64", "-q").exit_code == 0
    # FlatGeobuf's spatial index reorders features: align by name.
    table = pd.read_csv(out).set_index("name").loc[CITIES["name"]]
    embeddings = table[[f"emb_{i:03d}" for i in range(256)]].to_numpy()
    np.testing.assert_allclose(embeddings, _expected(reference_encoder, CITIES[["lon", "lat"]]), atol=1e-6)


def _assert_one_line_error(result, fragment):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.output


def test_bad_inputs_give_one_line_errors(tmp_path, checkpoint):
    out = tmp_path / "out.parquet"
    _assert_one_line_error(_embed(tmp_path / "missing.gpkg", "-o", out, "--model", checkpoint), "not found")

    garbage = tmp_path / "garbage.gpkg"
    garbage.write_bytes(b"\x00\x01 definitely not a geopackage")
    _assert_one_line_error(_embed(garbage, "-o", out, "--model", checkpoint), "garbage.gpkg")

    no_coords = tmp_path / "no_coords.csv"
    pd.DataFrame({"a": [1, 2], "b": [3, 4]}).to_csv(no_coords, index=False)
    _assert_one_line_error(_embed(no_coords, "-o", out, "--model", checkpoint), "lon")

    nan = tmp_path / "nan.csv"
    pd.DataFrame({"lon": [1.0, np.nan], "lat": [2.0, 3.0]}).to_csv(nan, index=False)
    _assert_one_line_error(_embed(nan, "-o", out, "--model", checkpoint), "row")

    polar = tmp_path / "polar.csv"
    pd.DataFrame({"lon": [1.0, 2.0], "lat": [2.0, 95.0]}).to_csv(polar, index=False)
    _assert_one_line_error(_embed(polar, "-o", out, "--model", checkpoint), "latitude")

    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(checkpoint.read_bytes()[:5000])
    _assert_one_line_error(_embed(polar, "-o", out, "--model", corrupt), "corrupt.ckpt")
    assert not out.exists()
    assert not list(tmp_path.glob(".out*"))


def test_existing_output_is_kept_unless_overwrite(tmp_path, checkpoint):
    csv = tmp_path / "cities.csv"
    CITIES.to_csv(csv, index=False)
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    _assert_one_line_error(_embed(csv, "-o", out, "--model", checkpoint), "--overwrite")
    assert out.read_text() == "precious\n"
    assert _embed(csv, "-o", out, "--model", checkpoint, "--overwrite", "-q").exit_code == 0
    assert len(pd.read_csv(out)) == 4


def test_garbage_collection_is_left_as_found(tmp_path, checkpoint):
    """Imports and the model load run without automatic collections; the caller's setting comes back after."""
    import gc

    csv = tmp_path / "cities.csv"
    CITIES.to_csv(csv, index=False)
    assert gc.isenabled()
    assert _embed(csv, "-o", tmp_path / "a.npy", "--model", checkpoint, "-q").exit_code == 0
    assert gc.isenabled()
    _assert_one_line_error(_embed(csv, "-o", tmp_path / "b.npy", "--model", tmp_path / "missing.ckpt"), "missing")
    assert gc.isenabled()
    gc.disable()
    try:
        assert _embed(csv, "-o", tmp_path / "c.npy", "--model", checkpoint, "-q").exit_code == 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_longitudes_outside_range_are_wrapped(tmp_path, checkpoint, reference_encoder):
    csv = tmp_path / "wrapped.csv"
    pd.DataFrame({"lon": [372.4964, -347.5036], "lat": [41.9028, 41.9028]}).to_csv(csv, index=False)
    out = tmp_path / "wrapped.npy"
    assert _embed(csv, "-o", out, "--model", checkpoint, "--dtype", "float64", "-q").exit_code == 0
    np.testing.assert_allclose(np.load(out), _expected(reference_encoder, [[12.4964, 41.9028]] * 2), atol=1e-6)


def test_missing_crs_is_assumed_wgs84_with_a_warning(tmp_path, checkpoint):
    path = tmp_path / "nocrs.shp"  # a shapefile without .prj has no CRS
    gpd.GeoDataFrame(CITIES[["name"]], geometry=gpd.points_from_xy(CITIES.lon, CITIES.lat)).to_file(path)
    out = tmp_path / "nocrs.parquet"
    result = _embed(path, "-o", out, "--model", checkpoint)
    assert result.exit_code == 0, result.output
    assert "EPSG:4326" in result.stderr and "Warning" in result.stderr


def test_help_is_fast_and_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "embed" in result.output and "models" in result.output


@pytest.mark.parametrize("crs", [None, "EPSG:3035"])
def test_raster_pixels_match_the_vector_path(tmp_path, checkpoint, crs):
    """Pixel centre -> lon/lat -> the same embedding as `satclip embed` of that point."""
    import rasterio
    from pyproj import Transformer

    out = tmp_path / "grid.tif"
    if crs is None:
        grid_args = ["--bbox", "5", "40", "15", "48", "--resolution", "0.5"]
    else:
        grid_args = ["--bbox", "4000000", "2500000", "4400000", "2800000", "--resolution", "20000", "--crs", crs]
    result = _embed("-o", out, "--model", checkpoint, "--dtype", "float64", "-q", *grid_args, "--preview",
                    tmp_path / "grid.png")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "grid.png").stat().st_size > 0
    rows_cols = [(0, 0), (3, 7), (10, 4)]
    with rasterio.open(out) as raster:
        assert raster.count == 256 and raster.descriptions[0] == "emb_000" and raster.dtypes[0] == "float32"
        to_lonlat = Transformer.from_crs(raster.crs, "EPSG:4326", always_xy=True)
        centres = [to_lonlat.transform(*raster.xy(r, c)) for r, c in rows_cols]
        pixels = np.stack([raster.read(window=((r, r + 1), (c, c + 1)))[:, 0, 0] for r, c in rows_cols])
    csv = tmp_path / "centres.csv"
    pd.DataFrame(centres, columns=["lon", "lat"]).to_csv(csv, index=False)
    vector = tmp_path / "centres.npy"
    assert _embed(csv, "-o", vector, "--model", checkpoint, "--dtype", "float64", "-q").exit_code == 0
    np.testing.assert_allclose(pixels, np.load(vector), atol=1e-6)


def test_raster_bbox_west_of_east_crosses_the_antimeridian(tmp_path, checkpoint, reference_encoder):
    """``--bbox 170 -10 -170 10`` is 20 degrees wide through 180, as for ``satclip sample --bbox``."""
    import rasterio

    out = tmp_path / "pacific.tif"
    args = ("--bbox", "170", "-10", "-170", "10", "--resolution", "1", "--dtype", "float64", "-q")
    result = _embed("-o", out, "--model", checkpoint, *args)
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as raster:
        assert (raster.width, raster.height) == (20, 20)
        assert raster.transform.c == pytest.approx(170.0)
        pixels = np.stack([raster.read(window=((9, 10), (c, c + 1)))[:, 0, 0] for c in (0, 15)])
    expected = _expected(reference_encoder, [[170.5, 0.5], [-174.5, 0.5]])  # centre x 185.5 wrapped to -174.5
    np.testing.assert_allclose(pixels, expected, atol=1e-5)


def test_raster_bad_grid_is_a_one_line_error(tmp_path, checkpoint):
    out = tmp_path / "bad.tif"
    result = _embed("-o", out, "--model", checkpoint, "--bbox", "10", "48", "15", "40", "--resolution", "1")
    _assert_one_line_error(result, "bbox south")
    _assert_one_line_error(_embed("-o", out, "--model", checkpoint, "--like", tmp_path / "missing.tif"), "missing")
    assert not out.exists()


@pytest.fixture(scope="module")
def official_l40_checkpoint(fixtures_dir, tmp_path_factory):
    """An official-layout analytic L = 40 checkpoint (random first layer), like the released L = 40 models."""
    checkpoint = torch.load(fixtures_dir / "satclip_resnet18_l10.ckpt", weights_only=True)
    checkpoint["hyper_parameters"]["legendre_polys"] = 40
    generator = torch.Generator().manual_seed(0)
    weight = (torch.rand(512, 1600, generator=generator, dtype=torch.float64) * 2 - 1) / 1600
    for prefix in ("model.location.nnet.", "model.nnet."):
        checkpoint["state_dict"][prefix + "layers.0.weight"] = weight
    path = tmp_path_factory.mktemp("l40") / "satclip-l40.ckpt"
    torch.save(checkpoint, path)
    return path


def test_official_l40_uses_legacy_sh_unless_told_otherwise(tmp_path, official_l40_checkpoint):
    from satclip_cli.models.positional_encoding.legacy_harmonics import legacy_spherical_harmonics
    from satclip_cli.models.positional_encoding.spherical_harmonics import spherical_harmonics

    points = pd.DataFrame({"lon": [10.0, -60.0, 100.0], "lat": [5.0, 75.0, -85.0]})
    csv = tmp_path / "points.csv"
    points.to_csv(csv, index=False)
    default, exact = tmp_path / "default.npy", tmp_path / "exact.npy"
    args = ["--model", official_l40_checkpoint, "--dtype", "float64", "-q"]
    assert _embed(csv, "-o", default, *args).exit_code == 0
    assert _embed(csv, "-o", exact, *args, "--sh", "exact").exit_code == 0

    encoder = load_location_encoder(official_l40_checkpoint)
    lonlat = torch.from_numpy(points.to_numpy())
    with torch.no_grad():
        expected_legacy = encoder.nnet(legacy_spherical_harmonics(lonlat, 40)).numpy()
        expected_exact = encoder.nnet(spherical_harmonics(lonlat, 40)).numpy()
    np.testing.assert_allclose(np.load(default), expected_legacy, atol=1e-6)
    np.testing.assert_allclose(np.load(exact), expected_exact, atol=1e-6)
    # Identical near the equator, different near the poles, where the legacy features are noisy.
    np.testing.assert_allclose(np.load(default)[0], np.load(exact)[0], atol=1e-5)
    assert np.abs(np.load(default)[1:] - np.load(exact)[1:]).max() > 1e-4


def test_raster_setting_errors_name_the_flags(tmp_path, checkpoint):
    out = tmp_path / "out.tif"
    csv = tmp_path / "p.csv"
    CITIES.to_csv(csv, index=False)
    result = _embed(csv, "-o", out, "--model", checkpoint, "--bbox", "0", "0", "1", "1")
    _assert_one_line_error(result, "give either INPUT (vector) or --bbox/--resolution/--like (raster), not both")
    _assert_one_line_error(_embed("-o", out, "--model", checkpoint), "give an INPUT file, or --bbox W S E N with")
    result = _embed("-o", out, "--model", checkpoint, "--like", csv, "--crs", "EPSG:3035")
    _assert_one_line_error(result, "--like copies the whole grid; do not combine it with --bbox/--resolution/--crs")
    result = _embed("-o", out, "--model", checkpoint, "--bbox", "0", "0", "1", "1")
    _assert_one_line_error(result, "a raster needs both --bbox W S E N and --resolution (or --like FILE)")
    _assert_one_line_error(_embed("-o", out, "--model", checkpoint, "--like", tmp_path / "no.tif"), "--like raster")
    result = _embed("-o", out, "--model", checkpoint, "--bbox", "0", "0", "1", "91", "--resolution", "1")
    _assert_one_line_error(result, "for a projected bbox pass --crs)")


def test_cluster_and_encoding_flags_give_one_line_errors(tmp_path, checkpoint):
    from tests.support.dask_processes import free_port

    csv = tmp_path / "cities.csv"
    CITIES.to_csv(csv, index=False)
    port = free_port()
    result = _embed(csv, "-o", tmp_path / "o.parquet", "--model", checkpoint, "--scheduler", f"tcp://127.0.0.1:{port}")
    _assert_one_line_error(result, f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert not (tmp_path / "o.parquet").exists()
    _assert_one_line_error(_embed(csv, "-o", tmp_path / "o.csv", "--model", checkpoint, "--scheduler", "local:2"),
                           "--output ending in .parquet")  # fmt: skip
    _assert_one_line_error(_embed(csv, "-o", tmp_path / "o.parquet", "--model", checkpoint, "--scheduler", "local:x"),
                           "--scheduler")  # fmt: skip
    _assert_one_line_error(_embed(csv, "-o", tmp_path / "q.csv", "--model", checkpoint, "--quantize", "int8"),
                           "--quantize")  # fmt: skip
    _assert_one_line_error(
        _embed(csv, "-o", tmp_path / "q.parquet", "--model", checkpoint, "--quantize", "int8", "--output-dtype",
               "float16"), "not both")  # fmt: skip
    grid = ("--bbox", "0", "0", "4", "4", "--resolution", "1")
    _assert_one_line_error(_embed(*grid, "-o", tmp_path / "g.tif", "--model", checkpoint, "--scheduler", "local:1"),
                           ".zarr")  # fmt: skip


def test_int8_geoparquet_and_cog_decode_close_to_float32(tmp_path, checkpoint):
    import pyarrow.parquet as pq
    import rasterio

    from satclip_cli.embedding.quantize import Quantization, mean_cosine

    csv = tmp_path / "cities.csv"
    CITIES.to_csv(csv, index=False)
    assert _embed(csv, "-o", tmp_path / "f.parquet", "--model", checkpoint, "-q").exit_code == 0
    assert _embed(csv, "-o", tmp_path / "q.parquet", "--model", checkpoint, "-q", "--quantize", "int8").exit_code == 0
    assert _embed(csv, "-o", tmp_path / "h.parquet", "--model", checkpoint, "-q", "--output-dtype", "float16"
                  ).exit_code == 0  # fmt: skip
    full = np.stack(gpd.read_parquet(tmp_path / "f.parquet")["embedding"].to_numpy())
    table = pq.read_table(tmp_path / "q.parquet")
    assert str(table.schema.field("embedding").type) == "fixed_size_list<element: int8>[256]"
    quantization = Quantization.from_json(table.schema.metadata[b"satclip:quantization"])
    levels = np.array(table["embedding"].to_pylist(), dtype=np.int8)
    assert mean_cosine(quantization.decode(levels), full) >= 0.999
    half = pq.read_table(tmp_path / "h.parquet")
    assert str(half.schema.field("embedding").type) == "fixed_size_list<element: halffloat>[256]"
    assert gpd.read_parquet(tmp_path / "q.parquet").crs.to_epsg() == 4326

    grid = ("--bbox", "-20", "-10", "20", "10", "--resolution", "1", "--model", checkpoint, "-q")
    assert _embed(*grid, "-o", tmp_path / "f.tif", "--preview", tmp_path / "f.png").exit_code == 0
    assert _embed(*grid, "-o", tmp_path / "q.tif", "--quantize", "int8", "--preview", tmp_path / "q.png").exit_code == 0
    with rasterio.open(tmp_path / "f.tif") as f, rasterio.open(tmp_path / "q.tif") as q:
        assert q.dtypes[0] == "int8" and q.nodata == -128
        decoded = q.read().astype(np.float64) * np.array(q.scales)[:, None, None] + np.array(q.offsets)[:, None, None]
        assert mean_cosine(decoded.reshape(256, -1).T, f.read().reshape(256, -1).T) >= 0.999
    assert (tmp_path / "q.tif").stat().st_size <= 0.3 * (tmp_path / "f.tif").stat().st_size
    with rasterio.open(tmp_path / "f.png") as f, rasterio.open(tmp_path / "q.png") as q:
        # the preview of int8 levels is made from the decoded values: the same picture, up to rounding
        assert np.abs(f.read().astype(int) - q.read().astype(int)).mean() < 3
