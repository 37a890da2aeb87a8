"""Evidence dossiers: one static HTML page per ECCN, and an index, for reviewers.

``cclreview dossier`` reads the stage outputs (and the reviewers' notes from the
workbook) and writes ``reports/dossier/index.html`` plus ``reports/dossier/<ECCN>.html``:
the control and its text, who can lift it, the 15 CFR 768 criteria with the numbers
behind them, supplier and China charts (inline SVG), the links behind the evidence,
sensitivity, flags, what is missing, and the reviewer's decision. Pages work offline
(no remote script, style or font) and print to one or two pages.
"""

from cclreview.dossier.build import DossierResult, build_dossier, render_site
from cclreview.dossier.context import page_name
from cclreview.dossier.data import INPUT_FILES, load_dossier_inputs

__all__ = ["INPUT_FILES", "DossierResult", "build_dossier", "load_dossier_inputs", "page_name", "render_site"]
