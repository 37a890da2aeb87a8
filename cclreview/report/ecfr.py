"""Links from an ECCN to its text on the eCFR.

The whole Commerce Control List is one eCFR page (Supplement No. 1 to Part 774); the
eCFR gives ECCNs no anchors of their own. The path below is the one the eCFR XML
itself declares in its ``hierarchy_metadata`` (``/title-15/part-774/appendix-Supplement
No. 1 to Part 774``), under ``/current/`` so that staff read the law in force. To land
on the entry rather than the top of a very long page, the link carries a URL text
fragment (``#:~:text=3A090%20Integrated``: the ECCN followed by the first word of its
heading, which matches the entry's own header line and not the many cross-references
such as "see 3A090"). Browsers without text-fragment support simply open the page at
the top, where Ctrl+F on the ECCN finds it.
"""

from __future__ import annotations

import re
from urllib.parse import quote

ECFR_CCL_URL = (
    "https://www.ecfr.gov/current/title-15/part-774/appendix-Supplement%20No.%201%20to%20Part%20774"
)

_FIRST_WORD = re.compile(r"[A-Za-z0-9]+")


def ecfr_url(eccn: str, heading: str | None = None) -> str:
    """Return the eCFR link of ``eccn``, pointed at its header line when possible.

    Parameters
    ----------
    eccn
        Five-character ECCN such as ``"3A090"``.
    heading
        The entry's heading (without the ECCN); its first word makes the text
        fragment specific to the entry's header.

    Returns
    -------
    str
        ``ECFR_CCL_URL`` plus a ``#:~:text=`` fragment.
    """
    needle = eccn.strip()
    if heading:
        words = heading.strip().split(None, 1)
        # Only a plain first word: quotes and brackets are rendered differently on eCFR.
        if words and _FIRST_WORD.fullmatch(words[0]):
            needle = f"{needle} {words[0]}"
    return f"{ECFR_CCL_URL}#:~:text={quote(needle, safe='')}"
