"""Tests of the monitoring service's app (tools/monitoring-api/app.py), through FastAPI's TestClient.

The app's dependencies (tools/monitoring-api/requirements.txt) and httpx must be installed;
without them these tests are skipped.
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
if importlib.util.find_spec("httpx2") is None:  # Starlette's TestClient takes httpx2, or httpx
    pytest.importorskip("httpx")
np = pytest.importorskip("numpy")
pytest.importorskip("pandas")
pytest.importorskip("scipy")
pytest.importorskip("evidently")

from fastapi.testclient import TestClient

APP_PATH = Path(__file__).resolve().parents[1] / "tools" / "monitoring-api" / "app.py"
_counter = itertools.count()


def load_app(monkeypatch, data_dir: Path, *, drift: str = "true", explanatory: str = "false"):
    """A fresh import of app.py (as a new module) configured by the environment, like a container start."""
    monkeypatch.setenv("MONITORING_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MONITORING_DRIFT_DETECTION", drift)
    monkeypatch.setenv("MONITORING_EXPLANATORY", explanatory)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    name = f"monitoring_app_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, APP_PATH)
    module = importlib.util.module_from_spec(spec)
    # dataclasses and pydantic resolve annotations through sys.modules; removed again after the test
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def make_client(monkeypatch, tmp_path):
    def make(**env) -> TestClient:
        return TestClient(load_app(monkeypatch, tmp_path / "data", **env).app)
    return make


def rows(seed: int, n: int = 300, shift: float = 0.0, regression: bool = False) -> list[dict]:
    """n rows of three independent N(shift, 1) features; with `regression`, target and a noisy prediction."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, size=(n, 3))
    out = [{"f1": float(a), "f2": float(b), "f3": float(c)} for a, b, c in x]
    if regression:
        for row in out:
            row["target"] = 2 * row["f1"] + row["f2"]
            row["prediction"] = row["target"] + float(rng.normal(0, 0.1))
    return out


# --------------------------------------------------------------------------- health

def test_health_is_ok_and_lists_features(make_client, tmp_path):
    client = make_client(drift="true", explanatory="false")
    response = client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["features"]["drift_detection"] is True
    assert body["features"]["explanatory"] is False
    assert body["reference_stored"] is False and body["report_available"] is False
    # the probe touches nothing on disk: the data dir is created by the first upload, not by GET /
    assert not (tmp_path / "data").exists()


def test_health_reflects_flags(make_client):
    body = make_client(drift="false", explanatory="true").get("/").json()
    assert body["features"] == {"drift_detection": False, "explanatory": True,
                                "regression": "when rows have 'target' and 'prediction'"}


def test_invalid_flag_fails_at_startup(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="MONITORING_EXPLANATORY"):
        load_app(monkeypatch, tmp_path, explanatory="maybe")


# --------------------------------------------------------------------------- drift verdicts

def test_clearly_drifted_data_is_detected(make_client):
    client = make_client()
    response = client.post("/upload/", json={"reference": rows(1), "current": rows(2, shift=2.0)})
    assert response.status_code == 200, response.text
    drift = response.json()["drift"]
    assert drift["detected"] is True
    assert drift["drifted_columns"] == 3
    assert drift["share_of_drifted_columns"] == 1.0
    for name, col in drift["columns"].items():
        assert col["drifted"] is True, name
        assert col["method"] == "K-S p_value" and col["threshold"] == 0.05
        assert col["score"] < 1e-10  # K-S p-value of a 2-sigma shift with 300 rows


def test_same_distribution_is_not_drifted(make_client):
    client = make_client()
    response = client.post("/upload/", json={"reference": rows(1), "current": rows(2)})
    assert response.status_code == 200, response.text
    drift = response.json()["drift"]
    assert drift["detected"] is False
    assert drift["drifted_columns"] == 0
    assert drift["share_of_drifted_columns"] == 0.0
    assert all(col["drifted"] is False and col["score"] > 0.05 for col in drift["columns"].values())


