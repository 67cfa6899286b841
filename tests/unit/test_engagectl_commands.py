"""Every engagectl command, as typer builds it: help with examples, values named by what they are,
and the output options (so that `--json` works after any command)."""

from __future__ import annotations

from typing import Any

from clients.engagectl.main import build


def _leaves(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    children = getattr(command, "commands", None)
    if children is None:
        return [(path, command)]
    return [leaf for name, child in children.items() for leaf in _leaves(child, (*path, name))]


COMMANDS = _leaves(build())


def test_there_are_commands_to_check() -> None:
    assert len(COMMANDS) > 40


def test_every_command_has_help_with_an_example_of_itself() -> None:
    missing = [" ".join(path) for path, command in COMMANDS
               if "Examples:" not in (command.help or "")
               or f"engagectl {' '.join(path)}" not in command.help.partition("Examples:")[2]]
    assert missing == []


def test_every_value_is_named_and_every_command_takes_the_output_options() -> None:
    unnamed, without_output = [], []
    for path, command in COMMANDS:
        options = {opt for param in command.params for opt in param.opts}
        if not {"--json", "-o", "--output"} <= options:
            without_output.append(" ".join(path))
        for param in command.params:
            if getattr(param, "is_flag", False) or param.type_descriptor.is_choice:
                continue
            if not param.metavar or param.metavar.startswith("<"):
                unnamed.append(f"{' '.join(path)} {param.name}")
    assert (unnamed, without_output) == ([], [])
