"""``data/raw/MANIFEST.json``: provenance of every source file.

One entry per file, keyed by its path relative to ``data/raw``: URL (or mirror path),
retrieval time, vintage, byte size, sha256, licence and a note. The report's Sources
sheet and the trade cache read it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cclreview.errors import InputError
from cclreview.io import write_text

REQUIRED_KEYS = ("path", "kind", "url", "retrieved", "vintage", "bytes", "sha256")


def load_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the manifest; a missing file gives an empty manifest.

    Returns
    -------
    dict
        ``{"files": [entry, ...]}`` sorted by ``path``.
    """
    path = Path(path)
    if not path.exists():
        return {"files": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: line {exc.lineno}: not valid JSON ({exc.msg}); delete it and run `cclreview fetch all`"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise InputError(
            f"{path}: expected an object with a 'files' list; delete it and run `cclreview fetch all`"
        )
    return data


def record(manifest_path: str | os.PathLike[str], entry: dict[str, Any]) -> None:
    """Add or replace the entry for ``entry['path']`` and write the manifest atomically."""
    missing = [k for k in REQUIRED_KEYS if k not in entry]
    if missing:  # a programming error, not a user error
        raise ValueError(f"manifest entry lacks {missing}")
    data = load_manifest(manifest_path)
    files = [f for f in data["files"] if f.get("path") != entry["path"]]
    files.append(entry)
    files.sort(key=lambda f: f["path"])
    write_text(json.dumps({"files": files}, indent=2, sort_keys=True) + "\n", manifest_path)


def entry_for(manifest_path: str | os.PathLike[str], rel_path: str) -> dict[str, Any] | None:
    """Return the manifest entry of ``rel_path`` (relative to data/raw), if any."""
    for f in load_manifest(manifest_path)["files"]:
        if f.get("path") == rel_path:
            return f
    return None
