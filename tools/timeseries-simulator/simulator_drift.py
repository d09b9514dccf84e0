"""The drift the modified stream applies: its settings (the body of POST /drift) and the pure function applying it.

A stream position is the index of an event in the endless, looping sequence of rows: position p is row
p mod n of an n-row series. Drift starts at position `after`, so a stream replayed from the same `start`
gives the same values, and a drift that began stays on when the series loops.
"""
from __future__ import annotations

import random
from typing import Annotated, Literal, assert_never

from pydantic import BaseModel, ConfigDict, Field

# Magnitudes are relative (0.1 = 10 %). Above 10 the values stop looking like load; at -1 a shift reaches
# zero load and a seasonal change flattens the daily pattern completely.
MAX_MAGNITUDE = 10.0

After = Annotated[int, Field(ge=0, description="first stream position the drift applies to")]


class _DriftSettings(BaseModel):
    # strict: "0.1" or true is a mistake in a drift setting, not a number to coerce
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NoDrift(_DriftSettings):
    """The modified stream equals the original one."""
    kind: Literal["none"] = "none"


class SuddenDrift(_DriftSettings):
    """From `after` on, every value is shifted by `magnitude` (relative): value × (1 + magnitude)."""
    kind: Literal["sudden"]
    magnitude: float = Field(ge=-1, le=MAX_MAGNITUDE, allow_inf_nan=False)
    after: After = 0


class GradualDrift(_DriftSettings):
    """Like the sudden shift, but it ramps in linearly: full `magnitude` at position after + duration - 1."""
    kind: Literal["gradual"]
    magnitude: float = Field(ge=-1, le=MAX_MAGNITUDE, allow_inf_nan=False)
    after: After = 0
    duration: int = Field(ge=1, description="number of positions over which the shift ramps in")


class NoiseDrift(_DriftSettings):
    """From `after` on, gaussian noise of standard deviation magnitude × |value| is added.

    The noise at a position depends only on (seed, position): replaying a stream gives the same values.
    """
    kind: Literal["noise"]
    magnitude: float = Field(ge=0, le=MAX_MAGNITUDE, allow_inf_nan=False)
    after: After = 0
    seed: int = Field(default=0, ge=0)


class SeasonalDrift(_DriftSettings):
    """From `after` on, the daily pattern's amplitude changes by `magnitude` (relative) around the day's mean."""
    kind: Literal["seasonal"]
    magnitude: float = Field(ge=-1, le=MAX_MAGNITUDE, allow_inf_nan=False)
    after: After = 0


Drift = Annotated[NoDrift | SuddenDrift | GradualDrift | NoiseDrift | SeasonalDrift, Field(discriminator="kind")]
NO_DRIFT = NoDrift()


def gaussian(seed: int, position: int) -> float:
    """A standard normal number determined by (seed, position) alone."""
    return random.Random(f"{seed}:{position}").gauss(0.0, 1.0)


def drifted_value(drift: Drift, position: int, value: float, day_mean: float) -> float:
    """The value at stream `position` under `drift`; `day_mean` is the mean load of the value's day."""
    if isinstance(drift, NoDrift) or position < drift.after:
        return value
    match drift:
        case SuddenDrift():
            return value * (1 + drift.magnitude)
        case GradualDrift():
            ramp = min(1.0, (position - drift.after + 1) / drift.duration)
            return value * (1 + drift.magnitude * ramp)
        case NoiseDrift():
            return value + drift.magnitude * abs(value) * gaussian(drift.seed, position)
        case SeasonalDrift():
            return day_mean + (value - day_mean) * (1 + drift.magnitude)
        case _:
            assert_never(drift)