def test_drift_scores_match_scipy_ks_test(make_client):
    from scipy import stats
    reference, current = rows(3), rows(4, shift=0.3)
    drift = make_client().post("/upload/", json={"reference": reference, "current": current}).json()["drift"]
    for name in ("f1", "f2", "f3"):
        expected = stats.ks_2samp([r[name] for r in reference], [r[name] for r in current]).pvalue
        assert math.isclose(drift["columns"][name]["score"], expected, rel_tol=1e-6), name
        assert drift["columns"][name]["drifted"] is bool(expected < 0.05), name


def test_one_drifted_feature_of_three_is_below_the_dataset_threshold(make_client):
    reference, current = rows(5), rows(6)
    for row in current:
        row["f2"] += 3.0
    drift = make_client().post("/upload/", json={"reference": reference, "current": current}).json()["drift"]
    assert drift["columns"]["f2"]["drifted"] is True
    assert drift["drifted_columns"] == 1
    assert math.isclose(drift["share_of_drifted_columns"], 1 / 3)
    assert drift["detected"] is False  # 1/3 < 0.5


def test_drift_part_absent_when_disabled(make_client):
    client = make_client(drift="false", explanatory="true")
    body = {"reference": rows(1, regression=True), "current": rows(2, shift=2.0, regression=True)}
    response = client.post("/upload/", json=body)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert "drift" not in summary
    assert "explanations" not in summary  # explanations explain drift
    assert "regression" in summary


def test_nothing_to_report_without_drift_and_regression(make_client):
    client = make_client(drift="false")
    response = client.post("/upload/", json={"reference": rows(1), "current": rows(2)})
    assert response.status_code == 422
    assert "nothing to report" in response.json()["detail"]


# --------------------------------------------------------------------------- regression

def test_regression_metrics_on_a_hand_checked_example(make_client):
    # errors (prediction - target): 0.5, 0, -1, 1
    # MAE = 2.5/4 = 0.625; RMSE = sqrt(2.25/4) = 0.75; mean error = 0.5/4 = 0.125;
    # R2 = 1 - 2.25/5 = 0.55 (target mean 2.5, total sum of squares 5); max |error| = 1;
    # MAPE = (0.5/1 + 0 + 1/3 + 1/4)/4 = 27.083...%
    current = [{"x": x, "target": t, "prediction": p}
               for x, t, p in [(1.0, 1.0, 1.5), (2.0, 2.0, 2.0), (3.0, 3.0, 2.0), (4.0, 4.0, 5.0)]]
    response = make_client().post("/upload/", json={"reference": current, "current": current})
    assert response.status_code == 200, response.text
    reg = response.json()["regression"]
    assert reg["rows"] == 4
    assert math.isclose(reg["mae"], 0.625)
    assert math.isclose(reg["rmse"], 0.75)
    assert math.isclose(reg["mean_error"], 0.125)
    assert math.isclose(reg["r2"], 0.55)
    assert math.isclose(reg["max_abs_error"], 1.0)
    assert math.isclose(reg["mape_percent"], 100 * (0.5 + 1 / 3 + 0.25) / 4)


def test_mape_left_out_when_a_target_is_not_positive(make_client):
    current = [{"x": 1.0, "target": -2.0, "prediction": -1.0}, {"x": 2.0, "target": 4.0, "prediction": 5.0}]
    client = make_client()
    response = client.post("/upload/", json={"reference": current, "current": current})
    assert response.status_code == 200, response.text
    reg = response.json()["regression"]
    assert reg["mape_percent"] is None
    assert math.isclose(reg["mae"], 1.0) and math.isclose(reg["rmse"], 1.0)
    assert "MAPE is left out" in client.get("/report/").text


def test_regression_absent_without_target_and_prediction(make_client):
    summary = make_client().post("/upload/", json={"reference": rows(1), "current": rows(2)}).json()
    assert "regression" not in summary
    assert "drift" in summary


