"""Downstream evaluation of location embeddings: splits, probes, metrics, encoders and reports."""
