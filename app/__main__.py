"""``digitlab``: the subcommands run the CLI; the bare command opens the window."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the command line (``train``, ``predict``, ``evaluate``, …) or open the window."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments:
        from ml.cli import main as cli_main

        return cli_main(arguments)
    try:
        from app.main_window import run_app
    except ImportError:
        print("The Digit Lab window is not available in this build; use `digitlab --help`.", file=sys.stderr)
        return 2
    return run_app()


if __name__ == "__main__":
    sys.exit(main())
