"""README's "A first event", as a newcomer follows it: start `tally dev`, take the token
it prints, run the curl commands exactly as README writes them (only the port and the
token substituted) and find the answers README promises. When README and the code
drift apart, this fails.

It runs from this working tree (not a fresh clone) with the test session's Python,
which is the repository's venv under `make test`: a clone would need an install of
its own. PostgreSQL is a fresh database on the session's server; the broker is the
one `tally dev` embeds, as for a user who configured nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

# `test_dev_run` is importable as the e2e folder (no __init__.py) is on sys.path.
from test_dev_run import REPO, DevProcess

from shared.infra.embedded import free_port

pytestmark = pytest.mark.e2e

README_HOST = "127.0.0.1:8000"
# README's line that a newcomer fills in with the printed token.
TOKEN_LINE = re.compile(r"^(?:export\s+)?TOKEN=…(?=\s|$)")
# What `tally dev` prints: `TALLY_TOKEN=…` or `export TOKEN=…`, possibly quoted.
PRINTED_TOKEN = r"""(?m)^\s*(?:export\s+)?(?:TALLY_)?TOKEN=['"]?([\w.\-]+)"""


def first_event_block() -> str:
    """The first ```sh block of README's "A first event" section."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## A first event\n(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    assert section, 'README has no "## A first event" section'
    block = re.search(r"^```sh\n(.*?)^```", section.group(1), re.MULTILINE | re.DOTALL)
    assert block, 'README\'s "A first event" has no ```sh block'
    return block.group(1)


class Step:
    """One curl command of the block and the `# → …` answer README shows for it."""

    def __init__(self, command: str, expected: str) -> None:
        self.command = command
        self.expected = expected


def steps(block: str) -> tuple[str, list[Step]]:
    """The token line and the curl commands, each as written (its lines up to the
    `# →` comment that follows it)."""
    token_lines = [line for line in block.splitlines() if TOKEN_LINE.match(line)]
    assert len(token_lines) == 1, f"no single `TOKEN=…` line in README's block:\n{block}"
    found: list[Step] = []
    current: list[str] = []
    for line in block.splitlines():
        if line in token_lines or (not current and not line.strip()):
            continue
        if line.startswith("# →"):
            assert current, f"an answer with no command before it: {line}"
            found.append(Step("\n".join(current), line.removeprefix("# →").strip()))
            current = []
        elif current or line.startswith("curl "):
            current.append(line)
        else:
            raise AssertionError(f"README's block has a line this test cannot place: {line!r}")
    assert not current, "a command without its `# →` answer in README"
    assert found, "no curl commands in README's block"
    return token_lines[0], found


def run_step(token_line: str, step: Step, port: int, token: str) -> Any:
    """Run the command as README writes it, after README's own `TOKEN=` line with the
    printed token in place of `…` and our port in place of 8000."""
    script = token_line.replace("TOKEN=…", f"TOKEN={token}", 1) + "\n" + step.command
    script = script.replace(README_HOST, f"127.0.0.1:{port}")
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert done.returncode == 0, f"{step.command}\nexit {done.returncode}: {done.stderr}"
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"{step.command}\nanswered no JSON: {done.stdout!r}") from None


def shown_values(expected: str) -> dict[str, Any]:
    """The concrete `key "value"` / `"key": value` pairs README shows in an answer
    (placeholders `…` are skipped)."""
    pairs: dict[str, Any] = {}
    for key, value in re.findall(r'"?(\w+)"?:?\s+("[^"…]*"|\d+)(?=[,}\s]|$)', expected):
        pairs[key] = json.loads(value)
    return pairs


def test_readme_block_is_what_this_test_reads() -> None:
    token_line, found = steps(first_event_block())
    assert "TOKEN=…" in token_line
    assert [s.command.split()[0] for s in found] == ["curl"] * len(found)
    assert all(README_HOST in s.command for s in found)
    finances = shown_values(found[-1].expected)
    assert finances == {"planned_revenue": "60.00", "actual_revenue": "45.00"}


@pytest.fixture
def newcomer_env(tmp_path: Path, fresh_database_url: str) -> dict[str, str]:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: README's first event is run with curl")
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed: README's commands are shell")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env.update(
        TALLY_DATA_DIR=str(tmp_path / "data"),
        TALLY_PORT=str(free_port()),
        TALLY_DATABASE_URL=fresh_database_url,
    )
    return env


def test_readme_first_event_as_a_newcomer_runs_it(newcomer_env: dict[str, str]) -> None:
    token_line, (post, finances) = steps(first_event_block())
    port = int(newcomer_env["TALLY_PORT"])
    dev = DevProcess(newcomer_env)
    try:
        url = dev.wait_for(r"Tally is ready at (\S+)").group(1)
        assert url == f"http://127.0.0.1:{port}", dev.output
        token = dev.wait_for(PRINTED_TOKEN).group(1)

        posted = run_step(token_line, post, port, token)
        assert "events" in posted, posted
        assert len(posted["events"]) == post.command.count('"type":'), posted
        first = posted["events"][0]
        for key, value in shown_values(post.expected).items():
            assert first[key] == value, (key, posted)

        # README reads with min_position, which waits up to 5 s for the worker; on a
        # slow machine the first pricing may take longer: a newcomer would ask again.
        deadline = time.monotonic() + 60
        while True:
            body = run_step(token_line, finances, port, token)
            caught_up = body.get("error", {}).get("code") != "not_caught_up"
            if caught_up or time.monotonic() > deadline:
                break
            time.sleep(1)
        shown = shown_values(finances.expected)
        assert shown, f"README shows no amounts for: {finances.command}"
        assert {key: body.get(key) for key in shown} == shown, body
        assert dev.interrupt() == 0, dev.output
    finally:
        dev.kill()
