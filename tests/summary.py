"""Add up every tox environment into one closing line, and keep each one's log.

    python tests/summary.py ARTIFACTS

Reads ``ARTIFACTS/tox-result.json`` (tox's ``--result-json``) and the JUnit reports
``ARTIFACTS/junit-<env>.xml``. A test environment counts its tests; any other
environment (lint, typecheck, migrations, packaging) counts as one check, passed or
failed by its exit code; an environment tox skipped (no interpreter) counts as one
skipped. A test environment that failed outside its tests (install, a crash) adds
one failure. Writes every command with its output to ``ARTIFACTS/tox-<env>.log``.

Prints one line per environment, then ``N passed, N failed, N skipped``. Exits 1
when something failed or nothing passed.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def junit_counts(report: Path) -> dict[str, int]:
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    tests, failures, errors, skipped = (
        int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")
    )
    failed = failures + errors
    return {"passed": tests - failed - skipped, "failed": failed, "skipped": skipped}


def write_log(path: Path, name: str, env: dict[str, Any]) -> None:
    """Each command tox ran for ``name``, with its exit code and output, in the order run."""
    commands = sorted(env.get("setup", []) + env.get("test", []), key=lambda command: command["start"])
    with path.open("w") as log:
        for command in commands:
            log.write(f"$ {' '.join(command['command'])}\n")
            log.write(command["output"] + command["err"])
            took = f"{command['run_id']}: exit code {command['retcode']}, {command['elapsed']:.1f} s"
            log.write(f"[{took}]\n\n")
        result = env["result"]
        outcome = f"exit code {result['exit_code']}"
        if result["skipped"]:
            outcome = "skipped (no interpreter found)"
        log.write(f"{name}: {outcome}, {result['duration']:.1f} s\n")


def main(folder: str) -> int:
    artifacts = Path(folder)
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    results = artifacts / "tox-result.json"
    envs = json.loads(results.read_text())["testenvs"] if results.exists() else {}
    # tox lists the environments it did not run without a result.
    envs = {name: env for name, env in envs.items() if env.get("result")}
    reports = {path.stem.removeprefix("junit-"): path for path in sorted(artifacts.glob("junit-*.xml"))}
    if not envs:
        print(f"tox left no results in {results}")
        totals["failed"] += 1
    for name in [*envs, *(name for name in reports if name not in envs)]:
        env = envs.get(name)
        result = env["result"] if env else {"success": True, "skipped": False}
        if env:
            write_log(artifacts / f"tox-{name}.log", name, env)
        if result["skipped"]:
            counts, line = {"skipped": 1}, "skipped (no interpreter found)"
        elif name in reports:
            counts = junit_counts(reports[name])
            line = f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
            if not result["success"] and not counts["failed"]:
                counts["failed"] += 1
                line += f"; the environment failed (exit code {result['exit_code']})"
        elif result["success"]:
            counts, line = {"passed": 1}, "passed"
        else:
            counts, line = {"failed": 1}, f"failed (exit code {result['exit_code']})"
        if env and not result["success"]:
            line += f", log: {artifacts / f'tox-{name}.log'}"
        for key, value in counts.items():
            totals[key] += value
        print(f"{name}: {line}")
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 0 if totals["passed"] and not totals["failed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
