"""What the Target form holds, and how it becomes the engine's target configuration (no textual here)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from core.api import (
    AUTO_JOBS,
    CheckKind,
    CheckOptions,
    OptionNames,
    RunOptions,
    TargetConfig,
    TargetInputs,
    UsageError,
    jobs_setting,
    parse_size,
    secret,
    size_text,
    target_config,
    typed_patience,
    typed_run_options,
)

#: what the form's errors call its run options (the CLI names its flags)
FORM_NAMES = OptionNames(
    jobs="Jobs", limit_rate="The rate limit", spool_budget="The spool budget", retry_for="Retry for"
)


@dataclass
class TargetSettings:
    """The Target screen's form. ``password`` is never shown or logged."""

    registry: str = ""
    chart_repo: str = ""
    chart_repo_type: str = "oci"  # oci | chartmuseum | harbor
    username: str = ""
    password: str = field(default="", repr=False)  # never remembered, shown or logged
    insecure: bool = False
    ca_cert: str = ""
    prefix: str = ""
    cluster_config: str = ""
    create_spaces: bool = False  # set for one check only, after the engineer agreed
    space_visibility: str = "public"  # public | private: new Harbor projects
    registry_storage: str = ""  # where a registry on this node stores data (the target-disk gauge)
    spool_dir: str = ""  # empty: the system's temporary directory
    spool_budget: str = "256MiB"
    jobs: str = AUTO_JOBS  # blob uploads at once, as --jobs: a number or auto
    limit_rate: str = ""  # most bytes per second uploaded, as --limit-rate; empty: no limit
    retry_for: str = ""  # how long a failing registry is retried, as --retry-for; empty: the default
    sites_file: str = ""  # the further sites' file (Sites screen), as --sites
    # decisions taken on the Checks screen (each asked first); they last until the form is read again
    force_charts: bool = False  # overwrite chart versions whose content differs
    ignored: frozenset[CheckKind] = frozenset()  # kinds of failed checks to go past

    def describe(self) -> str:
        """A display name without secrets."""
        value = self.registry.strip()
        if not value:
            return "(no target)"
        return value if value.startswith(("http://", "https://", "oci:")) else f"oci:{value}"

    def inputs(self) -> TargetInputs:
        """What the form holds, as the engine's target inputs (the chart type counts with a chart repo)."""
        return TargetInputs(
            registry=self.registry,
            cluster_config=self.cluster_config,
            username=self.username,
            password=secret(self.password),
            insecure=self.insecure,
            ca_cert=self.ca_cert,
            prefix=self.prefix,
            chart_repo=self.chart_repo,
            chart_repo_type=self.chart_repo_type if self.chart_repo.strip() else "",
            create_spaces=self.create_spaces,
            space_visibility=self.space_visibility,
        )

    def target_config(self) -> TargetConfig:
        """The engine's validated TargetConfig for the form and the environment (UsageError if not)."""
        inputs = self.inputs()
        if not inputs.names_target:
            raise UsageError("Enter a registry URL (https://host[:port]) or an OCI layout directory.")
        return typed_patience(target_config(inputs), retry_for=self.retry_for, names=FORM_NAMES)


#: the fields the form remembers per target in the state dir: everything but secrets and the Checks
#: screen's one-time decisions
REMEMBERED = (
    "registry", "cluster_config", "chart_repo", "chart_repo_type", "username", "insecure", "ca_cert", "prefix",
    "space_visibility", "registry_storage", "spool_dir", "spool_budget", "jobs", "limit_rate", "retry_for",
    "sites_file",
)
#: the fields a password typed ahead of a focus change could land in
TYPED_AHEAD = {"username": "Username", "registry": "Registry", "prefix": "Prefix", "ca_cert": "CA certificate"}


def remembered_fields(settings: TargetSettings) -> dict[str, str | bool]:
    """What the form keeps for its target (never the password)."""
    return {name: getattr(settings, name) for name in REMEMBERED}


def with_remembered(settings: TargetSettings, form: dict[str, str | bool | int | float]) -> TargetSettings:
    """``settings`` with the remembered ``form`` filled in, field by field where the kind fits."""
    kinds = {f.name: type(getattr(settings, f.name)) for f in fields(settings) if f.name in REMEMBERED}
    for name, value in form.items():
        if name in kinds and isinstance(value, kinds[name]):
            setattr(settings, name, value)
    return settings


def password_in_other_field(settings: TargetSettings) -> tuple[str, str] | None:
    """The id and label of a field that holds the password (typed ahead into it), else None."""
    if not settings.password:
        return None
    return next(((name, label) for name, label in TYPED_AHEAD.items() if settings.password in getattr(settings, name)),
                None)


def check_options(settings: TargetSettings) -> CheckOptions:
    """The preflight's choices the form holds: the registry storage to check, the failed kinds to go past."""
    storage = settings.registry_storage.strip()
    return CheckOptions(registry_storage=Path(storage).expanduser() if storage else None, ignore=settings.ignored)


def run_options(settings: TargetSettings, base: RunOptions) -> RunOptions:
    """``base`` with the form's jobs, rate limit, spool directory and budget, read by the CLI's rules
    (UsageError naming the field if unreadable)."""
    return typed_run_options(
        base,
        jobs=settings.jobs,
        limit_rate=settings.limit_rate,
        spool_budget=settings.spool_budget,
        spool_dir=settings.spool_dir,
        names=FORM_NAMES,
    )


def with_run_options(settings: TargetSettings, options: RunOptions) -> None:
    """Fill the form's run option fields from ``options`` (what the app was started with)."""
    settings.spool_budget = size_field(options.spool_budget)
    settings.spool_dir = str(options.spool_dir or "")
    settings.jobs = jobs_setting(options)
    settings.limit_rate = size_field(options.rate_limit) if options.rate_limit else ""


def size_field(n: int) -> str:
    """``268435456`` -> ``256.0MiB``; the bytes as they are when the short form would round them."""
    short = size_text(n).replace(" ", "")
    return short if parse_size(short, minimum=0) == n else str(n)


def chart_credentials_from_env() -> str:
    """Which chart-repository credentials the environment gives (never the password), for the form."""
    user = os.environ.get("ARCHFUSE_CHART_USERNAME", "")
    password = "and a password " if os.environ.get("ARCHFUSE_CHART_PASSWORD") else ""
    if not user and not password:
        return "none in the environment (ARCHFUSE_CHART_USERNAME / _PASSWORD)"
    if not user:
        return "a password from ARCHFUSE_CHART_PASSWORD, no user name"
    return f"user {user!r} {password}from ARCHFUSE_CHART_USERNAME / _PASSWORD"
