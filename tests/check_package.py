"""Build the sdist and the wheel, install the wheel into a clean venv, check what it ships.

    python tests/check_package.py        (``tox -e packaging`` runs it; needs ``build``)

Fails when the build prints a warning, or when a template, a static file or a
compiled translation (``locale/*/LC_MESSAGES/*.mo``, one for each ``.po``) of the
source tree is missing from the installed package. The wheel is built from the
sdist, so a file missing from the sdist is caught too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "django_periodic"
#: Not part of a build, and partly written by the other tox environments while this one copies.
NOT_SOURCE = shutil.ignore_patterns(".*", "artifacts", "var", "build", "dist", "*.egg-info", "__pycache__")


def expected_files() -> set[str]:
    """Data files of the source package, relative to it, that the installed one must have."""
    source = ROOT / PACKAGE
    files = {
        path.relative_to(source).as_posix()
        for folder in ("templates", "static")
        for path in (source / folder).rglob("*")
        if path.is_file()
    }
    for pattern in ("locale/*/LC_MESSAGES/*.mo", "locale/*/LC_MESSAGES/*.po"):
        files |= {path.relative_to(source).with_suffix(".mo").as_posix() for path in source.glob(pattern)}
    return files


def run(command: list[str], **kwargs: Any) -> str:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    output = result.stdout + result.stderr
    if result.returncode:
        sys.exit(f"{' '.join(map(str, command))} failed ({result.returncode}):\n{output}")
    return output


def main() -> int:
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source, dist, venv = work / "source", work / "dist", work / "venv"
        # Build from a copy, so the checkout gets no build/ or egg-info from this check.
        shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
        # PYTHONDONTWRITEBYTECODE makes setuptools warn that it skips byte-compiling:
        # a property of the shell, not of the package.
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        output = run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)], env=env)
        warnings = [line for line in output.splitlines() if re.search(r"warn", line, re.IGNORECASE)]
        problems += [f"the build warned: {line.strip()}" for line in warnings]
        sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
        if len(sdists) != 1 or len(wheels) != 1:
            sys.exit(f"expected one sdist and one wheel in {dist}, found {[p.name for p in dist.iterdir()]}")

        run([sys.executable, "-m", "venv", str(venv)])
        python = str(venv / "bin" / "python")
        # Only the files are checked here: the dependencies are not needed for that.
        run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheels[0])])
        where = run(
            [python, "-c", f"import importlib.util; print(importlib.util.find_spec({PACKAGE!r}).origin)"],
            cwd=work,
        )
        installed = Path(where.strip()).parent
        if venv not in installed.parents:
            sys.exit(f"{PACKAGE} was found at {installed}, outside the clean venv")
        expected = expected_files()
        missing = sorted(name for name in expected if not (installed / name).is_file())
        problems += [f"missing from the installed package: {name}" for name in missing]
        for problem in problems:
            print(problem)
        print(
            f"{sdists[0].name}, {wheels[0].name}: {len(expected) - len(missing)} of {len(expected)} "
            "templates, static files and translations installed"
        )
    print("packaging: " + ("FAILED" if problems else "OK"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
