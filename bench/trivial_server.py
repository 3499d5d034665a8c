"""The trivial HTTP baseline's server: one tiny FastAPI endpoint, nothing else.

The handler is `async def` so the baseline is the ceiling of the HTTP stack
itself (uvicorn + Starlette + FastAPI routing and JSON); what Fleetward adds
on top (middleware, threadpool handlers, the database) is what the figures show.
"""

from __future__ import annotations

from fastapi import FastAPI

from bench.servers import child_parser, serve


def create_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/")
    async def hello() -> dict[str, str]:
        return {"status": "ok", "service": "bench"}

    return app


def main() -> None:
    args = child_parser(__doc__ or "").parse_args()
    serve(create_app(), args.port)


if __name__ == "__main__":
    main()
