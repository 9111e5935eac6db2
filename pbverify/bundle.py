"""The audit bundle's format, as the platform writes it and the verifier reads it
(docs/audit-bundle.md): the names, the ``ballots.csv`` columns and the one ``void_reason`` the
checks read. The platform's writer imports these, so writer and checker cannot drift apart."""

FORMAT = "pbplatform-audit-bundle/1"
MANIFEST = "manifest.json"
BALLOTS_HEADER = ["ballot_id", "district", "channel", "choices", "points", "receipt_hash", "voided", "void_reason"]
# Every bundle holds these, plus one ``<district>.pb`` per district the manifest lists.
FIXED_FILES = ("ballots.csv", "design.json", "tally_runs.json", "turnout.json", "paper.json", "audit_log.jsonl")
# The ``void_reason`` of a ballot its voter replaced (a cycle that lets voters change their
# ballot): the roll has one entry for that voter, so the turnout check leaves such rows out.
VOID_REASON_SUPERSEDED = "superseded by the voter's later ballot"
