"""Harbor replication from a hub to its sites, configured and followed (``archfuse sites replicate``).

For each site the hub feeds: the pair is checked first (the same Harbor version, the hub reaches the
site, the site's target projects exist and are not proxy caches, no immutable-tag rule protects a tag
the replication overwrites, the quota holds what it adds); then, once agreed, the hub's registry
endpoint for the site is reused or created, the artifacts this import wrote (as the journal says) get
one label, a manual policy copies exactly what carries that label (``override`` on, a speed limit and
``single_active_replication`` from the options), an execution starts and is followed task by task;
an execution that ends with failed tasks is followed by a new one (Harbor re-runs a policy, not a
task), and last each site is verified by reading it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from core import events as ev
from core.advice import Advice
from core.checks.base import Check, listed
from core.checks.rules import ProjectWrites, check_immutable, check_proxy_cache, check_quota
from core.config import TargetConfig
from core.errors import ArchfuseError, RegistryError, UsageError
from core.kinds import CheckKind, CheckStatus, VerifyStatus
from core.oci.manifest import ManifestRef
from core.oci.refs import space_of
from core.operations.verify import ImageCheck, verify_images
from core.package.model import PackageIndex
from core.plan.images import TagPlan
from core.record.journal import TagRecord
from core.registry.harbor import harbor_release
from core.registry.replication import HarborReplication
from core.targets.base import Target
from core.targets.connect import open_harbor, open_target
from core.targets.sites import Site

OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL
#: Harbor's words for an execution that still runs, and for one that ended well
RUNNING, SUCCEED = "InProgress", "Succeed"
PREFIX = "archfuse"


@dataclass(frozen=True)
class ReplicationOptions:
    """How the policy copies and how the follower waits."""

    speed_kb: int = -1  # KB/s per task (the policy's ``speed``); -1: no limit
    single_active: bool = True  # the policy's ``single_active_replication``
    reruns: int = 2  # new executions after one that ended with failed tasks
    poll: float = 1.0  # seconds before the first look at an execution; it doubles up to ``poll_max``
    poll_max: float = 15.0
    timeout: float = 6 * 3600.0  # an execution still running after this is reported, not waited for


@dataclass
class SitePlan:
    """What replicating to one site checks and would create."""

    name: str
    config: TargetConfig
    checks: list[Check] = field(default_factory=list)
    registry_id: int | None = None  # the hub's endpoint for the site when it exists
    policy_id: int | None = None

    @property
    def blocked(self) -> bool:
        return any(c.status == FAIL for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.name, "registry_id": self.registry_id, "policy_id": self.policy_id,
            "checks": [{"name": c.name, "status": c.status, "detail": c.detail} for c in self.checks],
        }


@dataclass
class ReplicationPlan:
    """The pair checks of every site, and what an agreed replication creates on the hub."""

    hub: TargetConfig
    run_id: str
    tags: list[TagRecord]
    label: str
    sites: list[SitePlan]

    @property
    def blocked(self) -> bool:
        return any(s.blocked for s in self.sites)

    @property
    def creates(self) -> list[str]:
        """What an agreed replication creates on the hub (endpoints and policies it cannot reuse)."""
        out = [f"registry endpoint {endpoint_name(s.name)}" for s in self.sites if s.registry_id is None]
        return out + [f"replication policy {policy_name(s.name)}" for s in self.sites if s.policy_id is None]

    def to_json(self) -> dict[str, Any]:
        return {
            "hub": self.hub.description, "run_id": self.run_id, "label": self.label, "artifacts": len(self.tags),
            "blocked": self.blocked, "creates": self.creates, "sites": [s.to_json() for s in self.sites],
        }

    def render_text(self) -> str:
        lines = [f"Replicate run {self.run_id} ({len(self.tags)} tag(s), label {self.label}) from {self.hub.description}:"]
        for site in self.sites:
            lines.append(f"  site {site.name}:")
            lines += [f"    {c.status.upper():4} {c.name}: {c.detail}" for c in site.checks]
        if self.creates:
            lines.append(f"  creates on the hub: {', '.join(self.creates)}")
        return "\n".join(lines)


@dataclass
class SiteResult:
    """How the replication to one site went, and what reading the site found."""

    name: str
    executions: list[int] = field(default_factory=list)
    status: str = ""
    failed: int = 0
    verified: list[ImageCheck] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == SUCCEED and all(c.status == VerifyStatus.OK for c in self.verified)

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.name, "executions": self.executions, "status": self.status, "failed": self.failed,
            "ok": self.ok, "message": self.message, "verify": [c.to_json() for c in self.verified],
        }


@dataclass
class ReplicationSummary:
    sites: list[SiteResult]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sites)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "sites": [s.to_json() for s in self.sites]}

    def render_text(self) -> str:
        lines = []
        for site in self.sites:
            bad = [c for c in site.verified if c.status != VerifyStatus.OK]
            verdict = "ok" if site.ok else "NOT OK"
            lines.append(
                f"site {site.name}: {verdict} — replication {site.status or 'not started'} after "
                f"{len(site.executions)} execution(s); {len(site.verified) - len(bad)} of {len(site.verified)} tag(s) "
                f"verified on the site{': ' + site.message if site.message else ''}"
            )
            lines += [f"  {c.status}: {c.detail}" for c in bad]
        return "\n".join(lines)


def endpoint_name(site: str) -> str:
    return f"{PREFIX}-{site}"


def policy_name(site: str) -> str:
    return f"{PREFIX}-to-{site}"


def label_name(run_id: str) -> str:
    return f"{PREFIX}-{run_id}"[:128]


# -- the pair checks -------------------------------------------------------------------------------


def _registry_body(name: str, config: TargetConfig) -> dict[str, Any]:
    """The hub's ``Registry`` for a site (its credentials are the site's own)."""
    assert config.registry_url is not None
    body: dict[str, Any] = {"name": endpoint_name(name), "url": config.registry_url, "type": "harbor",
                            "insecure": config.insecure, "description": "archfuse site"}
    if config.username and config.password:
        body["credential"] = {"type": "basic", "access_key": config.username, "access_secret": config.password.reveal()}
    return body


def _ping_body(config: TargetConfig) -> dict[str, Any]:
    assert config.registry_url is not None
    body: dict[str, Any] = {"type": "harbor", "url": config.registry_url, "insecure": config.insecure}
    if config.username and config.password:
        body.update(credential_type="basic", access_key=config.username, access_secret=config.password.reveal())
    return body


def _version_check(name: str, hub: HarborReplication, site: HarborReplication) -> Check:
    hub_version = hub.system_info().get("harbor_version")
    site_version = site.system_info().get("harbor_version")
    if not isinstance(hub_version, str) or not isinstance(site_version, str):
        return Check(CheckKind.HARBOR, WARN, f"Not checked: Harbor does not show its version to this user "
                     f"(hub {hub.description}, site {name} {site.description}).", label="harbor version")
    if harbor_release(hub_version) != harbor_release(site_version):
        return Check(
            CheckKind.HARBOR, FAIL,
            f"The hub {hub.description} runs Harbor {hub_version} and site {name} ({site.description}) runs "
            f"{site_version}; Harbor does not support replication between different versions: upgrade one so "
            "both run the same release, then run again.",
            items=(name,), label="harbor version",
        )
    return Check(CheckKind.HARBOR, OK, f"Hub and site {name} both run Harbor {hub_version}.", label="harbor version")


def _ping_check(name: str, hub: HarborReplication, config: TargetConfig) -> Check:
    problem = hub.ping_registry(_ping_body(config))
    if problem:
        return Check(
            CheckKind.TARGET, FAIL,
            f"The hub {hub.description} cannot reach site {name} at {config.registry_url}: {problem} Check the "
            "address, credentials and network between the hub and the site, then run again.",
            items=(name,), label="hub reaches site",
        )
    return Check(CheckKind.TARGET, OK, f"The hub reaches site {name} at {config.registry_url}.", label="hub reaches site")


def _manifest_bytes(target: Target, repository: str, ref: str, seen: set[str]) -> int:
    """The bytes of the blobs (each once) a manifest or index at ``ref`` needs, read from the hub."""
    manifest = target.get_manifest(repository, ref)
    if manifest is None or manifest.digest in seen:
        return 0
    seen.add(manifest.digest)
    body = manifest.parsed()
    if manifest.is_index:
        return sum(_manifest_bytes(target, repository, str(m.get("digest")), seen) for m in body.get("manifests", []))
    total = 0
    for blob in [body.get("config") or {}, *body.get("layers", [])]:
        digest = str(blob.get("digest", ""))
        if digest and digest not in seen:
            seen.add(digest)
            total += int(blob.get("size", 0))
    return total


def _project_checks(
    name: str, site: HarborReplication, site_target: Target, tags: list[TagRecord], sizes: dict[str, int]
) -> Iterator[Check]:
    """The site's projects: present, not proxy caches, no immutable rule against an overwrite, quota."""
    by_project: dict[str, list[TagRecord]] = {}
    for tag in tags:
        by_project.setdefault(space_of(tag.repository), []).append(tag)
    for project_name, written in sorted(by_project.items()):
        project = site.project(project_name)
        if project is None:
            yield Check(
                CheckKind.REGISTRY_SPACES, WARN,
                f"Site {name} ({site.description}) has no project '{project_name}': Harbor's replication creates it "
                "(private) when the site's account may create projects, else its tasks fail; ask a Harbor "
                "administrator of the site to create it if they do.",
                items=(project_name,),
            )
            continue
        proxy = check_proxy_cache(site, project, project_name)
        if proxy is not None:
            yield proxy
            continue
        updated = []
        for tag in written:
            current = site_target.get_manifest(tag.repository, tag.tag)
            if current is not None and current.digest != tag.after:
                updated.append(TagPlan(tag.repository, tag.tag, [], current=current))
        writes = ProjectWrites(project_name, tags=updated, bytes=sizes.get(project_name, 0))
        yield check_immutable(site, writes)
        yield check_quota(site, project, writes)


