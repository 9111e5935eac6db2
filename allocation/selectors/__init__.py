"""The tally page's reads (``tally``), the public results (``results``) and the rule preview
(``preview``). The package re-exports the tally page's reads, so ``from allocation import selectors``
reads ``selectors.tally_page(...)``; its modules import each other directly, never through here.
"""

from .tally import (
    REQUEST_WAIT,
    RUNNING_STALE,
    Column,
    DistrictTally,
    Funded,
    Published,
    Row,
    TallyPage,
    applicable_rules,
    published_selected_codes,
    tally_page,
)

__all__ = [
    "REQUEST_WAIT",
    "RUNNING_STALE",
    "Column",
    "Row",
    "DistrictTally",
    "Funded",
    "Published",
    "TallyPage",
    "applicable_rules",
    "tally_page",
    "published_selected_codes",
]
