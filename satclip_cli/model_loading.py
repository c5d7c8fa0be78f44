"""Deprecated import path, kept for one release: use :func:`satclip_cli.models.load_model`."""

from satclip_cli.models.registry import load_model

__all__ = ["load_model"]
