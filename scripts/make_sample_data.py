"""Rebuild the package's example inputs (``satclip_cli/data/examples/``) from ``cities.csv``.

    python scripts/make_sample_data.py

Writes ``cities.gpkg`` (the cities as points, EPSG:4326) and ``regions.geojson``
(three rectangular study regions as polygons) for trying ``satclip embed``.
"""

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

HERE = Path(__file__).resolve().parents[1] / "satclip_cli" / "data" / "examples"


def main() -> None:
    cities = pd.read_csv(HERE / "cities.csv")
    points = gpd.GeoDataFrame(cities, geometry=gpd.points_from_xy(cities.lon, cities.lat), crs="EPSG:4326")
    points.drop(columns=["lon", "lat"]).to_file(HERE / "cities.gpkg", driver="GPKG")
    regions = gpd.GeoDataFrame(
        {"name": ["Alps", "Amazon basin", "Sahel"]},
        geometry=[box(5.0, 44.0, 16.0, 48.0), box(-73.0, -12.0, -50.0, 2.0), box(-17.0, 12.0, 38.0, 18.0)],
        crs="EPSG:4326",
    )
    regions.to_file(HERE / "regions.geojson", driver="GeoJSON")


if __name__ == "__main__":
    main()
