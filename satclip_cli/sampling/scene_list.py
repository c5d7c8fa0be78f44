"""A list of candidate scenes for ``--strategy scenes``: STAC items from a stac-geoparquet (or JSON) file."""

from __future__ import annotations

from pathlib import Path

from satclip_cli.errors import InputError, SatclipError
from satclip_cli.sampling.scene_item import SceneItem


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
        raise InputError(f"cannot read scene list {path}: {' '.join(str(error).split())}") from error
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
