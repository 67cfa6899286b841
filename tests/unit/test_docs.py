"""The README and docs/ stay true to the code: every engagectl command and option their shell examples
name exists (read from the CLI's own click tree, not run), the data files they load ship, every
relative link leads to a file (and heading), and every setting of server/config.py is in
docs/configuration.md.

Shell examples are fenced blocks marked sh, bash, shell or console; inline code that starts with
`engagectl ` is read too, and may name a command group (`engagectl tenants`) where a block may not."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from clients.engagectl import main as engagectl_main
from server.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
# Tokens that end one command of a shell line: pipes, lists, subshells, redirections.
_COMMAND_ENDS = {"|", "||", "&", "&&", ";", "(", ")", "<", ">", ">>", "2>", "2>&1"}
_FENCE = re.compile(r"^(`{3,})\s*([\w-]*)[^\n]*\n(.*?)^\1\s*$", re.DOTALL | re.MULTILINE)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Example:
    doc: Path
    arguments: tuple[str, ...]
    whole_command: bool  # a code block runs it, so it must reach a command, not stop at a group

    def __str__(self) -> str:
        return f"{self.doc.relative_to(ROOT)}: engagectl {shlex.join(self.arguments)}"


def _cli() -> Any:
    """The click tree engagectl runs: main.build() adds the options every command shares (--json, -o)."""
    build = getattr(engagectl_main, "build", None)
    return build() if build is not None else typer.main.get_command(engagectl_main.app)


def shell_blocks(markdown: str) -> list[str]:
    return [m.group(3) for m in _FENCE.finditer(markdown) if m.group(2).lower() in SHELL_LANGUAGES]


def without_code(markdown: str) -> str:
    return _INLINE_CODE.sub("", _FENCE.sub("", markdown))


def engagectl_invocations(script: str) -> list[list[str]]:
    """The argument lists given to engagectl (or .venv/bin/engagectl) anywhere in a shell script,
    inside $( ) and pipelines included; comments and line continuations are understood."""
    invocations: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] | None = None
        for token in lexer:
            if current is not None and token in _COMMAND_ENDS:
                invocations.append(current)
                current = None
            elif current is not None:
                current.append(token)
            elif Path(token).name == "engagectl":
                current = []
        if current is not None:
            invocations.append(current)
    return invocations


def _options(command: Any) -> dict[str, Any]:
    return {name: param for param in command.params for name in (*param.opts, *param.secondary_opts)
            if name.startswith("-")}


def _takes_value(param: Any) -> bool:
    return not (getattr(param, "is_flag", False) or getattr(param, "count", False))


def problems_of(arguments: list[str], root: Any, whole_command: bool) -> list[str]:
    """What in `engagectl ARGUMENTS` the CLI does not have: unknown commands, unknown options, too
    many arguments, or (for a whole command) a stop at a group."""
    command, path, positional = root, ["engagectl"], 0
    remaining = list(arguments)
    while remaining:
        token = remaining.pop(0)
        if token in ("--help", "--version"):
            return []
        if token.startswith("-") and token != "-":
            name = token.split("=", 1)[0]
            param = _options(command).get(name)
            if param is None:
                return [f"{' '.join(path)} has no option {name}"]
            if _takes_value(param) and "=" not in token:
                if not remaining:
                    return [f"{' '.join(path)} {name} needs a value"]
                remaining.pop(0)
            continue
        children = getattr(command, "commands", None)
        if children is not None:
            if token not in children:
                return [f"{' '.join(path)} has no command {token!r}"]
            command, positional = children[token], 0
            path.append(token)
            continue
        positional += 1
        arity = [param.nargs for param in command.params if param.param_type_name == "argument"]
        if -1 not in arity and positional > sum(arity):
            return [f"{' '.join(path)} takes {sum(arity)} argument(s), the example gives {token!r} as one more"]
    if whole_command and getattr(command, "commands", None) is not None:
        return [f"{' '.join(path)} is a group: the example names no command of it"]
    return []


def _examples() -> list[Example]:
    examples = []
    for doc in DOCS:
        markdown = doc.read_text()
        for block in shell_blocks(markdown):
            examples += [Example(doc, tuple(args), True) for args in engagectl_invocations(block)]
        for span in _INLINE_CODE.findall(_FENCE.sub("", markdown)):
            if span.startswith("engagectl "):
                examples += [Example(doc, tuple(args), False) for args in engagectl_invocations(span)]
    return examples


def test_the_docs_have_engagectl_examples():
    by_doc = {example.doc.name for example in _examples()}
    assert {"README.md", "engagement.md", "insights.md", "subscriptions.md"} <= by_doc


def test_every_engagectl_example_names_commands_and_options_that_exist():
    root = _cli()
    failures = [f"{example}\n    {problem}" for example in _examples()
                for problem in problems_of(list(example.arguments), root, example.whole_command)]
    assert failures == []


def test_the_files_the_examples_load_ship_with_the_repository():
    """A data file an example names by a path inside the clone (tests/data/..., docs/examples/...) exists;
    paths outside it (../shared/...) and files an example writes itself (customers.txt) are not checked."""
    named = {argument for example in _examples() if example.whole_command for argument in example.arguments
             if "/" in argument and Path(argument).suffix in {".csv", ".jsonl", ".ndjson", ".json"}
             and not argument.startswith(("..", "/", "$"))}
    assert "tests/data/records/mixed.jsonl" in named
    assert sorted(path for path in named if not (ROOT / path).is_file()) == []


def test_the_example_reader_finds_what_the_cli_lacks():
    root = _cli()
    assert problems_of(["--token", "T", "insights", "feed", "--customer", "c1", "--json"], root, True) == []
    assert problems_of(["-o", "json", "accounts", "list", "--limit=3"], root, True) == []
    assert problems_of(["events", "trigger", "E1", "--customer", "c1"], root, True) == []
    assert problems_of(["insights", "feed", "--customr", "c1"], root, True) == [
        "engagectl insights feed has no option --customr"]
    assert problems_of(["insights", "fed"], root, True) == ["engagectl insights has no command 'fed'"]
    assert problems_of(["tenants"], root, True) != []
    assert problems_of(["tenants"], root, False) == []
    assert problems_of(["apps", "get", "A1", "A2"], root, True) != []


def test_the_shell_reader_finds_engagectl_inside_substitutions_and_pipes():
    script = ('X=$(engagectl --token "$T" apps create --name "Bank (CZ)" | awk \'$1 == "name:" {print $2}\')\n'
              "engagectl channels create --channel EMAIL \\\n  --provider smtp   # a comment\n"
              ".venv/bin/engagectl tenants list && echo done\n")
    assert engagectl_invocations(script) == [
        ["--token", "$T", "apps", "create", "--name", "Bank (CZ)"],
        ["channels", "create", "--channel", "EMAIL", "--provider", "smtp"],
        ["tenants", "list"],
    ]


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors_of(markdown: str) -> set[str]:
    anchors: set[str] = set()
    for line in _FENCE.sub("", markdown).splitlines():
        match = re.match(r"^#{1,6}\s+(.*)$", line)
        if match:
            anchor = github_anchor(match.group(1))
            suffix = 0
            while (anchor if suffix == 0 else f"{anchor}-{suffix}") in anchors:
                suffix += 1
            anchors.add(anchor if suffix == 0 else f"{anchor}-{suffix}")
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    broken = []
    for target in _LINK.findall(without_code(doc.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors_of(path.read_text()):
            broken.append(f"{target}: no heading #{anchor} in {path.relative_to(ROOT)}")
    assert broken == []


def test_anchors_are_spelled_as_github_spells_them():
    assert github_anchor("The store's hot path") == "the-stores-hot-path"
    assert github_anchor("What `engagectl demo seed` generates") == "what-engagectl-demo-seed-generates"
    assert (github_anchor("Subscription validation (the reference's codes)")
            == "subscription-validation-the-references-codes")
    assert anchors_of("# A\n## A\n```sh\n# not a heading\n```\n") == {"a", "a-1"}


def _environment_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        aliases = getattr(field.validation_alias, "choices", None)
        names |= set(aliases) if aliases else {f"ENGAGE_{name.upper()}"}
    return names


def test_every_setting_is_in_the_configuration_page():
    page = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", page))
    assert sorted(_environment_names() - documented) == []


def test_the_configuration_table_names_only_real_variables():
    page = (ROOT / "docs" / "configuration.md").read_text()
    first_cells = [line.split("|")[1] for line in page.splitlines() if line.startswith("| `")]
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)}
    cli_variables = {var for param in _cli().params for var in ([param.envvar] if isinstance(param.envvar, str)
                                                                   else param.envvar or [])}
    assert sorted(documented - _environment_names() - cli_variables) == []
