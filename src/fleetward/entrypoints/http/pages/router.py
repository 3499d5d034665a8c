"""Dashboard pages (server-rendered with Jinja2, enhanced with HTMX)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
