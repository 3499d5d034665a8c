"""Query parameters shared by every list endpoint, the standard routes of a resource, and
response models derived from the domain's dataclasses."""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
import uuid
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Generic, TypeVar, TypeVarTuple

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, create_model

from fleetward.bootstrap import Container
from fleetward.domain.identity import Principal
from fleetward.domain.pagination import MAX_LIMIT
from fleetward.domain.pagination import Page as DomainPage
from fleetward.entrypoints.http.deps import ContainerDep, PrincipalDep
from fleetward.entrypoints.http.schemas import Out, Page, Text

Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description="Page size (default 50)")]
CursorQuery = Annotated[
    Text | None, Query(max_length=500, description="The `next` value of the previous page")
]
SortQuery = Annotated[
    Text | None,
    Query(max_length=50, description="A key to sort by; `-key` sorts it descending"),
]
# A text filter compared with stored values: NUL would make PostgreSQL fail (a 5xx).
FilterQuery = Annotated[Text | None, Query(max_length=100)]

Parents = TypeVarTuple("Parents")
Body = TypeVar("Body", bound=BaseModel)
Item = TypeVar("Item")


def page_model(item: type[BaseModel]) -> Any:
    """`Page[item]` for a model that is a value (made at run time), which mypy
    does not take as a type argument."""
    return Page[item]  # type: ignore[valid-type]


def out_model(
    name: str, domain: type[Any], hidden: Iterable[str] = (), base: type[Out] = Out
) -> type[Out]:
    """A response model with the domain dataclass's fields, in its order and with its
    types, less the `hidden` ones: a field added to the domain shows in the API
    without a second list to keep in step."""
    hints = typing.get_type_hints(domain)
    hidden = set(hidden)
    shown = [f.name for f in dataclasses.fields(domain) if f.name not in hidden]
    fields: dict[str, Any] = {field: (hints[field], ...) for field in shown}
    return create_model(name, __base__=base, __module__=domain.__module__, **fields)


def page_of(page: DomainPage[Item], shown: Callable[[Item], Any]) -> dict[str, Any]:
    """A page whose items the API shows as something other than the domain object."""
    return {"items": [shown(item) for item in page.items], "next": page.next, "total": page.total}


_PATH_IDS = re.compile(r"{(\w+)}")
_PLAIN = inspect.Parameter.POSITIONAL_OR_KEYWORD


class StandardRoutes(Generic[*Parents]):
    """The list, get, patch and delete routes of one kind of object, as every resource
    of the API has them.

    Each route takes its handler as a plain function of (container, principal, the ids
    in the path, then the body or the page's limit and cursor) and gets the path, the
    status code, the response model and the operation's name that a hand-written route
    would: `list_{plural}`, `get_{singular}`, `update_{singular}`, `delete_{singular}`.
    The type arguments are the ids of the parents in the path: `StandardRoutes[()]` for
    `/{client_id}`, `StandardRoutes[uuid.UUID]` for `/{client_id}/sites/{site_id}`.
    Only the routes asked for are registered (a list-only resource still names its
    item path, whose last id no route then takes), where these methods are called: the
    router's order, and the OpenAPI document's, is the order of the calls.
    """

    def __init__(
        self,
        router: APIRouter,
        item_path: str,
        out: type[BaseModel],
        singular: str,
        plural: str | None = None,
    ) -> None:
        self.router = router
        self.item_path = item_path
        self.list_path = item_path.rsplit("/", 1)[0]
        self.out = out
        self.singular = singular
        self.plural = plural or f"{singular}s"

    def list(
        self,
        handler: Callable[[Container, Principal, *Parents, int | None, str | None], Any],
        doc: str | None = None,
    ) -> None:
        page = page_model(self.out)
        name = f"list_{self.plural}"
        self._add("GET", self.list_path, name, handler, page, doc, paged=True)

    def get(
        self,
        handler: Callable[[Container, Principal, *Parents, uuid.UUID], Any],
        doc: str | None = None,
    ) -> None:
        self._add("GET", self.item_path, f"get_{self.singular}", handler, self.out, doc)

    def patch(
        self,
        body: type[Body],
        handler: Callable[[Container, Principal, *Parents, uuid.UUID, Body], Any],
        doc: str | None = None,
    ) -> None:
        name = f"update_{self.singular}"
        self._add("PATCH", self.item_path, name, handler, self.out, doc, body=body)

    def delete(
        self,
        handler: Callable[[Container, Principal, *Parents, uuid.UUID], object],
        doc: str | None = None,
    ) -> None:
        call: Callable[..., object] = handler

        def deleted(*args: Any) -> Response:
            call(*args)
            return Response(status_code=204)

        self._add("DELETE", self.item_path, f"delete_{self.singular}", deleted, None, doc)

    def _add(
        self,
        method: str,
        path: str,
        name: str,
        handler: Callable[..., Any],
        response_model: Any,
        doc: str | None,
        body: type[BaseModel] | None = None,
        paged: bool = False,
    ) -> None:
        ids = _PATH_IDS.findall(path)
        # The parameters a hand-written route would declare, in the same order: FastAPI
        # reads them from the signature, and the OpenAPI document lists them so.
        parameters = [inspect.Parameter(i, _PLAIN, annotation=uuid.UUID) for i in ids]
        if body is not None:
            parameters.append(inspect.Parameter("body", _PLAIN, annotation=body))
        parameters.append(inspect.Parameter("c", _PLAIN, annotation=ContainerDep))
        parameters.append(inspect.Parameter("who", _PLAIN, annotation=PrincipalDep))
        if paged:
            parameters.append(inspect.Parameter("limit", _PLAIN, default=None, annotation=Limit))
            parameters.append(
                inspect.Parameter("cursor", _PLAIN, default=None, annotation=CursorQuery)
            )
        tail = ["body"] if body is not None else ["limit", "cursor"] if paged else []
        passed = (*ids, *tail)

        def endpoint(**values: Any) -> Any:
            return handler(values["c"], values["who"], *(values[key] for key in passed))

        endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        endpoint.__doc__ = doc
        self.router.add_api_route(
            path,
            endpoint,
            methods=[method],
            name=name,
            response_model=response_model,
            status_code=204 if method == "DELETE" else None,
        )
