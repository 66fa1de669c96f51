"""The registry's own rules, checked against the plan before anything moves (Harbor).

A Harbor project may refuse or undo what an import writes: a storage **quota** the new blobs
exceed, an **immutable-tag rule** that forbids updating an existing tag (a fused add-arch or
update-arch rewrites it), a tag **retention** policy that deletes tags no rule keeps, a
**proxy-cache** project that takes no pushes at all. Without these checks each shows only when a
push is refused mid-run. A plain registry (distribution) has none of them: its checks say they do
not apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from core.advice import Advice
from core.checks.base import Check, CheckContext, Preflight, listed
from core.errors import ArchfuseError
from core.kinds import CheckKind, CheckStatus, RegistryFlavour
from core.oci.refs import space_of
from core.plan.images import Plan, TagPlan
from core.registry.harbor import HarborClient
from core.targets.connect import open_harbor
from core.units import size_text

OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL
#: the retention template that keeps what it selects for good (the others keep by count or age)
ALWAYS = "always"


# -- Harbor's selectors ------------------------------------------------------------------------


def doublestar(pattern: str) -> re.Pattern[str]:
    """Harbor's ``doublestar`` selector pattern as a regular expression: ``**`` any path, ``*`` and
    ``?`` within one path segment, ``{a,b}`` either, ``[...]`` a class."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{" and "}" in pattern[i:]:
            end = pattern.index("}", i)
            out.append("(?:" + "|".join(doublestar(p).pattern[1:-1] for p in pattern[i + 1 : end].split(",")) + ")")
            i = end
        elif char == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def _selected(selectors: Any, value: str, matches: str, excludes: str) -> bool:
    """Whether every selector (Harbor uses the first) lets ``value`` through; none: everything."""
    for selector in selectors if isinstance(selectors, list) else []:
        if not isinstance(selector, dict):
            continue
        hit = bool(doublestar(str(selector.get("pattern") or "**")).match(value))
        decoration = selector.get("decoration") or matches
        if (decoration == excludes and hit) or (decoration != excludes and not hit):
            return False
    return True


def rule_selects(rule: Mapping[str, Any], repository: str, tag: str) -> bool:
    """Whether an enabled immutable-tag or retention rule selects ``repository:tag`` (the repository
    without its project, as Harbor matches it)."""
    if rule.get("disabled"):
        return False
    scopes = rule.get("scope_selectors")
    repo_selectors = scopes.get("repository") if isinstance(scopes, dict) else None
    name = repository.split("/", 1)[1] if "/" in repository else repository
    return _selected(repo_selectors, name, "repoMatches", "repoExcludes") and _selected(
        rule.get("tag_selectors"), tag, "matches", "excludes"
    )


def describe_rule(rule: Mapping[str, Any]) -> str:
    """``rule 3 (repositories '**', tags 'v*')``."""
    def patterns(selectors: Any) -> str:
        found = [s for s in selectors if isinstance(s, dict)] if isinstance(selectors, list) else []
        if not found:
            return "'**'"
        return ", ".join(
            ("not " if s.get("decoration") in ("repoExcludes", "excludes") else "") + f"'{s.get('pattern')}'"
            for s in found
        )

    scopes = rule.get("scope_selectors")
    repos = scopes.get("repository") if isinstance(scopes, dict) else None
    return f"rule {rule.get('id', '?')} (repositories {patterns(repos)}, tags {patterns(rule.get('tag_selectors'))})"


# -- what the plan writes into each project ----------------------------------------------------


@dataclass
class ProjectWrites:
    """What a plan writes into one Harbor project."""

    name: str
    tags: list[TagPlan] = field(default_factory=list)  # every tag it writes
    bytes: int = 0  # the blobs it adds (each once; mounts from the same project add nothing)

    @property
    def updated(self) -> list[TagPlan]:
        """Tags that exist and change: the fused writes an immutable-tag rule refuses."""
        return [t for t in self.tags if t.current is not None]


