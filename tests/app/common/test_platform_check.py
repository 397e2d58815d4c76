"""The xcb check before Qt starts: missing system libraries named with the command that installs them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import app.__main__ as entry
from app.common import platform_check
from app.common.platform_check import (
    distribution_family,
    missing_libraries,
    needed_libraries,
    will_use_xcb,
    xcb_plugin_files,
    xcb_problem,
)


def refusing(*names: str):
    def loader(library: str) -> None:
        if library in names:
            raise OSError(f"{library}: cannot open shared object file: No such file or directory")

    return loader


def os_release(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "os-release"
    path.write_text(text)
    return path


@pytest.fixture
def plugin_needing_a_missing_library(tmp_path: Path) -> Path:
    """A real shared object whose DT_NEEDED names a library that exists nowhere (built with cc)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build a test plugin")
    folder = tmp_path / "build"
    folder.mkdir()
    (folder / "dep.c").write_text("int digitlab_missing_symbol(void) { return 7; }\n")
    (folder / "plugin.c").write_text(
        "int digitlab_missing_symbol(void);\nint plugin(void) { return digitlab_missing_symbol(); }\n"
    )
    dependency = folder / "libdigitlab-absent-xcb.so.0"
    subprocess.run([compiler, "-shared", "-fPIC", "-Wl,-soname,libdigitlab-absent-xcb.so.0", "-o", str(dependency),
                    str(folder / "dep.c")], check=True)
    plugin = tmp_path / "libqxcb.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(plugin), str(folder / "plugin.c"), str(dependency)],
                   check=True)
    dependency.unlink()  # now the loader cannot find it anywhere
    return plugin


def test_the_installed_xcb_plugin_is_found_and_its_needs_are_read():
    files = xcb_plugin_files()
    assert [path.name for path in files][:1] == ["libqxcb.so"]
    needed = needed_libraries(files[0])
    assert "libxcb-cursor.so.0" in needed and "libxcb-icccm.so.4" in needed and "libc.so.6" in needed


def test_a_file_that_is_not_elf_needs_nothing(tmp_path: Path):
    text = tmp_path / "libqxcb.so"
    text.write_text("not a shared object")
    assert needed_libraries(text) == []
    assert needed_libraries(tmp_path / "absent.so") == []


def test_a_plugin_with_a_missing_dependency_is_caught_by_the_real_loader(plugin_needing_a_missing_library: Path):
    assert "libdigitlab-absent-xcb.so.0" in needed_libraries(plugin_needing_a_missing_library)
    assert missing_libraries([plugin_needing_a_missing_library]) == ["libdigitlab-absent-xcb.so.0"]


def test_libraries_shipped_beside_the_plugin_are_not_looked_up(tmp_path: Path):
    files = xcb_plugin_files()
    tried: list[str] = []
    missing_libraries(files, loader=tried.append)
    assert not any(name.startswith("libQt6") for name in tried)  # PySide6 ships those itself
    assert "libxcb-cursor.so.0" in tried


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"DISPLAY": ":0"}, True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
        ({}, False),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, False),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "QT_QPA_PLATFORM": "xcb"},
         True),
    ],
)
def test_the_check_runs_only_when_qt_will_use_xcb(environment, expected):
    assert will_use_xcb(environment, platform="linux") is expected
    assert will_use_xcb({"DISPLAY": ":0"}, platform="darwin") is False


def test_the_distribution_is_read_from_os_release(tmp_path: Path):
    assert distribution_family(os_release(tmp_path, 'ID=ubuntu\nID_LIKE=debian\n')) == "debian"
    assert distribution_family(os_release(tmp_path, 'ID="rocky"\nID_LIKE="rhel centos fedora"\n')) == "fedora"
    assert distribution_family(os_release(tmp_path, "ID=arch\n")) == "other"
    assert distribution_family(tmp_path / "absent") == "other"


def test_debian_is_told_the_apt_get_line(tmp_path: Path):
    problem = xcb_problem({"DISPLAY": ":0"}, plugin_files=xcb_plugin_files(),
                          loader=refusing("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"),
                          os_release=os_release(tmp_path, "ID=debian\n"))
    assert problem is not None
    assert problem.libraries == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    message = problem.message()
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in message
    assert "dnf" not in message


def test_fedora_is_told_the_dnf_line_and_others_both(tmp_path: Path):
    fedora = xcb_problem({"DISPLAY": ":0"}, plugin_files=xcb_plugin_files(),
                         loader=refusing("libxcb-cursor.so.0", "libxcb-render-util.so.0"),
                         os_release=os_release(tmp_path, "ID=fedora\n"))
    assert "sudo dnf install xcb-util-cursor xcb-util-renderutil" in fedora.message()
    other = xcb_problem({"DISPLAY": ":0"}, plugin_files=xcb_plugin_files(), loader=refusing("libxcb-cursor.so.0"),
                        os_release=os_release(tmp_path, "ID=arch\n"))
    assert "apt-get install libxcb-cursor0" in other.message() and "dnf install xcb-util-cursor" in other.message()


def test_nothing_missing_means_no_problem():
    assert xcb_problem({"DISPLAY": ":0"}, plugin_files=xcb_plugin_files(), loader=refusing()) is None


def test_main_exits_2_with_the_message_and_never_starts_qt(monkeypatch, capsys, tmp_path: Path,
                                                          plugin_needing_a_missing_library: Path):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(platform_check, "xcb_plugin_files", lambda: [plugin_needing_a_missing_library])
    monkeypatch.setattr(platform_check, "distribution_family", lambda *_: "debian")

    def never(*_arguments):
        raise AssertionError("Qt must not start")

    monkeypatch.setattr("app.launch.run_app", never, raising=False)
    assert entry.main([]) == 2
    error = capsys.readouterr().err
    assert "libdigitlab-absent-xcb.so.0" in error
    assert "sudo apt-get install" in error
