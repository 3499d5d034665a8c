"""`python -m bench --quick` runs end to end (no timing assertions: machines are noisy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIGURES = (
    "raw_sqlite_insert",
    "raw_sqlite_duplicate_insert",
    "trivial_http",
    "trivial_http_sequential",
    "fleetward_healthz",
    "fleetward_api_list_clients",
    "dashboard_api_alerts",
    "dashboard_api_clients",
    "dashboard_alerts_page",
    "webhook_triggers",
    "webhook_duplicates",
    "webhook_triggers_concurrent",
    "webhook_duplicates_concurrent",
    "rules_1000_per_alert",
    "timeline_intake",
    "timeline_replay",
    "agent_rss_1m_events",
    "sync_10000_alerts",
    "sync_10000_alerts_seconds",
)


def test_quick_bench_run_prints_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in FIGURES:
        assert name in done.stdout
    assert "ratio" in done.stdout
    results = {r["name"]: r for r in json.loads(output.read_text())["results"]}
    assert set(results) == set(FIGURES)
    assert all(r["value"] > 0 and r["error"] is None for r in results.values())
    assert results["fleetward_healthz"]["baseline"] == "trivial_http"
    assert results["fleetward_healthz"]["ratio"] is not None
    # The pipeline figures are one sender's, measured against one connection.
    assert results["webhook_triggers"]["baseline"] == "trivial_http_sequential"
    assert results["webhook_triggers"]["detail"]["concurrency"] == 1
    assert results["webhook_triggers_concurrent"]["detail"]["concurrency"] == 8
    # The dashboard's reads: one reader, on seeded data, against one connection.
    assert results["dashboard_alerts_page"]["baseline"] == "trivial_http_sequential"
    assert results["dashboard_api_alerts"]["detail"]["concurrency"] == 1
    assert results["dashboard_api_clients"]["detail"]["clients"] > 0


def test_unknown_benchmark_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "no_such_figure", "--quick"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no_such_figure" in done.stderr


def test_trigger_profile_lists_a_triggers_statements() -> None:
    """bench.trigger_profile runs against the code on the path (numbers not checked)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.trigger_profile", "--triggers", "20", "--top", "3"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "statements for one trigger that opens a ticket" in done.stdout
    assert "INSERT INTO ticket " in done.stdout and "COMMIT" in done.stdout
