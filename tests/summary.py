"""Add up the JUnit reports of every tox environment into one closing line.

Prints one line per environment, then ``N passed, N failed, N skipped``. Exits 1
when no test ran at all.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main(folder: str) -> int:
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    reports = sorted(Path(folder).glob("junit-*.xml"))
    for report in reports:
        suite = ET.parse(report).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        tests, failures, errors, skipped = (
            int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")
        )
        failed = failures + errors
        counts = {"passed": tests - failed - skipped, "failed": failed, "skipped": skipped}
        for key, value in counts.items():
            totals[key] += value
        name = report.stem.removeprefix("junit-")
        print(f"{name}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 0 if reports and totals["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
