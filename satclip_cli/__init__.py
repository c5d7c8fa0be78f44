"""satclip: SatCLIP-style global location embeddings from the command line.

The package reads as the pipeline (see ARCHITECTURE.md):

- shared layers: ``models`` (positional encodings, networks, location encoder, vision encoders, the two-tower
  model, checkpoints, the model registry, inference), ``dataset`` (the on-disk patch dataset), ``geo``
  (coordinates, land mask, raster grids, sphere sampling, vector readers), ``errors`` and ``utils``;
- one package per stage: ``sampling``, ``training``, ``embedding``, ``probing``, each a frozen config
  and a job; stages never import each other;
- ``cli``: the Typer app, one thin module per command, and the only place that knows flag names.

Coordinates are always ``(lon, lat)`` in degrees (WGS84), in that order.
"""

__version__ = "0.1.0"