def pair_checks(
    name: str, hub: HarborReplication, hub_target: Target, site: HarborReplication, config: TargetConfig,
    tags: list[TagRecord],
) -> list[Check]:
    """Every check of the pair hub → site; a check Harbor does not answer is a warning naming it."""
    checks = [_version_check(name, hub, site), _ping_check(name, hub, config)]
    seen: set[str] = set()
    sizes: dict[str, int] = {}
    for tag in tags:
        if tag.after:
            project = space_of(tag.repository)
            sizes[project] = sizes.get(project, 0) + _manifest_bytes(hub_target, tag.repository, tag.after, seen)
    site_target = open_target(config)
    try:
        checks += list(_project_checks(name, site, site_target, tags, sizes))
    finally:
        site_target.close()
    return checks


def _harbor(config: TargetConfig, what: str) -> HarborReplication:
    harbor = open_harbor(config, HarborReplication)
    if harbor is None:
        raise UsageError(f"{what} {config.description} is an OCI layout; Harbor replication needs a Harbor registry.")
    return harbor


def plan_replication(hub: TargetConfig, sites: Sequence[Site], run_id: str, tags: list[TagRecord]) -> ReplicationPlan:
    """Check each pair hub → site and find what the hub has already (endpoints, policies); writes nothing."""
    if not tags:
        raise UsageError(f"Run {run_id} wrote no tag to {hub.description}: there is nothing to replicate.")
    plans = []
    with _harbor(hub, "The hub") as harbor:
        hub_target = open_target(hub)
        try:
            for site in sites:
                plan = SitePlan(site.name, site.config)
                with _harbor(site.config, f"Site {site.name}") as site_harbor:
                    try:
                        plan.checks = pair_checks(site.name, harbor, hub_target, site_harbor, site.config, tags)
                    except ArchfuseError as err:
                        plan.checks.append(Check(CheckKind.HARBOR, FAIL, str(err), label=f"site {site.name}"))
                endpoints = [r for r in harbor.registries(endpoint_name(site.name)) if r.get("name") == endpoint_name(site.name)]
                plan.registry_id = int(endpoints[0]["id"]) if endpoints else None
                policies = harbor.policies(policy_name(site.name))
                plan.policy_id = int(policies[0]["id"]) if policies else None
                plans.append(plan)
        finally:
            hub_target.close()
    return ReplicationPlan(hub, run_id, tags, label_name(run_id), plans)


