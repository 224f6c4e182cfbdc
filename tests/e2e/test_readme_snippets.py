"""Every `sh` and `python` block of the README runs as pasted, in order, after `make run`'s two
`export` lines, against a live demo server (issue 11: "every README snippet runs when pasted").

`console` and `text` blocks are not run (they start the server, open a browser, or show
output); the README says so where it begins."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.server import LiveServer

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[int, str, str]]:
    """(line, language, code) of each runnable block, in order."""
    text = README.read_text()
    found = []
    for match in _BLOCK.finditer(text):
        language = match.group(1)
        if language in ("sh", "python"):
            line = text.count("\n", 0, match.start()) + 1
            found.append((line, language, match.group(2)))
    return found


BLOCKS = _blocks()


@pytest.fixture(scope="module")
def pasted_env(demo_server: LiveServer) -> dict[str, str]:
    """The environment of a shell where `make run`'s printed `export` lines were pasted (read
    again from `demo-data --show`), with the server's settings, as after `make run`."""
    shown = demo_server.cli("demo-data", "--show").stdout
    exports = [line.strip() for line in shown.splitlines() if line.strip().startswith("export ")]
    assert len(exports) == 2, shown
    assert "NINJA_CLIENT_SECRET=" in exports[0]
    # A bare PATH: `ninja-oauth` and the virtualenv's python come from the pasted line alone.
    base = {**demo_server.env, "PATH": "/usr/local/bin:/usr/bin:/bin"}
    dumped = subprocess.run(
        ["bash", "-c", "\n".join(exports) + "\nenv -0"],
        env=base,
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    env = dict(item.split("=", 1) for item in dumped.decode().split("\0") if "=" in item)
    assert env["NINJA_BASE_URL"] == demo_server.base_url
    return env


def test_the_readme_has_runnable_blocks() -> None:
    languages = [language for _, language, _ in BLOCKS]
    assert languages.count("sh") >= 4 and languages.count("python") >= 2


@pytest.mark.parametrize(
    ("line", "language", "code"), BLOCKS, ids=[f"line{b[0]}-{b[1]}" for b in BLOCKS]
)
def test_each_block_runs_as_pasted(
    pasted_env: dict[str, str], tmp_path: Path, line: int, language: str, code: str
) -> None:
    args = ["bash", "-eo", "pipefail", "-c", code] if language == "sh" else ["python3", "-c", code]
    done = subprocess.run(
        args, env=pasted_env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    where = f"README.md line {line} ({language})"
    assert done.returncode == 0, f"{where} failed:\n{done.stdout}\n{done.stderr}"
    # curl -s succeeds on an HTTP error too: no answer may be an error body.
    assert '"error"' not in done.stdout, f"{where} printed an error:\n{done.stdout}"
    assert done.stdout.strip(), f"{where} printed nothing"
    if language == "python":
        assert "Traceback" not in done.stderr
