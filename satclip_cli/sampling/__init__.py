"""The ``satclip sample`` stage: area-uniform places, the imagery fetched there, written as a dataset.

:mod:`.config` (settings, run options), :mod:`.job` (``run(config) -> SampleSummary``, ``plan`` for a dry
run), :mod:`.sources` (where pixels come from: STAC API, scene list, Blue Marble), :mod:`.window`,
:mod:`.reader`, :mod:`.quality`, :mod:`.retry`, :mod:`.scene_item`, :mod:`.summary`.

Coordinates are (lon, lat) in degrees (EPSG:4326), in that order.
"""
