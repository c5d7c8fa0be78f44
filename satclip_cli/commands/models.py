"""``satclip models``: placeholder."""


def models() -> None:
    """List models."""
