"""``satclip embed``: placeholder replaced below."""


def embed() -> None:
    """Embed points."""
