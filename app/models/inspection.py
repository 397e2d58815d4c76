"""The model thread's inspection tools: layer tracers, the explainer and filters, built once per active model."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def layer_dict(view: Any) -> dict:
    """An ``ml.inspect.layers.LayerView`` as plain data for the window."""
    return {
        "name": str(view.name),
        "kind": str(view.kind),
        "tower": view.tower,
        "output_shape": tuple(int(side) for side in view.output_shape),
        "values": None if view.values is None else np.asarray(view.values, dtype=np.float32),
        "note": str(view.note or ""),
    }


def evidence_dict(evidence: Any) -> dict:
    """An ``ml.inspect.evidence.Evidence`` as plain data."""
    return {field.name: getattr(evidence, field.name) for field in dataclasses.fields(evidence)}


def filter_dict(bank: Any) -> dict:
    """An ``ml.inspect.filters.FilterBank`` as plain data."""
    return {
        "layer": str(bank.layer),
        "tower": bank.tower,
        "kernels": np.asarray(bank.kernels, dtype=np.float32),
        "note": str(bank.note or ""),
    }


def one_line(error: BaseException) -> str:
    """An error's message as one short line: TensorFlow's "in user code:" errors, which carry a traceback of the
    traced function, by their last line (the whole text goes to the log)."""
    from ml.models.limits import shorten

    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    kind = f"{type(error).__name__}: "
    return shorten(last.removeprefix(kind) if last.startswith(kind) else last)


class InspectionTools:
    """Keras-side helpers for one model at a time; everything is rebuilt when the active model changes."""

    def __init__(self) -> None:
        self._slot: Any = None
        self._tracers: dict[bool, Any] = {}
        self._explainer: Any = None

    def run(self, slot: Any, request_id: int, image28: np.ndarray, options: dict) -> dict:
        """Answer one inspection request (see ``ModelWorker.inspect``); failures become a one-line ``error``."""
        result: dict[str, Any] = {
            "request_id": request_id,
            "layers": None,
            "evidence": None,
            "filters": None,
            "error": None,
            "model_name": None,
        }
        if slot is None:
            result["error"] = "No model is loaded yet."
            return result
        try:
            self._follow(slot)
            result["model_name"] = getattr(slot.loaded, "display_name", None)
            image = None if image28 is None else np.asarray(image28, dtype=np.float32)
            if options.get("filters"):
                from ml.inspect.filters import conv_filters

                result["filters"] = [filter_dict(bank) for bank in conv_filters(slot.loaded)]
            if image is None:
                return result
            if options.get("layers"):
                tracer = self._tracer(slot, bool(options.get("fold", True)))
                result["layers"] = [layer_dict(view) for view in tracer.trace(image)]
            method = options.get("method")
            if method:
                if self._explainer is None:
                    from ml.inspect.evidence import Explainer

                    self._explainer = Explainer(slot.loaded)
                class_index = options.get("class_index")
                evidence = self._explainer.explain(image, method=method, class_index=class_index)
                result["evidence"] = evidence_dict(evidence)
        except Exception as error:  # noqa: BLE001 - a view that cannot be computed must not take the worker down
            logger.exception("Inspecting the model failed")
            result["error"] = f"Could not look inside the model: {type(error).__name__}: {one_line(error)}"
        return result

    def _follow(self, slot: Any) -> None:
        """Drop the tools of the previous model."""
        if slot is not self._slot:
            self._slot = slot
            self._tracers = {}
            self._explainer = None

    def _tracer(self, slot: Any, fold: bool) -> Any:
        tracer = self._tracers.get(fold)
        if tracer is None:
            from ml.inspect.layers import NetworkTracer

            tracer = self._tracers[fold] = NetworkTracer(slot.loaded, fold=fold)
        return tracer