# -- the replication ---------------------------------------------------------------------------------


def policy_body(site: str, registry_id: int, label: str, options: ReplicationOptions) -> dict[str, Any]:
    """A manual policy copying exactly the artifacts that carry ``label`` to the site, overwriting its tags."""
    return {
        "name": policy_name(site),
        "description": "archfuse: what one import wrote, by label",
        "dest_registry": {"id": registry_id},
        "dest_namespace": "",
        "trigger": {"type": "manual"},
        "filters": [{"type": "label", "value": [label], "decoration": "matches"}],
        "override": True,
        "deletion": False,
        "enabled": True,
        "speed": options.speed_kb,
        "single_active_replication": options.single_active,
    }


def label_artifacts(harbor: HarborReplication, plan: ReplicationPlan) -> int:
    """The label on each artifact the import wrote (created when missing); how many got it now."""
    found = harbor.labels(plan.label)
    label_id = int(found[0]["id"]) if found else harbor.create_label(plan.label, f"written by archfuse run {plan.run_id}")
    return sum(harbor.add_label(t.repository, t.after, label_id) for t in plan.tags if t.after)


def follow(
    harbor: HarborReplication, site: str, execution_id: int, options: ReplicationOptions, emit: ev.Emit,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll an execution (waits doubling up to ``poll_max``) until it ends; an event per change of its counts."""
    wait, waited, last = options.poll, 0.0, None
    while True:
        execution = harbor.execution(execution_id)
        tasks = harbor.tasks(execution_id)
        counts = (str(execution.get("status", "")), len(tasks) or int(execution.get("total") or 0),
                  *(sum(t.get("status") == word for t in tasks) for word in (SUCCEED, "Failed", RUNNING)))
        if counts != last:
            emit(ev.ReplicationProgress(site, execution_id, *counts))
            last = counts
        if execution.get("status") != RUNNING:
            return execution
        if waited >= options.timeout:
            raise RegistryError(
                f"Replication execution {execution_id} to site {site} still runs after {waited:.0f} s.",
                hint=Advice("Follow it on the hub's replication page, then verify the site."),
            )
        sleep(wait)
        waited += wait
        wait = min(wait * 2, options.poll_max)


def replicate_site(
    harbor: HarborReplication, plan: ReplicationPlan, site: SitePlan, options: ReplicationOptions, emit: ev.Emit,
    sleep: Callable[[float], None] = time.sleep,
) -> SiteResult:
    """Endpoint, policy, execution followed, failed tasks re-run; not yet verified."""
    result = SiteResult(site.name)
    registry_id = site.registry_id
    if registry_id is None:
        registry_id = harbor.create_registry(_registry_body(site.name, site.config))
    body = policy_body(site.name, registry_id, plan.label, options)
    if site.policy_id is None:
        policy_id = harbor.create_policy(body)
    else:
        policy_id = site.policy_id
        harbor.update_policy(policy_id, body)
    for attempt in range(options.reruns + 1):
        execution_id = harbor.start_execution(policy_id)
        result.executions.append(execution_id)
        if attempt:
            emit(ev.ReplicationRerun(site.name, execution_id, result.failed, attempt))
        execution = follow(harbor, site.name, execution_id, options, emit, sleep)
        result.status = str(execution.get("status", ""))
        result.failed = int(execution.get("failed") or 0)
        if result.status == SUCCEED and not result.failed:
            break
    if result.status != SUCCEED or result.failed:
        result.message = (f"{result.failed} task(s) still failed after {len(result.executions)} execution(s): see the "
                          "task logs on the hub's replication page")
    return result


def verify_site(
    config: TargetConfig, tags: list[TagRecord], packages: list[PackageIndex] | None, prefix: str
) -> list[ImageCheck]:
    """Read the site itself: with the import's packages, every image and platform of them and its blobs
    (the verify of an import, under the hub's ``prefix``: the policy keeps the hub's repositories); without
    them (no longer where they were imported from), each tag the import wrote must hold the hub's digest."""
    target = open_target(config)
    try:
        if packages:
            return verify_images(packages, target, prefix=prefix)
        return [_verify_tag(target, tag) for tag in tags if tag.after]
    finally:
        target.close()


def _verify_tag(target: Target, tag: TagRecord) -> ImageCheck:
    where = f"{target.host}/{tag.repository}:{tag.tag}"
    found: ManifestRef | None = target.get_manifest(tag.repository, tag.tag)
    if found is None:
        return ImageCheck(where, "", where, VerifyStatus.MISSING_TAG, f"{where} does not exist")
    if found.digest != tag.after:
        return ImageCheck(where, "", where, VerifyStatus.OTHER_DIGEST, f"{where} is {found.digest}, the hub has {tag.after}")
    return ImageCheck(where, "", where, VerifyStatus.OK)


def run_replication(
    plan: ReplicationPlan, options: ReplicationOptions, emit: ev.Emit, sleep: Callable[[float], None] = time.sleep,
    packages: list[PackageIndex] | None = None,
) -> ReplicationSummary:
    """Carry out an agreed plan: label, then per site endpoint, policy, executions, and the site verified
    (against ``packages``, the import's, when given)."""
    if plan.blocked:
        failed = [c for s in plan.sites for c in s.checks if c.status == FAIL]
        raise UsageError(
            f"Replication from {plan.hub.description} is refused by {len(failed)} check(s): "
            f"{listed([c.name for c in failed], 5)}; nothing was changed. Fix what they say, then run again."
        )
    results = []
    with _harbor(plan.hub, "The hub") as harbor:
        label_artifacts(harbor, plan)
        for site in plan.sites:
            result = replicate_site(harbor, plan, site, options, emit, sleep)
            result.verified = verify_site(site.config, plan.tags, packages, plan.hub.prefix)
            results.append(result)
    return ReplicationSummary(results)
