"""Method of Equal Shares (MES) completed by add1, and MES followed by greedy.

The definition is pabutools 1.2.3's `method_of_equal_shares(..., tie_breaking=lexico_tie_breaking,
voter_budget_increment=1)`, with cost utilities for approval and choose-1 ballots and points as utilities for
cumulative ballots:

* every ballot is a voter, empty ones included; each starts with budget ÷ number of ballots (an exact fraction);
* a project is affordable while its supporters (positive utility) together hold at least its cost; MES repeatedly
  selects the affordable project with the smallest affordability ρ, where supporter i pays min(budget_i, ρ·u_i)
  and the payments add up to the cost; ties go to the project first in the tie order;
* add1: if the outcome is not exhaustive (a supported, unselected project still fits in what is left of the
  budget), every voter's budget grows by one currency unit and MES runs again from the start, until an outcome is
  exhaustive, or costs more than the budget, in which case the previous outcome is the answer. Projects nobody
  supports are never selected. A project of cost 0 is worth 0 under cost utilities, so (as in pabutools) equal
  shares never selects it on approval ballots (greedy completion does); on cumulative ballots a supported one is
  always selected.

Speed. Identical ballots are grouped. Each run is first computed in floating point (numpy) with a rigorous
error bound carried for every voter group's budget; every decision a run takes (is a project affordable, which
project has the smallest ρ) is accepted only if it holds for every value inside the error bounds. When a
decision is too close to call (a near-tie, or a budget check on the edge), the run is recomputed from scratch in
exact rational arithmetic (`fractions.Fraction`). Exact ties where every supporter pays the same share are settled
exactly (ρ = cost ÷ total utility) without leaving the fast path. So the outcome is always the exact one — and
without numpy, which is optional, every round is the exact run.
"""

from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal
from fractions import Fraction

from .base import Election, Outcome, RuleNotApplicable, make_outcome
from .greedy_rule import greedy_walk

_EPS = 2.0**-52
# Half-width of the window inside which a float ρ must be certified, relative to ρ.
_WINDOW = 1e-7


