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
