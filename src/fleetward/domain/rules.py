"""Alert rules: ordered conditions that pick what to do with an alert.

Conditions are all optional and all present ones must hold; `{}` matches
everything. Rules are compiled once into a tuple of small predicates so that
evaluating a thousand of them for one alert stays well under a millisecond.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import re2

from fleetward.domain.alerts import NormalizedEvent, Severity
from fleetward.domain.errors import InvalidInput
from fleetward.domain.templates import check_template
from fleetward.domain.text import REPLACEMENT, SURROGATE

MAX_PATTERN_CHARS = 1000
# A pattern an admin mistyped is answered 422; it need not also go to stderr.
_QUIET = re2.Options()
_QUIET.log_errors = False


@dataclass(frozen=True, slots=True)
class RuleConditions:
    severities: frozenset[Severity] = frozenset()
    activity_types: frozenset[str] = frozenset()
    alert_classes: frozenset[str] = frozenset()
    source_types: frozenset[str] = frozenset()
    client_ids: frozenset[uuid.UUID] = frozenset()
    keywords: tuple[str, ...] = ()
    message_pattern: str | None = None


@dataclass(frozen=True, slots=True)
class RuleActions:
    create_ticket: bool = True
    board_id: uuid.UUID | None = None
    priority_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    title_template: str | None = None
    description_template: str | None = None
    auto_resolve_ticket: bool = False
    auto_resolve_status_id: uuid.UUID | None = None
    reset_alert_on_ticket_close: bool = True
    notify_user_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertRule:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    active: bool
    position: int
    conditions: RuleConditions = field(default_factory=RuleConditions)
    actions: RuleActions = field(default_factory=RuleActions)


def rule_json(rule: AlertRule) -> tuple[dict[str, Any], dict[str, Any]]:
    """Conditions and actions as JSON values: how they are stored, shown by the API and
    recorded in the audit log."""
    c, a = rule.conditions, rule.actions
    conditions: dict[str, Any] = {
        "severities": sorted(s.value for s in c.severities),
        "activity_types": sorted(c.activity_types),
        "alert_classes": sorted(c.alert_classes),
        "source_types": sorted(c.source_types),
        "client_ids": sorted(str(i) for i in c.client_ids),
        "keywords": list(c.keywords),
        "message_pattern": c.message_pattern,
    }
    actions: dict[str, Any] = {
        key: (str(value) if isinstance(value, uuid.UUID) else value)
        for key, value in dataclasses.asdict(a).items()
    }
    actions["notify_user_ids"] = [str(i) for i in a.notify_user_ids]
    return conditions, actions


def compile_pattern(pattern: str, field_name: str = "conditions.message_pattern") -> Any:
    """re2 runs in linear time, so a user's pattern cannot hang the pipeline."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise InvalidInput(
            f"{field_name}: pattern longer than {MAX_PATTERN_CHARS} characters", field=field_name
        )
    try:
        return re2.compile(pattern, _QUIET)
    except re2.error as error:
        # re2 reports its reason as bytes: say it as text, after the field it concerns.
        reason = error.args[0] if error.args else ""
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise InvalidInput(
            f"{field_name}: invalid regular expression: {reason}", field=field_name
        ) from None


def validate_rule(rule: AlertRule) -> None:
    """Everything that can be checked on save is checked on save (422 naming the field)."""
    if rule.conditions.message_pattern is not None:
        compile_pattern(rule.conditions.message_pattern)
    for name in ("title_template", "description_template"):
        source = getattr(rule.actions, name)
        if source is not None:
            check_template(source, f"actions.{name}")


@dataclass(frozen=True, slots=True)
class Facts:
    """What rules look at, derived once per alert rather than once per rule."""

    severity: Severity
    activity_type: str
    alert_class: str
    source_type: str
    text: str  # title and message, lower-cased, for keywords
    client_id: uuid.UUID | None
    patterns: frozenset[int]  # indices of the book's patterns the message matches


Predicate = Callable[[Facts], bool]


def _severity_in(wanted: frozenset[Severity]) -> Predicate:
    return lambda facts: facts.severity in wanted


def _activity_in(wanted: frozenset[str]) -> Predicate:
    return lambda facts: facts.activity_type in wanted


def _class_in(wanted: frozenset[str]) -> Predicate:
    return lambda facts: facts.alert_class in wanted


def _source_in(wanted: frozenset[str]) -> Predicate:
    return lambda facts: facts.source_type in wanted


def _client_in(wanted: frozenset[uuid.UUID]) -> Predicate:
    return lambda facts: facts.client_id in wanted


def _any_keyword(words: tuple[str, ...]) -> Predicate:
    return lambda facts: any(word in facts.text for word in words)


