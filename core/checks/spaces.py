"""Checks of the registry's spaces: is the registry Harbor, and does every project the plan writes
into exist? With ``--create-spaces`` the missing ones are created, once the import is agreed to."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from core.advice import Advice
from core.charts.oci import OciChartDestination
from core.checks.base import Check, CheckContext, Preflight, listed
from core.errors import ArchfuseError
from core.kinds import CheckKind, CheckStatus, RegistryFlavour
from core.oci.refs import space_of
from core.plan.images import group_images
from core.registry.harbor import Flavour, HarborClient
from core.targets.connect import open_harbor

if TYPE_CHECKING:
    from core.config import TargetConfig

OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL
#: the display name of the flavour check (its kind is ``harbor``)
FLAVOUR = "registry flavour"


# -- flavour -----------------------------------------------------------------------------------


def check_flavour(client: HarborClient) -> tuple[Flavour | None, Check]:
    """Detect Harbor or a plain registry; the flavour is None when the server could not be asked."""
    try:
        flavour = client.detect()
    except ArchfuseError as err:
        return None, Check(
            CheckKind.HARBOR, WARN, f"Could not tell whether {client.description} is Harbor: {err}", label=FLAVOUR
        )
    if flavour.is_harbor:
        version = flavour.version or "version not shown to this user"
        rule = " (only administrators may create projects)" if flavour.project_creation == "adminonly" else ""
        return flavour, Check(
            CheckKind.HARBOR,
            OK,
            f"{client.description} is Harbor ({version}); the first path segment of each repository is a project{rule}.",
            label=FLAVOUR,
        )
    return flavour, Check(
        CheckKind.HARBOR,
        OK,
        f"{client.description} is a plain registry (distribution); repositories need no project.",
        label=FLAVOUR,
    )


# -- registry spaces ---------------------------------------------------------------------------


def check_spaces(
    plan_repositories: Iterable[str],
    flavour: RegistryFlavour | Flavour | None,
    harbor_client: HarborClient | None,
    *,
    create: bool,
    public: bool,
) -> list[Check]:
    """Every registry space (Harbor project) the destination repositories need exists.

    On Harbor, missing projects fail with their list and the fix (``--create-spaces``); with
    ``create`` they are reported as to be created (``public`` sets their visibility), their names
    in the check's ``items``: :func:`create_spaces` creates them once the engineer agreed to the
    import (``Session.prepare``). A check writes nothing. On a plain registry spaces are implicit.
    """
    name = flavour.name if isinstance(flavour, Flavour) else flavour
    spaces = sorted({space_of(r) for r in plan_repositories if r})
    if not spaces:
        return [Check(CheckKind.REGISTRY_SPACES, OK, "The plan writes no repository.")]
    if name == RegistryFlavour.DISTRIBUTION:
        return [
            Check(
                CheckKind.REGISTRY_SPACES,
                OK,
                f"A plain registry creates repositories on push; {len(spaces)} top-level paths: {listed(spaces)}.",
            )
        ]
    if name != RegistryFlavour.HARBOR or harbor_client is None:
        return [
            Check(
                CheckKind.REGISTRY_SPACES,
                WARN,
                Advice("Not checked: the registry's flavour is unknown; on Harbor, missing projects make pushes "
                       "fail ({create_spaces} to create them)."),
            )
        ]
    where = harbor_client.description
    missing: list[str] = []
    for space in spaces:
        try:
            if not harbor_client.project_exists(space):
                missing.append(space)
        except ArchfuseError as err:
            return [Check(CheckKind.REGISTRY_SPACES, FAIL, str(err))]
    if not missing:
        return [
            Check(
                CheckKind.REGISTRY_SPACES,
                OK,
                f"Harbor at {where} has every project the images need: {listed(spaces)}.",
            )
        ]
    if not create:
        noun = "project" if len(missing) == 1 else "projects"
        return [
            Check(
                CheckKind.REGISTRY_SPACES,
                FAIL,
                Advice(f"Harbor at {where} lacks the {noun} {listed(missing)} that {len(missing)} of the "
                       "destinations need; {create_spaces} to create them, or create them in Harbor."),
                items=tuple(missing),
            )
        ]
    visibility = "public" if public else "private"
    out: list[Check] = []
    present = [s for s in spaces if s not in missing]
    if present:
        out.append(Check(CheckKind.REGISTRY_SPACES, OK, f"Harbor at {where} already has: {listed(present)}."))
    out.append(
        Check(
            CheckKind.REGISTRY_SPACES,
            OK,
            f"Harbor at {where} lacks {listed(missing)}; the import creates them as {visibility} projects, "
            "as asked, once it is agreed to.",
            items=tuple(missing),
        )
    )
    return out


def create_spaces(harbor_client: HarborClient, spaces: Iterable[str], *, public: bool) -> list[Check]:
    """Create the registry spaces (Harbor projects) :func:`check_spaces` found missing, after consent;
    one check per space (a project someone else created meanwhile is fine)."""
    where = harbor_client.description
    visibility = "public" if public else "private"
    out: list[Check] = []
    for space in spaces:
        label = f"registry space {space}"
        try:
            created = harbor_client.create_project(space, public=public)
        except ArchfuseError as err:
            out.append(Check(CheckKind.REGISTRY_SPACES, FAIL, str(err), label=label))
            continue
        detail = (
            f"Created {visibility} Harbor project '{space}' on {where}." if created
            else f"Harbor project '{space}' already exists on {where}."
        )
        out.append(Check(CheckKind.REGISTRY_SPACES, OK, detail, label=label))
    return out


def create_missing_spaces(config: TargetConfig, spaces: Iterable[str]) -> list[Check]:
    """:func:`create_spaces` on the Harbor ``config`` names, with the visibility it asks for."""
    harbor = open_harbor(config)
    if harbor is None:
        return []
    with harbor:
        return create_spaces(harbor, spaces, public=config.space_visibility == "public")


def spaces_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """On Harbor, every project the images (and OCI charts in the same registry) need exists."""
    config = context.config
    harbor = open_harbor(config) if config is not None else None
    if harbor is None or config is None or result.failed_any(CheckKind.TARGET):
        return
    with harbor:
        flavour, check = check_flavour(harbor)
        result.flavour = flavour.name if flavour is not None else None
        yield check
        repos = {t.repository for t in group_images(context.packages, context.prefix, context.target.host)}
        charts = context.charts
        if isinstance(charts, OciChartDestination) and charts.target is context.target:
            repos |= {charts.repository(c.name, c.repo) for p in context.packages for c in p.charts}
        checks = check_spaces(
            repos, flavour, harbor, create=config.create_spaces, public=config.space_visibility == "public"
        )
    yield from checks
    if config.create_spaces:  # the missing ones, created by Session.prepare once the import is agreed to
        result.spaces_to_create = tuple(space for c in checks for space in c.items)
