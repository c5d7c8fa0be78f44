"""Location encoders and the two-tower SatCLIP model: build, load, run.

``positional_encoding`` (SH and other encodings of (lon, lat)) + ``networks`` (SIREN, MLP, ...) make a
``location_encoder``; ``satclip`` pairs it with a ``vision`` encoder for training; ``checkpoints`` reads and
writes model files; ``registry`` maps released names to files and loads them (:func:`load_model`);
``inference`` runs an encoder over numpy points in batches.
"""

from satclip_cli.models.registry import list_models, load_model

__all__ = ["list_models", "load_model"]
