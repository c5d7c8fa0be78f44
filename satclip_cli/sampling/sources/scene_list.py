"""Pixels from a list of scenes (strategy ``scenes``, how S2-100K was made): random windows of random listed scenes.

The list is a stac-geoparquet (or JSON) file of Sentinel-2 L2A STAC items; :func:`load_scene_list` keeps
the usable ones in the date range and under the scene cloud cover. :class:`SceneListSource` draws a
scene and a window fully inside it for each patch, and reads it from the scene's COGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from satclip_cli.errors import InputError, SatclipError, one_line
from satclip_cli.sampling.scene_item import SceneItem
from satclip_cli.sampling.sources.base import Draw, SourceContext
from satclip_cli.sampling.sources.planetary_computer import is_planetary_computer, planetary_computer
from satclip_cli.sampling.sources.sentinel2_scenes import Sentinel2SceneSource
from satclip_cli.sampling.window import PatchWindow, random_window

if TYPE_CHECKING:
    from satclip_cli.sampling.config import RunOptions, SampleSettings


def load_scene_list(path: Path, *, start: str, end: str, max_cloud: float) -> list[SceneItem]:
    """Read the items of ``path`` (stac-geoparquet, JSON FeatureCollection or ndjson), sorted by id.

    Keeps usable Sentinel-2 L2A items acquired from ``start`` to ``end`` (ISO dates, inclusive)
    with ``eo:cloud_cover <= max_cloud`` (percent). Raises :class:`InputError` when the file
    cannot be read or no item is left.
    """
    import rustac

    if not path.exists():
        raise InputError(f"scene list {path} not found")
    try:
        document = rustac.read_sync(str(path))
    except Exception as error:
        raise InputError(f"cannot read scene list {path}: {one_line(error)}") from error
    raw_items = document.get("features", []) if isinstance(document, dict) else []
    scenes: list[SceneItem] = []
    for raw in raw_items:
        try:
            scene = SceneItem.from_stac(raw)
        except SatclipError:
            continue
        day = scene.datetime[:10]
        if scene.cloud_cover <= max_cloud and start[:10] <= day <= end[:10]:
            scenes.append(scene)
    if not scenes:
        raise InputError(
            f"scene list {path} has no Sentinel-2 L2A item from {start} to {end} with cloud cover <= {max_cloud}% "
            f"({len(raw_items)} items read)"
        )
    return sorted(scenes, key=lambda scene: scene.id)


class SceneListSource(Sentinel2SceneSource):
    """A uniformly random window fully inside a uniformly random scene of the list ``settings.items``.

    Asset hrefs are signed before each read when ``options.sign`` (default: when the first scene's hrefs
    are Planetary Computer's).
    """

    def __init__(self, settings: SampleSettings, options: RunOptions, context: SourceContext) -> None:
        assert settings.items is not None  # SampleSettings.validate: strategy "scenes" needs items
        self.scenes = load_scene_list(
            Path(settings.items), start=settings.start, end=settings.end, max_cloud=settings.max_cloud
        )
        sign = options.sign
        if sign is None:
            sign = any(is_planetary_computer(href) for href in self.scenes[0].hrefs.values())
        super().__init__(settings, options, context, sign_url=planetary_computer().sign_url if sign else None)

    def describe(self) -> list[str]:
        return [f"Where: random windows of {len(self.scenes):,} scenes listed in {self.settings.items}", self.quality()]

    def preview(self, rng: np.random.Generator, index: int = 0) -> str:
        window = self._random_window(rng)
        lon, lat = window.centre_lonlat()
        return (
            f"scene {window.item.id}, window at col {window.col_off} row {window.row_off}, "
            f"centre ({lon:.5f}, {lat:.5f})"
        )

    def draw(self, index: int, rng: np.random.Generator) -> Draw | None:
        window = self._random_window(rng)
        if not window.inside_item:  # a scene smaller than the patch
            self.context.count("outside_item")
            return None
        return Draw(None, [window])

    def origin(self) -> dict[str, Any]:
        return {"source": self.settings.items, "collection": self.settings.collection}

    def _random_window(self, rng: np.random.Generator) -> PatchWindow:
        scene = self.scenes[int(rng.integers(len(self.scenes)))]
        return random_window(scene, self.settings.size, rng)
