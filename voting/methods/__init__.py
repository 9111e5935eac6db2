"""Ballot methods: each validates a whole ballot and says what is wrong.

Pure functions over plain data — no database, no formatting. ``validate(rules, ballot)`` returns a
list of :class:`Problem` (empty: the ballot is valid); ``voting.methods.messages`` turns problems
into sentences for people.
"""

from .base import Ballot, Method, Problem, Rules, validate

__all__ = ["Ballot", "Method", "Problem", "Rules", "validate"]
