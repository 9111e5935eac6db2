"""Eligibility, verification, ballots and the voter roll (DESIGN.md §3) — built by the voting issue."""
