"""The offline-weights dialog: recognises the ImageNet-weights message and offers a local file or training anew."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer

from app.train.offline_weights_dialog import OfflineWeightsDialog, is_offline_weights_message, weights_url
from ml.models.transfer import BACKBONES, WEIGHTS_URL, offline_weights_message


@pytest.fixture
def message() -> str:
    """The message ml.models.transfer gives when VGG16's ImageNet weights cannot be downloaded."""
    return offline_weights_message(BACKBONES["vgg16"], OSError("[Errno -2] Name or service not known"))


def test_the_ml_message_is_recognised_and_its_download_address_found(message):
    assert is_offline_weights_message(message)
    assert not is_offline_weights_message("The backbone weights file /x.h5 does not exist.")
    assert weights_url(message) == WEIGHTS_URL + BACKBONES["vgg16"].notop_weights_file


@pytest.mark.parametrize(
    ("button", "choice"), [("local_file_button", "file"), ("scratch_button", "scratch"), ("cancel_button", None)]
)
def test_each_button_gives_its_way_out(qtbot, message, button, choice):
    dialog = OfflineWeightsDialog(message)
    qtbot.addWidget(dialog)
    assert "ImageNet weights for VGG16" in dialog.text()
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in dialog.informativeText()
    assert dialog.detailedText() == message
    QTimer.singleShot(0, getattr(dialog, button).click)
    dialog.exec()
    assert dialog.choice() == choice
