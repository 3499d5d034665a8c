"""/api/v1/alert-rules: ordered rules that decide which alerts become tickets."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from fleetward.bootstrap import Container
from fleetward.domain.alerts import EventKind, IngestResult, Severity
from fleetward.domain.identity import Principal
from fleetward.domain.rules import RuleActions, RuleConditions
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.routers.common import StandardRoutes, page_of
from fleetward.entrypoints.http.schemas import In, MultiLine, Name, Out, Page, Text
from fleetward.services.rules import rule_document

# Free labels compared with what providers send; NUL would break PostgreSQL JSON.
Label = Annotated[Text, Field(min_length=1, max_length=200)]
# Length limits of patterns and templates are the domain's, which name the field.
MANY = 500


class ConditionsIn(In):
    """All optional; every one given must hold. `{}` matches every alert."""

    severities: list[Severity] = Field(default_factory=list, max_length=10)
    activity_types: list[Label] = Field(default_factory=list, max_length=MANY)
    alert_classes: list[Label] = Field(default_factory=list, max_length=MANY)
    source_types: list[Label] = Field(default_factory=list, max_length=MANY)
    client_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MANY)
    keywords: list[Label] = Field(
        default_factory=list, max_length=MANY, description="Any of them, case-insensitive"
    )
    message_pattern: Text | None = Field(
        None, description="A re2 regular expression searched in the message"
    )


class ActionsIn(In):
    create_ticket: bool = True
    board_id: uuid.UUID | None = None
    priority_id: uuid.UUID | None = Field(
        None, description="Default: from the severity (critical→urgent ... minor→low)"
    )
    assignee_id: uuid.UUID | None = None
    title_template: Text | None = Field(
        None,
        description="Sandboxed Jinja2 with device, message, severity, organization, client, "
        "site, title, provider, occurred_at",
    )
    description_template: MultiLine | None = None
    auto_resolve_ticket: bool = False
    auto_resolve_status_id: uuid.UUID | None = None
    reset_alert_on_ticket_close: bool = True
    notify_user_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MANY)


class RuleIn(In):
    name: Name
    active: bool = True
    conditions: ConditionsIn = Field(default_factory=ConditionsIn)
    actions: ActionsIn = Field(default_factory=ActionsIn)


class RulePatch(In):
    """Conditions and actions, when given, replace the stored ones whole."""

    name: Name | None = None
    active: bool | None = None
    conditions: ConditionsIn | None = None
    actions: ActionsIn | None = None


class ReorderIn(In):
    rule_ids: list[uuid.UUID] = Field(
        max_length=10_000, description="Every rule of yours, once each, first to be tried first"
    )


class RuleTestIn(In):
    integration_id: uuid.UUID
    payload: dict[str, Any] = Field(description="A body as the integration's sender posts it")


class ConditionsOut(BaseModel):
    severities: list[Severity]
    activity_types: list[str]
    alert_classes: list[str]
    source_types: list[str]
    client_ids: list[uuid.UUID]
    keywords: list[str]
    message_pattern: str | None


class ActionsOut(BaseModel):
    create_ticket: bool
    board_id: uuid.UUID | None
    priority_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    title_template: str | None
    description_template: str | None
    auto_resolve_ticket: bool
    auto_resolve_status_id: uuid.UUID | None
    reset_alert_on_ticket_close: bool
    notify_user_ids: list[uuid.UUID]


class RuleOut(Out):
    id: uuid.UUID
    name: str
    active: bool
    position: int = Field(description="Rules are tried in ascending position; first match wins")
    conditions: ConditionsOut
    actions: ActionsOut


class TrialOut(BaseModel):
    kind: EventKind | None
    result: IngestResult = Field(description="What the webhook would answer")
    trace: dict[str, Any] = Field(description="The windows and rules tried, and why")


class RuleTestOut(BaseModel):
    results: list[TrialOut]


router = APIRouter(prefix="/api/v1/alert-rules", tags=["alert rules"])


def _conditions(body: ConditionsIn) -> RuleConditions:
    return RuleConditions(
        severities=frozenset(body.severities),
        activity_types=frozenset(body.activity_types),
        alert_classes=frozenset(body.alert_classes),
        source_types=frozenset(body.source_types),
        client_ids=frozenset(body.client_ids),
        keywords=tuple(dict.fromkeys(body.keywords)),
        # Forms send "" for an empty field; an empty pattern would match everything.
        message_pattern=body.message_pattern or None,
    )


def _actions(body: ActionsIn) -> RuleActions:
    return RuleActions(
        create_ticket=body.create_ticket,
        board_id=body.board_id,
        priority_id=body.priority_id,
        assignee_id=body.assignee_id,
        title_template=body.title_template or None,
        description_template=body.description_template or None,
        auto_resolve_ticket=body.auto_resolve_ticket,
        auto_resolve_status_id=body.auto_resolve_status_id,
        reset_alert_on_ticket_close=body.reset_alert_on_ticket_close,
        notify_user_ids=tuple(dict.fromkeys(body.notify_user_ids)),
    )


rules = StandardRoutes[()](router, "/{rule_id}", RuleOut, "rule")
rules.list(
    lambda c, who, limit, cursor: page_of(c.rules.page(who, limit, cursor), rule_document),
    doc="In the order they are tried.",
)


@router.post("", status_code=201, response_model=RuleOut)
def create_rule(body: RuleIn, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    """The new rule goes last."""
    rule = c.rules.create(
        who, body.name, body.active, _conditions(body.conditions), _actions(body.actions)
    )
    return rule_document(rule)


@router.post("/reorder", response_model=Page[RuleOut])
def reorder_rules(body: ReorderIn, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    """Name every rule once, in the order they are to be tried."""
    return {"items": [rule_document(r) for r in c.rules.reorder(who, body.rule_ids)], "next": None}


@router.post("/test", response_model=RuleTestOut)
def test_rules(body: RuleTestIn, c: ContainerDep, who: PrincipalDep) -> dict[str, Any]:
    """What the integration's webhook would do with this payload, storing nothing."""
    trials = c.rules.trial(who, body.integration_id, body.payload)
    return {"results": [{"kind": t.kind, "result": t.result, "trace": t.trace} for t in trials]}


def _update(c: Container, who: Principal, rule_id: uuid.UUID, body: RulePatch) -> dict[str, Any]:
    rule = c.rules.update(
        who,
        rule_id,
        name=body.name,
        active=body.active,
        conditions=None if body.conditions is None else _conditions(body.conditions),
        actions=None if body.actions is None else _actions(body.actions),
    )
    return rule_document(rule)


rules.get(lambda c, who, rule_id: rule_document(c.rules.get(who, rule_id)))
rules.patch(RulePatch, _update)
rules.delete(lambda c, who, rule_id: c.rules.delete(who, rule_id))