def _numpy():
    """numpy, or None where it is not installed: numpy is optional (the verifier needs nothing but Python),
    and without it every round takes the exact run, which gives the same outcome, only slower. Imported on
    first use: greedy tallies and exact-only runs do not pay for it."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _solve(np, held, ratio, mult, weight, weight_sum: float, cost: float) -> tuple[float, float]:
    """Float ρ with Σ mult·min(held, ρ·utility) = cost, and how far ρ lies outside its own capped/uncapped split.

    Poor/rich iteration (those who cannot pay ρ·utility pay all they have; repeat until nobody else drops out),
    which needs no sort and usually stops after one or two steps; a sorted walk if it does not.
    """
    held_weight = mult * held
    rho = cost / weight_sum
    capped = 0
    for _ in range(6):
        poor = ratio < rho
        count = int(np.count_nonzero(poor))
        if count == capped:
            return rho, 0.0
        capped = count
        rest = weight_sum - float(weight @ poor)
        if not rest > 0:
            break
        rho = (cost - float(held_weight @ poor)) / rest
    order = ratio.argsort()
    ratio_sorted = ratio[order]
    held_sorted = held_weight[order]
    weight_sorted = weight[order]
    paid_before = held_sorted.cumsum() - held_sorted
    weight_from = weight_sum - weight_sorted.cumsum() + weight_sorted
    enough = paid_before + ratio_sorted * weight_from >= cost
    j = int(enough.argmax())
    if not enough[j]:
        return math.nan, 0.0
    rho = float((cost - paid_before[j]) / weight_from[j])
    outside = max(0.0, rho - float(ratio_sorted[j]), float(ratio_sorted[j - 1]) - rho if j else 0.0)
    return rho, outside


class _Profile:
    """The ballots grouped by content, and for each candidate project its supporter groups and utilities."""

    def __init__(self, election: Election):
        if election.kind not in ("approval", "choose-1", "cumulative"):
            raise RuleNotApplicable(
                f"Equal shares is not defined for {election.kind} ballots; use greedy for ranked ballots."
            )
        self.election = election
        self.voters = len(election.ballots)
        cumulative = election.kind == "cumulative"
        counts: Counter = Counter()
        for ballot in election.ballots:
            if cumulative:
                key = tuple(sorted((pid, u) for pid, u in zip(ballot.projects, ballot.points, strict=True) if u > 0))
            else:
                key = tuple(sorted(ballot.projects))
            if key:
                counts[key] += 1
        self.multiplicity: list[int] = list(counts.values())
        supporters: dict[str, list[tuple[int, Fraction | int]]] = {pid: [] for pid in election.costs}
        for group, key in enumerate(counts):
            if cumulative:
                for pid, u in key:
                    supporters[pid].append((group, u))
            else:
                for pid in key:
                    supporters[pid].append((group, None))
        self.free: list[str] = []  # supported, cost 0, points as utilities: always selected
        self.worthless: list[str] = []  # cost 0 under cost utilities: utility 0 to everyone, never selected
        self.unsupported: list[str] = []
        self.candidates: list[str] = []  # supported, positive cost; in tie order, so index order breaks ties
        self.cost: list[Fraction] = []
        self.support: list[list[tuple[int, Fraction | int, int]]] = []  # (group, utility, multiplicity)
        self.total_utility: list[Fraction | int] = []
        for pid in election.tie_order:
            cost = election.costs[pid]
            if not supporters[pid]:
                self.unsupported.append(pid)
                continue
            if cost == 0:
                (self.free if cumulative else self.worthless).append(pid)
                continue
            exact_cost = Fraction(cost)
            rows = [(g, exact_cost if u is None else u, self.multiplicity[g]) for g, u in supporters[pid]]
            self.candidates.append(pid)
            self.cost.append(exact_cost)
            self.support.append(rows)
            self.total_utility.append(sum(m * u for _g, u, m in rows))
        # ρ when nobody is short of money: a lower bound on ρ at any moment, exact when every supporter pays in full.
        self.rho_uncapped = [c / total for c, total in zip(self.cost, self.total_utility, strict=True)]
        self._arrays = None
        self.stats = {"fast": 0, "exact": 0, "region": 0}  # how the rounds were computed (for tests and tuning)

    # -- exact run ---------------------------------------------------------------------------------------------

    def run_exact(self, share: Fraction) -> list[int]:
        """One MES run in exact arithmetic; returns the selected candidates' indices in order of selection."""
        budget = [share] * len(self.multiplicity)
        lower = list(self.rho_uncapped)
        remaining = set(range(len(self.candidates)))
        chosen: list[int] = []
        while remaining:
            best: Fraction | None = None
            best_index = -1
            for i in sorted(remaining, key=lambda i: (lower[i], i)):
                if best is not None and lower[i] > best:
                    break
                rows = self.support[i]
                cost = self.cost[i]
                if sum(m * budget[g] for g, _u, m in rows) < cost:
                    remaining.discard(i)  # budgets only shrink: unaffordable for the rest of the run
                    continue
                paid = Fraction(0)
                weight = self.total_utility[i]
                for g, u, m in sorted(rows, key=lambda row: budget[row[0]] / row[1]):
                    rho = (cost - paid) / weight
                    if rho * u <= budget[g]:
                        break
                    paid += m * budget[g]
                    weight -= m * u
                lower[i] = rho
                if best is None or rho < best or (rho == best and i < best_index):
                    best, best_index = rho, i
            if best is None:
                break
            chosen.append(best_index)
            remaining.discard(best_index)
            for g, u, _m in self.support[best_index]:
                budget[g] = max(budget[g] - best * u, 0)
        return chosen

    # -- exact run, valid for a range of rounds -----------------------------------------------------------------

    def run_region(self, start: Fraction, first: int) -> tuple[list[int], int | float]:
        """One exact MES run at share start + first, and the last round up to which it provably runs identically.

        With the per-voter share written start + k, every budget, payment and ρ of a run is an affine function of
        k as long as the run keeps its shape: the same projects found (un)affordable, the same supporters paying
        their whole remaining budget, the same winners. Each of those facts is an affine inequality in k; the
        run is identical for every k at which all of them hold, an interval starting at `first`. Returns the
        selected candidates and the last k of that interval (math.inf if unbounded).
        """
        k = first
        limit: list[int | float] = [math.inf]

        def holds_while(a: Fraction, slope: Fraction, strict: bool) -> None:
            # a + slope·k ≥ 0 (> 0 if strict) holds at k = first; how far does it keep holding?
            if slope >= 0:
                return
            edge = -a / slope
            last = math.floor(edge) if not strict else math.ceil(edge) - 1
            limit[0] = min(limit[0], max(last, first))

        groups = len(self.multiplicity)
        base = [start] * groups  # budget of a group member = base + slope·k
        slope = [Fraction(1)] * groups
        lower = [(rho, Fraction(0)) for rho in self.rho_uncapped]  # affine lower bounds on each project's ρ
        remaining = set(range(len(self.candidates)))
        chosen: list[int] = []
        while remaining:
            best: Fraction | None = None
            best_index = -1
            found: dict[int, tuple[Fraction, Fraction, set[int]]] = {}
            for i in sorted(remaining, key=lambda i: (lower[i][0] + lower[i][1] * k, i)):
                if best is not None and lower[i][0] + lower[i][1] * k > best:
                    break
                rows = self.support[i]
                cost = self.cost[i]
                total_base = sum(m * base[g] for g, _u, m in rows)
                total_slope = sum(m * slope[g] for g, _u, m in rows)
                if total_base + total_slope * k < cost:
                    holds_while(cost - total_base, -total_slope, True)
                    remaining.discard(i)
                    continue
                holds_while(total_base - cost, total_slope, False)
                held = {g: base[g] + slope[g] * k for g, _u, _m in rows}
                paid = Fraction(0)
                weight = self.total_utility[i]
                capped_base = Fraction(0)
                capped_slope = Fraction(0)
                capped: set[int] = set()
                for g, u, m in sorted(rows, key=lambda row: held[row[0]] / row[1]):
                    if (cost - paid) / weight * u <= held[g]:
                        break
                    paid += m * held[g]
                    weight -= m * u
                    capped_base += m * base[g]
                    capped_slope += m * slope[g]
                    capped.add(g)
                rho_base = (cost - capped_base) / weight
                rho_slope = -capped_slope / weight
                for g, u, _m in rows:  # who pays in full stays so, and nobody else starts to
                    a = rho_base * u - base[g]
                    b = rho_slope * u - slope[g]
                    if g in capped:
                        holds_while(a, b, False)
                    else:
                        holds_while(-a, -b, False)
                lower[i] = (rho_base, rho_slope)
                found[i] = (rho_base, rho_slope, capped)
                rho = rho_base + rho_slope * k
                if best is None or rho < best or (rho == best and i < best_index):
                    best, best_index = rho, i
            if best is None:
                break
            rho_base, rho_slope, capped = found[best_index]
            for j in remaining:  # the winner stays ahead of every other project (a lower bound of it)
                if j != best_index:
                    holds_while(lower[j][0] - rho_base, lower[j][1] - rho_slope, j < best_index)
            chosen.append(best_index)
            remaining.discard(best_index)
            for g, u, _m in self.support[best_index]:
                if g in capped:
                    base[g] = slope[g] = Fraction(0)
                else:
                    base[g] -= rho_base * u
                    slope[g] -= rho_slope * u
        return chosen, limit[0]

    # -- fast run ----------------------------------------------------------------------------------------------

    def _prepare_arrays(self) -> None:
        np = _numpy()
        arrays = []
        for i, rows in enumerate(self.support):
            index = np.fromiter((g for g, _u, _m in rows), dtype=np.intp, count=len(rows))
            utility = np.fromiter((float(u) for _g, u, _m in rows), dtype=np.float64, count=len(rows))
            mult = np.fromiter((m for _g, _u, m in rows), dtype=np.float64, count=len(rows))
            weight = mult * utility
            arrays.append(
                (
                    index,
                    utility,
                    mult,
                    weight,
                    float(weight.sum()),
                    float(self.cost[i]),
                    (len(rows) + 8) * 4 * _EPS,  # bound on the relative rounding error of a sum over the supporters
                )
            )
        self._arrays = arrays
        # Lower bounds on ρ, rounded down so that they stay lower bounds.
        self._lower_float = [float(rho) * (1 - 4 * _EPS) for rho in self.rho_uncapped]

    def run_fast(self, share: Fraction) -> list[int] | None:
        """One MES run in floating point with certified decisions; None when a decision is too close to call
        (or without numpy)."""
        np = _numpy()
        if np is None:
            return None
        if self._arrays is None:
            self._prepare_arrays()
        arrays = self._arrays
        groups = len(self.multiplicity)
        start = float(share)
        budget = np.full(groups, start)
        error = np.full(groups, abs(float(Fraction(start) - share)) * 2 + start * _EPS)
        lower = list(self._lower_float)
        remaining = set(range(len(self.candidates)))
        chosen: list[int] = []
        while remaining:
            best_high = math.inf
            evaluated = []
            for i in sorted(remaining, key=lower.__getitem__):  # order among equal bounds does not matter
                if lower[i] > best_high:
                    break
                index, utility, mult, weight, weight_sum, cost, gamma = arrays[i]
                held = budget[index]
                held_error = error[index]
                total = float(mult @ held)
                spread = float(mult @ held_error) * (1 + gamma)
                slack = spread + gamma * total + 4 * _EPS * cost
                if total + slack < cost:
                    remaining.discard(i)
                    continue
                if total - slack < cost:
                    return None  # affordable or not: too close to call
                if best_high < math.inf:
                    # Cheap test before sorting: if paying best_high per unit of utility cannot cover the cost
                    # even with every budget error in its favour, this project's ρ is above best_high.
                    paid = float(mult @ np.minimum(held, best_high * utility))
                    if paid + spread + gamma * (paid + cost) + 4 * _EPS * best_high * weight_sum < cost:
                        lower[i] = best_high
                        continue
                rho, outside = _solve(np, held, held / utility, mult, weight, weight_sum, cost)
                if not 0 < rho < math.inf:
                    return None
                # Certify ρ: the exact ρ* lies within ±delta of rho if delta ≤ window. Groups whose ratio (less
                # its error) is above the window cannot pay in full anywhere in it: they give the slope of the
                # payment function there; the others carry the budget errors.
                window = _WINDOW * rho
                error_ratio = float((held_error / utility).max())
                limit = ((rho + window) * (1 + 8 * _EPS) + error_ratio) * (1 + 8 * _EPS)
                maybe_capped = held <= limit * utility
                prefix_weight = float(weight @ maybe_capped)
                slope = weight_sum - prefix_weight - 3 * gamma * weight_sum
                if slope <= 0:
                    return None
                drift = float((mult * held_error) @ maybe_capped) * (1 + gamma) if prefix_weight else 0.0
                rounding = 2 * gamma * (total + rho * weight_sum + cost) + weight_sum * outside
                delta = (drift + rounding) / slope * (1 + 1e-6) + 16 * _EPS * rho
                if delta > window:
                    return None
                lower[i] = rho - delta
                evaluated.append((i, rho, delta, prefix_weight == 0))
                best_high = min(best_high, rho + delta)
            if not evaluated:
                break
            close = [item for item in evaluated if item[1] - item[2] <= best_high]
            if len(close) == 1:
                winner = close[0]
            elif all(item[3] for item in close):
                # Everyone pays in full for each of them: ρ = cost ÷ total utility, exactly.
                winner = min(close, key=lambda item: (self.rho_uncapped[item[0]], item[0]))
            else:
                return None
            i, rho, delta, _uncapped = winner
            index, utility, _mult, _weight, _weight_sum, _cost, _gamma = arrays[i]
            held = budget[index]
            held_error = error[index]
            price = rho * utility
            budget[index] = held - np.minimum(held, price)
            new_error = (held_error + (delta + 8 * _EPS * rho) * utility + 8 * _EPS * held) * (1 + 4 * _EPS)
            # Sure to pay everything in both exact and float arithmetic: both budgets are exactly 0.
            new_error[(held + held_error) * (1 + 4 * _EPS) < (rho - delta) * (1 - 8 * _EPS) * utility] = 0.0
            error[index] = new_error
            chosen.append(i)
            remaining.discard(i)
        return chosen

    # -- add1 --------------------------------------------------------------------------------------------------

    def add1(self, *, exact_only: bool = False) -> tuple[list[str], dict]:
        """MES with add1 completion; returns the selected ids and details of the run that produced them.

        Rounds are computed with the fast run, or with `run_region`, which proves a whole range of rounds gives
        the same outcome and skips it. Which one is used is a cost estimate (elections with few distinct
        ballots and a large share per voter take thousands of rounds, each cheap to jump over); every path
        gives the exact outcome. `exact_only` computes every round with the plain exact run (for tests).
        """
        election = self.election
        if self.voters == 0:
            return [], {"add1_rounds": 0, "voter_budget": "0"}
        costs = election.costs
        budget = election.budget
        start = Fraction(budget) / self.voters
        candidates = self.candidates
        previous: list[str] = list(self.free)
        k = 0
        # Cost model in rough microseconds: a region run touches every supporter with fractions at every step; a
        # fast round is a few dozen vectorised evaluations. A region run is tried once the fast rounds since the
        # last try cost four times as much, and is kept while the rounds it skips would have cost more than it.
        entries = sum(len(rows) for rows in self.support)
        region_cost = 5.0 * entries * (len(candidates) + 1)
        fast_round_cost = 50.0 * (len(candidates) + 1) + 100.0
        spent_fast = 0.0
        backoff = 4.0
        self.stats = {"fast": 0, "exact": 0, "region": 0}
        while True:
            last = k
            if not candidates:
                chosen: list[int] = []
            elif exact_only:
                chosen = self.run_exact(start + k)
                self.stats["exact"] += 1
            elif spent_fast >= region_cost * backoff:
                chosen, last = self.run_region(start, k)
                self.stats["region"] += 1
                if (last - k) * fast_round_cost < region_cost:
                    spent_fast, backoff = 0.0, backoff * 2
            else:
                chosen = self.run_fast(start + k)
                if chosen is None:
                    chosen = self.run_exact(start + k)
                    self.stats["exact"] += 1
                else:
                    self.stats["fast"] += 1
                spent_fast += fast_round_cost
            selected = self.free + [candidates[i] for i in chosen]
            spent = sum((costs[pid] for pid in selected), Decimal(0))
            if spent > budget:
                selected, k = previous, k - 1
                break
            left = budget - spent
            chosen_set = set(chosen)
            if all(i in chosen_set or costs[candidates[i]] > left for i in range(len(candidates))):
                break
            if last == math.inf:  # pragma: no cover - MES money grows without bound, so the outcome must change
                raise RuntimeError("equal shares: an unbounded round range that is neither exhaustive nor over budget")
            previous = selected
            k = last + 1
        return selected, {"add1_rounds": k, "voter_budget": str(start + k)}

    def reasons(self, selected: list[str]) -> dict[str, dict]:
        chosen = set(selected)
        reasons = {pid: {"reason": "no_support"} for pid in self.unsupported}
        reasons.update((pid, {"reason": "zero_cost"}) for pid in self.worthless)
        for pid in self.candidates:
            if pid not in chosen:
                reasons[pid] = {"reason": "supporters_could_not_afford"}
        return reasons


