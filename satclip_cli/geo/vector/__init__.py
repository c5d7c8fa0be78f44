"""Vector input: stream (lon, lat) points out of vector files and tables in bounded memory.

:func:`open_point_source` opens any vector file pyogrio/GDAL reads (GeoPackage, GeoJSON, Shapefile,
FlatGeobuf, ...), a GeoParquet file (read with pyarrow in record batches, WKB or GeoArrow-native
geometry), or a delimited text file (``.csv``, ``.tsv``, ``.txt``) with longitude/latitude columns or a
WKT geometry column. Its :meth:`PointSource.iter_chunks` yields :class:`PointChunk` objects of at most
``chunk_size`` rows: the input rows as a (Geo)DataFrame plus float64 (lon, lat) degrees in EPSG:4326, as
``[n, 2]`` (one point per row) or ``[n, K, 2]`` (``K`` points sampled inside each geometry when
``polygon_mode="mean"``).

One module per job:

* :mod:`~satclip_cli.geo.vector.source`: the reader front (:func:`open_point_source`, :class:`PointSource`,
  :class:`PointChunk`, the warnings);
* :mod:`~satclip_cli.geo.vector.ogr`, :mod:`~satclip_cli.geo.vector.geoparquet`,
  :mod:`~satclip_cli.geo.vector.delimited`: one reader per family of formats, on the shared plumbing of
  :mod:`~satclip_cli.geo.vector.reader` (and :mod:`~satclip_cli.geo.vector.arrow` for Arrow batches);
* :mod:`~satclip_cli.geo.vector.columns`: which columns hold longitude and latitude;
* :mod:`~satclip_cli.geo.vector.geometry_points`: geometry -> points (representative points, sampling).
"""

from satclip_cli.geo.vector.columns import LAT_NAMES, LON_NAMES
from satclip_cli.geo.vector.delimited import CSV_SUFFIXES, WKT_NAMES
from satclip_cli.geo.vector.geometry_points import representative_points, row_uniforms, sample_points_in_geometries
from satclip_cli.geo.vector.geoparquet import PARQUET_SUFFIXES
from satclip_cli.geo.vector.source import (
    WGS84,
    AssumedCRSWarning,
    InputWarning,
    MultipleLayersWarning,
    PointChunk,
    PointSource,
    PolygonMode,
    open_point_source,
)

__all__ = [
    "CSV_SUFFIXES",
    "LAT_NAMES",
    "LON_NAMES",
    "PARQUET_SUFFIXES",
    "WGS84",
    "WKT_NAMES",
    "AssumedCRSWarning",
    "InputWarning",
    "MultipleLayersWarning",
    "PointChunk",
    "PointSource",
    "PolygonMode",
    "open_point_source",
    "representative_points",
    "row_uniforms",
    "sample_points_in_geometries",
]
