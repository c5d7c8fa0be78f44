"""satclip: SatCLIP-style global location embeddings from the command line.

The package is layered like torchgeo: positional encodings and networks
(``positional_encoding``, ``networks``) make a ``LocationEncoder``
(``location_encoder``); ``checkpoints`` and ``model_registry`` load one
(``model_loading``); ``inference`` runs it over numpy points, and
``vector_embedding`` / ``raster_embedding`` (driven by ``embedding_jobs``) over
vector files and raster grids. Command modules in ``satclip_cli.commands`` only
parse options and call these functions.

Coordinates are always ``(lon, lat)`` in degrees (WGS84), in that order.
"""

__version__ = "0.1.0"
