"""``python -m analysis`` is the same command line as ``atlas``."""

from analysis.cli import main

raise SystemExit(main())
