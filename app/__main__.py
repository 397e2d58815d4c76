"""``digitlab``: the subcommands run the CLI; the bare command opens the window."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def missing_display() -> str | None:
    """A plain explanation when no screen is available for the window (Linux without X11 or Wayland)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "digitlab: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set), so the window cannot open.\n"
        "Run it in a desktop session, or under a virtual screen (xvfb-run digitlab), or use the command line:\n"
        "  digitlab train | predict | evaluate | presets   (digitlab --help)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the command line (``train``, ``predict``, ``evaluate``, …) or open the window."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments:
        try:
            from ml.cli.main import main as cli_main

            return cli_main(arguments)
        except KeyboardInterrupt:  # Ctrl+C while starting, or between files: a word, not a traceback
            print("\ndigitlab: interrupted", file=sys.stderr)
            return 130
    problem = missing_display()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from app.common.platform_check import xcb_problem

    missing = xcb_problem()
    if missing is not None:
        print(missing.message(), file=sys.stderr)
        return 2
    try:
        from app.launch import run_app
    except ImportError:
        print("The Digit Lab window is not available in this build; use `digitlab --help`.", file=sys.stderr)
        return 2
    return run_app()


if __name__ == "__main__":
    sys.exit(main())
