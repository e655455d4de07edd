"""The rules and examples the code cites are documented in the repository (issue 14.2).

Every rule id (`R4`, `R4.6`) and example id (`E9`) cited anywhere in the code, the
tests, the benchmark or the chaos run must have its own entry in `docs/rules.md` /
`docs/examples.md`, so that the docs and the code cannot drift apart; every link into
those pages must land on an anchor that exists; and nothing points to the old team
folder outside the repository any more.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CITING = ("services", "shared", "tests", "bench", "chaos")
SKIP_DIRS = {".venv", "__pycache__", ".tally", "node_modules", ".git"}

RULE_ID = re.compile(r"\bR([1-9][0-9]*)(?:\.([1-9][0-9]*))?\b")
EXAMPLE_ID = re.compile(r"\bE([1-9][0-9]*)\b")
#: A linter suppression comment names codes (a letter and digits) that look like
#: example ids; they are no citation.
NOQA = re.compile(r"#\s*noqa\b[^\n]*", re.IGNORECASE)
ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
DOC_LINK = re.compile(r"\b(rules|contract|examples)\.md#([A-Za-z0-9.\-]+)")


def _files(*tops: str, suffixes: tuple[str, ...] = (".py", ".md")) -> Iterator[Path]:
    for top in tops:
        base = ROOT / top
        if base.is_file():
            yield base
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix in suffixes and not SKIP_DIRS & set(path.relative_to(ROOT).parts):
                yield path


def _cited(pattern: re.Pattern[str]) -> dict[str, str]:
    """Each id `pattern` finds in the citing trees, with one place that cites it."""
    found: dict[str, str] = {}
    for path in _files(*CITING):
        text = NOQA.sub("", path.read_text(encoding="utf-8"))
        for number, line in enumerate(text.splitlines(), 1):
            for match in pattern.finditer(line):
                found.setdefault(match.group(0), f"{path.relative_to(ROOT)}:{number}")
    return found


def _documented_rules() -> set[str]:
    """Rule ids with an anchor and a label: `## R4 …` or `**R4.6**`."""
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    anchors = set(ANCHOR.findall(text))
    labelled = set(re.findall(r"^## (R[0-9]+) ", text, re.MULTILINE))
    labelled |= set(re.findall(r"\*\*(R[0-9]+\.[0-9]+)\*\*", text))
    return {rule for rule in labelled if rule.lower() in anchors}


def _documented_examples() -> set[str]:
    """Example ids with an anchor and a heading `## E9 …`."""
    text = (DOCS / "examples.md").read_text(encoding="utf-8")
    anchors = set(ANCHOR.findall(text))
    headed = set(re.findall(r"^## (E[0-9]+) ", text, re.MULTILINE))
    return {example for example in headed if example.lower() in anchors}


def test_every_cited_rule_is_in_docs_rules() -> None:
    cited = _cited(RULE_ID)
    assert {"R1.1", "R4.6", "R10.11"} <= cited.keys()  # the scan itself works
    missing = {rule: where for rule, where in cited.items() if rule not in _documented_rules()}
    assert not missing, f"rule ids cited but not in docs/rules.md: {missing}"


def test_every_cited_example_is_in_docs_examples() -> None:
    cited = _cited(EXAMPLE_ID)
    assert {"E1", "E9", "E13"} <= cited.keys()
    missing = {ex: where for ex, where in cited.items() if ex not in _documented_examples()}
    assert not missing, f"example ids cited but not in docs/examples.md: {missing}"


def test_rule_families_and_examples_are_complete() -> None:
    rules = _documented_rules()
    assert {f"R{n}" for n in range(1, 11)} <= rules
    assert {f"E{n}" for n in range(1, 14)} <= _documented_examples()


def test_links_into_the_docs_land_on_an_anchor() -> None:
    anchors = {
        page: set(ANCHOR.findall((DOCS / f"{page}.md").read_text(encoding="utf-8")))
        for page in ("rules", "contract", "examples")
    }
    broken = []
    for path in _files("README.md", "docs", "services", "shared", "tests"):
        for page, anchor in DOC_LINK.findall(path.read_text(encoding="utf-8")):
            if anchor.rstrip(".") not in anchors[page]:
                broken.append(f"{path.relative_to(ROOT)}: {page}.md#{anchor}")
    assert not broken, broken


def test_the_tests_docs_examples_names_exist() -> None:
    named = set(re.findall(r"\btest_e[0-9]+_\w+", (DOCS / "examples.md").read_text("utf-8")))
    tests = "\n".join(p.read_text(encoding="utf-8") for p in _files("tests", suffixes=(".py",)))
    defined = set(re.findall(r"def (test_e[0-9]+_\w+)\(", tests))
    assert named, "docs/examples.md names no test"
    assert named <= defined, sorted(named - defined)


def test_nothing_points_outside_the_repository_for_the_spec() -> None:
    outside = re.compile(r"shared/spec|\.\./shared/|team folder")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _files("README.md", "docs", "services", "shared")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    assert not found, found
