"""The About text: versions, and links to the log folder and to where unsaved runs are kept."""

from __future__ import annotations

from PySide6.QtCore import QUrl

from app.common.about import about_text
from app.common.errors import log_file_path
from app.common.user_folders import trained_models_folder


def test_the_about_text_links_the_log_folder_and_the_unsaved_runs_folder(qapp):
    text = about_text(None)
    for folder in (log_file_path().parent, trained_models_folder()):
        assert f'href="{QUrl.fromLocalFile(str(folder)).toString()}"' in text
        assert str(folder) in text
    assert "TensorFlow" in text and "loading…" in text


def test_the_about_box_shows_the_icon_the_version_and_every_folder_on_one_line(qtbot):
    from PySide6.QtWidgets import QLabel

    from app.common.about import AboutDialog, application_icon
    from app.common.user_folders import default_models_folder
    from ml import __version__

    assert not application_icon().isNull()  # assets/digitlab-icon.png ships with the code
    dialog = AboutDialog({"tensorflow": "2.x", "keras": "3.x", "device": "CPU"})
    qtbot.addWidget(dialog)
    dialog.show()
    assert f"Digit Lab {__version__}" in dialog.text.text()
    for folder in (default_models_folder(), trained_models_folder(), log_file_path().parent):
        assert f'href="{QUrl.fromLocalFile(str(folder)).toString()}"' in dialog.text.text()
    assert dialog.text.wordWrap() is False  # a wrapping label broke the paths at "/"
    icons = [label for label in dialog.findChildren(QLabel) if not label.pixmap().isNull()]
    assert icons and icons[0].pixmap().width() == 72
    assert dialog.width() >= dialog.text.sizeHint().width()  # nothing cut


def test_a_folder_link_opens_the_folder_making_it_first_on_a_fresh_machine(qtbot, tmp_path, monkeypatch):
    """"Models" and "Unsaved runs" do not exist before the first save or run: their links opened nothing."""
    from PySide6.QtGui import QDesktopServices

    from app.common.about import AboutDialog

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    dialog = AboutDialog(None)
    qtbot.addWidget(dialog)
    missing = tmp_path / "DigitLab" / "models"
    dialog.text.linkActivated.emit(QUrl.fromLocalFile(str(missing)).toString())
    assert missing.is_dir() and opened == [str(missing)]