def project_writes(plan: Plan) -> dict[str, ProjectWrites]:
    """Per project (first path segment), the tags the plan writes and the blob bytes it adds."""
    projects: dict[str, ProjectWrites] = {}
    for tag in plan.tags:
        if tag.changed:
            project = space_of(tag.repository)
            projects.setdefault(project, ProjectWrites(project)).tags.append(tag)
    for need in plan.blobs.values():
        source = space_of(need.source) if need.source else ""
        for project in {space_of(r) for r in need.repositories} - {source}:
            projects.setdefault(project, ProjectWrites(project)).bytes += need.blob.size
    return projects


def _tag_names(tags: Iterable[TagPlan]) -> list[str]:
    return [f"{t.repository}:{t.tag}" for t in tags]


# -- the checks ----------------------------------------------------------------------------------


def check_proxy_cache(harbor: HarborClient, project: Mapping[str, Any], name: str) -> Check | None:
    """FAIL when the project is a proxy cache (``registry_id`` set): Harbor takes no pushes there."""
    registry_id = project.get("registry_id")
    if not registry_id:
        return None
    return Check(
        CheckKind.PROXY_CACHE,
        FAIL,
        Advice(
            f"Harbor project '{name}' on {harbor.description} is a proxy cache (of registry {registry_id}); Harbor "
            "refuses every push into it: {prefix} to import into another project, or ask a Harbor administrator "
            "for a project that is not a proxy cache."
        ),
        items=(name,),
    )


def check_quota(harbor: HarborClient, project: Mapping[str, Any], writes: ProjectWrites) -> Check:
    """The project's storage quota holds what is used plus the blobs the plan adds."""
    name = writes.name
    quota = (harbor.project_summary(name) or {}).get("quota")
    if not isinstance(quota, dict) or not isinstance(quota.get("hard"), dict):
        project_id = project.get("project_id")
        quota = harbor.project_quota(int(project_id), name) if isinstance(project_id, int) else None
    hard = quota.get("hard", {}).get("storage") if isinstance(quota, dict) else None
    used = quota.get("used", {}).get("storage", 0) if isinstance(quota, dict) else 0
    if not isinstance(hard, int) or not isinstance(used, int):
        return Check(
            CheckKind.QUOTA, WARN,
            f"Not checked: Harbor at {harbor.description} does not show the quota of project '{name}' to this "
            f"user; the import adds up to {size_text(writes.bytes)} to it.",
        )
    if hard < 0:
        return Check(CheckKind.QUOTA, OK, f"Project '{name}' has no storage quota ({size_text(writes.bytes)} to add).")
    if used + writes.bytes > hard:
        over = used + writes.bytes - hard
        return Check(
            CheckKind.QUOTA,
            FAIL,
            f"Harbor project '{name}' has a storage quota of {size_text(hard)} with {size_text(used)} used; this "
            f"import adds up to {size_text(writes.bytes)} of blobs to it ({size_text(over)} over), so Harbor would "
            "refuse pushes mid-run: ask a Harbor administrator to raise the project's quota, or free space in it, "
            "then run again.",
            numbers={"total": hard, "used": used, "free": max(hard - used, 0), "need": writes.bytes},
            items=(name,),
        )
    return Check(
        CheckKind.QUOTA, OK,
        f"Project '{name}': {size_text(writes.bytes)} to add, {size_text(hard - used)} free of its "
        f"{size_text(hard)} quota.",
        numbers={"total": hard, "used": used, "free": hard - used, "need": writes.bytes},
    )


def check_immutable(harbor: HarborClient, writes: ProjectWrites) -> Check:
    """FAIL when an enabled immutable-tag rule protects an existing tag the plan updates (add-arch,
    update-arch): Harbor refuses to overwrite it, so the tag keeps its old platforms."""
    name = writes.name
    rules = [r for r in harbor.immutable_rules(name) if not r.get("disabled")] if writes.updated else []
    for rule in rules:
        hit = [t for t in writes.updated if rule_selects(rule, t.repository, t.tag)]
        if hit:
            return Check(
                CheckKind.IMMUTABLE_TAGS,
                FAIL,
                Advice(
                    f"Harbor project '{name}' has an immutable tag {describe_rule(rule)} that protects "
                    f"{len(hit)} existing tag(s) this import must update to fuse an architecture: "
                    f"{listed(_tag_names(hit), 5)}; Harbor refuses to overwrite them, so they would keep their "
                    "old platforms: ask a project administrator to disable or narrow the rule for the import "
                    "(Harbor: the project's Policy, Tag Immutability), or {prefix} to import into another project."
                ),
                items=tuple(_tag_names(hit)),
            )
    if not writes.updated:
        return Check(CheckKind.IMMUTABLE_TAGS, OK, f"Project '{name}': the import updates no existing tag.")
    return Check(
        CheckKind.IMMUTABLE_TAGS, OK,
        f"Project '{name}': no immutable tag rule protects the {len(writes.updated)} existing tag(s) the import updates.",
    )