def test_single_row_gives_json_safe_metrics(make_client):
    current = [{"x": 1.0, "target": 1.0, "prediction": 1.5}]
    response = make_client().post("/upload/", json={"reference": current * 3, "current": current})
    assert response.status_code == 200, response.text
    reg = response.json()["regression"]
    assert reg["r2"] is None  # undefined for one row; NaN is not JSON
    assert math.isclose(reg["mae"], 0.5)


# --------------------------------------------------------------------------- explanations

def test_explanations_present_only_when_enabled(make_client):
    body = {"reference": rows(1), "current": rows(2, shift=2.0)}
    assert "explanations" not in make_client(explanatory="false").post("/upload/", json=body).json()
    summary = make_client(explanatory="true").post("/upload/", json=body).json()
    assert {e["feature"] for e in summary["explanations"]} == {"f1", "f2", "f3"}


def test_explanations_rank_the_features_that_explain_the_drift(make_client):
    reference, current = rows(7), rows(8)
    for row in current:
        row["f3"] += 3.0  # the main cause
        row["f1"] += 0.6  # a smaller one
    summary = make_client(explanatory="true").post(
        "/upload/", json={"reference": reference, "current": current}).json()
    explanations = summary["explanations"]
    assert [e["feature"] for e in explanations] == ["f3", "f1", "f2"]
    assert [e["rank"] for e in explanations] == [1, 2, 3]
    assert [e["drifted"] for e in explanations] == [True, True, False]
    assert math.isclose(sum(e["contribution"] for e in explanations), 1.0)
    assert explanations[0]["contribution"] > 0.5
    assert explanations[0]["mean_shift_in_reference_std"] == pytest.approx(3.0, abs=0.3)
    assert explanations[0]["drift_score"] == summary["drift"]["columns"]["f3"]["score"]
    assert explanations[0]["text"].startswith("f3: drifted")


# --------------------------------------------------------------------------- report

def test_report_404_before_and_html_after_upload(make_client, tmp_path):
    client = make_client(explanatory="true")
    before = client.get("/report/")
    assert before.status_code == 404
    assert "no report yet" in before.json()["detail"]
    assert client.post("/upload/", json={"reference": rows(1), "current": rows(2, shift=2.0)}).status_code == 200
    after = client.get("/report/")
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/html")
    assert "Dataset drift: detected" in after.text
    assert "Which features explain the drift" in after.text
    assert "drawDashboard" in after.text  # Evidently's own report follows the header
    assert (tmp_path / "data" / "report.html").read_text(encoding="utf-8") == after.text
    assert [p.name for p in (tmp_path / "data").iterdir() if p.name.endswith(".tmp")] == []
    assert client.get("/").json()["report_available"] is True


def test_report_is_replaced_by_the_next_upload(make_client):
    client = make_client()
    client.post("/upload/", json={"reference": rows(1), "current": rows(2, shift=2.0)})
    assert "Dataset drift: detected" in client.get("/report/").text
    client.post("/upload/", json={"current": rows(3)})
    assert "Dataset drift: not detected" in client.get("/report/").text


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("body, message", [
    ({"reference": [], "current": [{"a": 1.0}]}, "`reference` must contain at least one row"),
    ({"reference": [{"a": 1.0}], "current": []}, "`current` must contain at least one row"),
    ({"reference": [{"a": 1.0}]}, "current"),
    ({"reference": [{"a": 1.0}], "current": [{}]}, "row 0 of `current` has no columns"),
    ({"reference": [{"a": 1.0}], "current": [{"a": 1.0}, {"b": 2.0}]}, "row 1 of `current` lacks ['a']"),
    ({"reference": [{"a": 1.0}], "current": [{"a": 1.0}, {"a": 2.0, "b": 1.0}]}, "has extra ['b']"),
    ({"reference": [{"a": 1.0}], "current": [{"b": 1.0}]}, "feature columns of current and the reference differ"),
    ({"reference": [{"a": 1.0}], "current": [{"a": "high"}]}, "valid number"),
    ({"reference": [{"a": 1.0}], "current": [{"a": None}]}, "valid number"),
    ({"reference": [{"a": 1.0}], "current": [{"a": 1.0, "target": 1.0}]}, "has a 'target' column but no 'prediction'"),
    ({"reference": [{"a": 1.0}], "current": [{"a": 1.0, "target": 1.0, "prediction": 1.0}]},
     "send a reference with both columns"),
    ({"reference": [{"a": 1.0}], "current": [{"a": 1.0}], "extra": 1}, "extra"),
])
def test_bad_input_is_rejected_with_a_clear_message(make_client, body, message):
    response = make_client().post("/upload/", json=body)
    assert response.status_code == 422
    assert message in json.dumps(response.json()["detail"])


