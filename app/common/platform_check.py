"""Before Qt starts: are the system libraries of Qt's X11 (xcb) platform plugin installed?

Without them Qt aborts the process with its own message. Here the plugin's ELF file is read for the libraries it
needs (its ``DT_NEEDED`` entries, and those of ``libQt6XcbQpa``), each is tried with the dynamic loader, and a
missing one is named with the command that installs it. No Qt, no ``ldd`` and no TensorFlow are needed.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import struct
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package): every system library the xcb plugin and libQt6XcbQpa need.
SYSTEM_PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}
_DT_NEEDED, _DT_STRTAB = 1, 5
_PT_LOAD, _PT_DYNAMIC = 1, 2

Loader = Callable[[str], object]


@dataclass(frozen=True)
class MissingLibraries:
    """System libraries the xcb plugin needs that the dynamic loader cannot find."""

    libraries: list[str]
    distribution: str  # "debian", "fedora" or "other"

    def message(self) -> str:
        """Which libraries are missing and the command that installs them."""
        debian = _packages(self.libraries, 0)
        fedora = _packages(self.libraries, 1)
        lines = [
            "digitlab: the window cannot open: Qt's X11 (xcb) platform plugin needs system libraries that are not "
            "installed:",
            *(f"  {library}" for library in self.libraries),
        ]
        if self.distribution == "debian":
            lines += ["Install them with:", f"  sudo apt-get install {' '.join(debian)}"]
        elif self.distribution == "fedora":
            lines += ["Install them with:", f"  sudo dnf install {' '.join(fedora)}"]
        else:
            lines += [
                "Install them with your system's package manager, for example:",
                f"  Debian/Ubuntu: sudo apt-get install {' '.join(debian)}",
                f"  Fedora:        sudo dnf install {' '.join(fedora)}",
            ]
        lines.append("The command line works without them: digitlab train | predict | evaluate | export | presets")
        return "\n".join(lines)


def will_use_xcb(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt will pick its xcb plugin: Linux with an X display, and no other platform asked for."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or not environ.get("DISPLAY"):
        return False
    requested = environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if requested:
        return requested == "xcb"
    # Qt 6 prefers Wayland in a Wayland session and only falls back to xcb there
    return not (environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland")


def xcb_plugin_files() -> list[Path]:
    """The installed PySide6's xcb plugin and its ``libQt6XcbQpa`` (empty when PySide6 is not found)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    qt = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    candidates = [qt / "plugins" / "platforms" / "libqxcb.so", *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))]
    return [path for path in candidates if path.is_file()][:2]


def needed_libraries(path: Path) -> list[str]:
    """The ``DT_NEEDED`` sonames of an ELF shared object, in order (empty for a file that is not one)."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return []
    wide = data[4] == 2
    order = "<" if data[5] == 1 else ">"
    try:
        if wide:
            phoff, = struct.unpack_from(order + "Q", data, 32)
            phentsize, phnum = struct.unpack_from(order + "HH", data, 54)
        else:
            phoff, = struct.unpack_from(order + "I", data, 28)
            phentsize, phnum = struct.unpack_from(order + "HH", data, 42)
        loads, dynamic = [], None
        for index in range(phnum):
            at = phoff + index * phentsize
            if wide:
                kind, _flags, offset, vaddr, _paddr, filesz = struct.unpack_from(order + "IIQQQQ", data, at)
            else:
                kind, offset, vaddr, _paddr, filesz = struct.unpack_from(order + "IIIII", data, at)
            if kind == _PT_LOAD:
                loads.append((vaddr, offset, filesz))
            elif kind == _PT_DYNAMIC:
                dynamic = (offset, filesz)
        if dynamic is None:
            return []
        entry = struct.Struct(order + ("qQ" if wide else "iI"))
        needed_offsets, strtab = [], None
        for at in range(dynamic[0], dynamic[0] + dynamic[1] - entry.size + 1, entry.size):
            tag, value = entry.unpack_from(data, at)
            if tag == 0:
                break
            if tag == _DT_NEEDED:
                needed_offsets.append(value)
            elif tag == _DT_STRTAB:
                strtab = value
        if strtab is None:
            return []
        base = next((offset + strtab - vaddr for vaddr, offset, size in loads if vaddr <= strtab < vaddr + size), None)
        if base is None:
            return []
        names = []
        for offset in needed_offsets:
            end = data.index(b"\0", base + offset)
            names.append(data[base + offset : end].decode("utf-8", "replace"))
        return names
    except (struct.error, ValueError):
        return []


def missing_libraries(plugin_files: list[Path], loader: Loader = ctypes.CDLL) -> list[str]:
    """The libraries ``plugin_files`` need that ``loader`` cannot open; Qt's own (beside the plugin) are skipped."""
    missing: list[str] = []
    seen: set[str] = set()
    for plugin in plugin_files:
        neighbours = {plugin.parent, plugin.parent.parent.parent / "lib"}  # .../Qt/plugins/platforms -> .../Qt/lib
        for library in needed_libraries(plugin):
            if library in seen:
                continue
            seen.add(library)
            if any((folder / library).exists() for folder in neighbours):
                continue  # shipped with PySide6
            try:
                loader(library)
            except OSError:
                missing.append(library)
    return missing


def distribution_family(os_release: Path = Path("/etc/os-release")) -> str:
    """``debian`` (Debian, Ubuntu, Mint…), ``fedora`` (Fedora, RHEL, CentOS…) or ``other``, from os-release."""
    try:
        text = os_release.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "other"
    words: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("ID", "ID_LIKE"):
            words.update(value.strip().strip("\"'").lower().split())
    if words & {"debian", "ubuntu"}:
        return "debian"
    if words & {"fedora", "rhel", "centos"}:
        return "fedora"
    return "other"


def xcb_problem(
    environ: Mapping[str, str] | None = None,
    plugin_files: list[Path] | None = None,
    loader: Loader = ctypes.CDLL,
    os_release: Path = Path("/etc/os-release"),
) -> MissingLibraries | None:
    """Missing xcb libraries when the window would use xcb; None when all is there (or xcb is not used)."""
    if not will_use_xcb(environ):
        return None
    files = xcb_plugin_files() if plugin_files is None else plugin_files
    missing = missing_libraries(files, loader)
    if not missing:
        return None
    return MissingLibraries(missing, distribution_family(os_release))


def _packages(libraries: list[str], column: int) -> list[str]:
    packages: list[str] = []
    for library in libraries:
        package = SYSTEM_PACKAGES.get(library, (library, library))[column]
        if package not in packages:
            packages.append(package)
    return packages
