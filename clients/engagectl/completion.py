"""engagectl completion SHELL: the shell completion script, for a named shell (as `kubectl completion
bash` and `gh completion -s bash` print it). typer's --show-completion guesses the shell from the
processes above it, which fails under a CI runner or an IDE; this never guesses."""

from __future__ import annotations

import typer
from typer.completion import Shells, get_completion_script


def completion(shell: Shells = typer.Argument(..., case_sensitive=False, metavar="SHELL",
                                                help="bash, zsh, fish or powershell.")) -> None:
    """Prints the shell completion script for engagectl.

    Examples:
      source <(engagectl completion bash)
      engagectl completion zsh > "${fpath[1]}/_engagectl"
    """
    print(get_completion_script(prog_name="engagectl", complete_var="_ENGAGECTL_COMPLETE", shell=shell.value))
