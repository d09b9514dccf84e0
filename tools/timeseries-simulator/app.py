"""Time-series live data and drift simulator of the explain-mlops platform (`data-streaming-service`, port 5020).

It streams an hourly electricity-load series as server-sent events, once as it is and once with a drift
that can be changed while streaming, so that the platform's pipeline can watch a model meet drifted data.

Endpoints:
    GET  /                         the live page (SIMULATOR_UI_ENABLED=true), else a JSON description
    GET  /healthz                  {"status": "ok"}
    GET  /data.csv                 the whole series as a `;`-separated CSV with columns TimeTo and Value
    GET  /stream-data/original     events `data: {"TimeTo": "...", "Value": <float>}`, one per row, looping
    GET  /stream-data/modified     the same events with the current drift applied
         query: time_interval=<seconds between events, default 1>, limit=<events, default endless>,
                start=<position of the first event, default 0>
    GET  /drift, POST /drift       read or set the drift (see simulator_drift.py)

Configuration (environment, set by the platform):
    SIMULATOR_PORT       port to listen on (default 5020)
    SIMULATOR_DATA_TYPE  must be Time-Series (the default): this simulator streams no images
    SIMULATOR_UI_ENABLED true/false: serve the live page at GET / (default true)
    SIMULATOR_DATA_FILE  optional CSV to stream instead of the generated sample; checked at startup

Nothing is written to disk and no request needs credentials: the stream is read with a plain GET.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from simulator_data import DataFileError, Series, generate_sample, load_csv, to_csv
from simulator_drift import NO_DRIFT, Drift, drifted_value

log = logging.getLogger("uvicorn.error.simulator")

DATA_TYPE = "Time-Series"
DEFAULT_PORT = 5020
UI_PAGE = Path(__file__).with_name("ui.html")
CSV_FILE_NAME = "hourly_load.csv"
# Proxies such as nginx buffer responses unless told not to; each event must reach the consumer at once.
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# Streams are endless by design: without a bound, uvicorn would wait for them on SIGTERM until the pod is killed.
SHUTDOWN_GRACE_SECONDS = 2

TimeInterval = Annotated[float, Query(ge=0, allow_inf_nan=False, description="seconds between two events")]
Limit = Annotated[int | None, Query(ge=1, description="end the stream after this many events (default: endless)")]
Start = Annotated[int, Query(ge=0, description="stream position of the first event: row start mod the row count")]


# --------------------------------------------------------------------------- configuration

class ConfigError(ValueError):
    """An environment variable the simulator cannot start with."""


def env_flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 'true' or 'false', not {environ[name]!r}")


def env_port(environ: Mapping[str, str], name: str) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{name} must be a port number from 1 to 65535, not {environ[name]!r}")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    port: int
    ui_enabled: bool
    data_file: Path | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        data_type = environ.get("SIMULATOR_DATA_TYPE", "").strip() or DATA_TYPE
        if data_type != DATA_TYPE:
            raise ConfigError(f"SIMULATOR_DATA_TYPE is {data_type!r}, but this simulator streams {DATA_TYPE} data "
                              "only; build the data-streaming service from the simulator of that data type")
        data_file = environ.get("SIMULATOR_DATA_FILE", "").strip()
        return cls(
            port=env_port(environ, "SIMULATOR_PORT"),
            ui_enabled=env_flag(environ, "SIMULATOR_UI_ENABLED", True),
            data_file=Path(data_file) if data_file else None,
        )


def load_series(settings: Settings) -> Series:
    return load_csv(settings.data_file) if settings.data_file else generate_sample()


# --------------------------------------------------------------------------- the stream

def sse_event(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


async def row_events(series: Series, positions: Iterable[int], interval: float,
                     current_drift: Callable[[], Drift]) -> AsyncIterator[str]:
    """One event per position, `interval` seconds apart, under the drift in force when the event is sent."""
    for sent, position in enumerate(positions):
        if sent:
            await asyncio.sleep(interval)
        row = series.rows[position % len(series)]
        value = drifted_value(current_drift(), position, row.value, row.day_mean)
        yield sse_event({"TimeTo": row.time_text, "Value": value})


def stream_response(series: Series, start: int, limit: int | None, interval: float,
                    current_drift: Callable[[], Drift]) -> StreamingResponse:
    positions = range(start, start + limit) if limit is not None else itertools.count(start)
    return StreamingResponse(row_events(series, positions, interval, current_drift),
                             media_type="text/event-stream", headers=STREAM_HEADERS)


# --------------------------------------------------------------------------- the app

def validation_message(error: RequestValidationError) -> str:
    """The problems, "; "-separated, each such as "query.time_interval: Input should be greater than or equal to 0"."""
    return "; ".join(f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}" for problem in error.errors())


async def refuse_invalid_request(_: Request, error: Exception) -> JSONResponse:
    # FastAPI's own handler echoes the input back and fails with a 500 when that input is NaN
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": validation_message(error)}, status_code=422)


@dataclass
class DriftHolder:
    """The drift of the modified stream: replaced by POST /drift, read by every event of every stream."""
    drift: Drift


def describe(series: Series, ui_enabled: bool, drift: Drift) -> dict[str, Any]:
    return {
        "service": "timeseries-simulator",
        "data_type": DATA_TYPE,
        "ui_enabled": ui_enabled,
        "data": {"source": series.source, "rows": len(series),
                 "first_time_to": series.rows[0].time_text, "last_time_to": series.rows[-1].time_text},
        "drift": drift.model_dump(),
        "endpoints": {
            "GET /stream-data/original": "server-sent events of the rows: ?time_interval=<s>&limit=<n>&start=<i>",
            "GET /stream-data/modified": "the same with the current drift applied",
            "GET /drift, POST /drift": "read or set the drift",
            "GET /data.csv": "the series as a ';'-separated CSV (TimeTo;Value)",
            "GET /healthz": "health",
        },
    }


def create_app(series: Series, *, ui_enabled: bool) -> FastAPI:
    holder = DriftHolder(NO_DRIFT)
    page = UI_PAGE.read_text(encoding="utf-8") if ui_enabled else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info("simulator: streaming %d rows from %s (%s to %s); live page %s", len(series), series.source,
                 series.rows[0].time_text, series.rows[-1].time_text, "on" if ui_enabled else "off")
        yield

    app = FastAPI(title="Time-series live data and drift simulator", lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, refuse_invalid_request)

    @app.get("/", response_model=None)
    def index() -> HTMLResponse | dict[str, Any]:
        if page is None:
            return describe(series, ui_enabled, holder.drift)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/data.csv")
    def data_csv() -> Response:
        return Response(to_csv(series), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{CSV_FILE_NAME}"'})

    @app.get("/stream-data/original")
    def original_stream(time_interval: TimeInterval = 1.0, limit: Limit = None, start: Start = 0) -> StreamingResponse:
        return stream_response(series, start, limit, time_interval, lambda: NO_DRIFT)

    @app.get("/stream-data/modified")
    def modified_stream(time_interval: TimeInterval = 1.0, limit: Limit = None, start: Start = 0) -> StreamingResponse:
        return stream_response(series, start, limit, time_interval, lambda: holder.drift)

    @app.get("/drift")
    def get_drift() -> dict[str, Any]:
        return holder.drift.model_dump()

    @app.post("/drift")
    def set_drift(drift: Drift) -> dict[str, Any]:
        holder.drift = drift
        log.info("simulator: drift set to %s", drift.model_dump())
        return drift.model_dump()

    return app


def main() -> None:
    try:
        settings = Settings.from_env(os.environ)
        app = create_app(load_series(settings), ui_enabled=settings.ui_enabled)
    except (ConfigError, DataFileError) as error:
        sys.exit(f"timeseries-simulator: {error}")
    uvicorn.run(app, host="0.0.0.0", port=settings.port, timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)


if __name__ == "__main__":
    main()
