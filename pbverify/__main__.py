"""``python -m pbverify BUNDLE.zip``: every check of pbverify.verify, one line each; exit status 0
when all pass, 1 naming the first mismatch (2 for a usage error)."""

import argparse
import sys

from .verify import bundle_verify


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pbverify",
        description="Check a pbplatform audit bundle using only the bundle: manifest hashes, ballots.csv "
        "against the .pb files row by row, voter roll = ballots, a recount of every district with its "
        "certified rule, and the audit log's hash chain.",
    )
    parser.add_argument("bundle", help="the bundle's zip file")
    args = parser.parse_args(argv)
    report = bundle_verify(args.bundle)
    for line in report.lines():
        sys.stdout.write(line + "\n")
    if not report.ok:
        sys.stderr.write(report.verdict(args.bundle) + "\n")
        return 1
    sys.stdout.write(report.verdict(args.bundle) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
