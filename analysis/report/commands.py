"""Sub-commands of `atlas` for this area (placeholder until implemented)."""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this area's sub-commands to the `atlas` parser."""
