"""Unlinkability: the order of the ballots in the export says nothing about the
order they were cast in. Ballot ids are random UUIDv4 and the export is sorted by id, so over 1,000
ballots cast one after the other through the real vote path, the rank correlation between export row
and casting order must be below 0.15 in absolute value.

Why 1,000 suffice: for unrelated orders the rank correlation is close to normal with mean 0 and
standard deviation 1/√(n − 1) ≈ 0.032 at n = 1,000, so 0.15 is 4.7 standard deviations and chance
crosses it about twice in a million runs. A link does not hide below it: ids in casting order (a
counter, a time-ordered UUID) give 1, and even ids that only tell which half of the voting a ballot
came from give about 0.75 (``test_spearman_sees_a_link_when_there_is_one``). More ballots would
only shrink a margin that is already wide."""

import random
import time

import pytest

from audit.bundle import bundle_write
from voting import crypto, methods, services
from voting.tests.builders import assert_roll_matches_ballots, voter, voting_world

from .builders import bundle_files, close_voting, csv_rows

pytestmark = pytest.mark.django_db

BALLOTS = 1_000
LIMIT = 0.15  # 4.7 standard deviations of the rank correlation of unrelated orders at 1,000


def spearman(ranks: list[int]) -> float:
    """Spearman's rank correlation between position i and ranks[i] (a permutation of 0..n-1)."""
    n = len(ranks)
    d2 = sum((position - rank) ** 2 for position, rank in enumerate(ranks))
    return 1 - 6 * d2 / (n * (n * n - 1))


def test_spearman_sees_a_link_when_there_is_one():
    n = 1000
    assert spearman(list(range(n))) == pytest.approx(1.0)
    assert spearman(list(reversed(range(n)))) == pytest.approx(-1.0)
    nearly = list(range(n))
    nearly[10], nearly[500] = nearly[500], nearly[10]
    assert spearman(nearly) > 0.9
    # Only which half of the voting each ballot came from, random within each half.
    rng = random.Random(7)
    first, second = list(range(n // 2)), list(range(n // 2, n))
    rng.shuffle(first)
    rng.shuffle(second)
    assert spearman(first + second) > 0.7 > LIMIT


def test_export_order_is_unrelated_to_casting_order(official, tmp_path):
    world = voting_world(official)
    district = world.district("A")
    codes = ("A-01", "A-02", "A-03")
    receipt_order: dict[str, int] = {}
    started = time.perf_counter()
    for n in range(BALLOTS):
        result = services.ballot_cast(
            voter=voter(f"unlink-{n}"), district=district, ballot=methods.Ballot(choices=(codes[n % 3],))
        )
        receipt_order[crypto.receipt_hash(result.receipt_code)] = n
    cast_seconds = time.perf_counter() - started
    close_voting(world)

    files = bundle_files(bundle_write(cycle=world.cycle, out=tmp_path / "b.zip").path)
    rows = csv_rows(files["ballots.csv"])[1:]
    assert len(rows) == BALLOTS
    cast_rank = [receipt_order[row[5]] for row in rows]  # casting position of each export row, in row order
    rho = spearman(cast_rank)

    assert abs(rho) < LIMIT, f"export order correlates with casting order: rho={rho:.4f}"
    # The .pb (the tally input) is in the same id order: no link there either.
    pb_ids = [line.split(";")[0] for line in files["A.pb"].decode().split("VOTES\n")[1].splitlines()[1:]]
    assert pb_ids == [row[0] for row in rows]
    assert_roll_matches_ballots()
    print(f"cast {BALLOTS} ballots in {cast_seconds:.1f} s; rho = {rho:+.4f}")
