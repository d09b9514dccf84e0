"""Monitoring API of the explain-mlops platform (image `evidently`, service `evidently-service`, port 8000).

Endpoints:
    GET  /         readiness/liveness probe: cheap, in-memory only, lists the enabled features.
    POST /upload/  {"reference": [rows], "current": [rows]} -> builds an Evidently report
                   (data drift and/or regression quality) and returns a JSON summary.
    GET  /report/  the latest report as a self-contained HTML page (404 until the first upload).

Configuration (environment, set by the platform):
    MONITORING_DATA_DIR         persistent directory for report.html and reference.json (default /data)
    MONITORING_DRIFT_DETECTION  true/false: compute the data drift part (default true)
    MONITORING_EXPLANATORY      true/false: rank the features by how much they explain the drift (default false)
    MLFLOW_TRACKING_URI         optional; only reported by GET /, not used by the core

Evidently, pandas and scipy are imported lazily (they take seconds to import), so the probe path
answers as soon as uvicorn is up; a background thread warms them up at startup.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import html
import json
import logging
import math
import os
import tempfile
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

log = logging.getLogger("uvicorn.error.monitoring")

TARGET = "target"
PREDICTION = "prediction"
SPECIAL_COLUMNS = (TARGET, PREDICTION)
# Dataset drift is declared when at least this share of the feature columns drifted (Evidently's default).
DRIFT_SHARE = 0.5
REPORT_FILE = "report.html"
REFERENCE_FILE = "reference.json"
REFERENCE_FORMAT = 1


# --------------------------------------------------------------------------- configuration

def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{name} must be 'true' or 'false', not {raw!r}")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    drift_detection: bool
    explanatory: bool
    mlflow_tracking_uri: str | None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=Path(os.environ.get("MONITORING_DATA_DIR") or "/data"),
            drift_detection=_env_flag("MONITORING_DRIFT_DETECTION", True),
            explanatory=_env_flag("MONITORING_EXPLANATORY", False),
            mlflow_tracking_uri=os.environ.get("MLFLOW_TRACKING_URI") or None,
        )


SETTINGS = Settings.from_env()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


EVIDENTLY_VERSION = _version("evidently")


# --------------------------------------------------------------------------- input models

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Row = dict[str, Number]


def _check_rows(name: str, rows: list[dict[str, float]]) -> list[dict[str, float]]:
    """Every row of one set has the same, non-empty set of columns."""
    if not rows:
        raise ValueError(f"`{name}` must contain at least one row")
    first = set(rows[0])
    if not first:
        raise ValueError(f"row 0 of `{name}` has no columns")
    for i, row in enumerate(rows[1:], start=1):
        keys = set(row)
        if keys != first:
            missing, extra = sorted(first - keys), sorted(keys - first)
            parts = []
            if missing:
                parts.append(f"lacks {missing}")
            if extra:
                parts.append(f"has extra {extra}")
            raise ValueError(f"row {i} of `{name}` {' and '.join(parts)} compared with row 0 "
                             f"(columns {sorted(first)}): all rows must have the same columns")
    if (TARGET in first) != (PREDICTION in first):
        have, lack = (TARGET, PREDICTION) if TARGET in first else (PREDICTION, TARGET)
        raise ValueError(f"`{name}` has a '{have}' column but no '{lack}' column: "
                         f"regression quality needs both, so send both or neither")
    return rows


class UploadRequest(BaseModel):
    """Rows are objects of column -> number; 'target' and 'prediction' are optional special columns."""

    model_config = ConfigDict(extra="forbid")

    reference: list[Row] | None = Field(
        default=None, description="Reference rows; omitted -> the reference stored by an earlier upload.")
    current: list[Row] = Field(description="Current rows, compared with the reference.")

    @field_validator("reference")
    @classmethod
    def _reference_rows(cls, rows: list[dict[str, float]] | None) -> list[dict[str, float]] | None:
        return None if rows is None else _check_rows("reference", rows)

    @field_validator("current")
    @classmethod
    def _current_rows(cls, rows: list[dict[str, float]]) -> list[dict[str, float]]:
        return _check_rows("current", rows)

    @model_validator(mode="after")
    def _same_features(self) -> UploadRequest:
        if self.reference is not None:
            _check_compatible(_columns(self.reference), _columns(self.current), "the reference")
        return self


def _columns(rows: list[dict[str, float]]) -> list[str]:
    return list(rows[0])


def _features(columns: list[str]) -> list[str]:
    return [c for c in columns if c not in SPECIAL_COLUMNS]


def _check_compatible(reference_columns: list[str], current_columns: list[str], what: str) -> None:
    ref_f, cur_f = set(_features(reference_columns)), set(_features(current_columns))
    if ref_f != cur_f:
        parts = []
        if cur_f - ref_f:
            parts.append(f"{sorted(cur_f - ref_f)} only in current")
        if ref_f - cur_f:
            parts.append(f"{sorted(ref_f - cur_f)} only in {what}")
        raise ValueError(f"the feature columns of current and {what} differ ({'; '.join(parts)})")
    if TARGET in current_columns and TARGET not in reference_columns:
        raise ValueError(f"current has 'target' and 'prediction' but {what} has not: regression quality is "
                         f"compared with the reference, so send a reference with both columns")


# --------------------------------------------------------------------------- storage

def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class Store:
    """The reference rows and the latest report, in the data directory."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.report_path = data_dir / REPORT_FILE
        self.reference_path = data_dir / REFERENCE_FILE
        self._reference: dict[str, list[float]] | None = None
        # Read once at startup so that GET / needs no disk access.
        self.has_reference = self.reference_path.is_file()
        self.has_report = self.report_path.is_file()

    def load_reference(self) -> dict[str, list[float]] | None:
        """Columns -> values of the stored reference, or None when there is none."""
        if self._reference is None:
            try:
                raw = json.loads(self.reference_path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return None
            if raw.get("format") != REFERENCE_FORMAT:
                raise RuntimeError(f"{self.reference_path} has an unknown format {raw.get('format')!r}")
            self._reference = {str(k): [float(v) for v in vals] for k, vals in raw["data"].items()}
        return self._reference

    def save_reference(self, data: dict[str, list[float]]) -> None:
        rows = len(next(iter(data.values())))
        doc = {"format": REFERENCE_FORMAT, "saved_at": _now(), "rows": rows, "columns": list(data), "data": data}
        _atomic_write(self.reference_path, json.dumps(doc, separators=(",", ":")).encode("utf-8"))
        self._reference = data
        self.has_reference = True

    def save_report(self, page: str) -> None:
        _atomic_write(self.report_path, page.encode("utf-8"))
        self.has_report = True


def _to_columns(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    return {col: [row[col] for row in rows] for col in rows[0]}


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- the report engine

class _Engine:
    """Evidently and its friends, imported on first use (the import takes several seconds)."""

    _lock = threading.Lock()
    _modules: dict[str, Any] | None = None

    @classmethod
    def get(cls) -> dict[str, Any]:
        with cls._lock:
            if cls._modules is None:
                import numpy as np
                import pandas as pd
                from evidently import DataDefinition, Dataset, Regression, Report
                from evidently.presets import DataDriftPreset, RegressionPreset
                from scipy import stats

                cls._modules = {"np": np, "pd": pd, "stats": stats, "Report": Report, "Dataset": Dataset,
                                "DataDefinition": DataDefinition, "Regression": Regression,
                                "DataDriftPreset": DataDriftPreset, "RegressionPreset": RegressionPreset}
            return cls._modules

    @classmethod
    def ready(cls) -> bool:
        return cls._modules is not None


def _finite(value: Any) -> float | None:
    """A JSON-safe float: None for NaN/inf (e.g. R2 of a single row)."""
    if isinstance(value, dict):
        value = value.get("mean")
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _metric_type(entry: dict[str, Any]) -> str:
    return str(entry["config"]["type"]).rsplit(":", 1)[-1]


def build_report(settings: Settings, reference: dict[str, list[float]], current: dict[str, list[float]],
                 reference_source: str) -> tuple[dict[str, Any], str]:
    """Runs Evidently on the two column dicts; returns (summary, html page)."""
    m = _Engine.get()
    pd = m["pd"]
    features = _features(list(current))
    regression = TARGET in current and PREDICTION in current
    cur_df = pd.DataFrame(current, columns=list(current), dtype="float64")
    ref_cols = [c for c in reference if c in current]  # drops target/prediction when current has none
    ref_df = pd.DataFrame({c: reference[c] for c in ref_cols}, columns=ref_cols, dtype="float64")

    def definition() -> Any:  # the same for both frames: the reference has target/prediction iff current has
        reg = [m["Regression"](target=TARGET, prediction=PREDICTION)] if regression else None
        return m["DataDefinition"](numerical_columns=features, regression=reg)

    metrics: list[Any] = []
    if settings.drift_detection:
        metrics.append(m["DataDriftPreset"](columns=features, drift_share=DRIFT_SHARE))
    if regression:
        metrics.append(m["RegressionPreset"]())
    snapshot = m["Report"](metrics, include_tests=True).run(
        m["Dataset"].from_pandas(cur_df, data_definition=definition()),
        m["Dataset"].from_pandas(ref_df, data_definition=definition()),
    )
    result = snapshot.dict()

    summary: dict[str, Any] = {
        "generated_at": _now(),
        "engine": f"evidently {EVIDENTLY_VERSION}",
        "reference_source": reference_source,
        "rows": {"reference": len(ref_df), "current": len(cur_df)},
        "features": features,
    }
    if settings.drift_detection:
        summary["drift"] = _drift_summary(result, features)
        if settings.explanatory:
            summary["explanations"] = _explanations(m, ref_df, cur_df, summary["drift"])
    if regression:
        summary["regression"] = _regression_summary(result, cur_df)
    summary["report_url"] = "/report/"
    page = _page(snapshot.get_html_str(as_iframe=False), summary)
    return summary, page


def _drift_summary(result: dict[str, Any], features: list[str]) -> dict[str, Any]:
    columns: dict[str, dict[str, Any]] = {}
    for entry in result["metrics"]:
        if _metric_type(entry) == "ValueDrift":
            cfg = entry["config"]
            columns[cfg["column"]] = {"method": cfg.get("method"), "threshold": _finite(cfg.get("threshold")),
                                      "score": _finite(entry["value"])}
    # Evidently's verdict per column is its test "Value Drift for column X": FAIL means drifted.
    for test in result.get("tests", []):
        params = (test.get("metric_config") or {}).get("params") or {}
        if str(params.get("type", "")).endswith(":ValueDrift") and params.get("column") in columns:
            columns[params["column"]]["drifted"] = str(getattr(test["status"], "value", test["status"])) == "FAIL"
    missing = [c for c in features if "drifted" not in columns.get(c, {})]
    if missing:
        raise RuntimeError(f"Evidently gave no drift verdict for columns {missing}")
    drifted = sum(1 for c in features if columns[c]["drifted"])
    share = drifted / len(features)
    return {
        "detected": share >= DRIFT_SHARE,
        "drifted_columns": drifted,
        "share_of_drifted_columns": share,
        "drift_share_threshold": DRIFT_SHARE,
        "columns": {c: columns[c] for c in features},
    }


_REGRESSION_KEYS = {"MAE": "mae", "RMSE": "rmse", "MeanError": "mean_error", "R2Score": "r2",
                    "AbsMaxError": "max_abs_error", "MAPE": "mape_percent"}


def _regression_summary(result: dict[str, Any], cur_df: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": len(cur_df), "error": "prediction - target"}
    for entry in result["metrics"]:
        key = _REGRESSION_KEYS.get(_metric_type(entry))
        if key:
            out[key] = _finite(entry["value"])
    missing = [k for k in ("mae", "rmse") if k not in out]
    if missing:
        raise RuntimeError(f"Evidently's regression preset gave no {missing}")
    if (cur_df[TARGET] <= 0).any():
        # Evidently 0.7.23 divides by max(target, eps), not by |target|: its MAPE is only right for targets > 0.
        out["mape_percent"] = None
    return out


def _explanations(m: dict[str, Any], ref_df: Any, cur_df: Any, drift: dict[str, Any]) -> list[dict[str, Any]]:
    """Ranks the features by how much their distribution moved (two-sample K-S statistic, scale-free in [0, 1]).

    `contribution` is a feature's share of the summed K-S statistics: which features explain the drift.
    Evidently's own score and verdict are carried along unchanged.
    """
    np, stats = m["np"], m["stats"]
    rows = []
    for col, verdict in drift["columns"].items():
        ref, cur = ref_df[col].to_numpy(), cur_df[col].to_numpy()
        ks = float(stats.ks_2samp(ref, cur).statistic)
        ref_mean, cur_mean = float(np.mean(ref)), float(np.mean(cur))
        ref_std = float(np.std(ref, ddof=1)) if len(ref) > 1 else 0.0
        shift = (cur_mean - ref_mean) / ref_std if ref_std > 0 else None
        rows.append({"feature": col, "drifted": verdict["drifted"], "drift_score": verdict["score"],
                     "method": verdict["method"], "threshold": verdict["threshold"], "ks_statistic": ks,
                     "reference_mean": ref_mean, "current_mean": cur_mean, "mean_shift_in_reference_std": shift})
    total = sum(r["ks_statistic"] for r in rows)
    for r in rows:
        r["contribution"] = r["ks_statistic"] / total if total > 0 else 0.0
    rows.sort(key=lambda r: (not r["drifted"], -r["ks_statistic"], r["feature"]))
    for rank, r in enumerate(rows, start=1):
        r["rank"] = rank
        r["text"] = _explain(r)
    return rows


def _explain(r: dict[str, Any]) -> str:
    verdict = "drifted" if r["drifted"] else "stable"
    shift = r["mean_shift_in_reference_std"]
    moved = f" ({shift:+.2f} reference std)" if shift is not None else ""
    score = "n/a" if r["drift_score"] is None else f"{r['drift_score']:.3g}"
    threshold = "n/a" if r["threshold"] is None else f"{r['threshold']:g}"
    return (f"{r['feature']}: {verdict} ({r['method']} = {score}, threshold {threshold}); "
            f"mean {r['reference_mean']:.4g} -> {r['current_mean']:.4g}{moved}; "
            f"K-S distance {r['ks_statistic']:.2f}, {100 * r['contribution']:.0f}% of the total shift")


def _page(evidently_html: str, summary: dict[str, Any]) -> str:
    """Evidently's self-contained page with a short plain-HTML header (and the explanations) on top."""
    e = html.escape
    lines = [(f"<p>Generated {e(summary['generated_at'])} by {e(summary['engine'])}; "
              f"{summary['rows']['reference']} reference rows ({e(summary['reference_source'])}), "
              f"{summary['rows']['current']} current rows.</p>")]
    drift = summary.get("drift")
    if drift is not None:
        lines.append(f"<p><b>Dataset drift: {'detected' if drift['detected'] else 'not detected'}</b> "
                     f"({drift['drifted_columns']} of {len(drift['columns'])} features drifted, "
                     f"share {drift['share_of_drifted_columns']:.2f}, "
                     f"threshold {drift['drift_share_threshold']:.2f}).</p>")
    else:
        lines.append("<p>Drift detection is disabled.</p>")
    reg = summary.get("regression")
    if reg is not None:
        note = "" if reg.get("mape_percent") is not None else (
            " MAPE is left out: some targets are &le; 0, where Evidently's MAPE (below) is not meaningful.")
        lines.append(f"<p>Regression on current rows: MAE {reg['mae']:.4g}, RMSE {reg['rmse']:.4g}.{note}</p>")
    if "explanations" in summary:
        cells = "".join(
            f"<tr><td>{r['rank']}</td><td>{e(r['feature'])}</td><td>{'yes' if r['drifted'] else 'no'}</td>"
            f"<td>{r['ks_statistic']:.3f}</td><td>{100 * r['contribution']:.0f}%</td><td>{e(r['text'])}</td></tr>"
            for r in summary["explanations"])
        lines.append("<h3>Which features explain the drift</h3><table border='1' cellpadding='4' "
                     "style='border-collapse:collapse'><tr><th>rank</th><th>feature</th><th>drifted</th>"
                     f"<th>K-S distance</th><th>contribution</th><th>explanation</th></tr>{cells}</table>")
    header = ("<section id='explain-summary' style='font-family:sans-serif;margin:16px'>"
              "<h2>Explain MLOps monitoring report</h2>" + "".join(lines) + "</section>")
    if "<body>" in evidently_html:
        return evidently_html.replace("<body>", "<body>" + header, 1)
    return header + evidently_html


# --------------------------------------------------------------------------- the app

STORE = Store(SETTINGS.data_dir)
_UPLOAD_LOCK = threading.Lock()


def _warm_up() -> None:
    try:
        _Engine.get()
        log.info("monitoring: report engine loaded (evidently %s)", EVIDENTLY_VERSION)
    except Exception:  # reported again, as a 500, by the first upload
        log.exception("monitoring: loading the report engine failed")


@asynccontextmanager
async def _lifespan(_app: FastAPI):
    threading.Thread(target=_warm_up, name="engine-warm-up", daemon=True).start()
    yield


app = FastAPI(title="explain-mlops monitoring API", version="1.0.0", lifespan=_lifespan)


@app.get("/")
async def health() -> dict[str, Any]:
    """Probe path: in-memory state only."""
    return {
        "status": "ok",
        "service": "monitoring",
        "features": {
            "drift_detection": SETTINGS.drift_detection,
            "explanatory": SETTINGS.explanatory,
            "regression": "when rows have 'target' and 'prediction'",
        },
        "engine": {"name": "evidently", "version": EVIDENTLY_VERSION, "loaded": _Engine.ready()},
        "reference_stored": STORE.has_reference,
        "report_available": STORE.has_report,
        "mlflow_configured": SETTINGS.mlflow_tracking_uri is not None,
    }


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status_code=422, detail=message)


@app.post("/upload/")
def upload(body: UploadRequest) -> dict[str, Any]:
    """Plain `def`: FastAPI runs it in a worker thread, so the probe keeps answering during a report."""
    current = _to_columns(body.current)
    features = _features(list(current))
    regression = TARGET in current
    if not SETTINGS.drift_detection and not regression:
        raise _unprocessable("nothing to report: drift detection is disabled (MONITORING_DRIFT_DETECTION=false) "
                             "and the current rows have no 'target' and 'prediction' columns")
    if SETTINGS.drift_detection and not features:
        raise _unprocessable("drift detection needs at least one feature column besides 'target' and 'prediction'")
    with _UPLOAD_LOCK:
        if body.reference is not None:
            reference, source = _to_columns(body.reference), "request"
        else:
            try:
                reference = STORE.load_reference()
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
                log.exception("monitoring: reading the stored reference failed")
                raise HTTPException(status_code=500, detail=f"the stored reference cannot be read: {exc}") from exc
            if reference is None:
                raise _unprocessable("no reference data: the first upload must include `reference` rows "
                                     "(later uploads may omit it to reuse the stored reference)")
            try:
                _check_compatible(list(reference), list(current), "the stored reference")
            except ValueError as exc:
                raise _unprocessable(f"{exc}; send a new `reference`") from exc
            source = "stored"
        try:
            summary, page = build_report(SETTINGS, reference, current, source)
        except Exception as exc:
            log.exception("monitoring: building the report failed")
            raise HTTPException(status_code=500, detail=f"building the report failed: {exc}") from exc
        try:
            if source == "request":
                STORE.save_reference(reference)
            STORE.save_report(page)
        except OSError as exc:
            log.exception("monitoring: writing to %s failed", STORE.data_dir)
            raise HTTPException(status_code=500,
                                detail=f"cannot write to MONITORING_DATA_DIR ({STORE.data_dir}): {exc}") from exc
    log.info("monitoring: report built (%s reference rows, %s current rows, drift=%s)",
             summary["rows"]["reference"], summary["rows"]["current"],
             summary.get("drift", {}).get("detected"))
    return summary


@app.get("/report/")
def report() -> FileResponse:
    if not STORE.report_path.is_file():
        raise HTTPException(status_code=404, detail="no report yet: POST rows to /upload/ first")
    return FileResponse(STORE.report_path, media_type="text/html", headers={"Cache-Control": "no-store"})
