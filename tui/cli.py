"""The ``archfuse`` command line. Headless commands never import textual."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.api import (
    AUTO_JOBS,
    DESTINATIONS,
    IGNORABLE,
    LIST_FORMATS,
    MAX_JOBS,
    ROUND_TRIPS_PER_JOB,
    STOPPED_EXIT,
    ArchfuseError,
    CheckStatus,
    PreflightFailed,
    Stop,
    UsageError,
    __version__,
    ignorable_kind,
    parse_size,
    printable,
)
from core.api import events as ev
from tui.format import replication_question
from tui.render import JsonRenderer, PlainRenderer, json_line

if TYPE_CHECKING:  # the headless commands import what they use when they run
    from core.api import (
        ChartSelection,
        CheckOptions,
        PackageIndex,
        Preflight,
        RunOptions,
        Secret,
        Session,
        Site,
        TargetConfig,
        TargetInputs,
    )

Handler = Callable[[argparse.Namespace], int]

EXIT_CODES = f"""\
exit codes:
  0  done
  1  the run failed (something could not be imported)
  2  usage or bad input (unreadable package, bad configuration, no terminal for the TUI)
  3  preflight failed (no tag moved)
  {STOPPED_EXIT}  stopped safely on request (Escape, Ctrl+Q, SIGINT, SIGTERM, SIGHUP): no tag moved that was
     not whole; run the same import again (or accept the TUI's resume offer) to continue"""

#: the first lines of ``archfuse --help``: the TUI on a directory needs no command word
USAGE = """
  archfuse [DIR | PACKAGE...]      open the terminal UI on a directory of packages (or package files)
  archfuse COMMAND [OPTIONS]       a command below; archfuse COMMAND --help for its options
  archfuse -V | --version"""

#: what archfuse says when the TUI is asked for without a terminal (``ssh host archfuse``)
NO_TERMINAL = (
    "the terminal UI needs a terminal, and standard input or output is not one: use `ssh -t HOST archfuse`, "
    "or the commands (`archfuse import PATH... --registry URL --yes`; `archfuse --help` lists them)."
)


def _add_target_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    g = p.add_argument_group("target")
    g.add_argument("--registry", action="append", metavar="URL",
                   help="https://host[:port], http://host:port, or a directory / oci:PATH for an OCI layout; "
                   "repeat it for several targets (sites)")
    g.add_argument("--sites", metavar="FILE", help="a YAML file of sites (name, registry, username, password_env "
                   "or password_file, ca_cert, insecure, prefix, chart_repo, chart_repo_type): several targets")
    g.add_argument("-c", "--cluster-config", metavar="FILE", help="the vendor installer's clusterConfig.yaml")
    g.add_argument("--username", help="registry user (else $ARCHFUSE_USERNAME, else docker config.json)")
    g.add_argument("--password-stdin", action="store_true", help="read the registry password from standard input")
    g.add_argument("--insecure", action="store_true", help="allow plain HTTP and unverified TLS (said in the output)")
    g.add_argument("--ca-cert", metavar="FILE", help="CA certificate that signed the registry's TLS certificate")
    g.add_argument("--prefix", default="", metavar="PATH", help="path prepended to every image repository")
    g.add_argument("--chart-repo", metavar="URL", help="chart destination (default: the registry, as OCI charts)")
    g.add_argument("--chart-repo-type", choices=list(DESTINATIONS), help="kind of chart destination")
    g.add_argument("--chart-username", help="chart repository user (else $ARCHFUSE_CHART_USERNAME; password from "
                   "$ARCHFUSE_CHART_PASSWORD)")
    g.add_argument("--create-spaces", action="store_true", help="create missing registry spaces (Harbor projects)")
    g.add_argument("--space-visibility", choices=["public", "private"], default="public")
    g.add_argument("--retry-for", default="", metavar="DURATION",
                   help="how long a failing registry request is retried (connection failures, 5xx, 429, "
                   "timeouts), e.g. 10m or 1h (default 10m: long enough for a registry restart)")
    g.add_argument("--stall-timeout", default="", metavar="DURATION",
                   help="a registry request that moves no byte for this long is retried on a new connection "
                   "(default 60s)")
    p.set_defaults(target_required=required)


#: every command's namespace has these, so the commands read them without asking whether they are there
DEFAULTS: dict[str, object] = {
    "paths": [], "strict": False, "rescan": False, "verbose": False, "force_charts": False,
    "spool_budget": "256MiB", "spool_dir": None, "spool_memory": "32MiB", "ignore_check": [],
    "registry_storage": None, "clean_leftovers": False, "jobs": AUTO_JOBS, "limit_rate": "0",
    "retry_for": "", "stall_timeout": "", "charts": [], "skip_charts": [],
}


def _add_chart_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("charts")
    g.add_argument("--charts", action="append", default=[], metavar="NAME,GLOB,...",
                   help="take only these charts (name or repo/name, shell globs; repeatable) and the images they need")
    g.add_argument("--skip-charts", action="append", default=[], metavar="NAME,GLOB,...",
                   help="leave out these charts (an image another chart needs still comes with that chart)")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.set_defaults(**DEFAULTS)
    p.add_argument("--state-dir", metavar="DIR", help="journal and scan cache (default: user state dir; $ARCHFUSE_STATE_DIR)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="archfuse",
        usage=USAGE,
        description="Import addon offline packages into air-gapped registries and fuse architectures.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-V", "--version", action="version", version=f"archfuse {__version__}")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("tui", help="open the terminal UI (the default)")
    _add_common(p)
    p.add_argument("paths", nargs="*", type=Path)

    p = sub.add_parser("demo", help="make sample packages and open the TUI on an OCI layout target")
    _add_common(p)
    p.add_argument("--dir", type=Path, help="where the demo packages and layout go (default: <state dir>/demo)")
    p.add_argument("--headless", action="store_true", help="import the demo packages without the TUI")

    p = sub.add_parser("scan", help="read packages and list their charts and images")
    _add_common(p)
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--strict", action="store_true", help="a checksum mismatch is fatal")
    p.add_argument("--rescan", action="store_true", help="ignore the scan cache")

    for name, help_text in (
        ("plan", "check everything and show what an import would do; writes nothing"),
        ("import", "import packages into the target"),
        ("verify", "check the target holds every image and chart of the packages"),
    ):
        p = sub.add_parser(name, help=help_text)
        _add_common(p)
        p.add_argument("paths", nargs="*", type=Path)
        _add_target_args(p)
        _add_chart_args(p)
        p.add_argument("--strict", action="store_true", help="a checksum mismatch is fatal")
        p.add_argument("--rescan", action="store_true", help="ignore the scan cache")
        if name == "import":
            p.add_argument("-y", "--yes", action="store_true", help="do not ask before writing")
            p.add_argument("--force-charts", action="store_true", help="overwrite chart versions whose content differs")
            p.add_argument("--spool-budget", default="256MiB", help="most bytes held while uploads are in flight")
            p.add_argument("--spool-dir", type=Path, help="where spooled blobs go beyond memory")
            p.add_argument("--spool-memory", default="32MiB",
                           help="a spooled blob stays in memory up to this size, beyond it goes to --spool-dir")
            p.add_argument("--scan-first", action="store_true",
                           help="read every package through and run the checks before uploading anything; "
                           "without it, an import with --yes into a registry uploads blobs (never tags) while it "
                           "reads a package it has not scanned before, so the package is read once")
            p.add_argument("--verbose", action="store_true", help="a line per blob")
            p.add_argument("--limit-rate", default="0", metavar="RATE",
                           help="most bytes per second uploaded, all uploads together (to each site, with several), "
                           "e.g. 20MiB or 500KiB (default: no limit)")
        if name == "verify":
            p.add_argument("--repair", action="store_true",
                           help="put back what the target lost of the packages (missing child manifests and blobs, "
                           "lost platforms, stale tags, lost chart versions), never touching a tag that is right: "
                           "a plan, then consent")
            p.add_argument("-y", "--yes", action="store_true", help="with --repair: do not ask before writing")
        if name in ("plan", "import"):
            p.add_argument("--jobs", default=AUTO_JOBS, metavar="N|auto",
                           help=f"blob uploads in flight at once, 1-{MAX_JOBS}, or {AUTO_JOBS} (the default): "
                           "raised while the throughput grows, lowered when the registry throttles, fails or slows "
                           "(a registry on slow disks); lookups, mounts, manifest and tag writes "
                           f"go {ROUND_TRIPS_PER_JOB} per job at once, at most {MAX_JOBS}")
            p.add_argument("--ignore-check", action="append", default=[], metavar="KIND",
                           choices=[k.flag for k in IGNORABLE],
                           help="go past a failed check of this kind (repeatable): "
                           + ", ".join(k.flag for k in IGNORABLE))
            p.add_argument("--registry-storage", type=Path, metavar="PATH",
                           help="where a registry on this node stores data (checked for free space)")
            p.add_argument("--clean-leftovers", action="store_true",
                           help="remove the vendor installer's leftover addon-offline-target-package directories")

    p = sub.add_parser("list", help="the charts and images of packages, as a review before an air-gap crossing")
    _add_common(p)
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--format", choices=list(LIST_FORMATS), default="table", help="table (default), csv or json")
    p.add_argument("--registry", default="", metavar="URL", help="show target references on this registry")
    p.add_argument("--prefix", default="", metavar="PATH", help="path prepended to every image repository")
    p.add_argument("--rescan", action="store_true", help="ignore the scan cache")
    _add_chart_args(p)

    p = sub.add_parser("diff", help="what NEW changes against OLD (or against what a target holds): charts, "
                       "images, and the bytes that move")
    _add_common(p)
    p.add_argument("sides", type=Path, nargs="+", metavar="[OLD] NEW",
                   help="the older and the newer package file (or directory of them); with a target, NEW only: "
                   "OLD is what the journal says the target holds")
    _add_target_args(p, required=False)
    p.add_argument("--rescan", action="store_true", help="ignore the scan cache")
    _add_chart_args(p)

    p = sub.add_parser("history", help="runs in the journal")
    _add_common(p)

    p = sub.add_parser("prune", help="free what old versions used: tags, then manifests nothing else uses")
    _add_common(p)
    _add_target_args(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--keep", type=int, metavar="N", help="keep the newest N versions of each package kind")
    which.add_argument("--drop", metavar="VERSION", help="drop this version")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask before deleting")
    _add_chart_args(p)

    p = sub.add_parser("sites", help="several registries: Harbor replication from a hub to its sites")
    _add_common(p)
    p.add_argument("action", choices=["replicate"], help="replicate: Harbor replication of one import from the hub "
                   "to each other site, configured, followed, re-run where tasks failed, each site verified")
    _add_target_args(p, required=False)
    p.add_argument("--hub", required=True, metavar="NAME", help="the site (a Harbor) the others are fed from: its "
                   "name in the sites file, or host:port of one --registry")
    p.add_argument("--run", metavar="RUN_ID", help="the import to replicate (default: the newest finished import "
                   "into the hub)")
    p.add_argument("--speed-limit", default="0", metavar="RATE",
                   help="bandwidth per replication task, e.g. 20MiB (per second; default 0: no limit)")
    p.add_argument("--no-single-active", action="store_true",
                   help="let an execution start while the policy's previous one still runs")
    p.add_argument("--reruns", type=int, default=2, metavar="N",
                   help="new executions after one that ended with failed tasks (default 2)")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask before creating endpoints and policies")

    p = sub.add_parser("rollback", help="put back the tags a run changed")
    _add_common(p)
    p.add_argument("run_id")
    _add_target_args(p, required=False)
    p.add_argument("-y", "--yes", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``archfuse`` console script."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if words and words[0] not in COMMANDS and not words[0].startswith("-"):
        if not Path(words[0]).expanduser().exists():
            parser.error(unknown_command(words[0]))
        words.insert(0, "tui")  # ``archfuse DIR`` opens the TUI on DIR
    args = parser.parse_args(words)
    if args.command is None:
        args = parser.parse_args(["tui", *words])
    if _opens_tui(args) and not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(f"archfuse: {NO_TERMINAL}", file=sys.stderr)  # Textual would wait for ever on no terminal
        return UsageError.exit_code
    debug = args.debug
    try:
        return int(COMMANDS[args.command](args))
    except KeyboardInterrupt:
        print("archfuse: interrupted; nothing was left half-done: run the same command again to continue.",
              file=sys.stderr)
        return STOPPED_EXIT
    except ArchfuseError as err:
        if debug:  # the traceback, then the same sentence and exit code as without --debug
            traceback.print_exc()
        from core.api import hide_url_credentials

        message = hide_url_credentials(str(err))
        if args.json:
            json_line({"event": "error", "message": message, "exit_code": err.exit_code})
        print(f"archfuse: {printable(message)}", file=sys.stderr)
        return err.exit_code


def _opens_tui(args: argparse.Namespace) -> bool:
    headless = args.command == "demo" and (args.headless or os.environ.get("ARCHFUSE_HEADLESS"))
    return args.command in ("tui", "demo") and not headless


def unknown_command(word: str) -> str:
    """The usage error of a first word that is neither a command nor a path, with the close command."""
    close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.6)
    hint = f"did you mean `archfuse {close[0]}`?" if close else f"the commands are {', '.join(sorted(COMMANDS))}."
    return f"{word!r} is not a command, nor a file or directory of packages; {hint}"


@contextlib.contextmanager
def _on_signals(names: tuple[str, ...], handler: Callable[[str], None]) -> Iterator[None]:
    """``handler(signal name)`` hears the signals ``names`` (those this platform has) while inside."""
    chosen = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous = {signum: signal.signal(signum, lambda signum, _frame: handler(signal.Signals(signum).name))
                for signum in chosen}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def stop_on_signals(stop: Stop) -> contextlib.AbstractContextManager[None]:
    """SIGINT, SIGTERM and SIGHUP (a dropped SSH session) stop the run safely, as Escape does in the TUI:
    ``stop`` is set, naming the signal, and the run stops before any tag moves that would not be whole."""
    return _on_signals(("SIGINT", "SIGTERM", "SIGHUP"), stop.interrupt)


def _keyboard_interrupt(name: str) -> None:
    raise KeyboardInterrupt(name)


def interrupt_on_signals() -> contextlib.AbstractContextManager[None]:
    """Before a run: SIGTERM and SIGHUP end the command as Ctrl-C does (nothing was moved yet)."""
    return _on_signals(("SIGTERM", "SIGHUP"), _keyboard_interrupt)


# -- commands ---------------------------------------------------------------------------


def _emitter(args: argparse.Namespace, site: str = "") -> ev.Emit:
    """The renderer of the events (``site``: of one site of several, said on each line)."""
    return JsonRenderer(site=site) if args.json else PlainRenderer(verbose=args.verbose, site=site)


def _scan(args: argparse.Namespace, emit: ev.Emit) -> list[PackageIndex]:
    from core.api import Workspace

    if not args.paths:
        raise UsageError("Name at least one package file or directory of packages.")
    return Workspace(state_dir=args.state_dir, emit=emit).scan(list(args.paths), strict=args.strict, rescan=args.rescan)


def cmd_scan(args: argparse.Namespace) -> int:
    from core.api import render_scan_table, scan_json

    indexes = _scan(args, ev.discard if args.json else PlainRenderer())
    if args.json:
        json_line(scan_json(indexes))
    else:
        sys.stdout.write(render_scan_table(indexes) + "\n")
    return 0


def target_inputs(args: argparse.Namespace) -> TargetInputs:
    """The target flags as typed (``--password-stdin`` read here); the environment comes later."""
    from core.api import TargetInputs, secret

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin was given but standard input held no password.")
    return TargetInputs(
        registry=(args.registry or [""])[0],
        cluster_config=args.cluster_config or "",
        username=args.username or "",
        password=secret(password),
        insecure=args.insecure,
        ca_cert=args.ca_cert or "",
        prefix=args.prefix,
        chart_repo=args.chart_repo or "",
        chart_repo_type=args.chart_repo_type or "",
        chart_username=args.chart_username or "",
        create_spaces=args.create_spaces,
        space_visibility=args.space_visibility,
    )


def target_config(args: argparse.Namespace) -> TargetConfig:
    """The TargetConfig the target flags, the environment (and a cluster config) describe; a
    UsageError when they name several targets (``plan`` and ``import`` take them: :func:`target_sites`)."""
    if len(args.registry or []) > 1 or getattr(args, "sites", None):
        raise UsageError(f"archfuse {args.command} takes one target; --sites and a repeated --registry work with "
                         "plan and import.")
    return _one_target(args)


def _one_target(args: argparse.Namespace) -> TargetConfig:
    from core.api import target_config as build
    from core.api import typed_patience

    config = typed_patience(build(target_inputs(args)), retry_for=args.retry_for, stall_timeout=args.stall_timeout)
    if args.username and config.username == args.username and not config.password:
        config.password = _ask_password(config)
    return config


def target_sites(args: argparse.Namespace) -> list[Site]:
    """The targets of the flags: the sites of ``--sites FILE``, a site per repeated ``--registry``,
    or the one target of :func:`target_config`."""
    from core.api import load_sites, site_of, sites_base, sites_from_registries, typed_patience

    if args.sites:
        if args.registry or args.cluster_config:
            raise UsageError("--sites names the targets; give it without --registry and --cluster-config.")
        password = target_inputs(args).password
        base = sites_base(args.username, password, insecure=args.insecure,
                          ca_cert=Path(args.ca_cert).expanduser() if args.ca_cert else None, prefix=args.prefix)
        base = typed_patience(base, retry_for=args.retry_for, stall_timeout=args.stall_timeout)
        return load_sites(Path(args.sites).expanduser(), base)
    config = _one_target(args)
    urls = args.registry or []
    if len(urls) <= 1:
        return [site_of(config)]
    return sites_from_registries(urls, config)


def _ask_password(config: TargetConfig) -> Secret:
    """``--username`` without a password: ask at a terminal (not echoed); refuse without one."""
    from core.api import Secret

    if not sys.stdin.isatty():
        raise UsageError(
            f"--username {config.username} was given without a password; pass it with --password-stdin "
            "or ARCHFUSE_PASSWORD."
        )
    import getpass

    password = getpass.getpass(printable(f"Password for {config.username} at {config.description}: "))
    if not password:
        raise UsageError(f"No password was given for {config.username}; nothing was done.")
    return Secret(password)


def _open(args: argparse.Namespace, config: TargetConfig, emit: ev.Emit) -> Session:
    from core.api import open_session

    if config.insecure:
        print(printable(f"archfuse: warning: --insecure: TLS is not verified for {config.description}."), file=sys.stderr)
    return open_session(config, state_dir=args.state_dir, emit=emit, force_charts=args.force_charts)


def _session(args: argparse.Namespace, emit: ev.Emit) -> Session:
    return _open(args, target_config(args), emit)


def _run_options(args: argparse.Namespace) -> RunOptions:
    """The run options of the flags, by the rules the TUI's Target form uses (core.run.options)."""
    from core.api import RunOptions, typed_run_options

    return typed_run_options(
        RunOptions(memory_spool=parse_size(args.spool_memory, flag="--spool-memory", minimum=0)),
        jobs=str(args.jobs),
        limit_rate=args.limit_rate,
        spool_budget=args.spool_budget,
        spool_dir=str(args.spool_dir or ""),
    )


def _check_options(args: argparse.Namespace, dry_run: bool) -> CheckOptions:
    from core.api import CheckOptions

    return CheckOptions(
        clean_leftovers=args.clean_leftovers and not dry_run,
        registry_storage=args.registry_storage,
        ignore=frozenset(ignorable_kind(k) for k in args.ignore_check),
    )


def _packages(args: argparse.Namespace, session: Session, upload: RunOptions | None = None) -> list[PackageIndex]:
    """The packages named on the command line, else those the cluster config names.

    ``upload``: the import is agreed to, so blobs go to the registry as the scan reads them (one read).
    """
    paths = list(args.paths) or list(session.config.packages)
    if not paths:
        raise UsageError("Name at least one package file or directory of packages.")
    selection = _chart_selection(args)
    if upload is not None:
        packages = session.scan_to_import(
            paths, strict=args.strict, rescan=args.rescan, options=upload, charts=selection
        )
    else:
        packages = session.scan(paths, strict=args.strict, rescan=args.rescan)
    return session.select_charts(packages, selection)


def _chart_selection(args: argparse.Namespace) -> ChartSelection:
    """The charts ``--charts`` and ``--skip-charts`` take (every chart without them)."""
    from core.api import ChartSelection

    return ChartSelection.of(args.charts, args.skip_charts)


def cmd_list(args: argparse.Namespace) -> int:
    from core.api import Workspace, render_listing

    workspace = Workspace(state_dir=args.state_dir, emit=ev.discard if args.json else PlainRenderer())
    selection = _chart_selection(args)
    scanned = workspace.scan(list(args.paths), rescan=args.rescan)
    taken = {p.path for p in workspace.select_charts(scanned, selection)}  # whole packages: the listing names sharers
    doc = workspace.listing([p for p in scanned if p.path in taken], selection, registry=args.registry, prefix=args.prefix)
    sys.stdout.write(render_listing(doc, "json" if args.json else args.format) + "\n")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from core.api import Workspace

    workspace = Workspace(state_dir=args.state_dir, emit=ev.discard if args.json else PlainRenderer())
    target = bool(args.registry or args.cluster_config)
    if len(args.sides) != (1 if target else 2):
        raise UsageError("archfuse diff takes OLD and NEW packages, or NEW and a target (--registry or -c) whose "
                         "imports the journal knows.")
    if target:
        diff = workspace.diff_with_target(args.sides, target_config(args), _chart_selection(args), rescan=args.rescan)
    else:
        diff = workspace.diff([args.sides[0]], [args.sides[1]], _chart_selection(args), rescan=args.rescan)
    if args.json:
        json_line(diff.to_json())
    else:
        sys.stdout.write(diff.render_text() + "\n")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    sites = target_sites(args)
    if len(sites) > 1:
        return _plan_sites(args, sites)
    session = _open(args, sites[0].config, ev.discard if args.json else PlainRenderer())
    try:
        preflight = session.preflight(
            _packages(args, session), strict=args.strict, options=_run_options(args), checks=_check_options(args, True)
        )
    finally:
        session.close()
    if args.json:
        _show(args, None, preflight)
    else:  # each check was shown as it ran (PlainRenderer): counted, not listed again
        sys.stdout.write(preflight.render_text(checks=False) + "\n")
    return PreflightFailed.exit_code if preflight.failed else 0


def cmd_import(args: argparse.Namespace) -> int:
    with interrupt_on_signals():
        return _import(args)


def _import(args: argparse.Namespace) -> int:
    sites = target_sites(args)
    if len(sites) > 1:
        return _import_sites(args, sites)
    emit = _emitter(args)
    session = _open(args, sites[0].config, emit)
    options = _run_options(args)
    try:
        one_read = args.yes and not args.scan_first
        preflight = session.preflight(
            _packages(args, session, options if one_read else None),
            strict=args.strict,
            options=options,
            checks=_check_options(args, False),
        )
        _refuse_failed(args, session, preflight)
        shown = preflight
        if not _consented(args, "import writes to the target", lambda: _import_question(shown),
                          show=lambda: sys.stdout.write(shown.render_text(checks=False) + "\n")):
            print("archfuse: not imported; nothing was changed.", file=sys.stderr)
            return 0
        preflight = session.prepare(preflight)  # consent given: spaces created, leftovers removed
        _refuse_failed(args, session, preflight)
        stop = Stop()
        with stop_on_signals(stop):
            summary = session.run(preflight, cancel=stop, options=options)
    finally:
        session.close()
    _print_report(args, summary.reports)
    if stop.interrupted and not args.json:
        print(f"archfuse: {stop.signal}: the run stopped safely; no tag moved that was not whole. Run the same "
              "command again to continue.", file=sys.stderr)
    return int(summary.exit_code)


def _open_sites(args: argparse.Namespace, sites: list[Site], emit: ev.Emit | None = None) -> list[Session]:
    """A session per site (events labelled with its name; ``emit`` for all of them when given)."""
    sessions: list[Session] = []
    try:
        for site in sites:
            sessions.append(_open(args, site.config, emit or _emitter(args, site.name)))
    except BaseException:
        for session in sessions:
            session.close()
        raise
    return sessions


def _sites_preflight(args: argparse.Namespace, sessions: list[Session], dry_run: bool) -> list[Preflight]:
    """Every site's checks and plan at once, the packages scanned once."""
    from core.api import preflight_sites

    return preflight_sites(sessions, _packages(args, sessions[0]), strict=args.strict, options=_run_options(args),
                           checks=_check_options(args, dry_run))


def _plan_sites(args: argparse.Namespace, sites: list[Site]) -> int:
    """``archfuse plan`` to several sites: a site x check table and each site's totals (or JSON)."""
    from core.api import render_sites, sites_json

    sessions = _open_sites(args, sites, ev.discard)
    try:
        named = list(zip([s.name for s in sites], _sites_preflight(args, sessions, True)))
    finally:
        for session in sessions:
            session.close()
    if args.json:
        json_line(sites_json(named))
    else:
        sys.stdout.write(render_sites(named) + "\n")
    return PreflightFailed.exit_code if any(p.failed for _n, p in named) else 0


def _import_sites(args: argparse.Namespace, sites: list[Site]) -> int:
    """``archfuse import`` to several sites: the checks at once, one consent, then one read of the
    packages feeding every site; 0 when every site is done, 1 when one failed (the others are done)."""
    from core.api import render_sites, run_sites

    sessions = _open_sites(args, sites)
    options = _run_options(args)
    try:
        preflights = _sites_preflight(args, sessions, False)
        named = list(zip([s.name for s in sites], preflights))
        if all(p.failed for p in preflights):
            if not args.json:
                sys.stdout.write(render_sites(named) + "\n")
            raise PreflightFailed(f"Preflight failed on every site ({', '.join(s.name for s in sites)}); "
                                  "nothing was written.")
        question = f"Import into {len(sites)} sites ({', '.join(s.name for s in sites)})?"
        if not _consented(args, "import writes to the target", lambda: question,
                          show=lambda: sys.stdout.write(render_sites(named) + "\n")):
            print("archfuse: not imported; nothing was changed.", file=sys.stderr)
            return 0
        preflights = [s.prepare(p) if not p.failed else p for s, p in zip(sessions, preflights)]
        stop = Stop()
        with stop_on_signals(stop):
            outcomes = run_sites(sessions, preflights, cancel=stop, options=options)
    finally:
        for session in sessions:
            session.close()
    rows = [{"site": site.name, "target": site.config.description, "status": str(o.status),
             "run_id": o.summary.run_id if o.summary else "", "message": o.message, "exit_code": o.exit_code}
            for site, o in zip(sites, outcomes)]
    for site, outcome in zip(sites, outcomes):
        if outcome.summary is not None:
            _print_report(args, outcome.summary.reports, site.name)
    if args.json:
        json_line({"event": "sites", "sites": rows})
    else:
        for row in rows:
            print(printable(f"site {row['site']}: {row['status']}" + (f": {row['message']}" if row["message"] else "")))
    if stop.interrupted and not args.json:
        print(f"archfuse: {stop.signal}: the run stopped safely; no tag moved that was not whole. Run the same "
              "command again to continue.", file=sys.stderr)
    codes = {o.exit_code for o in outcomes}
    return 0 if codes == {0} else (STOPPED_EXIT if codes == {STOPPED_EXIT} else 1)


def _refuse_failed(args: argparse.Namespace, session: Session, preflight: Preflight) -> None:
    """A failed preflight: its checks shown, then PreflightFailed saying what the target holds now."""
    if not preflight.failed:
        return
    if not args.json:  # each check was shown as it ran
        sys.stdout.write(preflight.render_text(checks=False) + "\n")
    first = preflight.failures[0]
    raise PreflightFailed(f"Preflight failed: {first.name}: {first.detail}", hint=session.untagged_note())


def _import_question(preflight: Preflight) -> str:
    """The question before an import, naming what it changes before its run."""
    first = []
    if preflight.spaces_to_create:
        first.append(f"create the Harbor project(s) {', '.join(preflight.spaces_to_create)}")
    if preflight.leftovers_to_remove:
        first.append(f"remove {', '.join(str(path) for path, _ in preflight.leftovers_to_remove)}")
    return f"First {' and '.join(first)}, then import?" if first else "Import now?"


def _print_report(args: argparse.Namespace, paths: tuple[Path, ...], site: str = "") -> None:
    """Where the run report went: a JSON event line, or ``report: PATH`` on stderr (of ``site``)."""
    if not paths:
        return
    if args.json:
        json_line({"event": "report", "markdown": str(paths[0]), "json": str(paths[-1]), **({"site": site} if site else {})})
    else:
        for path in paths:
            print(printable(f"report: {path}" + (f" ({site})" if site else "")), file=sys.stderr)


def _consented(
    args: argparse.Namespace, doing: str, question: Callable[[], str], *, show: Callable[[], object] | None = None
) -> bool:
    """Consent to what changes the target: ``--yes``, or "yes" at the terminal (after ``show``); without a
    terminal and ``--yes``, a UsageError saying that ``archfuse DOING`` needs it."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"archfuse {doing}: pass --yes to confirm when not at a terminal.")
    if show is not None:
        show()
    return _confirm(question())


def _confirm(question: str) -> bool:
    """Ask at the terminal; anything but yes is no, and so is a terminal that closes (end of input, or
    the error reading a terminal whose other side is gone)."""
    try:
        answer = input(printable(f"{question} [y/N] ")).strip().lower()
    except (EOFError, OSError):
        sys.stdout.write("\n")
        return False
    return answer in ("y", "yes")


def cmd_verify(args: argparse.Namespace) -> int:
    if args.sites or len(args.registry or []) > 1:
        return _verify_sites(args)
    if args.repair:
        return _repair(args)
    session = _session(args, ev.discard)
    try:
        report = session.verify(_packages(args, session))
    finally:
        session.close()
    _show(args, None, report)
    return 0 if report.ok else 1


def _verify_sites(args: argparse.Namespace) -> int:
    """``verify`` with several targets: the site x tag x platform matrix (read only), or each site repaired."""
    emit: ev.Emit = JsonRenderer() if args.json and args.repair else ev.discard
    sessions: list[tuple[str, Session]] = []
    try:
        for site in target_sites(args):
            sessions.append((site.name, _open(args, site.config, emit)))
        packages = _packages(args, sessions[0][1])
        if args.repair:
            return _repair_sites(args, sessions, packages)
        report = sessions[0][1].verify_sites(packages, sessions)
    finally:
        for _, session in sessions:
            session.close()
    _show(args, None, report)
    return 0 if report.ok else 1


def _repair(args: argparse.Namespace) -> int:
    """``verify --repair`` of one target."""
    session = _session(args, JsonRenderer() if args.json else PlainRenderer())
    try:
        return _repair_sites(args, [("", session)], _packages(args, session))
    finally:
        session.close()


def _repair_sites(args: argparse.Namespace, sessions: list[tuple[str, Session]], packages: list[PackageIndex]) -> int:
    """``verify --repair``: the plan of what goes back at each site, consent once, then a journaled repair
    run per site (its events shown as an import's); the package is the source."""
    hub = sessions[0][1].repair_plan(packages)  # the first site is the hub: its right tags are the reference
    plans = [(sessions[0][0], sessions[0][1], hub)]
    plans += [(name, session, session.repair_plan(packages, hub=hub)) for name, session in sessions[1:]]
    for name, _, plan in plans:
        if args.json:
            json_line({"event": "repair_plan", **({"site": name} if name else {}), **plan.to_json()})
        else:
            sys.stdout.write((f"{name}: " if name else "") + plan.render_text() + "\n")
    cannot = 1 if any(plan.cannot for _, _, plan in plans) else 0
    todo = [(name, session, plan) for name, session, plan in plans if not plan.empty]
    if not todo:
        return cannot
    where = ", ".join(session.target.description for _, session, _ in todo)
    question = (f"Put back the {sum(len(p.items) for _, _, p in todo)} platform(s) and "
                f"{sum(len(p.charts) for _, _, p in todo)} chart version(s) above on {where}?")
    if not _consented(args, "verify --repair writes to the target", lambda: question):
        print("archfuse: not repaired; nothing was changed.", file=sys.stderr)
        return 0
    code = cannot
    stop = Stop()
    with interrupt_on_signals(), stop_on_signals(stop):
        for _, session, plan in todo:
            if stop.is_set():
                break
            summary = session.repair(plan, cancel=stop)
            _print_report(args, summary.reports)
            code = max(code, summary.exit_code)
    return code


def cmd_history(args: argparse.Namespace) -> int:
    from core.api import Workspace, render_history

    runs = Workspace(state_dir=args.state_dir, emit=_emitter(args)).history()
    if args.json:
        json_line({"runs": [r.to_json() for r in runs]})
    else:
        sys.stdout.write(render_history(runs) + "\n")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from core.api import Workspace, config_for_run, typed_patience

    record, tags = Workspace(state_dir=args.state_dir).find_run(args.run_id)
    config = target_config(args) if args.registry or args.cluster_config else typed_patience(
        config_for_run(record), retry_for=args.retry_for, stall_timeout=args.stall_timeout
    )
    session = _open(args, config, _emitter(args))
    try:
        question = f"Put back the {len(tags)} tag(s) run {record.id} changed on {session.target.description}?"
        if not _consented(args, "rollback moves tags on the target", lambda: question):
            return 0
        summary = session.rollback(record.id)
    finally:
        session.close()
    _show(args, "rollback", summary)
    return summary.exit_code


def cmd_prune(args: argparse.Namespace) -> int:
    session = _session(args, _emitter(args) if args.json else ev.discard)
    try:
        plan = session.prune_plan(keep=args.keep, drop=args.drop, charts=_chart_selection(args))
        _show(args, "prune_plan", plan)
        if plan.empty:
            return 0
        question = (f"Remove the {len(plan.tags)} tag(s) and delete the {len(plan.manifests)} manifest(s) above "
                    f"from {session.target.description}?")
        if not _consented(args, "prune deletes tags and manifests", lambda: question):
            return 0
        summary = session.prune(plan)
    finally:
        session.close()
    _show(args, "prune", summary)
    return summary.exit_code


def cmd_sites(args: argparse.Namespace) -> int:
    """``archfuse sites replicate``: the pair checks, consent, then the replication followed and each site verified."""
    from core.api import ReplicationOptions

    sites = target_sites(args)
    hub = next((s for s in sites if s.name == args.hub), None)
    if hub is None:
        raise UsageError(f"No site is named {args.hub!r} (the sites are {', '.join(s.name for s in sites)}); "
                         "name the hub with --hub.")
    others = [s for s in sites if s is not hub]
    if not others:
        raise UsageError(f"There is no site besides the hub {hub.name}: nothing to replicate to (--sites FILE or "
                         "--registry repeated names them).")
    speed = parse_size(args.speed_limit, flag="--speed-limit", minimum=0) // 1024
    options = ReplicationOptions(speed_kb=speed or -1, single_active=not args.no_single_active,
                                 reruns=max(args.reruns, 0))
    session = _open(args, hub.config, _emitter(args))
    try:
        plan = session.replication_plan(others, run_id=args.run)
        _show(args, "replication_plan", plan)
        if plan.blocked:
            first = next(c for s in plan.sites for c in s.checks if c.status == CheckStatus.FAIL)
            raise PreflightFailed(f"Replication refused: {first.name}: {first.detail} Nothing was changed.")
        question = replication_question(plan, hub.name, (s.name for s in others))
        if not _consented(args, "sites replicate changes the hub", lambda: question):
            print("archfuse: not replicated; nothing was changed.", file=sys.stderr)
            return 0
        summary = session.replicate(plan, options)
    finally:
        session.close()
    _show(args, "replication", summary)
    return summary.exit_code


class _Shown(Protocol):
    def to_json(self) -> dict[str, Any]: ...

    def render_text(self) -> str: ...


def _show(args: argparse.Namespace, event: str | None, result: _Shown) -> None:
    """A result as one JSON line (``--json``; with ``"event"`` when one is named) or as its text."""
    if args.json:
        json_line({"event": event, **result.to_json()} if event else result.to_json())
    else:
        sys.stdout.write(result.render_text() + "\n")


def cmd_tui(args: argparse.Namespace) -> int:
    from tui.app import run_app

    return run_app(paths=list(args.paths), state_dir=args.state_dir)


def cmd_demo(args: argparse.Namespace) -> int:
    from core.api import prepare_demo

    demo = prepare_demo(args.dir, state_dir=args.state_dir)
    if args.headless or os.environ.get("ARCHFUSE_HEADLESS"):
        argv = ["import", *(str(p) for p in demo.packages), "--registry", str(demo.layout), "--yes"]
        argv += ["--state-dir", str(args.state_dir)] if args.state_dir else []
        argv += ["--json"] if args.json else []
        return cmd_import(build_parser().parse_args(argv))
    from tui.app import run_app

    return run_app(paths=demo.packages, state_dir=args.state_dir, registry=str(demo.layout))


COMMANDS: dict[str, Handler] = {
    "scan": cmd_scan,
    "plan": cmd_plan,
    "import": cmd_import,
    "verify": cmd_verify,
    "list": cmd_list,
    "diff": cmd_diff,
    "history": cmd_history,
    "rollback": cmd_rollback,
    "prune": cmd_prune,
    "sites": cmd_sites,
    "tui": cmd_tui,
    "demo": cmd_demo,
}


if __name__ == "__main__":
    raise SystemExit(main())
