"""Call something that must not block (a named pipe, a device) in a thread, and fail the test if it does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def outcome_without_blocking(function: Callable[..., Any], *args: Any, timeout: float = 20, **kwargs: Any) -> Any:
    """What ``function`` returned or raised (SystemExit included); fails the test when it runs past ``timeout`` s."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(function(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), f"{getattr(function, '__name__', function)} blocked for {timeout} s"
    return outcome[0]
