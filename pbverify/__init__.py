"""pbverify: check a pbplatform audit bundle without the platform.

Pure Python (3.11 or later, the standard library only; numpy, when installed, speeds up the
method of equal shares and changes nothing in its result), no Django and nothing of the platform:
an auditor checks a bundle with ``python -m pbverify BUNDLE.zip`` (docs/audit-bundle.md, "Checking
a bundle without the platform"). The platform uses the same code — its tally runs these rules on
the ``.pb`` files it writes, its audit log is chained by ``pbverify.chain``, its bundle writer takes
its names from ``pbverify.bundle`` — so what an auditor re-runs is what counted.

- ``pbverify.verify`` — the checks (``bundle_verify``);
- ``pbverify.rules`` — the allocation rules (greedy, the method of equal shares, both completed);
- ``pbverify.pabulib`` — the Pabulib ``.pb`` parser and writer;
- ``pbverify.chain``, ``pbverify.canonical`` — the audit log's hash chain and its canonical JSON;
- ``pbverify.bundle`` — the bundle format's names and constants.
"""
