"""The demo's last phases (registered with budgets.demo): ``load_demo --phase implementation`` moves
the certified demo on like any cycle; ``--phase archived`` archives it at once (a demo cannot wait
for the retention period) through ``cycle_archive`` with a reason, which erases its voters' details."""

from accounts.roles import Role
from budgets.demo import register_demo_mover
from budgets.phases import Phase

from .services import cycle_archive

DEMO_ARCHIVE_REASON = "Demo: archived at once, without waiting for the retention period."


def archive_demo(*, cycle, users):
    return cycle_archive(actor=users[Role.OFFICIAL], cycle=cycle, early=True, reason=DEMO_ARCHIVE_REASON)


def register() -> None:
    register_demo_mover(Phase.ARCHIVED, archive_demo)
