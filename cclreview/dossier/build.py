"""Render the dossier site: ``index.html`` and one page per ECCN, written atomically.

The whole site is written into a temporary folder beside the target and then swapped
in with two renames, so a reader never sees half a site and a failed build leaves the
previous one untouched.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from cclreview import __version__
from cclreview.contracts import TIER_ORDER
from cclreview.dossier import svg
from cclreview.dossier.context import ContextBuilder
from cclreview.dossier.data import DossierInputs, clean, is_missing, load_dossier_inputs
from cclreview.dossier.format import FUNCTIONS, finalize, val
from cclreview.errors import OutputError
from cclreview.report.ecfr import ECFR_CCL_URL

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass
class DossierResult:
    """What one build wrote."""

    out_dir: Path
    n_pages: int
    seconds: float
    n_annotations: int
    workbook: Path | None


def environment() -> jinja2.Environment:
    """The Jinja2 environment: autoescaping on for every template (control text is untrusted)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=finalize,
    )
    env.globals.update(FUNCTIONS)
    return env


def _build_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit() else datetime.now(UTC)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def overview_svg(rows: list[dict[str, Any]]) -> str:
    """Scatter of availability against security for every ECCN, coloured by tier.

    One matplotlib figure per build (Agg backend, text kept as text: no fonts
    embedded, nothing fetched). Returns "" when no ECCN has both scores.
    """
    pts = [
        (r["availability_score"], r["security_score"], r["tier"] or "not scored")
        for r in rows
        if r["availability_score"] is not None and r["security_score"] is not None
    ]
    if not pts:
        return ""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {
        "candidate": "#38761d", "review": "#bf9000", "retain": "#cc4125", "guardrail": "#674ea7",
        "not a foreign-availability case": "#3c78d8", "insufficient evidence": "#999999",
    }  # fmt: skip
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9, "svg.hashsalt": "cclreview"}
    ):
        fig, ax = plt.subplots(figsize=(7.2, 3.4))
        for tier in sorted({t for _, _, t in pts}, key=lambda t: (t not in colours, t)):
            xs = [a for a, _, t in pts if t == tier]
            ys = [s for _, s, t in pts if t == tier]
            ax.scatter(
                xs, ys, s=9, alpha=0.7, color=colours.get(tier, "#444"), label=f"{tier} ({len(xs)} plotted)"
            )
        ax.set_xlabel("foreign-availability score")
        ax.set_ylabel("security score")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        plt.close(fig)
    text = buf.getvalue()
    # Inline SVG in HTML: drop the XML prolog and DOCTYPE (they would point at remote DTDs).
    start = text.find("<svg")
    return text[start:].replace("<svg ", '<svg class="chart" role="img" aria-label="Overview" ', 1)


