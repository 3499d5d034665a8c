"""Webhook bodies the load generator sends (module-level, so they pickle)."""

from __future__ import annotations

import json

_TRIGGER = {
    "activityTime": 1714555812.25,
    "severity": "MAJOR",
    "priority": "HIGH",
    "sourceConfigUid": "a8d2f4c6-1e3b-4d5a-8c7e-9f0b1a2c3d4e",
    "sourceName": "CPU Utilization",
    "subject": "CPU usage above 90% for 5 minutes",
    "message": "CPU utilization has been at or above 90% for 5 minutes.",
    "activityType": "CONDITION",
    "statusCode": "TRIGGERED",
    "status": "Triggered",
    "type": "Condition",
    "data": {"message": {"code": "vmm_cond_cpu_usage_ge", "params": {"threshold": "90"}}},
}


def ninja_trigger(seq: int) -> bytes:
    """Trigger number `seq`: its own activity, series and device, so its own ticket."""
    body = dict(_TRIGGER)
    body.update(id=seq, seriesUid=f"series-{seq}", deviceId=seq)
    body["device"] = {
        "id": seq,
        "organizationId": 7,
        "nodeClass": "WINDOWS_WORKSTATION",
        "displayName": f"WS-{seq:06d}",
        "systemName": f"DESKTOP-{seq:06d}",
    }
    return json.dumps(body).encode()


def ninja_replay(preloaded: int, seq: int) -> bytes:
    """One of the first `preloaded` triggers again: a duplicate."""
    return ninja_trigger(seq % preloaded)
