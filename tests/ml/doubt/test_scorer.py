"""The fitted decision as plain numbers: it scores as fitted, survives the card's JSON and a save and load, and a
broken one is refused."""

from __future__ import annotations

import numpy as np
import pytest

from ml.doubt.features import FEATURES, IMAGE_FEATURES, image_features
from ml.doubt.fitting import choose_threshold, decision_families, detector_limit_of
from ml.doubt.material import DIGIT, NOT_A_DIGIT
from ml.doubt.scorer import DoubtSettings, Scorer
from ml.doubt.verdict import DoubtJudge
from ml.models.metadata import ModelMetadata


def small_settings(threshold: float = 0.7, detector_limit: float | None = None) -> DoubtSettings:
    rng = np.random.default_rng(0)
    width = len(FEATURES)
    hidden = rng.normal(size=(width, 4))
    output = rng.normal(size=(4, 1))
    return DoubtSettings(
        feature_names=FEATURES,
        mean=tuple([0.0] * width),
        scale=tuple([1.0] * width),
        layers=(
            (tuple(map(tuple, hidden.tolist())), (0.1, -0.1, 0.2, 0.0)),
            (tuple(map(tuple, output.tolist())), (0.3,)),
        ),
        threshold=threshold,
        rates={"validation digits": 0.002},
        detector_limit=detector_limit,
    )


def test_the_network_scores_as_its_weights_say():
    settings = small_settings()
    rows = np.random.default_rng(1).normal(size=(5, len(FEATURES)))
    (hidden, hidden_bias), (output, output_bias) = settings.layers
    expected = np.maximum(rows @ np.array(hidden) + hidden_bias, 0) @ np.array(output) + output_bias
    assert np.allclose(Scorer(settings).scores_from_features(rows), 1 / (1 + np.exp(-expected[:, 0])))


def test_settings_survive_the_cards_json():
    settings = small_settings()
    card = ModelMetadata(doubt=settings.as_dict())
    restored = DoubtSettings.from_dict(ModelMetadata.from_json(card.to_json()).doubt)
    assert restored == settings


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data.update(version=99),
        lambda data: data.update(features=["no such feature"] * len(FEATURES)),
        lambda data: data.update(threshold=float("nan")),
        lambda data: data["layers"].pop(),
        lambda data: data.update(scale=[0.0] * len(FEATURES)),
    ],
)
def test_broken_settings_are_refused(damage):
    data = small_settings().as_dict()
    damage(data)
    with pytest.raises((ValueError, KeyError, TypeError)):
        DoubtSettings.from_dict(data)


def test_the_threshold_survives_save_and_load(tmp_path):
    import keras

    from ml.models.files import load_model, save_model

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    settings = small_settings(threshold=0.8125)
    path = save_model(model, tmp_path / "judged.keras", ModelMetadata(doubt=settings.as_dict()))
    loaded = load_model(path)
    judge = DoubtJudge(loaded)
    assert judge.calibrated and judge.settings == settings and judge.settings.uses_detector
    assert judge.judge(np.zeros((28, 28), np.float32), np.full(10, 0.1)).threshold == 0.8125


def test_the_threshold_keeps_validation_and_style_refusals_within_their_shares():
    rng = np.random.default_rng(0)
    validation, style = rng.random(5000) * 0.5, rng.random(1000)
    threshold = choose_threshold(validation, style)
    assert (validation >= threshold).mean() <= 0.002
    assert (style >= threshold).mean() <= 0.01


def test_where_the_detector_alone_is_sure_it_refuses_whatever_the_network_says():
    plain, ruled = Scorer(small_settings()), Scorer(small_settings(detector_limit=4.0))
    rows = np.random.default_rng(2).normal(size=(6, len(FEATURES)))
    rows[:, FEATURES.index("detector")] = [-8.0, 0.0, 3.99, 4.0, 9.0, 30.0]
    network, scores = plain.scores_from_features(rows), ruled.scores_from_features(rows)
    assert (network[3:] < 0.5).all()  # the network alone would accept the sure ones
    assert np.array_equal(scores[:3], network[:3]) and (scores[3:] == 1.0).all()
    judge = DoubtJudge(type("Loaded", (), {"metadata": ModelMetadata(doubt=small_settings(0.999, 4.0).as_dict())})())
    assert judge.settings.detector_limit == 4.0
    restored = DoubtSettings.from_dict(small_settings(detector_limit=4.0).as_dict())
    assert restored == small_settings(detector_limit=4.0)
    assert "detector_limit" not in small_settings().as_dict()  # cards fitted before it read as they did


def test_a_detector_limit_needs_the_detector_and_a_finite_number():
    data = small_settings(detector_limit=4.0).as_dict()
    without = dict(data, features=[name for name in FEATURES if name != "detector"], mean=data["mean"][:-1])
    without["scale"] = data["scale"][:-1]
    without["layers"] = [[data["layers"][0][0][:-1], data["layers"][0][1]], data["layers"][1]]
    for broken in (without, dict(data, detector_limit=float("inf"))):
        with pytest.raises(ValueError):
            DoubtSettings.from_dict(broken)


def test_the_detector_limit_keeps_its_shares_of_validation_and_style_digits():
    rng = np.random.default_rng(3)
    validation, style = rng.normal(-10, 3, 5000), rng.normal(-6, 4, 1000)
    limit = detector_limit_of(validation, style)
    assert (validation >= limit).mean() <= 0.001 and (style >= limit).mean() <= 0.005
    assert (style >= limit).mean() == 0.005 or (validation >= limit).mean() == 0.001  # and no stricter than needed


def test_the_decisions_tuning_material_is_as_varied_as_the_detectors():
    images = np.zeros((10, 28, 28), np.float32)
    kinds = {family.name: family.kind for family in decision_families(images, np.arange(10))}
    for name in ("stroke programs", "shapes and doodles", "glyphs printed", "digits crossed or paired", "shapes drawn"):
        assert kinds[name] == NOT_A_DIGIT
    for name in ("digits in writers' variants", "digits warped", "digits printed (all fonts)", "digits drawn"):
        assert kinds[name] == DIGIT


def test_input_checks_count_components_and_holes():
    ring = np.zeros((28, 28), np.float32)
    yy, xx = np.mgrid[0:28, 0:28]
    ring[(np.hypot(yy - 14, xx - 14) < 9) & (np.hypot(yy - 14, xx - 14) > 6)] = 1.0
    values = dict(zip(IMAGE_FEATURES, image_features(ring), strict=True))
    assert values["components"] == 1 and values["holes"] == 1
    assert values["mirror_lr"] > 0.95
    dots = np.zeros((28, 28), np.float32)
    dots[4:6, 4:6] = dots[20:22, 8:10] = dots[10:12, 22:24] = 1.0
    assert dict(zip(IMAGE_FEATURES, image_features(dots), strict=True))["components"] == 3
    assert not image_features(np.zeros((28, 28))).any()