def check_retention(harbor: HarborClient, project: Mapping[str, Any], writes: ProjectWrites) -> Check | None:
    """WARN when the project's tag retention policy keeps none of some tags the plan writes: Harbor
    deletes what no rule retains the next time the policy runs. None when there is no policy."""
    name = writes.name
    metadata = project.get("metadata")
    retention_id = str(metadata.get("retention_id") or "") if isinstance(metadata, dict) else ""
    if not retention_id.isdigit() or not writes.tags:
        return None
    policy = harbor.retention_policy(int(retention_id), name) or {}
    rules = [r for r in policy.get("rules") or [] if isinstance(r, dict) and not r.get("disabled")]
    dropped: list[TagPlan] = []
    aging: list[TagPlan] = []
    for tag in writes.tags:
        keeping = [r for r in rules if r.get("template") != "nothing" and rule_selects(r, tag.repository, tag.tag)]
        if not keeping:
            dropped.append(tag)
        elif all(r.get("template") != ALWAYS for r in keeping):
            aging.append(tag)
    if dropped:
        return Check(
            CheckKind.RETENTION,
            WARN,
            Advice(
                f"Harbor project '{name}' has a tag retention policy (id {retention_id}) that keeps none of "
                f"{len(dropped)} tag(s) this import writes: {listed(_tag_names(dropped), 5)}; Harbor deletes "
                "them the next time the policy runs: add a rule that retains them (Harbor: the project's Policy, "
                "Tag Retention), or {prefix} to import into another project."
            ),
            items=tuple(_tag_names(dropped)),
        )
    by_age = f"; {len(aging)} of them only by count or age, so they may go later" if aging else ""
    return Check(
        CheckKind.RETENTION, OK,
        f"Project '{name}': its tag retention policy (id {retention_id}) keeps the {len(writes.tags)} tag(s) "
        f"the import writes{by_age}.",
    )


def check_rules(harbor: HarborClient, plan: Plan) -> Iterator[Check]:
    """Every rule of every Harbor project the plan writes into; a rule Harbor does not show this user
    is a warning naming it, never a failure."""
    for name, writes in sorted(project_writes(plan).items()):
        try:
            project = harbor.project(name)
        except ArchfuseError as err:
            yield Check(CheckKind.REGISTRY_RULES, WARN, f"Not checked: {err}")
            continue
        if project is None:
            continue  # a missing project is the registry spaces check's
        proxy = check_proxy_cache(harbor, project, name)
        if proxy is not None:
            yield proxy
            continue  # nothing lands there: its other rules do not matter
        checks: tuple[tuple[CheckKind, Callable[[], Check | None]], ...] = (
            (CheckKind.QUOTA, partial(check_quota, harbor, project, writes)),
            (CheckKind.IMMUTABLE_TAGS, partial(check_immutable, harbor, writes)),
            (CheckKind.RETENTION, partial(check_retention, harbor, project, writes)),
        )
        for kind, check in checks:
            try:
                found = check()
            except ArchfuseError as err:
                found = Check(kind, WARN, f"Not checked: {err}")
            if found is not None:
                yield found


def rules_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """On Harbor, the rules of the projects the plan writes into; on a plain registry, that it has none."""
    if result.plan is None or context.config is None or result.flavour is None:
        return
    if result.flavour == RegistryFlavour.DISTRIBUTION:
        yield Check(
            CheckKind.REGISTRY_RULES,
            OK,
            f"Do not apply: {context.target.description} is a plain registry (it has no Harbor API), without "
            "project quotas, immutable tags, tag retention or proxy caches.",
        )
        return
    harbor = open_harbor(context.config)
    if harbor is None:
        return
    with harbor:
        yield from check_rules(harbor, result.plan)
