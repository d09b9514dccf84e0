"""The hourly electricity-load series the simulator streams: the generated sample, the CSV loader and writer.

The file format is the ENTSO-E "monthly hourly load values" export the EXPLAIN prototype used:
`;`-separated, a header row naming at least the columns `TimeTo` (the end of the hour, UTC,
`YYYY-MM-DD HH:MM`) and `Value` (the load in MW); other columns are ignored.
"""
from __future__ import annotations

import csv
import io
import math
import random
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from pathlib import Path

DELIMITER = ";"
TIME_COLUMN = "TimeTo"
VALUE_COLUMN = "Value"
TIME_FORMAT = "%Y-%m-%d %H:%M"
# Accepted when reading; the first is also how the simulator writes and streams times.
READ_TIME_FORMATS = (TIME_FORMAT, "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
HOUR = timedelta(hours=1)

# The generated sample: the year 2022 (the prototype's data set), hour by hour.
SAMPLE_SEED = 2022
SAMPLE_FIRST_TIME_TO = datetime(2022, 1, 1, 1, 0)
SAMPLE_HOURS = 8760
SAMPLE_BASE_LOAD_MW = 56_500.0
SAMPLE_ANNUAL_AMPLITUDE = 0.06  # winter load above summer load, peaking in mid-January
SAMPLE_DAILY_AMPLITUDE = 0.11
SAMPLE_NOISE = 0.012  # relative standard deviation of the hour-to-hour noise
# Weekday (Monday = 0) level: industry and offices run less at weekends.
SAMPLE_WEEKDAY_LEVEL = (1.0, 1.0, 1.0, 1.0, 1.0, 0.92, 0.88)
# Shape of a day by the hour it begins, in [-1, 1]: night trough, morning rise, midday plateau, evening peak.
SAMPLE_DAILY_PROFILE = (
    -0.80, -0.90, -0.95, -1.00, -0.95, -0.80, -0.45, -0.05, 0.30, 0.50, 0.60, 0.65,
    0.65, 0.55, 0.45, 0.40, 0.45, 0.65, 0.80, 0.75, 0.55, 0.25, -0.15, -0.50,
)


class DataFileError(ValueError):
    """A data file that cannot be streamed; the message names the file, the line and the problem."""


@dataclass(frozen=True, slots=True)
class Row:
    time_to: datetime
    value: float
    # Mean load of the row's day: the level its daily pattern swings around (used by the seasonal drift).
    day_mean: float

    @property
    def time_text(self) -> str:
        return self.time_to.strftime(TIME_FORMAT)


@dataclass(frozen=True)
class Series:
    rows: tuple[Row, ...]
    source: str  # where the rows come from, for people reading GET /

    def __len__(self) -> int:
        return len(self.rows)


def day_of(time_to: datetime) -> date:
    """The calendar day an hour belongs to: `TimeTo` is the hour's end, so 00:00 closes the day before."""
    return (time_to - HOUR).date()


def make_series(points: Sequence[tuple[datetime, float]], source: str) -> Series:
    """A series of (TimeTo, value) points in time order, each row knowing its day's mean load."""
    rows: list[Row] = []
    for _, same_day in groupby(points, key=lambda point: day_of(point[0])):
        day_points = list(same_day)
        mean = statistics.fmean(value for _, value in day_points)
        rows.extend(Row(time_to, value, mean) for time_to, value in day_points)
    return Series(tuple(rows), source)


# --------------------------------------------------------------------------- the generated sample

def sample_expected_load(hour_begins: datetime) -> float:
    """The sample's noise-free load for the hour beginning at `hour_begins`."""
    annual = 1 + SAMPLE_ANNUAL_AMPLITUDE * math.cos(2 * math.pi * (hour_begins.timetuple().tm_yday - 15) / 365)
    daily = 1 + SAMPLE_DAILY_AMPLITUDE * SAMPLE_DAILY_PROFILE[hour_begins.hour]
    return SAMPLE_BASE_LOAD_MW * annual * SAMPLE_WEEKDAY_LEVEL[hour_begins.weekday()] * daily


def generate_sample() -> Series:
    """One year of hourly load (about 40 000 to 67 000 MW), the same on every call."""
    rng = random.Random(SAMPLE_SEED)
    points = []
    for hour in range(SAMPLE_HOURS):
        time_to = SAMPLE_FIRST_TIME_TO + hour * HOUR
        value = sample_expected_load(time_to - HOUR) * (1 + rng.gauss(0, SAMPLE_NOISE))
        points.append((time_to, round(value, 1)))
    return make_series(points, f"generated sample (year 2022, seed {SAMPLE_SEED})")


# --------------------------------------------------------------------------- reading and writing files

def parse_time(text: str) -> datetime:
    for time_format in READ_TIME_FORMATS:
        try:
            parsed = datetime.strptime(text, time_format)
        except ValueError:
            continue
        if parsed.second:
            raise ValueError(f"TimeTo {text!r} is not on a whole minute")
        return parsed
    raise ValueError(f"TimeTo {text!r} is not a time like '2022-01-01 01:00'")


def parse_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        hint = " (use '.' as the decimal separator)" if "," in text else ""
        raise ValueError(f"Value {text!r} is not a number{hint}") from None
    if not math.isfinite(value):
        raise ValueError(f"Value {text!r} is not a finite number")
    return value


def header_indexes(header: list[str]) -> tuple[int, int]:
    """The positions of the `TimeTo` and `Value` columns in the header row."""
    columns = [name.strip() for name in header]
    missing = [name for name in (TIME_COLUMN, VALUE_COLUMN) if name not in columns]
    if missing:
        raise ValueError(f"the header {DELIMITER.join(columns)!r} has no column {' or '.join(map(repr, missing))} "
                         f"(columns are separated by {DELIMITER!r})")
    return columns.index(TIME_COLUMN), columns.index(VALUE_COLUMN)


def read_points(lines: Iterable[str]) -> list[tuple[datetime, float]]:
    """The (TimeTo, value) points of CSV lines; ValueError("line N: problem") on the first problem."""
    # strict: a quote left open would otherwise swallow every later line into one field, silently
    reader = csv.reader(lines, delimiter=DELIMITER, strict=True)
    points: list[tuple[datetime, float]] = []
    try:
        header = next(reader, None)
        if header is not None:
            time_index, value_index = header_indexes(header)
            for fields in reader:
                if not any(field.strip() for field in fields):
                    continue  # blank lines, such as a trailing one, carry no row
                if len(fields) != len(header):
                    raise ValueError(f"{len(fields)} fields, but the header has {len(header)}")
                time_to = parse_time(fields[time_index].strip())
                if points and time_to <= points[-1][0]:
                    raise ValueError(f"TimeTo {fields[time_index].strip()!r} does not come after the previous row's "
                                     f"{points[-1][0].strftime(TIME_FORMAT)!r}; rows must be in time order")
                points.append((time_to, parse_value(fields[value_index].strip())))
    except csv.Error as error:  # in strict mode: a quote never closed, or text after a closing quote
        raise ValueError(f"line {reader.line_num}: {error} (check the quotes)") from None
    except ValueError as error:
        raise ValueError(f"line {reader.line_num}: {error}") from None
    if header is None:
        raise ValueError("the file is empty; expected a header row 'TimeTo;Value'")
    if not points:
        raise ValueError("the file has a header but no rows")
    return points


def decode(raw: bytes) -> str:
    """UTF-8 text (spreadsheet exports often start with a byte order mark); ValueError naming the line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ValueError(f"line {line}: is not UTF-8 text (byte {raw[error.start]:#04x})") from None


def load_csv(path: Path) -> Series:
    """The series in `path`; DataFileError naming the file and line when it is malformed."""
    try:
        text = decode(path.read_bytes())
        points = read_points(io.StringIO(text, newline=""))
    except OSError as error:
        raise DataFileError(f"{path}: cannot be read: {error.strerror or error}") from None
    except ValueError as error:
        raise DataFileError(f"{path}: {error}") from None
    return make_series(points, str(path))


def to_csv(series: Series) -> str:
    """The series in the file format `load_csv` reads: `load_csv` of this text gives the same rows."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\n")
    writer.writerow((TIME_COLUMN, VALUE_COLUMN))
    writer.writerows((row.time_text, repr(row.value)) for row in series.rows)
    return out.getvalue()
