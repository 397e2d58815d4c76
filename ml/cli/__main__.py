"""``python -m ml.cli …``: the ``digitlab`` subcommands without the window (``digitlab --help`` lists them)."""

from __future__ import annotations

import sys

from ml.cli.main import main


def run() -> int:
    """Run the command line; Ctrl+C ends it with a word and status 130, not a traceback."""
    try:
        return main(sys.argv[1:])
    except KeyboardInterrupt:
        print("\ndigitlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(run())
