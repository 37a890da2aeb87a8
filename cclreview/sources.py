"""``config/sources.toml``: which sources are fetched and used.

Loaded into pydantic models with ``extra="forbid"`` so that a misspelt key is an error
that names the key path, not a silently ignored setting.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from cclreview.errors import ConfigError
from cclreview.models import StrictModel


class CclSource(StrictModel):
    """The Commerce Control List edition to fetch."""

    date: str = "latest"
    #: Pinned sha256 (64 hex digits) the file must have; "" = not pinned. A download or
    #: mirror copy that does not match is refused.
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")

    @field_validator("date")
    @classmethod
    def _date(cls, v: str) -> str:
        import datetime as dt

        if v != "latest":
            try:
                dt.date.fromisoformat(v)
            except ValueError as exc:
                raise ValueError(f"'{v}' is not 'latest' or a date YYYY-MM-DD") from exc
        return v


class BaciSource(StrictModel):
    """The CEPII BACI release used as the main trade source."""

    enabled: bool = True
    release: str = Field(default="V202601", pattern=r"^V\d{6}$")
    hs: str = Field(default="HS22", pattern=r"^HS\d{2}$")
    years: list[int] = Field(default_factory=list)
    #: Pinned sha256 (64 hex digits) the file must have; "" = not pinned. A download or
    #: mirror copy that does not match is refused.
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")

    @property
    def zip_name(self) -> str:
        return f"BACI_{self.hs}_{self.release}.zip"


class TradeSettings(StrictModel):
    """Trade stage settings: the importers whose bilateral flows are kept."""

    focus_importers: list[str] = Field(default_factory=lambda: ["CHN", "HKG", "MAC", "RUS", "BLR"])

    @field_validator("focus_importers")
    @classmethod
    def _iso3(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not (len(c) == 3 and c.isalpha() and c.isupper())]
        if bad:
            raise ValueError(f"{bad} are not ISO3 codes (three capital letters, e.g. CHN)")
        return v


class FileSource(StrictModel):
    """One file fetched from a mirror or its official URL into ``data/raw/<target>``."""

    name: str
    kind: Literal["hs", "trade", "evidence", "concordance", "countries", "ccl", "ear"]
    target: str
    mirror: str
    url: str = ""
    origin: str = ""
    vintage: str = ""
    licence: str = ""
    required: bool = False
    use: str = ""
    #: Pinned sha256 (64 hex digits) the file must have; "" = not pinned. A download or
    #: mirror copy that does not match is refused.
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")


class SourcesConfig(StrictModel):
    """The whole ``sources.toml``."""

    ccl: CclSource = Field(default_factory=CclSource)
    baci: BaciSource = Field(default_factory=BaciSource)
    trade: TradeSettings = Field(default_factory=TradeSettings)
    files: list[FileSource] = Field(default_factory=list)


def load_sources(path: str | os.PathLike[str]) -> SourcesConfig:
    """Load and validate ``sources.toml``.

    Raises
    ------
    ConfigError
        One line naming the file, the key path and what is wrong.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: sources file not found; restore config/sources.toml from git")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return SourcesConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {loc}: {err['msg']} (got {err.get('input')!r})") from exc