def _index_row(ctx: dict[str, Any]) -> dict[str, Any]:
    s = ctx["s"]
    review = ctx["review"]
    dec = ctx["decision"] or {}
    return {
        "eccn": ctx["eccn"],
        "file": ctx["file"],
        "rank": s.get("rank"),
        "heading": ctx["heading"],
        "category": (ctx["entry"]["category"] or "")[:1],
        "reasons": ", ".join(str(r) for r in ctx["entry"]["reasons"]),
        "tier": s.get("tier"),
        "route": clean(dec.get("route")) if "route" in dec else None,
        "licence_to_china": val(dec["licence_to_china"]) if "licence_to_china" in dec else None,
        "decontrol_score": s.get("decontrol_score"),
        "availability_score": s.get("availability_score"),
        "security_score": s.get("security_score"),
        "evidence_strength": s.get("evidence_strength"),
        "china_share": s.get("china_share"),
        "review": " — ".join(x for x in (review or {}).values() if x)[:120] if review else "",
    }


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` with ``tmp`` by renames (the old site is removed after)."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old.{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        out_dir.replace(old)
    try:
        tmp.replace(out_dir)
    except OSError as exc:
        if old is not None:
            old.replace(out_dir)
        raise OutputError(f"cannot move the new dossier into {out_dir}: {exc}") from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def render_site(inputs: DossierInputs, out_dir: str | Path, overview: bool = True) -> DossierResult:
    """Render every page of ``inputs`` into ``out_dir`` (atomically).

    Parameters
    ----------
    inputs
        Loaded by :func:`cclreview.dossier.data.load_dossier_inputs`.
    out_dir
        The site folder (``reports/dossier``); replaced as a whole.
    overview
        Draw the index's overview scatter (matplotlib).
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    env = environment()
    page_tpl = env.get_template("eccn.html.j2")
    index_tpl = env.get_template("index.html.j2")
    css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
    script = (TEMPLATES / "index.js").read_text(encoding="utf-8")
    builder = ContextBuilder(inputs)
    scores = inputs.scores.copy()
    scores["eccn"] = scores["eccn"].astype(str)
    # Entries the scores lack are still listed (unranked), as in the workbook.
    missing = sorted(set(inputs.entries["eccn"].astype(str)) - set(scores["eccn"]))
    records = [
        {k: clean(v) for k, v in rec.items()} for rec in scores.drop_duplicates("eccn").to_dict("records")
    ]
    records += [{"eccn": e, "tier": "not scored", "rank": None} for e in missing]
    for rec in records:
        if "rank" in rec and rec["rank"] is not None:
            rec["rank"] = int(rec["rank"])
    records.sort(key=lambda r: (r.get("rank") is None, r.get("rank") or 0, r["eccn"]))
    ecfr_dates = [d for d in inputs.entries.get("ecfr_date", []) if not is_missing(d)]
    common = {
        "css": css,
        "version": __version__,
        "built": _build_date(),
        "n_files": len(inputs.files),
        "ccl_edition": ecfr_dates[0] if ecfr_dates else None,
        "n_eccns": len(records),
    }
    hist = svg.histogram([r.get("decontrol_score") for r in records])
    indicator_columns: list[str] = []
    if inputs.indicators is not None:
        # The columns a reviewer reads first (scoring's eccn_hs_indicators); any other
        # table shows its first ten columns.
        preferred = ("hs6", "hs_code", "granularity", "year", "source", "used", "why_not_used",
                     "weight_share", "n_non_us_suppliers", "non_us_share", "china_share")  # fmt: skip
        present = [c for c in preferred if c in inputs.indicators.columns]
        skip = {"eccn"}
        indicator_columns = (
            present if len(present) >= 6 else [c for c in inputs.indicators.columns if c not in skip][:10]
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp.", dir=_parent(out_dir)))
    try:
        index_rows = []
        seen: set[str] = set()
        for rec in records:
            ctx = builder.build(rec)
            if ctx["file"] in seen:  # two ECCNs mapping to one file name: keep both pages
                ctx["file"] = ctx["file"].replace(".html", f"_{len(seen)}.html")
            seen.add(ctx["file"])
            html = page_tpl.render(
                p=ctx,
                strip=svg.position_strip(rec.get("decontrol_score"), hist),
                indicator_columns=indicator_columns,
                **common,
            )
            (tmp / ctx["file"]).write_text(html, encoding="utf-8")
            index_rows.append(_index_row(ctx))
        tiers: dict[str, int] = {}
        for r in index_rows:
            tiers[r["tier"] or "not scored"] = tiers.get(r["tier"] or "not scored", 0) + 1
        tier_counts = sorted(
            tiers.items(), key=lambda kv: (TIER_ORDER.index(kv[0]) if kv[0] in TIER_ORDER else 99, kv[0])
        )
        routes = sorted({r["route"] for r in index_rows if r["route"]})
        html = index_tpl.render(
            rows=index_rows,
            tier_counts=tier_counts,
            routes=routes,
            has_route="route" in inputs.scores.columns,
            overview=overview_svg(index_rows) if overview else "",
            script=script,
            ecfr_ccl=ECFR_CCL_URL,
            **common,
        )
        (tmp / "index.html").write_text(html, encoding="utf-8")
        tmp.chmod(0o755)
        _swap_in(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.perf_counter() - t0
    log.info("wrote %s: %d ECCN pages in %.1f s", out_dir, len(records), seconds)
    return DossierResult(out_dir, len(records), seconds, len(inputs.annotations), inputs.workbook)


def _parent(out_dir: Path) -> Path:
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out_dir.parent}: {exc}; choose another --out") from exc
    return out_dir.parent


def build_dossier(
    processed_dir: str | Path,
    out_dir: str | Path,
    workbook: str | Path | None = None,
    hs_file: str | Path | None = None,
    overview: bool = True,
) -> DossierResult:
    """Load the stage outputs and write the dossier site.

    Parameters
    ----------
    processed_dir
        Folder with the stage outputs (``data/processed``).
    out_dir
        Site folder to (re)write, e.g. ``reports/dossier``.
    workbook
        Review workbook whose reviewer decisions and notes are carried over.
    hs_file
        HS nomenclature CSV for link descriptions (optional).
    overview
        Draw the index overview chart.

    Raises
    ------
    InputError
        A required table is missing or unreadable.
    OutputError
        The site cannot be written.
    """
    inputs = load_dossier_inputs(processed_dir, workbook=workbook, hs_file=hs_file)
    return render_site(inputs, out_dir, overview=overview)


__all__ = ["DossierResult", "build_dossier", "environment", "overview_svg", "render_site"]
