"""Write archfuse's bash completion from its argument parser (tui.cli.build_parser).

    python scripts/completion.py > scripts/completion.bash

The script it writes is static (nothing runs archfuse while completing): the commands, each one's
flags, the choices of flags that have them, and paths for everything else. tests/test_newcomer.py
checks the committed file is what this writes, so a new flag or command shows up in both.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.cli import build_parser

HEADER = """\
# bash completion for archfuse: written by scripts/completion.py from archfuse's argument parser;
# do not edit (run `python scripts/completion.py > scripts/completion.bash` after changing a flag).
# The offline bundle carries it; its install.sh puts it where bash-completion looks.
"""


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return [s for action in parser._actions for s in action.option_strings]


def _choices(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Flags with a fixed set of values: each spelling of the flag -> its values."""
    found: dict[str, list[str]] = {}
    for action in parser._actions:
        if action.option_strings and action.choices and not isinstance(action, argparse._SubParsersAction):
            for flag in action.option_strings:
                found[flag] = [str(c) for c in action.choices]
    return found


def _value_flags(parser: argparse.ArgumentParser) -> list[str]:
    """Flags that take a value (completed as a path unless they have choices)."""
    return [s for a in parser._actions for s in a.option_strings if a.nargs != 0 and not a.choices]


def _positional_choices(parser: argparse.ArgumentParser) -> list[str]:
    """The words a positional argument with choices takes (``archfuse sites replicate``)."""
    return [str(c) for a in parser._actions if not a.option_strings and a.choices
            and not isinstance(a, argparse._SubParsersAction) for c in a.choices]


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's name and parser, in --help's order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def render(parser: argparse.ArgumentParser) -> str:
    """The completion script for ``parser``."""
    subs = commands(parser)
    lines = [HEADER, "_archfuse() {", "  local cur prev cmd i", '  cur="${COMP_WORDS[COMP_CWORD]}"',
             '  prev="${COMP_WORDS[COMP_CWORD-1]}"', "  cmd=", "  for ((i = 1; i < COMP_CWORD; i++)); do",
             '    case "${COMP_WORDS[i]}" in', f"      {'|'.join(subs)}) cmd=${{COMP_WORDS[i]}}; break ;;",
             "    esac", "  done", '  case "$cmd" in']
    for name, sub in [("", parser), *subs.items()]:
        words = _flags(sub) if name else [*_flags(parser), *subs]
        label = name or '""'
        lines.append(f"    {label})")
        choices = _choices(sub)
        if choices:
            lines.append('      case "$prev" in')
            for flag, values in choices.items():
                lines.append(f'        {flag}) COMPREPLY=($(compgen -W "{" ".join(values)}" -- "$cur")); return ;;')
            lines.append("      esac")
        takes = _value_flags(sub)
        if takes:
            lines.append(f'      case "$prev" in {"|".join(takes)}) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac')
        lines.append(f'      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "{" ".join(words)}" -- "$cur")); return; fi')
        positional = _positional_choices(sub) if name else []
        if positional:
            lines.append(f'      COMPREPLY=($(compgen -W "{" ".join(positional)}" -- "$cur") $(compgen -f -- "$cur")) ;;')
        elif name:
            lines.append('      COMPREPLY=($(compgen -f -- "$cur")) ;;')
        else:  # archfuse DIR opens the TUI on it: a command or a path
            lines.append(f'      COMPREPLY=($(compgen -W "{" ".join(subs)}" -- "$cur") $(compgen -f -- "$cur")) ;;')
    lines += ["  esac", "}", "complete -o filenames -F _archfuse archfuse", ""]
    return "\n".join(lines)


def main() -> int:
    sys.stdout.write(render(build_parser()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
