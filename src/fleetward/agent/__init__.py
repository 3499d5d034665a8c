"""The endpoint agent: runs on customers' machines.

It imports only `fleetward.domain` and its own modules (never services,
adapters or entrypoints), and its dependencies stay few (httpx, websockets,
evtx), so it can ship as a light install.
"""
