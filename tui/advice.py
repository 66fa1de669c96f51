"""The TUI's words for the engine's advice: what to tick or fill in, on the screen the user is on."""

from __future__ import annotations

from core.api import ArchfuseError, Fix, advise, explain

TUI_WORDS: dict[Fix, str] = {
    Fix.INSECURE: "tick Insecure on the Target screen",
    Fix.CA_CERT: "fill in CA certificate on the Target screen",
    Fix.USERNAME: "fill in Username on the Target screen",
    Fix.PREFIX: "fill in Prefix on the Target screen",
    Fix.FORCE_CHARTS: "press f on Checks (asks first)",
    Fix.SPOOL_DIR: "fill in Spool directory on the Target screen",
    Fix.SPOOL_BUDGET: "set Spool budget on the Target screen",
    Fix.CREATE_SPACES: "press c on Checks (asks first)",
    Fix.CLEAN_LEFTOVERS: "remove them by hand",
    Fix.REGISTRY_STORAGE: "fill in Registry data on the Target screen",
    Fix.CHART_REPO: "fill in Chart repo on the Target screen",
    Fix.CHART_REPO_TYPE: "choose the Chart repo type on the Target screen",
    Fix.IGNORE_CHECK: "i (ignore) on Checks for",
    Fix.LOGIN: "fill in Username and Password on the Target screen",
    Fix.REGISTRY: "fill in Registry on the Target screen",
    Fix.CHART_REPO_OCI: "choose oci as the Chart repo type on the Target screen",
    Fix.RESCAN: "scan it again on the Packages screen",
    Fix.STATE_DIR: "set ARCHFUSE_STATE_DIR and start archfuse again",
    Fix.SAME_TARGET: "set that target on the Target screen",
    Fix.RETRY_FOR: "raise Retry for on the Target screen",
}


def say(text: str) -> str:
    """Engine text (a check's detail, an event's message) in the TUI's words."""
    return advise(text, TUI_WORDS)


def say_error(err: ArchfuseError) -> str:
    """An engine error's sentence in the TUI's words."""
    return explain(err.message, err.hint, TUI_WORDS)
