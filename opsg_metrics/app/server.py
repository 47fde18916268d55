"""The production server (`make serve`): the app under Streamlit's own ASGI server (`st.App`), with

- `/healthz`: JSON saying whether the data is readable, which snapshot is served and which is the newest
  (status 200 when it is served, 503 when nothing can be: app/serving.health);
- one line on standard output per request (time, client, method, path, status, milliseconds) and per
  websocket session (opened, closed), for the service's journal.

Started by `python -m streamlit run opsg_metrics/app/server.py` (what `make serve` runs).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from opsg_metrics.app import serving

APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"


def log_line(text: str) -> None:
    """One line of the server's log, on standard output (the journal keeps it)."""
    sys.stdout.write(f"{datetime.now().isoformat(timespec='milliseconds')} {text}\n")
    sys.stdout.flush()


async def healthz(request: Request) -> JSONResponse:
    said = serving.health()
    return JSONResponse(said, status_code=503 if said["status"] == "unavailable" else 200)


class RequestLog:
    """ASGI middleware: a line per HTTP request when it is answered, per websocket when it closes."""

    def __init__(self, app) -> None:  # noqa: ANN001 - an ASGI application
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - the ASGI interface
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": "-"}

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "websocket.accept":
                status["code"] = 101
                log_line(f"{_client(scope)} websocket {scope['path']} opened")
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            took = (time.perf_counter() - started) * 1000
            kind = scope.get("method", "websocket") if scope["type"] == "http" else "websocket"
            closed = " closed" if scope["type"] == "websocket" else ""
            log_line(f"{_client(scope)} {kind} {scope['path']} {status['code']}{closed} {took:.0f} ms")


def _client(scope: dict) -> str:
    client = scope.get("client") or ("-", 0)
    return str(client[0])


app = st.App(str(APP_SCRIPT), routes=[Route("/healthz", healthz)], middleware=[Middleware(RequestLog)])
