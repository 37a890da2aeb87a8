"""``cclreview link`` and ``cclreview eval-links``: ECCN -> HS6 links and their evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cclreview.cli import options
from cclreview.config import project_paths


@click.command("link")
@options.file("--entries", "ccl_entries.parquet [default: data/processed/ccl_entries.parquet].")
@options.file("--paragraphs", "ccl_paragraphs.parquet [default: next to --entries].")
@options.file(
    "--hs", "HS nomenclature CSV [default: data/raw/hs/harmonized_system_HS2022.csv].", dest="hs_path"
)
@click.option(
    "--concordance",
    "concordances",
    multiple=True,
    type=click.Path(),
    help="Concordance file or folder (repeatable) [default: data/raw/concordance if present].",
)
@options.flag("--no-curated", "Leave out the shipped curated table (for evaluation).")
@options.out_dir()
@options.setting("--top-k", 10, "Suggestions kept per ECCN.", type=click.IntRange(1, 100))
def link_cmd(
    entries: Path | None,
    paragraphs: Path | None,
    hs_path: Path | None,
    concordances: tuple[str, ...],
    no_curated: bool,
    out_dir: Path | None,
    top_k: int,
) -> None:
    """Link ECCNs to HS6 codes: curated > imported > suggested; D/E entries inherit.

    Writes eccn_hs_links.parquet (primary links), eccn_hs_link_candidates.parquet (all
    rows incl. lower-ranked suggestions), unlinked_eccns.csv, link_suggestions.csv (the
    suggestions to confirm), rejected_concordance_rows.csv. Suggestions are marked
    confirmed = False: they are not evidence until an analyst confirms them.
    Analyst CSVs with columns eccn,hs6,confidence,rationale,added in a concordance folder
    override the shipped curated rows.

    \b
    Example:
      cclreview link --out data/processed
      cclreview link --concordance ../shared/data/concordance/cn_dualuse_2026_pairs_cat013579.csv
    """
    from cclreview import contracts
    from cclreview.link.curated import CURATED_FILE
    from cclreview.link.pipeline import run_link

    paths = project_paths()
    out = out_dir or paths.processed
    # The CCL stage writes next to the other stage outputs: look in --out first.
    default_entries = out / contracts.CCL_ENTRIES
    if not default_entries.is_file():
        default_entries = paths.processed / contracts.CCL_ENTRIES
    entries_path = entries or default_entries
    para_path: Path | None = paragraphs or entries_path.parent / contracts.CCL_PARAGRAPHS
    if not paragraphs and para_path is not None and not para_path.is_file():
        para_path = None  # entry-level suggestions only
    hs_file = hs_path or paths.raw_hs / "harmonized_system_HS2022.csv"
    conc: list[str | Path] = list(concordances) or (
        [paths.raw_concordance] if paths.raw_concordance.is_dir() else []
    )
    result = run_link(
        entries_path, para_path, hs_file, out, conc, None if no_curated else CURATED_FILE, top_k
    )
    s: dict[str, Any] = result.summary
    n_all = len(result.candidates) if result.candidates is not None else len(result.links)
    click.echo(
        f"wrote {out / 'eccn_hs_links.parquet'} ({len(result.links)} primary links; {n_all} with alternatives)"
    )
    click.echo(
        "ECCNs by primary source: " + ", ".join(f"{k} {v}" for k, v in s["eccns_by_primary_source"].items())
    )
    click.echo(
        f"ECCNs with a confirmed link: {s['eccns_confirmed']}; with unconfirmed links only: "
        f"{s['eccns_unconfirmed_only']} (not evidence; offered in {out / 'link_suggestions.csv'})"
    )
    click.echo(
        "ECCNs with any link from: " + ", ".join(f"{k} {v}" for k, v in s["eccns_with_any_source"].items())
    )
    click.echo(
        f"imported links flagged as conflicts: {s['conflicts']}; rejected concordance rows: {s['rejected_rows']}"
    )
    click.echo(
        f"unlinked: {s['unlinked']} ("
        + ", ".join(f"{k}: {v}" for k, v in s["unlinked_by_reason"].items())
        + f") -> {out / 'unlinked_eccns.csv'}"
    )


@click.command("eval-links")
@options.file(
    "--links",
    "Links file; use eccn_hs_link_candidates.parquet (all suggestions) "
    "[default: data/processed/eccn_hs_link_candidates.parquet].",
    dest="links_path",
    exists=True,
    path_type=str,
)
@options.file(
    "--gold",
    "Gold pairs: China catalogue pairs CSV, the curated CSV, or any eccn,hs6 CSV/TSV; "
    "or a hand-judged gold (eccn,hs6,judgement,reason), e.g. tests/data/link_gold_judged.csv.",
    dest="gold_path",
    exists=True,
    path_type=str,
    required=True,
)
@options.setting("--k", 10, "Cut-off.", type=click.IntRange(1, 100))
@options.flag("--json", "Print the metrics as JSON.", dest="as_json")
@options.file("--out", "Also write the metrics JSON to this file.", dest="out_path", path_type=str)
def eval_links_cmd(
    links_path: str | None, gold_path: str, k: int, as_json: bool, out_path: str | None
) -> None:
    """Score the links against a gold: precision and recall by source, and the suggester.

    With a pair gold: the suggestions alone (recall@k, precision@k, MRR per category;
    gold ECCNs that are not A/B/C entries are reported and skipped), then the primary
    links of every source (precision, recall). With a hand-judged gold (a ``judgement``
    column): precision (right / judged links found; lenient: right or partly) overall,
    by source and for the evidence set (confirmed links), and recall of the right pairs.

    \b
    Example:
      cclreview eval-links --links data/processed/eccn_hs_link_candidates.parquet \\
          --gold ../shared/data/concordance/cn_dualuse_2026_pairs_cat013579.csv --k 10
      cclreview eval-links --links data/processed/eccn_hs_links.parquet \\
          --gold tests/data/link_gold_judged.csv
    """
    import pandas as pd

    from cclreview import contracts
    from cclreview.io import write_text
    from cclreview.link.evaluate import evaluate_links, judged_precision, read_gold, read_judged_gold

    path = Path(links_path) if links_path else project_paths().processed / contracts.ECCN_HS_LINK_CANDIDATES
    if not path.is_file():
        from cclreview.errors import SourceMissingError

        raise SourceMissingError(f"{path} not found: run `cclreview link` first or pass --links FILE")
    links = pd.read_parquet(path)
    judged = read_judged_gold(gold_path)
    if judged is not None:
        jres = judged_precision(links, judged)
        if out_path:
            write_text(json.dumps(jres, indent=2) + "\n", out_path)
        if as_json:
            click.echo(json.dumps(jres, indent=2))
            return
        click.echo(f"judged gold: {gold_path}: {jres['n_gold']} links; primary links of {path.name} scored")
        click.echo(
            f"{'links':<12}{'n':>5}{'right':>7}{'partly':>8}{'wrong':>7}{'precision':>11}{'lenient':>9}"
        )
        rows = [*jres["by_source"].items(), ("all", jres["overall"]), ("evidence", jres["evidence"])]
        for name, m in rows:
            click.echo(
                f"{name:<12}{m['n']:>5}{m['right']:>7}{m['partly']:>8}{m['wrong']:>7}"
                f"{m['precision']:>11.3f}{m['precision_lenient']:>9.3f}"
            )
        click.echo(
            f"recall of right pairs: {jres['recall']:.3f} (right or partly: {jres['recall_lenient']:.3f}); "
            f"by the evidence set (confirmed links): {jres['evidence_recall']:.3f}"
        )
        return
    if "primary" in links.columns and links["primary"].all():
        click.echo(
            f"note: {path.name} holds primary links only, so ECCNs with curated or imported links have "
            "no suggestions in it; evaluate eccn_hs_link_candidates.parquet instead",
            err=True,
        )
    result = evaluate_links(links, read_gold(gold_path), k)
    text = json.dumps(result, indent=2)
    if out_path:
        write_text(text + "\n", out_path)
    if as_json:
        click.echo(text)
        return
    o = result["overall"]
    click.echo(
        f"gold: {gold_path}: {o['n_eccns']} ECCNs, {o['n_pairs']} pairs "
        f"(skipped {result['skipped_eccns']} not A/B/C entries of the links file)"
    )
    nz = result["noise"]
    pl = nz["plausible_only"]
    if pl.get("n_eccns"):
        click.echo(
            f"noise: {nz['pairs_outside_usual_chapters']} gold pairs ({nz['share_outside_usual_chapters']:.0%}) "
            f"in chapters unusual for their ECCN; without them recall@{k} {pl[f'recall@{k}']:.3f}, "
            f"MRR {pl['mrr']:.3f} ({pl['n_eccns']} ECCNs)"
        )
    header = (
        f"{'cat':<5}{'n':>5}{'recall@' + str(k):>12}{'capped':>9}{'hit':>7}{'prec@' + str(k):>10}{'MRR':>8}"
    )
    click.echo(header)
    for name, m in [("all", o), *result["by_category"].items()]:
        if not m.get("n_eccns"):
            continue
        click.echo(
            f"{name:<5}{m['n_eccns']:>5}{m[f'recall@{k}']:>12.3f}{m[f'recall_capped@{k}']:>9.3f}"
            f"{m[f'hit@{k}']:>7.3f}{m[f'precision@{k}']:>10.3f}{m['mrr']:>8.3f}"
        )
    lk = result["links"]
    if lk["n_links"]:
        click.echo(
            f"primary links of the {lk['n_eccns']} gold ECCNs: precision {lk['precision']:.3f}, "
            f"recall {lk['recall']:.3f}; precision by source: "
            + ", ".join(f"{k} {v:.3f}" for k, v in lk["precision_by_source"].items())
        )


commands: list[click.Command] = [link_cmd, eval_links_cmd]
