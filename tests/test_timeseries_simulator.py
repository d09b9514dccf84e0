"""Tests of the time-series live data and drift simulator (tools/timeseries-simulator), through FastAPI's
TestClient, and of `python app.py` as the container runs it.

The app's dependencies (tools/timeseries-simulator/requirements.txt) and httpx must be installed;
without them these tests are skipped.
"""
from __future__ import annotations

import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
if importlib.util.find_spec("httpx2") is None:  # Starlette's TestClient takes httpx2, or httpx
    pytest.importorskip("httpx")

from fastapi.testclient import TestClient
from pydantic import TypeAdapter

TOOL_DIR = Path(__file__).resolve().parents[1] / "tools" / "timeseries-simulator"


def import_tool_module(file_name: str, module_name: str) -> ModuleType:
    """Imports one of the tool's files; the helper modules under their own names, as app.py imports them."""
    spec = importlib.util.spec_from_file_location(module_name, TOOL_DIR / file_name)
    module = importlib.util.module_from_spec(spec)
    # dataclasses and pydantic resolve annotations through sys.modules
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


data = import_tool_module("simulator_data.py", "simulator_data")
drift = import_tool_module("simulator_drift.py", "simulator_drift")
simulator = import_tool_module("app.py", "timeseries_simulator_app")

SAMPLE = data.generate_sample()


def make_client(series=SAMPLE, *, ui_enabled: bool = False) -> TestClient:
    return TestClient(simulator.create_app(series, ui_enabled=ui_enabled))


