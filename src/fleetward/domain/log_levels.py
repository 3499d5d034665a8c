"""Which levels a log's events use, for the person choosing a watch rule's minimum level.

A rule with "warning or worse" on the Security log never fires: Windows writes
audit events (failed logons 4625, lockouts 4740 ...) at level 0, shown as
Information, and tells success from failure by the Audit Success / Audit
Failure keywords, not by the level. The form shows the hint of the chosen log.
"""

from __future__ import annotations

from fleetward.domain.eventlog import is_journal_log

_ERROR_WARNING_INFORMATION = (
    "Events here use Critical, Error, Warning and Information; most are Information, "
    "so a rule on a specific event id is safest with any level."
)
LEVEL_HINTS: dict[str, str] = {
    "security": (
        "Security audit events are Information (level 0), failures included: a failed "
        "logon (4625) or a lockout (4740) is marked Audit Failure by its keywords, not "
        "by its level. Choose any level and name the event ids."
    ),
    "system": "System: " + _ERROR_WARNING_INFORMATION,
    "application": "Application: " + _ERROR_WARNING_INFORMATION,
    "setup": "Setup events are mostly Information; failed updates are Error.",
    "forwardedevents": "Forwarded events keep the levels of the logs they came from.",
    "journal": (
        "Journal entries take their level from the syslog priority: 0-2 critical, 3 error, "
        "4 warning, 5-6 information, 7 verbose."
    ),
}
OTHER_WINDOWS_LOG = (
    "Windows channels use Critical, Error, Warning, Information and Verbose; many "
    "operational channels (Sysmon among them) write everything as Information."
)


def level_hint(log_name: str) -> str:
    """What levels the events of `log_name` use; empty while no log is chosen."""
    name = log_name.strip()
    if not name:
        return ""
    if is_journal_log(name):
        return LEVEL_HINTS["journal"]
    return LEVEL_HINTS.get(name.casefold(), OTHER_WINDOWS_LOG)