def mes(election: Election, *, exact_only: bool = False) -> Outcome:
    """Method of Equal Shares with add1 completion (approval, choose-1: cost utilities; cumulative: points)."""
    profile = _Profile(election)
    selected, details = profile.add1(exact_only=exact_only)
    return make_outcome(election, "mes", selected, profile.reasons(selected), details=details)


def mes_greedy(election: Election, *, exact_only: bool = False) -> Outcome:
    """MES (add1), then greedy by votes spends what is left: approvals, or points for cumulative ballots.

    pabutools defines this completion for approval ballots only (greedy by approvals, cost utilities); for
    cumulative ballots it continues by total points, the platform's own greedy for those ballots.
    """
    profile = _Profile(election)
    selected, details = profile.add1(exact_only=exact_only)
    mes_reasons = profile.reasons(selected)
    votes = election.vote_totals()
    spent = sum((election.costs[pid] for pid in selected), Decimal(0))
    added, greedy_reasons = greedy_walk(election, votes, already=selected, spent=spent)
    reasons = {pid: {**reason, "mes_reason": mes_reasons[pid]["reason"]} for pid, reason in greedy_reasons.items()}
    details = {**details, "completed_by_greedy": election.in_tie_order(added)}
    return make_outcome(election, "mes-greedy", selected + added, reasons, votes=votes, details=details)
