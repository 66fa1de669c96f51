"""Run options as people type them (CLI flags, Target form fields): one set of rules and words for both faces."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from core.config import TargetConfig
from core.errors import UsageError
from core.helpers.parallel import MAX_JOBS
from core.http.bounds import DEFAULT_STALL_TIMEOUT
from core.registry.retry import DEFAULT_RETRY_FOR
from core.run.concurrency import AUTO_MAX_JOBS
from core.run.engine import RunOptions
from core.units import parse_duration, parse_size

#: ``--jobs auto``: the run finds how many uploads go at once (the default)
AUTO_JOBS = "auto"
#: the shortest ``--stall-timeout`` (seconds); ``--retry-for 0`` means no retries
MIN_STALL_TIMEOUT = 1.0


@dataclass(frozen=True)
class OptionNames:
    """What messages call each option: the CLI's flags (the default) or a form's fields."""

    jobs: str = "--jobs"
    limit_rate: str = "--limit-rate"
    spool_budget: str = "--spool-budget"
    retry_for: str = "--retry-for"
    stall_timeout: str = "--stall-timeout"


def check_jobs(jobs: int, *, name: str = "--jobs") -> int:
    """``jobs`` when it is from 1 to MAX_JOBS; UsageError otherwise."""
    if not 1 <= jobs <= MAX_JOBS:
        raise UsageError(f"{name} {jobs} is out of range; give a number from 1 to {MAX_JOBS}.")
    return jobs


def parse_jobs(text: str, *, name: str = "--jobs") -> int:
    """``8`` -> 8, checked by :func:`check_jobs`; UsageError for anything but a whole number."""
    try:
        jobs = int(text.strip())
    except ValueError:
        raise UsageError(f"{name} {text.strip()!r} is not a number; give a number from 1 to {MAX_JOBS}.") from None
    return check_jobs(jobs, name=name)


def parse_jobs_setting(text: str, *, name: str = "--jobs") -> tuple[int, bool]:
    """``auto`` (or nothing) -> (AUTO_MAX_JOBS, True): the run finds how many uploads go at once
    (core.run.concurrency); ``8`` -> (8, False), fixed. UsageError for anything else."""
    if text.strip().lower() in ("", AUTO_JOBS):
        return AUTO_MAX_JOBS, True
    try:
        return parse_jobs(text, name=name), False
    except UsageError as err:
        raise UsageError(str(err).replace("give a number", f"give {AUTO_JOBS} or a number")) from None


def default_run_options() -> RunOptions:
    """The run options when none are given (the TUI started bare, as the CLI's defaults): ``--jobs auto``."""
    return RunOptions(workers=AUTO_MAX_JOBS, auto_jobs=True)


def jobs_setting(options: RunOptions) -> str:
    """What ``--jobs`` (the Target form's Jobs) says for ``options``: ``auto`` or the number."""
    return AUTO_JOBS if options.auto_jobs else str(options.workers)


def parse_rate(text: str, *, name: str = "--limit-rate") -> int:
    """``20MiB``, ``20MiB/s``, ``500K`` -> bytes per second; ``0`` or nothing: no limit."""
    return parse_size((text.strip() or "0").removesuffix("/s"), flag=name, minimum=0)


def typed_run_options(
    base: RunOptions,
    *,
    jobs: str,
    limit_rate: str,
    spool_budget: str,
    spool_dir: str,
    names: OptionNames = OptionNames(),
) -> RunOptions:
    """``base`` with the options as typed: jobs, rate limit, spool budget and directory; an empty one is
    the default (``auto`` for jobs, the temp directory for the spool). UsageError naming the option when one cannot be read."""
    directory = spool_dir.strip()
    workers, auto = parse_jobs_setting(jobs, name=names.jobs)
    return dataclasses.replace(
        base,
        workers=workers,
        auto_jobs=auto,
        rate_limit=parse_rate(limit_rate, name=names.limit_rate),
        spool_budget=parse_size(spool_budget or "256MiB", flag=names.spool_budget),
        spool_dir=Path(directory).expanduser() if directory else None,
    )


def typed_patience(
    config: TargetConfig, *, retry_for: str, stall_timeout: str = "", names: OptionNames = OptionNames()
) -> TargetConfig:
    """``config`` with how long a failing request is retried (``10m``, ``1h``) and how long a request
    may move no byte (``60s``) as typed; an empty one is the default. UsageError naming the option
    when one cannot be read."""
    return dataclasses.replace(
        config,
        retry_for=parse_duration(retry_for, flag=names.retry_for, minimum=0.0)
        if retry_for.strip() else DEFAULT_RETRY_FOR,
        stall_timeout=parse_duration(stall_timeout, flag=names.stall_timeout, minimum=MIN_STALL_TIMEOUT)
        if stall_timeout.strip() else DEFAULT_STALL_TIMEOUT,
    )
