"""A short version of bench/load.py in the suite: every surface under concurrent clients, no 5xx, no dropped connection."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import MIX, run  # noqa: E402


def test_mixed_load_gets_no_server_error_and_no_connection_error(live_server: object) -> None:
    figures = run(live_server.url, clients=4, seconds=4)  # type: ignore[attr-defined]
    assert figures["requests"] >= len(MIX)  # every kind of request was sent at least once
    assert figures["server_errors"] == 0, figures
    assert figures["connection_errors"] == 0, figures
    statuses = figures["statuses"]
    assert isinstance(statuses, dict) and set(statuses) <= {200, 503}, statuses


def test_the_others_are_served_while_an_explosive_query_runs(live_server: object) -> None:
    figures = run(live_server.url, clients=2, seconds=4, with_explosive=True)  # type: ignore[attr-defined]
    assert figures["connection_errors"] == 0, figures
    assert figures["server_errors"] == 0, figures
    statuses = figures["statuses"]
    assert isinstance(statuses, dict) and statuses.get(200, 0) > 0, statuses
