"""Getting the sources the way a user would: official downloads or a local mirror.

Every file lands in ``data/raw/`` through a temp file and a rename, and is recorded in
``data/raw/MANIFEST.json`` (URL or mirror path, retrieval time, vintage, bytes, sha256,
licence). Downloads show a progress bar, resume an interrupted ``.part`` file with an
HTTP Range request, and verify a checksum when one is known. With a mirror
(``CCLREVIEW_MIRROR`` or ``--mirror``) nothing is downloaded: files come from the mirror,
and a required file missing from it is an error that says where to put it.

The package re-exports its public names (``from cclreview.fetch import fetch_all``):

* :mod:`~cclreview.fetch.http`: one download (resume, checksum, progress);
* :mod:`~cclreview.fetch.store`: mirror copies, kept files, manifest records;
* :mod:`~cclreview.fetch.ecfr`, :mod:`~cclreview.fetch.baci`,
  :mod:`~cclreview.fetch.files`: the recipes per source, and :func:`fetch_all`.
"""

from __future__ import annotations

from cclreview.fetch.baci import BACI_DEFAULT, BACI_LICENCE, baci_base, baci_url, fetch_baci
from cclreview.fetch.ecfr import (
    CCL_LICENCE,
    EAR_PARTS,
    ECFR_DEFAULT,
    ccl_url,
    ear_url,
    ecfr_base,
    fetch_ccl,
    fetch_ear,
    latest_ecfr_date,
)
from cclreview.fetch.files import fetch_all, fetch_file
from cclreview.fetch.http import CHUNK, TIMEOUT_S, USER_AGENT, download
from cclreview.fetch.store import FetchResult, copy_file

__all__ = [
    "BACI_DEFAULT",
    "BACI_LICENCE",
    "CCL_LICENCE",
    "CHUNK",
    "EAR_PARTS",
    "ECFR_DEFAULT",
    "TIMEOUT_S",
    "USER_AGENT",
    "FetchResult",
    "baci_base",
    "baci_url",
    "ccl_url",
    "copy_file",
    "download",
    "ear_url",
    "ecfr_base",
    "fetch_all",
    "fetch_baci",
    "fetch_ccl",
    "fetch_ear",
    "fetch_file",
    "latest_ecfr_date",
]
