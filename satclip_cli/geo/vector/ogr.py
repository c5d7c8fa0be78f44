"""Vector files GDAL/OGR reads (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, ...), streamed with pyogrio.

:func:`open_ogr` reads the layer's metadata and streams its features as Arrow batches (WKB geometry);
:func:`multiple_layers_note` says when a file has several layers and the first one is read.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyogrio

from satclip_cli.errors import InputError, one_line, setting
from satclip_cli.geo.vector.arrow import arrow_batch_to_frame
from satclip_cli.geo.vector.reader import FormatReader, guarded, parse_crs, reading


def open_ogr(path: Path, chunk_size: int, layer: str | int | None) -> FormatReader:
    """Open ``layer`` (name or index; None: the first) of an OGR-readable file, ``chunk_size`` rows per batch.

    Raises:
        InputError: not a readable vector format, an unknown layer, a folder without a vector layer.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = pyogrio.read_info(path, layer=layer)
    except Exception as error:  # pyogrio.errors.DataSourceError / DataLayerError and friends
        if path.is_dir():
            raise InputError(f"cannot read {path}: a folder without a readable vector layer") from None
        text = one_line(error)
        if "not recognized as being in a supported file format" in text:
            raise InputError(
                f"cannot read {path}: not a recognised vector format (supported: GeoPackage, GeoJSON, Shapefile, "
                f"FlatGeobuf and other GDAL formats, GeoParquet, CSV/TSV with lon/lat columns)"
            ) from None
        raise InputError(f"cannot read {path} as a vector file: {text}") from None
    crs = None if info.get("crs") is None else parse_crs(info["crs"], path)
    fields = [str(name) for name in info["fields"]]
    has_geometry = info.get("geometry_type") is not None
    geometry_name = None
    if has_geometry:
        geometry_name = "geometry" if "geometry" not in fields else (info.get("geometry_name") or "wkb_geometry")
    features = int(info.get("features", -1))
    driver = str(info.get("driver") or "OGR")

    def batches() -> Iterator[pd.DataFrame]:
        with reading(path):
            context = pyogrio.open_arrow(path, layer=layer, batch_size=chunk_size, use_pyarrow=True)
            meta, stream = context.__enter__()
        try:
            wkb_name = _geometry_field(stream.schema, meta) if has_geometry else None
            for batch in guarded(stream, path):
                yield arrow_batch_to_frame(batch, wkb_name, geometry_name, "WKB", path)
        finally:
            context.__exit__(None, None, None)

    columns = fields + ([geometry_name] if geometry_name else [])
    return FormatReader(driver, columns, geometry_name, crs, features if features >= 0 else None, batches)


def multiple_layers_note(path: Path) -> str | None:
    """A one-line note when ``path`` has several layers (the first is read unless ``layer`` says otherwise).

    The note names the ``layer`` setting with :func:`~satclip_cli.errors.setting`. None for a single layer,
    or when the layers cannot be listed.
    """
    try:
        layers = pyogrio.list_layers(path)
    except Exception:  # the layer was readable; listing is only informative
        return None
    if len(layers) <= 1:
        return None
    names = ", ".join(repr(str(name)) for name in layers[:5, 0]) + (", ..." if len(layers) > 5 else "")
    return (
        f"{path.name} has {len(layers)} layers ({names}); reading the first, {str(layers[0, 0])!r} "
        f"(choose another with {setting('layer')})"
    )


def _geometry_field(schema: pa.Schema, meta: dict) -> str:
    """The WKB geometry column of pyogrio's Arrow stream."""
    for item in schema:
        if item.metadata and item.metadata.get(b"ARROW:extension:name") == b"geoarrow.wkb":
            return item.name
    name = meta.get("geometry_name") or "wkb_geometry"
    return str(name)
