"""Errors the command line reports as one clear line (exit status 1) instead of a traceback."""


class AtlasError(Exception):
    """An expected failure caused by input or environment, with a message meant for the user."""
