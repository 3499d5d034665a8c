"""Alert rules on plain values: re2 patterns, sandboxed templates, order."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from fleetward.domain.alerts import Device, EventKind, NormalizedEvent, Provider, Severity
from fleetward.domain.errors import InvalidInput
from fleetward.domain.rules import (
    AlertRule,
    RuleActions,
    RuleBook,
    RuleConditions,
    compile_pattern,
    evaluate,
    validate_rule,
)
from fleetward.domain.templates import TemplateRenderError, check_template, render

TENANT = uuid.uuid4()
CLIENT = uuid.uuid4()


def event(message: str = "Disk C: is 97% full", **fields: object) -> NormalizedEvent:
    values: dict[str, object] = {
        "provider": Provider.GENERIC,
        "kind": EventKind.TRIGGERED,
        "external_alert_id": uuid.uuid4().hex,
        "series_key": "s",
        "device": Device("dev-1", "SRV-01", "org-1"),
        "severity": Severity.MAJOR,
        "condition_identity": "disk",
        "title": "Disk almost full",
        "message": message,
        "occurred_at": datetime(2026, 5, 1, 12, tzinfo=UTC),
    }
    values.update(fields)
    return NormalizedEvent(**values)  # type: ignore[arg-type]


def rule(name: str, position: int, active: bool = True, **conditions: object) -> AlertRule:
    return AlertRule(
        uuid.uuid4(),
        TENANT,
        name,
        active,
        position,
        RuleConditions(**conditions),  # type: ignore[arg-type]
    )


def matched(rules: list[AlertRule], e: NormalizedEvent, client: uuid.UUID | None = CLIENT) -> str:
    outcome = evaluate(RuleBook(rules), e, client)
    return outcome.rule.name if outcome.rule else "-"


# Patterns


def test_catastrophic_backtracking_pattern_is_accepted_and_evaluates_promptly() -> None:
    # "(a+)+$" takes exponential time in a backtracking engine on this input; re2 is linear.
    pattern = "(a+)+$"
    compile_pattern(pattern)
    book = RuleBook([rule("redos", 0, message_pattern=pattern)])
    hostile = event("a" * 50_000 + "!")
    outcome = evaluate(book, hostile, CLIENT)
    assert outcome.rule is None
    assert outcome.explain()[0]["result"] == "no match: message_pattern"
    assert evaluate(book, event("a" * 50_000), CLIENT).rule is not None


@pytest.mark.parametrize("pattern", ["(", "a{2,1}", "[z-a]", "a**", "(?<!x)a"])
def test_an_invalid_pattern_is_refused_naming_the_field(pattern: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_rule(rule("bad", 0, message_pattern=pattern))
    assert caught.value.field == "conditions.message_pattern"
    assert "invalid regular expression" in caught.value.message


def test_a_pattern_re2_cannot_run_in_linear_time_is_refused() -> None:
    # Backreferences need backtracking: re2 refuses them rather than risk a hang.
    with pytest.raises(InvalidInput):
        compile_pattern(r"(a)\1")


def test_an_overlong_pattern_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        compile_pattern("a" * 1001)
    assert caught.value.field == "conditions.message_pattern"


def test_patterns_search_the_message_and_keywords_any_case() -> None:
    rules = [
        rule("disk", 0, message_pattern=r"\d+% full"),
        rule("backup", 1, keywords=("BACKUP",)),
    ]
    assert matched(rules, event("Disk C: is 97% full")) == "disk"
    assert matched(rules, event("Nightly Backup failed")) == "backup"
    assert matched(rules, event("CPU at 100%", title="CPU")) == "-"


def test_a_message_with_a_lone_surrogate_is_still_searched() -> None:
    """re2 reads UTF-8, which a lone surrogate is not: read as U+FFFD, not an error."""
    rules = [rule("disk", 0, message_pattern=r"\d+% full")]
    assert matched(rules, event("Disk C: is 97% full \ud83d")) == "disk"
    assert matched(rules, event("\udc00 nothing")) == "-"


# Templates


HOSTILE_TEMPLATES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ message.__class__.__base__.__subclasses__() }}",
    "{{ (cycler|attr('__init__')) }}",
    "{{ message.format.__globals__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
]
INTERNALS = ("<class", "<function", "<module", "__", "builtins", "globals", "subprocess")


@pytest.mark.parametrize("source", HOSTILE_TEMPLATES)
def test_templates_cannot_reach_python_internals(source: str) -> None:
    try:
        check_template(source, "actions.title_template")
    except InvalidInput as refused:  # refusing on save is as good as neutralising
        assert refused.field == "actions.title_template"
        return
    try:
        output = render(source, {"message": "Disk full", "device": "SRV-01"})
    except TemplateRenderError:
        return
    assert not any(marker in output for marker in INTERNALS), output


@pytest.mark.parametrize(
    "source",
    [
        "{{ 1/0 }}",
        "{{ range(10**9)|list|length }}",
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        "{{ message|wordwrap(0) }}",
        "{{ 'a' + 1 }}",
        "{{ message|truncate(-1) }}",
    ],
)
def test_a_template_failing_at_render_raises_a_template_error(source: str) -> None:
    # Refused on save, or at render a TemplateRenderError the pipeline falls back on;
    # anything else would fail the whole webhook.
    try:
        check_template(source, "actions.description_template")
    except InvalidInput as refused:
        assert refused.field == "actions.description_template"
        return
    with pytest.raises(TemplateRenderError):
        render(source, {"message": "m"})


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 10**10 }}",
        "{{ 'x'|center(10000000000) }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
        "{{ range(10**9)|list|length }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_templates_that_could_run_long_or_grow_huge_are_refused_on_save(source: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_template(source, "actions.title_template")
    assert caught.value.field == "actions.title_template"


def test_what_a_ticket_title_needs_is_allowed() -> None:
    source = (
        "{% if severity == 'critical' %}URGENT {% endif %}{{ device }}: {{ title|truncate(80) }}"
    )
    check_template(source, "actions.title_template")
    assert (
        render(source, {"severity": "critical", "device": "PC", "title": "CPU"}) == "URGENT PC: CPU"
    )


@pytest.mark.parametrize(
    "source", ["{{ unclosed", "{% for %}", "{{ message|no_such_filter }}", "{{ 2**10000000 }}"]
)
def test_a_template_that_does_not_compile_is_refused_naming_the_field(source: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_rule(
            dataclasses.replace(rule("t", 0), actions=RuleActions(description_template=source))
        )
    assert caught.value.field == "actions.description_template"


def test_templates_render_the_documented_variables() -> None:
    source = "[{{ severity|upper }}] {{ client }} / {{ device }}: {{ title }}"
    check_template(source, "actions.title_template")
    variables = {"severity": "major", "client": "Contoso", "device": "SRV-01", "title": "Disk"}
    assert render(source, variables) == "[MAJOR] Contoso / SRV-01: Disk"


# Order


def test_first_matching_rule_in_position_order_wins() -> None:
    first, second = rule("first", 0), rule("second", 1)
    assert matched([second, first], event()) == "first"
    # Reordered: positions swapped, the other rule now wins.
    swapped = [dataclasses.replace(first, position=1), dataclasses.replace(second, position=0)]
    assert matched(swapped, event()) == "second"


def test_inactive_rules_are_skipped_and_conditions_all_must_hold() -> None:
    rules = [
        rule("inactive", 0, active=False),
        rule("critical only", 1, severities=frozenset({Severity.CRITICAL})),
        rule(
            "this client, major",
            2,
            severities=frozenset({Severity.MAJOR}),
            client_ids=frozenset({CLIENT}),
        ),
        rule("catch-all", 3),
    ]
    assert matched(rules, event()) == "this client, major"
    assert matched(rules, event(), client=uuid.uuid4()) == "catch-all"
    assert matched(rules, event(severity=Severity.CRITICAL)) == "critical only"
    outcome = evaluate(RuleBook(rules), event(), uuid.uuid4())
    assert [line["result"] for line in outcome.explain()] == [
        "no match: severity",
        "no match: client",
        "matched",
    ]


def test_labels_match_case_insensitively() -> None:
    rules = [
        rule("uptime", 0, activity_types=frozenset({"Uptime"}), source_types=frozenset({"WEBSITE"}))
    ]
    e = event(activity_type="uptime", source_type="website")
    assert matched(rules, e) == "uptime"
    assert matched(rules, dataclasses.replace(e, source_type="server")) == "-"