def read_events(client: TestClient, kind: str, **params) -> list[dict]:
    """The events of a finite stream (pass `limit`), checking the server-sent-events framing of each."""
    response = client.get(f"/stream-data/{kind}", params={"time_interval": 0, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = response.text.split("\n\n")
    assert blocks[-1] == "", "every event ends with a blank line"
    events = []
    for block in blocks[:-1]:
        assert block.startswith("data: ") and "\n" not in block, block
        events.append(json.loads(block.removeprefix("data: ")))
    return events


def values(events: list[dict]) -> list[float]:
    return [event["Value"] for event in events]


def write_csv(path: Path, values_by_hour: list[float], first: str = "2022-03-01 01:00") -> Path:
    """A data file of hourly rows from the TimeTo `first` on."""
    start = data.parse_time(first)
    lines = ["TimeTo;Value"] + [f"{(start + i * data.HOUR).strftime(data.TIME_FORMAT)};{value}"
                                for i, value in enumerate(values_by_hour)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def set_drift(client: TestClient, body: dict) -> dict:
    response = client.post("/drift", json=body)
    assert response.status_code == 200, response.text
    return response.json()


# --------------------------------------------------------------------------- the generated sample

def test_sample_is_one_deterministic_year_of_hourly_load():
    assert data.generate_sample() == SAMPLE
    assert len(SAMPLE) == 8760
    assert SAMPLE.rows[0].time_text == "2022-01-01 01:00" and SAMPLE.rows[-1].time_text == "2023-01-01 00:00"
    assert all(b.time_to - a.time_to == data.HOUR for a, b in zip(SAMPLE.rows, SAMPLE.rows[1:]))
    loads = [row.value for row in SAMPLE.rows]
    assert 38_000 < min(loads) and max(loads) < 72_000


def test_sample_has_daily_and_weekly_seasonality():
    def mean_load(keep) -> float:
        return statistics.fmean(row.value for row in SAMPLE.rows if keep(row.time_to - data.HOUR))

    weekdays_at = {hour: mean_load(lambda t, h=hour: t.hour == h and t.weekday() < 5) for hour in range(24)}
    assert weekdays_at[11] > 1.15 * weekdays_at[3]  # midday against the night trough
    assert mean_load(lambda t: t.weekday() < 5) > 1.08 * mean_load(lambda t: t.weekday() == 6)  # Sunday
    assert mean_load(lambda t: t.month == 1) > mean_load(lambda t: t.month == 7)  # winter against summer


def test_each_row_knows_its_day_mean():
    first_day = SAMPLE.rows[:24]  # TimeTo 01:00 to 00:00 of the next day: the hours of 1 January
    assert first_day[-1].time_text == "2022-01-02 00:00"
    expected = statistics.fmean(row.value for row in first_day)
    assert all(row.day_mean == pytest.approx(expected) for row in first_day)
    assert SAMPLE.rows[24].day_mean != pytest.approx(expected)


# --------------------------------------------------------------------------- the stream

def test_stream_events_are_the_rows_in_time_order():
    events = read_events(make_client(), "original", limit=30)
    assert events == [{"TimeTo": row.time_text, "Value": row.value} for row in SAMPLE.rows[:30]]
    assert all(set(event) == {"TimeTo", "Value"} and isinstance(event["Value"], float) for event in events)


def test_start_and_limit_select_the_events_and_the_stream_loops(tmp_path):
    series = data.load_csv(write_csv(tmp_path / "five.csv", [10.0, 11.0, 12.0, 13.0, 14.0]))
    events = read_events(make_client(series), "original", start=3, limit=4)
    assert values(events) == [13.0, 14.0, 10.0, 11.0]
    assert [event["TimeTo"] for event in events] == [
        "2022-03-01 04:00", "2022-03-01 05:00", "2022-03-01 01:00", "2022-03-01 02:00"]
    assert len(read_events(make_client(series), "modified", limit=12)) == 12


def test_time_interval_spaces_the_events():
    started = time.monotonic()
    events = read_events(make_client(), "original", time_interval=0.05, limit=5)
    assert len(events) == 5
    assert time.monotonic() - started >= 4 * 0.05


@pytest.mark.parametrize("kind", ["original", "modified"])
@pytest.mark.parametrize("params, field", [  # limit 1: were a value accepted, the stream would still end
    ({"time_interval": -1, "limit": 1}, "time_interval"),
    ({"time_interval": "abc", "limit": 1}, "time_interval"),
    ({"time_interval": "nan", "limit": 1}, "time_interval"),
    ({"time_interval": "inf", "limit": 1}, "time_interval"),
    ({"time_interval": 0, "limit": 0}, "limit"),
    ({"time_interval": 0, "limit": "ten"}, "limit"),
    ({"time_interval": 0, "start": -1}, "start"),
    ({"time_interval": 0, "start": 1.5}, "start"),
])
def test_bad_stream_parameters_are_refused_with_a_message(kind, params, field):
    response = make_client().get(f"/stream-data/{kind}", params=params)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"query.{field}: ")


def test_without_drift_modified_equals_original():
    client = make_client()
    assert client.get("/drift").json() == {"kind": "none"}
    assert read_events(client, "modified", limit=50) == read_events(client, "original", limit=50)


# --------------------------------------------------------------------------- drift, through the stream

def test_sudden_drift_shifts_the_values_from_after_on():
    client = make_client()
    original = values(read_events(client, "original", limit=10))
    set_drift(client, {"kind": "sudden", "magnitude": 0.1, "after": 4})
    modified = values(read_events(client, "modified", limit=10))
    assert modified[:4] == original[:4]
    assert modified[4:] == pytest.approx([value * 1.1 for value in original[4:]])
    assert values(read_events(client, "original", limit=10)) == original


def test_drift_follows_the_stream_position_across_loops(tmp_path):
    series = data.load_csv(write_csv(tmp_path / "three.csv", [100.0, 200.0, 300.0]))
    client = make_client(series)
    set_drift(client, {"kind": "sudden", "magnitude": -0.5, "after": 2})
    # positions 0..6 are rows 0,1,2,0,1,2,0: the shift that began at position 2 stays on when the series loops
    assert values(read_events(client, "modified", limit=7)) == [100.0, 200.0, 150.0, 50.0, 100.0, 150.0, 50.0]
    assert values(read_events(client, "modified", start=1, limit=2)) == [200.0, 150.0]


def test_gradual_drift_ramps_in_over_its_duration(tmp_path):
    series = data.load_csv(write_csv(tmp_path / "flat.csv", [1000.0] * 10))
    client = make_client(series)
    set_drift(client, {"kind": "gradual", "magnitude": 0.2, "after": 2, "duration": 4})
    assert values(read_events(client, "modified", limit=8)) == pytest.approx(
        [1000, 1000, 1050, 1100, 1150, 1200, 1200, 1200])


def test_noise_drift_is_reproducible_and_has_the_relative_std():
    client = make_client()
    original = values(read_events(client, "original", limit=1000))
    set_drift(client, {"kind": "noise", "magnitude": 0.05, "after": 10, "seed": 7})
    modified = values(read_events(client, "modified", limit=1000))
    assert modified[:10] == original[:10]
    assert all(m != o for m, o in zip(modified[10:], original[10:]))
    relative = [m / o - 1 for m, o in zip(modified[10:], original[10:])]
    assert abs(statistics.fmean(relative)) < 0.005
    assert 0.045 < statistics.stdev(relative) < 0.055
    assert values(read_events(client, "modified", limit=1000)) == modified  # replayed: the same noise
    assert values(read_events(client, "modified", start=500, limit=20)) == modified[500:520]
    set_drift(client, {"kind": "noise", "magnitude": 0.05, "after": 10, "seed": 8})
    assert values(read_events(client, "modified", limit=1000))[10:] != modified[10:]


def test_seasonal_drift_scales_the_daily_pattern_around_the_day_mean():
    client = make_client()
    original = values(read_events(client, "original", limit=48))
    set_drift(client, {"kind": "seasonal", "magnitude": 0.5, "after": 24})
    modified = values(read_events(client, "modified", limit=48))
    assert modified[:24] == original[:24]
    second_day = SAMPLE.rows[24:48]
    mean = second_day[0].day_mean
    assert statistics.fmean(modified[24:]) == pytest.approx(statistics.fmean(original[24:]))
    assert modified[24:] == pytest.approx([mean + 1.5 * (value - mean) for value in original[24:]])
    assert statistics.pstdev(modified[24:]) == pytest.approx(1.5 * statistics.pstdev(original[24:]))


def test_drift_can_be_switched_off_again():
    client = make_client()
    set_drift(client, {"kind": "sudden", "magnitude": 0.3})
    assert read_events(client, "modified", limit=5) != read_events(client, "original", limit=5)
    assert set_drift(client, {"kind": "none"}) == {"kind": "none"}
    assert read_events(client, "modified", limit=5) == read_events(client, "original", limit=5)


# --------------------------------------------------------------------------- drift settings

@pytest.mark.parametrize("body, stored", [
    ({"kind": "sudden", "magnitude": 0.1}, {"kind": "sudden", "magnitude": 0.1, "after": 0}),
    ({"kind": "gradual", "magnitude": -0.2, "after": 5, "duration": 10},
     {"kind": "gradual", "magnitude": -0.2, "after": 5, "duration": 10}),
    ({"kind": "noise", "magnitude": 1}, {"kind": "noise", "magnitude": 1.0, "after": 0, "seed": 0}),
    ({"kind": "seasonal", "magnitude": -1, "after": 3}, {"kind": "seasonal", "magnitude": -1.0, "after": 3}),
])
def test_drift_is_stored_with_its_defaults(body, stored):
    client = make_client()
    assert set_drift(client, body) == stored
    assert client.get("/drift").json() == stored


@pytest.mark.parametrize("body, message", [
    ({"kind": "wobble", "magnitude": 0.1}, "does not match any of the expected tags"),
    ({"magnitude": 0.1}, "Unable to extract tag using discriminator 'kind'"),
    ({"kind": "sudden"}, "body.sudden.magnitude: Field required"),
    ({"kind": "sudden", "magnitude": "0.1"}, "body.sudden.magnitude: Input should be a valid number"),
    ({"kind": "sudden", "magnitude": -1.5}, "body.sudden.magnitude: Input should be greater than or equal to -1"),
    ({"kind": "sudden", "magnitude": 11}, "body.sudden.magnitude: Input should be less than or equal to 10"),
    ({"kind": "sudden", "magnitude": 0.1, "after": -1}, "body.sudden.after: Input should be greater than or equal"),
    ({"kind": "sudden", "magnitude": 0.1, "after": True}, "body.sudden.after: Input should be a valid integer"),
    ({"kind": "sudden", "magnitude": 0.1, "duration": 5}, "body.sudden.duration: Extra inputs are not permitted"),
    ({"kind": "gradual", "magnitude": 0.1}, "body.gradual.duration: Field required"),
    ({"kind": "gradual", "magnitude": 0.1, "duration": 0}, "body.gradual.duration: Input should be greater than"),
    ({"kind": "noise", "magnitude": -0.1}, "body.noise.magnitude: Input should be greater than or equal to 0"),
    ({"kind": "noise", "magnitude": 0.1, "seed": "x"}, "body.noise.seed: Input should be a valid integer"),
    ({"kind": "none", "magnitude": 0.1}, "body.none.magnitude: Extra inputs are not permitted"),
    ([{"kind": "none"}], "body: Input should be a valid dictionary"),
])
def test_bad_drift_is_refused_and_the_drift_kept(body, message):
    client = make_client()
    set_drift(client, {"kind": "sudden", "magnitude": 0.1})
    response = client.post("/drift", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert client.get("/drift").json() == {"kind": "sudden", "magnitude": 0.1, "after": 0}


@pytest.mark.parametrize("raw", [b'{"kind": "sudden", "magnitude": NaN}', b'{"kind": "sudden", "magnitude": Infinity}',
                                 b'{"kind": "sudden",'])
def test_drift_that_is_not_finite_json_is_refused(raw):
    response = make_client().post("/drift", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body")


# --------------------------------------------------------------------------- drift, the pure function

def drift_settings(body: dict):
    """The settings POST /drift would store for `body`."""
    return TypeAdapter(drift.Drift).validate_python(body)


@pytest.mark.parametrize("body", [
    {"kind": "sudden", "magnitude": 0.5, "after": 10},
    {"kind": "gradual", "magnitude": 0.5, "after": 10, "duration": 3},
    {"kind": "noise", "magnitude": 0.5, "after": 10},
    {"kind": "seasonal", "magnitude": 0.5, "after": 10},
])
def test_every_drift_leaves_the_positions_before_after_alone(body):
    settings = drift_settings(body)
    assert [drift.drifted_value(settings, position, 1234.5, 1000.0) for position in range(10)] == [1234.5] * 10
    assert drift.drifted_value(settings, 10, 1234.5, 1000.0) != 1234.5


def test_drift_values_by_kind():
    value, day_mean = 1200.0, 1000.0
    assert drift.drifted_value(drift.NO_DRIFT, 5, value, day_mean) == value
    assert drift.drifted_value(drift_settings({"kind": "sudden", "magnitude": -0.25}), 0, value, day_mean) == 900.0
    gradual = drift_settings({"kind": "gradual", "magnitude": 0.5, "after": 10, "duration": 5})
    assert [drift.drifted_value(gradual, p, value, day_mean) for p in (10, 12, 14, 99)] == pytest.approx(
        [1320.0, 1560.0, 1800.0, 1800.0])
    seasonal = drift_settings({"kind": "seasonal", "magnitude": 1.0})
    assert drift.drifted_value(seasonal, 3, value, day_mean) == 1400.0
    assert drift.drifted_value(seasonal, 3, 800.0, day_mean) == 600.0
    flatten = drift_settings({"kind": "seasonal", "magnitude": -1.0})
    assert drift.drifted_value(flatten, 3, value, day_mean) == day_mean
    noise = drift_settings({"kind": "noise", "magnitude": 0.1, "seed": 3})
    assert drift.drifted_value(noise, 42, value, day_mean) == value + 0.1 * value * drift.gaussian(3, 42)


def test_noise_depends_on_seed_and_position_only():
    assert drift.gaussian(1, 5) == drift.gaussian(1, 5)
    assert len({drift.gaussian(1, position) for position in range(100)}) == 100
    assert drift.gaussian(1, 5) != drift.gaussian(2, 5)
    draws = [drift.gaussian(0, position) for position in range(5000)]
    assert abs(statistics.fmean(draws)) < 0.05 and 0.95 < statistics.stdev(draws) < 1.05


# --------------------------------------------------------------------------- data files

@pytest.mark.parametrize("content, line, problem", [
    ("TimeTo;Load\n2022-01-01 01:00;1\n", 1, "no column 'Value'"),
    ("TimeTo,Value\n2022-01-01 01:00,1\n", 1, "no column 'TimeTo' or 'Value' (columns are separated by ';')"),
    ("TimeTo;Value\n2022-01-01 01:00;1\n01.01.2022 02:00;2\n", 3, "TimeTo '01.01.2022 02:00' is not a time"),
    ("TimeTo;Value\n2022-01-01 01:00;many\n", 2, "Value 'many' is not a number"),
    ("TimeTo;Value\n2022-01-01 01:00;1\n2022-01-01 02:00;45123,5\n", 3, "(use '.' as the decimal separator)"),
    ("TimeTo;Value\n2022-01-01 01:00;nan\n", 2, "Value 'nan' is not a finite number"),
    ("TimeTo;Value\n2022-01-01 01:00;1\n2022-01-01 02:00;2\n2022-01-01 01:30;3\n", 4,
     "TimeTo '2022-01-01 01:30' does not come after the previous row's '2022-01-01 02:00'"),
    ("TimeTo;Value\n2022-01-01 01:00;1\n2022-01-01 01:00;2\n", 3, "does not come after"),
    ("TimeTo;Value\n2022-01-01 01:00;1;extra\n", 2, "3 fields, but the header has 2"),
    ("TimeTo;Value\n2022-01-01 01:00:30;1\n", 2, "is not on a whole minute"),
    ('TimeTo;Value\n2022-01-01 01:00;"1\n2022-01-01 02:00;2\n', 3, "unexpected end of data (check the quotes)"),
    ('TimeTo;Value\n2022-01-01 01:00;"1"0\n', 2, "';' expected after '\"' (check the quotes)"),
])
def test_malformed_data_file_is_refused_naming_file_and_line(tmp_path, content, line, problem):
    path = tmp_path / "load.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(data.DataFileError) as refused:
        data.load_csv(path)
    assert str(refused.value).startswith(f"{path}: line {line}: ")
    assert problem in str(refused.value)


@pytest.mark.parametrize("content, problem", [
    ("", "the file is empty"),
    ("TimeTo;Value\n\n", "the file has a header but no rows"),
])
def test_data_file_without_rows_is_refused(tmp_path, content, problem):
    path = tmp_path / "load.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(data.DataFileError, match=f"^{path}: .*{problem}"):
        data.load_csv(path)


def test_data_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"TimeTo;Value\n2022-01-01 01:00;1\n2022-01-01 02:00;2\xb0\n")
    with pytest.raises(data.DataFileError) as refused:
        data.load_csv(path)
    assert str(refused.value) == f"{path}: line 3: is not UTF-8 text (byte 0xb0)"


def test_missing_data_file_is_refused(tmp_path):
    with pytest.raises(data.DataFileError, match=f"^{tmp_path / 'absent.csv'}: cannot be read"):
        data.load_csv(tmp_path / "absent.csv")


def test_an_entsoe_export_with_more_columns_is_read(tmp_path):
    path = tmp_path / "entsoe.csv"
    path.write_bytes("\ufeffMeasureItem;TimeFrom;Value;TimeTo;CountryCode\n"
                     "Hourly Load;00:00;43210.5;2022-01-01T01:00;DE\n"
                     '"Hourly Load";01:00;"42000";2022-01-01 02:00:00;DE\n\n'.encode())
    series = data.load_csv(path)
    assert [(row.time_text, row.value) for row in series.rows] == [
        ("2022-01-01 01:00", 43210.5), ("2022-01-01 02:00", 42000.0)]
    assert series.source == str(path)


def test_csv_download_round_trips_through_the_loader(tmp_path):
    response = make_client().get("/data.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="hourly_load.csv"' in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "TimeTo;Value" and len(lines) == 1 + len(SAMPLE)
    assert lines[1] == f"2022-01-01 01:00;{SAMPLE.rows[0].value}"
    path = tmp_path / "download.csv"
    path.write_bytes(response.content)
    assert data.load_csv(path).rows == SAMPLE.rows
    reloaded = make_client(data.load_csv(path))
    assert read_events(reloaded, "original", start=100, limit=5) == read_events(make_client(), "original",
                                                                                start=100, limit=5)


# --------------------------------------------------------------------------- configuration, page, health

def test_settings_from_the_platforms_environment(tmp_path):
    settings = simulator.Settings.from_env({"SIMULATOR_PORT": "5020", "SIMULATOR_DATA_TYPE": "Time-Series",
                                            "SIMULATOR_UI_ENABLED": "false"})
    assert settings == simulator.Settings(port=5020, ui_enabled=False, data_file=None)
    assert simulator.Settings.from_env({}) == simulator.Settings(port=5020, ui_enabled=True, data_file=None)
    with_file = simulator.Settings.from_env({"SIMULATOR_DATA_FILE": str(tmp_path / "x.csv")})
    assert with_file.data_file == tmp_path / "x.csv"


@pytest.mark.parametrize("environ, message", [
    ({"SIMULATOR_UI_ENABLED": "maybe"}, "SIMULATOR_UI_ENABLED must be 'true' or 'false', not 'maybe'"),
    ({"SIMULATOR_PORT": "http"}, "SIMULATOR_PORT must be a port number"),
    ({"SIMULATOR_PORT": "70000"}, "SIMULATOR_PORT must be a port number"),
    ({"SIMULATOR_PORT": "0"}, "SIMULATOR_PORT must be a port number"),
    ({"SIMULATOR_DATA_TYPE": "Image"}, "SIMULATOR_DATA_TYPE is 'Image', but this simulator streams Time-Series"),
])
def test_bad_environment_is_refused(environ, message):
    with pytest.raises(simulator.ConfigError) as refused:
        simulator.Settings.from_env(environ)
    assert message in str(refused.value)


def test_page_is_served_when_the_ui_is_enabled():
    response = make_client(ui_enabled=True).get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "new EventSource(`stream-data/${kind}" in page and 'id="drift-form"' in page
    assert 'fetch("drift"' in page
    assert "://" not in page, "no external asset: the cluster may be air-gapped"


def test_description_instead_of_the_page_when_the_ui_is_disabled():
    client = make_client(ui_enabled=False)
    response = client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["ui_enabled"] is False and body["data_type"] == "Time-Series"
    assert body["data"] == {"source": SAMPLE.source, "rows": 8760,
                            "first_time_to": "2022-01-01 01:00", "last_time_to": "2023-01-01 00:00"}
    set_drift(client, {"kind": "sudden", "magnitude": 0.2})
    assert client.get("/").json()["drift"] == {"kind": "sudden", "magnitude": 0.2, "after": 0}


def test_health():
    response = make_client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


# --------------------------------------------------------------------------- python app.py

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_app(env: dict[str, str]) -> subprocess.Popen:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("SIMULATOR_")}
    return subprocess.Popen([sys.executable, "app.py"], cwd=TOOL_DIR, env={**environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_python_app_py_serves_on_simulator_port_and_stops_promptly():
    import httpx

    port = free_port()
    process = run_app({"SIMULATOR_PORT": str(port), "SIMULATOR_DATA_TYPE": "Time-Series",
                       "SIMULATOR_UI_ENABLED": "false"})
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the simulator did not answer within 10 s"
                time.sleep(0.1)
        assert health.json() == {"status": "ok"}
        stream_url = f"http://127.0.0.1:{port}/stream-data/modified"
        with httpx.stream("GET", stream_url, params={"time_interval": 0.2}, timeout=5) as response:
            lines = response.iter_lines()  # held: a dropped iterator would close the stream
            assert next(lines) == f'data: {{"TimeTo": "2022-01-01 01:00", "Value": {SAMPLE.rows[0].value}}}'
            assert next(lines) == ""
            # an endless stream is open: SIGTERM must still end the server within its grace period
            stopping = time.monotonic()
            process.terminate()
            output = process.communicate(timeout=10)[0]
        assert time.monotonic() - stopping < 6
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert f"Uvicorn running on http://0.0.0.0:{port}" in output
    assert "streaming 8760 rows from generated sample" in output


def test_python_app_py_refuses_a_malformed_data_file_at_startup(tmp_path):
    path = tmp_path / "load.csv"
    path.write_text("TimeTo;Value\n2022-01-01 01:00;1\n2022-01-01 02:00;x\n", encoding="utf-8")
    process = run_app({"SIMULATOR_PORT": str(free_port()), "SIMULATOR_DATA_FILE": str(path)})
    output = process.communicate(timeout=20)[0]
    assert process.returncode == 1
    assert output.strip() == f"timeseries-simulator: {path}: line 3: Value 'x' is not a number"
