"""The engine's one door: the only module the faces (the TUI and the CLI) import.

A face opens a :class:`Workspace` (no target: scans, the default selection, history, run detail)
or a :class:`Session` (:func:`open_session`, one target: checks and plan, run, verify, rollback)
and renders the engine's :mod:`events`. Everything a face shows is a value type named here; the
vocabulary (kinds, errors, advice, units) comes with it. Nothing in ``core/`` imports this module.
"""

from __future__ import annotations

from core import __version__, events
from core.advice import Advice, Fix, advise, explain
from core.charts.destinations import DESTINATIONS, destination_choices
from core.checks.base import (
    IGNORABLE,
    Check,
    CheckOptions,
    Preflight,
    ignorable_kind,
    render_sites,
    sites_json,
)
from core.checks.coverage import holds_tag
from core.config import Secret, TargetConfig, TargetInputs, hide_url_credentials, secret, target_config
from core.demo.setup import Demo, prepare_demo
from core.errors import STOPPED_EXIT, ArchfuseError, Cancelled, PreflightFailed, UsageError
from core.helpers.parallel import DEFAULT_JOBS, MAX_JOBS, ROUND_TRIPS_PER_JOB
from core.helpers.versions import version_key
from core.kinds import (
    ChartAction,
    ChartDestinationKind,
    CheckKind,
    CheckStatus,
    ChecksumStatus,
    ImageAction,
    ImageStage,
    RollbackResult,
    RunKind,
    RunStatus,
    VerifyStatus,
)
from core.operations.prune import Kept, PruneManifest, PrunePlan, PruneSummary, PruneTag
from core.operations.repair import RepairItem, RepairPlan
from core.operations.replicate import ReplicationOptions, ReplicationPlan, ReplicationSummary
from core.operations.rollback import RollbackSummary, config_for_run
from core.operations.sites_verify import SiteCell, SitesReport
from core.package.background import BackgroundScan, ScanResult
from core.package.choice import ChartSelection
from core.package.discover import discover
from core.package.listing import FORMATS as LIST_FORMATS
from core.package.listing import ChartSummary, PackageDiff, render_listing
from core.package.model import PackageIndex
from core.package.naming import package_identity, package_row, parse_package_name
from core.package.scan import Unreadable, render_scan_table, scan_json
from core.package.selection import Listed, Selection
from core.plan.charts import ChartPlan
from core.plan.images import ImagePlan, Plan
from core.plan.results import ChartResult, ImageResult, RunSummary
from core.record.journal import ChartRow, ImageRow, RunDetail, RunRecord, TagRecord, render_history
from core.run.coverage import TagCoverage
from core.run.engine import RunOptions
from core.run.options import (
    AUTO_JOBS,
    OptionNames,
    default_run_options,
    jobs_setting,
    typed_patience,
    typed_run_options,
)
from core.run.stop import Stop
from core.session import (
    ChartCheck,
    Session,
    SiteOutcome,
    VerifyReport,
    Workspace,
    open_session,
    preflight_sites,
    run_sites,
)
from core.targets.sites import Site, load_sites, site_of, sites_base, sites_from_registries
from core.terminal import printable, printable_lines
from core.units import parse_size, size_text

__all__ = [
    "DEFAULT_JOBS",
    "DESTINATIONS",
    "IGNORABLE",
    "MAX_JOBS",
    "ROUND_TRIPS_PER_JOB",
    "STOPPED_EXIT",
    "Advice",
    "ArchfuseError",
    "BackgroundScan",
    "Cancelled",
    "ChartAction",
    "ChartCheck",
    "ChartDestinationKind",
    "ChartPlan",
    "ChartSelection",
    "ChartSummary",
    "ChartResult",
    "ChartRow",
    "Check",
    "CheckKind",
    "CheckOptions",
    "CheckStatus",
    "ChecksumStatus",
    "Demo",
    "Fix",
    "ImageAction",
    "ImagePlan",
    "ImageResult",
    "ImageRow",
    "ImageStage",
    "Listed",
    "LIST_FORMATS",
    "OptionNames",
    "PackageDiff",
    "PackageIndex",
    "Plan",
    "Preflight",
    "PreflightFailed",
    "Kept",
    "PruneManifest",
    "PrunePlan",
    "PruneSummary",
    "PruneTag",
    "RepairItem",
    "RepairPlan",
    "SiteCell",
    "SitesReport",
    "ReplicationOptions",
    "ReplicationPlan",
    "ReplicationSummary",
    "RollbackResult",
    "RollbackSummary",
    "RunDetail",
    "RunKind",
    "RunOptions",
    "RunRecord",
    "RunStatus",
    "RunSummary",
    "ScanResult",
    "Secret",
    "Selection",
    "Session",
    "Site",
    "SiteOutcome",
    "Stop",
    "TagCoverage",
    "TagRecord",
    "TargetConfig",
    "TargetInputs",
    "Unreadable",
    "UsageError",
    "VerifyReport",
    "VerifyStatus",
    "Workspace",
    "__version__",
    "advise",
    "config_for_run",
    "destination_choices",
    "discover",
    "events",
    "explain",
    "hide_url_credentials",
    "holds_tag",
    "ignorable_kind",
    "load_sites",
    "open_session",
    "package_identity",
    "package_row",
    "parse_package_name",
    "parse_size",
    "preflight_sites",
    "prepare_demo",
    "printable",
    "printable_lines",
    "render_history",
    "render_listing",
    "render_scan_table",
    "render_sites",
    "run_sites",
    "scan_json",
    "secret",
    "size_text",
    "site_of",
    "sites_json",
    "sites_base",
    "sites_from_registries",
    "target_config",
    "typed_patience",
    "typed_run_options",
    "AUTO_JOBS",
    "default_run_options",
    "jobs_setting",
    "version_key",
]
