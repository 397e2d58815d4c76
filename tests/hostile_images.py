"""Hostile image files shared by the image-safety tests of every entry point."""

from __future__ import annotations

from pathlib import Path

POSTSCRIPT_WRITING_A_FILE = (
    "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n({marker}) (w) file closefile\n{{}} loop\n"
)


def write_postscript(path: Path, marker: Path) -> Path:
    """Write at ``path`` a PostScript program that creates ``marker`` if Ghostscript runs it, then loops forever."""
    path.write_text(POSTSCRIPT_WRITING_A_FILE.format(marker=marker))
    return path
