"""Convergent tag writes: after the tag phase, every tag the run wrote serves what it imported.

The registry API has no compare-and-swap. Another writer (archfuse on another host, skopeo, the
vendor's installer) may read a tag before this run's put and write it after, dropping the
platform this run added. The run lock serialises archfuse runs on one host only, so after the
tag phase the run waits a moment (``settle``: a write in flight elsewhere lands), re-reads every
tag it wrote and re-merges each that lost a platform it added; then waits longer (backoff) and
reads again, for a bounded number of rounds. The run is done only when its last read finds every
tag serving every platform it imported, each by the manifest the run imported. After a chart phase
the run does this once more, as its last step against the target (``final``): a writer during the
chart phase is seen too. A writer after that read is not (the registry offers no compare-and-swap).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core import events as ev
from core.errors import TargetError
from core.helpers.parallel import DEFAULT_JOBS, parallel_map, round_trips
from core.oci import fusion
from core.oci.platform import Platform
from core.plan.images import TagPlan
from core.targets.base import Target

ROUNDS = 5  # reads after the tag phase; re-merges happen between them
SETTLE = 0.25  # seconds before the first read; doubled before each later one


@dataclass(frozen=True)
class Drift:
    """How a tag no longer serves what the run imported."""

    tag: TagPlan
    missing: tuple[str, ...]  # platforms the tag no longer serves
    replaced: tuple[str, ...]  # platforms it serves by another manifest than the run's
    now: tuple[str, ...]  # platforms it serves now

    @property
    def name(self) -> str:
        return f"{self.tag.repository}:{self.tag.tag}"

    def sentence(self, host: str) -> str:
        """One sentence naming the tag and what the other writer did."""
        serves = ", ".join(self.now) or "nothing"
        if self.missing:
            lost = ", ".join(self.missing)
            return (
                f"{host}/{self.name} lost {lost}, which this run imported: another client kept rewriting the tag "
                f"(it now serves {serves}); stop the other writer and run the import again."
            )
        return (
            f"{host}/{self.name} serves {', '.join(self.replaced)} by another image than this run imported: "
            "another client replaced it; find that writer, then run the import again."
        )


def drift_of(target: Target, tag: TagPlan) -> Drift | None:
    """Read ``tag`` now; a Drift when it does not serve every platform the run imported."""
    now = target.get_manifest(tag.repository, tag.tag)
    platform_of = fusion.config_platform_reader(lambda d: target.get_blob(tag.repository, d))
    missing: list[str] = []
    replaced: list[str] = []
    for image in tag.images:
        digest = fusion.served_digest(now, Platform.parse(image.platform), platform_of)
        if digest is None:
            missing.append(image.platform)
        elif digest != image.digest:
            replaced.append(image.platform)
    if not missing and not replaced:
        return None
    return Drift(tag, tuple(missing), tuple(replaced), fusion.current_platforms(now, platform_of))


def converge(
    target: Target,
    tags: list[TagPlan],
    rewrite: Callable[[TagPlan], None],
    *,
    emit: ev.Emit = ev.discard,
    settle: float = SETTLE,
    rounds: int = ROUNDS,
    wait: Callable[[float], object] = time.sleep,
    jobs: int = round_trips(DEFAULT_JOBS),
    final: bool = False,
) -> int:
    """Re-read ``tags`` (``jobs`` reads at once) until each serves what the run imported; return how
    many re-merges it took.

    ``rewrite`` re-merges one tag (re-read, merge, put, read back). Raises TargetError naming a tag
    when the last read still finds one that does not. ``final``: the run's last read of the target,
    after its chart phase (said in the event).
    """
    remerged = 0
    drifts: list[Drift] = []
    for number in range(rounds):
        wait(settle * (2**number))
        read = parallel_map(lambda t: drift_of(target, t), tags, jobs, name="archfuse-converge")
        drifts = [d for d in read if d is not None]
        replaced = [d for d in drifts if not d.missing]
        if replaced:  # another writer chose another image for our platform: not ours to fight
            break
        if not drifts or number == rounds - 1:
            break
        for drift in drifts:
            rewrite(drift.tag)
            remerged += 1
            emit(ev.TagRemerged(f"{target.host}/{drift.name}", drift.missing, drift.now))
    emit(ev.TagsConverged(len(tags), remerged, not drifts, final))
    if drifts:
        first = next((d for d in drifts if not d.missing), drifts[0])
        raise TargetError(first.sentence(target.host))
    return remerged


def written_tags(tags: list[TagPlan]) -> list[TagPlan]:
    """The tags a run wrote (its tag phase found them changed)."""
    return [t for t in tags if t.changed]