def _pattern_matched(index: int) -> Predicate:
    return lambda facts: index in facts.patterns


def _lower(values: frozenset[str]) -> frozenset[str]:
    return frozenset(v.lower() for v in values)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: AlertRule
    checks: tuple[tuple[str, Predicate], ...]


class RuleBook:
    """A tenant's active rules in order, compiled together.

    Every message_pattern goes into one re2 set, so a thousand patterns cost
    one pass over the message instead of a thousand searches.
    """

    def __init__(self, rules: Sequence[AlertRule]) -> None:
        self._patterns = re2.Set.SearchSet()
        self._pattern_count = 0
        ordered = sorted((r for r in rules if r.active), key=lambda r: r.position)
        self.rules = tuple(self._compile_or_broken(rule) for rule in ordered)
        if self._pattern_count:
            self._patterns.Compile()

    def _compile_or_broken(self, rule: AlertRule) -> CompiledRule:
        """A rule that cannot compile (stored before a check existed, say) stays in the
        book as one that fails when tried, so it is skipped and reported, not fatal."""
        try:
            return self._compile(rule)
        except Exception as error:  # anything wrong with one rule stays with that rule
            reason = f"{type(error).__name__}: {error}"

            def broken(_facts: Facts) -> bool:
                raise ValueError(f"rule cannot be compiled: {reason}")

            return CompiledRule(rule, (("compile", broken),))

    def _compile(self, rule: AlertRule) -> CompiledRule:
        c = rule.conditions
        checks: list[tuple[str, Predicate]] = []
        if c.severities:
            checks.append(("severity", _severity_in(c.severities)))
        if c.activity_types:
            checks.append(("activity_type", _activity_in(_lower(c.activity_types))))
        if c.alert_classes:
            checks.append(("alert_class", _class_in(_lower(c.alert_classes))))
        if c.source_types:
            checks.append(("source_type", _source_in(_lower(c.source_types))))
        if c.client_ids:
            checks.append(("client", _client_in(c.client_ids)))
        if c.keywords:
            checks.append(("keywords", _any_keyword(tuple(k.lower() for k in c.keywords))))
        if c.message_pattern is not None:
            compile_pattern(c.message_pattern)  # the same error as on save, should one slip in
            index = self._patterns.Add(c.message_pattern)
            self._pattern_count += 1
            checks.append(("message_pattern", _pattern_matched(index)))
        return CompiledRule(rule, tuple(checks))

    def facts(self, event: NormalizedEvent, client_id: uuid.UUID | None) -> Facts:
        matched = self._match(event.message) if self._pattern_count else None
        return Facts(
            severity=event.severity,
            activity_type=event.activity_type.lower(),
            alert_class=event.alert_class.lower(),
            source_type=event.source_type.lower(),
            text=f"{event.title}\n{event.message}".lower(),
            client_id=client_id,
            patterns=frozenset(matched or ()),
        )

    def _match(self, message: str) -> Any:
        try:
            return self._patterns.Match(message)
        except UnicodeEncodeError:
            # re2 reads UTF-8, which a lone surrogate is not. Webhook and agent text is
            # cleaned before it gets here (domain/text.py); this keeps the evaluator
            # total for any other caller, reading the surrogate as U+FFFD.
            return self._patterns.Match(SURROGATE.sub(REPLACEMENT, message))


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """The first matching rule (or None) and, per rule tried, the check that failed.

    `tried` holds (rule, failed check or None for the match, error or None);
    it is turned into words only when someone reads the trace.
    """

    rule: AlertRule | None
    tried: tuple[tuple[AlertRule, str | None, str | None], ...]

    def explain(self) -> list[dict[str, str]]:
        lines = []
        for rule, failed, error in self.tried:
            if error is not None:
                reason = f"skipped: {error}"
            elif failed is None:
                reason = "matched"
            else:
                reason = f"no match: {failed}"
            lines.append({"rule_id": str(rule.id), "rule": rule.name, "result": reason})
        return lines


def evaluate(book: RuleBook, event: NormalizedEvent, client_id: uuid.UUID | None) -> RuleOutcome:
    """Rules in ascending position; the first match wins; a failing rule is skipped."""
    facts = book.facts(event, client_id)
    tried: list[tuple[AlertRule, str | None, str | None]] = []
    for compiled in book.rules:
        failed = None
        try:
            for name, check in compiled.checks:
                if not check(facts):
                    failed = name
                    break
        except Exception as error:  # a broken rule must not stop the pipeline
            tried.append((compiled.rule, None, f"{type(error).__name__}: {error}"))
            continue
        tried.append((compiled.rule, failed, None))
        if failed is None:
            return RuleOutcome(compiled.rule, tuple(tried))
    return RuleOutcome(None, tuple(tried))
