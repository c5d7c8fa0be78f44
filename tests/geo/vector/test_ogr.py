"""OGR-readable files (satclip_cli.geo.vector.ogr): several layers in one file."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from satclip_cli.errors import render_settings
from satclip_cli.geo.vector import MultipleLayersWarning
from tests.geo.vector.helpers import read_all


def test_multiple_layers_warn_and_layer_selects(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(1, 2)], crs=4326).to_file(path, layer="first")
    gpd.GeoDataFrame({"b": [2]}, geometry=[Point(3, 4)], crs=4326).to_file(path, layer="second")
    with pytest.warns(MultipleLayersWarning, match="2 layers"):
        _, lonlat = read_all(path)
    assert lonlat.tolist() == [[1.0, 2.0]]
    notes: list[str] = []
    read_all(path, on_warning=notes.append)
    assert render_settings(notes[0]).endswith("reading the first, 'first' (choose another with layer)")
    assert render_settings(notes[0], lambda name: "--" + name).endswith("(choose another with --layer)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attributes, lonlat = read_all(path, layer="second")
    assert lonlat.tolist() == [[3.0, 4.0]] and list(attributes.columns) == ["b", "geometry"]
