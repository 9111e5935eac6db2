"""Small-cell protection for published counts: no published group of voters other
than a whole district is smaller than ``settings.PB_SMALL_CELL``. Used by the public audit bundle
and the public participation figures, so both publish the same groups."""

OTHER = "other"  # the group (channel, site, day, language) small groups are published under


def merge_small(counts: dict[str, int], threshold: int) -> dict[str, str]:
    """Published label for each group label: every group with fewer than ``threshold`` members goes
    to ``other``; if ``other`` is then still smaller than ``threshold``, the smallest remaining groups
    join it, one at a time, until it is not (or everything is ``other``). So no published group other
    than a whole district is smaller than the threshold, and no small group can be recovered by
    subtracting the named ones from the total."""
    merged = {label for label, n in counts.items() if n < threshold}
    if merged:
        while sum(counts[label] for label in merged) < threshold and len(merged) < len(counts):
            merged.add(min((label for label in counts if label not in merged), key=lambda x: (counts[x], x)))
    return {label: (OTHER if label in merged else label) for label in counts}
