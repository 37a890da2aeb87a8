"""``python -m cclreview.contracts [--write-docs]``: print or regenerate the contracts' docs."""

from __future__ import annotations

import sys

from cclreview.contracts.docs import main

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv))
