"""The pydantic base of the configuration files (``weights.toml``, ``sources.toml``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors, values are validated on assignment.

    Strict types: ``true`` or ``"0.25"`` is not a number (TOML integers still count as
    floats), and ``inf``/``nan`` are refused (one would make every score NaN).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False)
