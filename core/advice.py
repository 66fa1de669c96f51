"""Advice a face words in its own terms: the CLI says "pass --insecure", the TUI "tick Insecure".

The engine writes a fix into a sentence as a placeholder naming a :class:`Fix` (``{insecure}``,
or ``{Insecure}`` at the start of a sentence; other braces are left alone). :class:`Advice` is that sentence: as a ``str`` it
reads in the command line's words (so JSON, the journal and reports are unchanged), and
:meth:`Advice.worded` renders it in another face's words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from core.kinds import Word


class Fix(Word):
    """A setting the engineer can change to get past a problem; each face names it its own way."""

    INSECURE = "insecure"
    CA_CERT = "ca_cert"
    USERNAME = "username"
    PREFIX = "prefix"
    FORCE_CHARTS = "force_charts"
    SPOOL_DIR = "spool_dir"
    SPOOL_BUDGET = "spool_budget"
    CREATE_SPACES = "create_spaces"
    CLEAN_LEFTOVERS = "clean_leftovers"
    REGISTRY_STORAGE = "registry_storage"
    CHART_REPO = "chart_repo"
    CHART_REPO_TYPE = "chart_repo_type"
    IGNORE_CHECK = "ignore_check"
    LOGIN = "login"
    REGISTRY = "registry"
    CHART_REPO_OCI = "chart_repo_oci"
    RESCAN = "rescan"
    STATE_DIR = "state_dir"
    SAME_TARGET = "same_target"
    RETRY_FOR = "retry_for"


#: how a face words each fix: a verb phrase such as "pass --insecure" (lower case)
Wording = Mapping[Fix, str]

CLI_WORDS: dict[Fix, str] = {
    Fix.INSECURE: "pass --insecure",
    Fix.CA_CERT: "pass --ca-cert FILE",
    Fix.USERNAME: "pass --username",
    Fix.PREFIX: "use --prefix",
    Fix.FORCE_CHARTS: "pass --force-charts",
    Fix.SPOOL_DIR: "pass --spool-dir",
    Fix.SPOOL_BUDGET: "set --spool-budget",
    Fix.CREATE_SPACES: "pass --create-spaces",
    Fix.CLEAN_LEFTOVERS: "pass --clean-leftovers",
    Fix.REGISTRY_STORAGE: "pass --registry-storage PATH",
    Fix.CHART_REPO: "pass --chart-repo URL",
    Fix.CHART_REPO_TYPE: "pass --chart-repo-type",
    Fix.IGNORE_CHECK: "--ignore-check",  # a noun: "ignored with --ignore-check KIND"
    Fix.LOGIN: "pass --username and --password-stdin",
    Fix.REGISTRY: "pass --registry URL",
    Fix.CHART_REPO_OCI: "pass --chart-repo-type oci",
    Fix.RESCAN: "scan it again with --rescan",
    Fix.STATE_DIR: "pass --state-dir (or set ARCHFUSE_STATE_DIR)",
    Fix.SAME_TARGET: "give the same target (--registry or -c)",
    Fix.RETRY_FOR: "raise --retry-for",
}


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fill(template: str, words: Wording) -> str:
    """Each ``{fix}`` placeholder in a face's words; any other brace stays as it is."""

    def phrase(match: re.Match[str]) -> str:
        name = match.group(1)
        try:
            fix = Fix(name.lower())
        except ValueError:
            return match.group(0)
        text = words.get(fix, CLI_WORDS[fix])
        return text[:1].upper() + text[1:] if name[:1].isupper() else text

    return _PLACEHOLDER.sub(phrase, template)


class Advice(str):
    """A sentence with fixes in it; ``str`` gives the command line's words."""

    template: str

    def __new__(cls, template: str) -> Advice:
        advice = super().__new__(cls, _fill(template, CLI_WORDS))
        advice.template = template
        return advice

    def worded(self, words: Wording) -> str:
        """The sentence in another face's words."""
        return _fill(self.template, words)

    def __add__(self, other: str) -> Advice:
        """Advice stays advice when text is added to it."""
        return Advice(self.template + (other.template if isinstance(other, Advice) else other))


def advise(text: str, words: Wording) -> str:
    """``text`` in a face's words when it carries advice, else as it is."""
    return text.worded(words) if isinstance(text, Advice) else text


def explain(message: str, hint: str | None, words: Wording) -> str:
    """An error's message and hint (``ArchfuseError``) in a face's words."""
    text = advise(message, words)
    return f"{text} {advise(hint, words)}" if hint else text


def template_of(text: str) -> str:
    """Advice's template, or plain text (its braces stay as they are: only a fix's name is a placeholder)."""
    return text.template if isinstance(text, Advice) else text
