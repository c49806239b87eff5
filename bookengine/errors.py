"""Errors the engine reports as one clear line instead of a traceback."""


class BuildError(Exception):
    """A build failed for a reason the user can act on (bad config, a failing cell, a missing tool)."""
