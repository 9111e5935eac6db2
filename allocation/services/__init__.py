"""The tally's services (``tally``), the Pabulib import and export (``interop``) and the tie lottery
(``lottery``). The package re-exports the tally's interface, so ``from allocation import services``
reads ``services.tally_request(...)``; its modules import each other directly, never through here.
"""

from .tally import (
    MSG_CERTIFY_MISSING,
    MSG_NO_DESIGN,
    MSG_TALLY_CLOSED,
    MSG_UNKNOWN_RULE,
    MSG_WITHDRAW_NOT_FUNDED,
    MSG_WITHDRAW_PHASE,
    MSG_WITHDRAW_REASON,
    PARAMS,
    DistrictOutcome,
    TallyInput,
    TallyRefused,
    current_runs,
    cycle_certify,
    district_result,
    project_withdraw,
    run_selected,
    tally_blockers,
    tally_cycle,
    tally_district,
    tally_request,
)

__all__ = [
    "MSG_TALLY_CLOSED",
    "MSG_NO_DESIGN",
    "MSG_UNKNOWN_RULE",
    "PARAMS",
    "TallyRefused",
    "DistrictOutcome",
    "tally_blockers",
    "TallyInput",
    "tally_district",
    "tally_cycle",
    "current_runs",
    "MSG_CERTIFY_MISSING",
    "cycle_certify",
    "MSG_WITHDRAW_REASON",
    "MSG_WITHDRAW_NOT_FUNDED",
    "MSG_WITHDRAW_PHASE",
    "project_withdraw",
    "run_selected",
    "district_result",
    "tally_request",
]
