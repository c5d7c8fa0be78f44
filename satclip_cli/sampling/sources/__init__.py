"""Where the pixels of a sampled dataset come from, behind one interface (:class:`~.base.PixelSource`).

One module per source: :mod:`.stac` (Sentinel-2 L2A items found by a STAC API search around each point),
:mod:`.scene_list` (random windows of the scenes of a list), :mod:`.bluemarble` (NASA's Blue Marble
mosaic, no network). :func:`open_source` chooses one from the settings.

The sources are imported when a source is opened, so that importing this package (the CLI reads the
default STAC URL from :mod:`.planetary_computer`) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from satclip_cli.sampling.config import RunOptions, SampleSettings
    from satclip_cli.sampling.sources.base import PixelSource, SourceContext


def open_source(settings: SampleSettings, options: RunOptions, context: SourceContext) -> PixelSource:
    """The pixel source the settings ask for, opened and checked (no pixel is read).

    ``source="bluemarble"``: the Blue Marble mosaic; otherwise strategy ``scenes``: the scene list
    ``items``; strategy ``points``: the STAC API ``stac_url``.

    Raises:
        InputError: an unusable area (``bbox``, ``region``), scene list or missing mosaic.
        StacError: the STAC API cannot be opened or lacks item search or the collection.
    """
    if settings.source == "bluemarble":
        from satclip_cli.sampling.sources.bluemarble import BlueMarbleSource

        return BlueMarbleSource(settings, context)
    if settings.strategy == "scenes":
        from satclip_cli.sampling.sources.scene_list import SceneListSource

        return SceneListSource(settings, options, context)
    from satclip_cli.sampling.sources.stac import StacSource

    return StacSource(settings, options, context)