def test_first_upload_without_reference_is_rejected(make_client, tmp_path):
    client = make_client()
    response = client.post("/upload/", json={"current": rows(1)})
    assert response.status_code == 422
    assert "first upload must include `reference`" in response.json()["detail"]
    assert not (tmp_path / "data" / "reference.json").exists()
    assert client.get("/report/").status_code == 404


def test_current_must_match_the_stored_reference(make_client):
    client = make_client()
    assert client.post("/upload/", json={"reference": rows(1), "current": rows(2)}).status_code == 200
    response = client.post("/upload/", json={"current": [{"f1": 1.0, "g": 2.0}]})
    assert response.status_code == 422
    assert "the stored reference" in response.json()["detail"]


def test_unwritable_data_dir_is_a_clear_500(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    client = TestClient(load_app(monkeypatch, blocker / "data").app)
    response = client.post("/upload/", json={"reference": rows(1), "current": rows(2)})
    assert response.status_code == 500
    assert "cannot write to MONITORING_DATA_DIR" in response.json()["detail"]


# --------------------------------------------------------------------------- persistence

def test_stored_reference_survives_a_restart(monkeypatch, tmp_path):
    data_dir = tmp_path / "data"
    reference, current = rows(1), rows(2, shift=2.0)
    first = TestClient(load_app(monkeypatch, data_dir).app)
    summary = first.post("/upload/", json={"reference": reference, "current": current}).json()
    assert (data_dir / "reference.json").is_file()

    restarted = TestClient(load_app(monkeypatch, data_dir).app)  # a new process on the same volume
    health = restarted.get("/").json()
    assert health["reference_stored"] is True and health["report_available"] is True
    assert restarted.get("/report/").status_code == 200
    again = restarted.post("/upload/", json={"current": current})
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["reference_source"] == "stored"
    assert body["rows"]["reference"] == len(reference)
    assert body["drift"]["columns"] == summary["drift"]["columns"]  # same reference, same scores

    calm = restarted.post("/upload/", json={"current": rows(3)}).json()
    assert calm["drift"]["detected"] is False


def test_a_new_reference_replaces_the_stored_one(make_client):
    client = make_client()
    client.post("/upload/", json={"reference": rows(1), "current": rows(2)})
    shifted = rows(3, shift=2.0)
    client.post("/upload/", json={"reference": shifted, "current": rows(4, shift=2.0)})
    body = client.post("/upload/", json={"current": rows(5, shift=2.0)}).json()
    assert body["reference_source"] == "stored"
    assert body["drift"]["detected"] is False  # compared with the shifted reference, not the first one


def test_reference_is_kept_when_current_has_no_labels(make_client):
    client = make_client()
    assert client.post("/upload/", json={"reference": rows(1, regression=True),
                                         "current": rows(2, regression=True)}).status_code == 200
    unlabeled = client.post("/upload/", json={"current": rows(3)})  # labels arrive later
    assert unlabeled.status_code == 200, unlabeled.text
    assert "regression" not in unlabeled.json()
    labeled = client.post("/upload/", json={"current": rows(4, regression=True)})
    assert labeled.status_code == 200, labeled.text
    assert labeled.json()["regression"]["mae"] < 0.2
