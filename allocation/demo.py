"""The demo's results (registered with budgets.demo): ``load_demo --phase results`` tallies each
ward with its declared rule and certifies, the only way a cycle reaches results."""

from accounts.roles import Role
from budgets.demo import register_demo_mover
from budgets.phases import Phase

from .services import cycle_certify, tally_cycle

DEMO_CERTIFY_REASON = "Demo: tallied with the declared rules."


def certify_demo(*, cycle, users):
    tally_cycle(cycle=cycle)
    return cycle_certify(actor=users[Role.OFFICIAL], cycle=cycle, reason=DEMO_CERTIFY_REASON)


def register() -> None:
    register_demo_mover(Phase.RESULTS, certify_demo)
