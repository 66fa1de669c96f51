"""Round trips in parallel: the bounded map, --jobs, one writer per tag, shared tokens, --limit-rate."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from core import events as ev
from core.config import build_target_config
from core.errors import Cancelled
from core.helpers.parallel import parallel_map
from core.registry.client import RegistryClient
from core.run import engine
from core.run.engine import RunOptions
from core.run.ratelimit import RateLimit
from core.session import Session
from core.targets.registry import RegistryTarget
from tests.cli_driver import archfuse, registry_args
from tests.fixtures.registry import RegistryServer

# -- the bounded map ---------------------------------------------------------------------------


def test_parallel_map_keeps_the_order_and_bounds_the_calls_in_flight() -> None:
    lock = threading.Lock()
    running, most = 0, 0
    gate = threading.Barrier(3, timeout=30)  # the first three calls meet: three run at once

    def call(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if n < 3:
            gate.wait()
        with lock:
            running -= 1
        return n * n

    assert parallel_map(call, list(range(40)), 3) == [n * n for n in range(40)]
    assert most == 3


def test_parallel_map_starts_nothing_once_a_check_raised_and_raises_it() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def check() -> None:
        with lock:
            if len(started) >= 5:
                raise Cancelled("stop")

    def call(n: int) -> None:
        with lock:
            started.append(n)

    with pytest.raises(Cancelled):
        parallel_map(call, list(range(100)), 4, check=check)
    assert 5 <= len(started) < 5 + 4


def test_parallel_map_raises_the_first_failure_and_starts_no_more() -> None:
    started: list[int] = []

    def call(n: int) -> None:
        started.append(n)
        if n == 2:
            raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        parallel_map(call, list(range(50)), 1)
    assert started == [0, 1, 2]


# -- the token bucket, on a fake clock -----------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limit_lets_a_burst_through_then_paces_at_the_rate() -> None:
    clock = FakeClock()
    bucket = RateLimit(1000, clock=clock, sleep=clock.sleep)
    assert bucket.take(600) == 0 and bucket.take(400) == 0  # one second's worth at once
    assert bucket.take(500) == pytest.approx(0.5)  # then 500 bytes cost half a second
    assert bucket.take(250) == pytest.approx(0.25)
    clock.now += 10  # idle: the bucket refills, but never beyond one second's worth
    assert bucket.take(1000) == 0
    assert bucket.take(100) == pytest.approx(0.1)
    assert sum(clock.slept) == pytest.approx(0.85)


def test_rate_limit_is_shared_workers_queue_behind_each_others_debt() -> None:
    clock = FakeClock()
    waits: list[float] = []
    bucket = RateLimit(100, burst=100, clock=clock, sleep=waits.append)  # sleep does not advance the clock
    for _worker in range(4):  # four workers each send 100 bytes at the same instant
        bucket.take(100)
    assert waits == pytest.approx([1.0, 2.0, 3.0])  # 400 bytes at 100/s: the last one waits 3 s


def test_rate_limit_refuses_a_rate_of_zero() -> None:
    with pytest.raises(ValueError):
        RateLimit(0)


# -- against the real registry ---------------------------------------------------------------------


def _images(result_events: list[dict[str, object]]) -> set[tuple[object, ...]]:
    return {
        (e["destination"], e["action"], e["digest"]) for e in result_events if e.get("event") == "image_done"
    }


def test_import_with_many_jobs_gives_the_same_result_as_one_job(
    registry_factory: Callable[..., RegistryServer], sample_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = sample_package("v0.12.0", "amd64", bulk=20, payload=1 << 20)
    outcomes = []
    for jobs in ("1", "8"):
        server = registry_factory()
        state = tmp_path / f"state-{jobs}"
        plan = archfuse("plan", package, *registry_args(server), "--json", "--jobs", jobs, state_dir=state)
        assert plan.code == 0, plan.err
        done = archfuse(
            "import", package, *registry_args(server), "--yes", "--json", "--jobs", jobs, state_dir=state
        )
        assert done.code == 0, done.err
        again = archfuse("plan", package, *registry_args(server), "--json", "--jobs", jobs, state_dir=state)
        assert {i["action"] for i in again.events[-1]["images"]} == {"unchanged"}
        outcomes.append((plan.events[-1]["images"], _images(done.events), done.of("chart_done")))
    (plan1, images1, charts1), (plan8, images8, charts8) = outcomes
    strip = [{k: v for k, v in i.items() if k != "destination"} for i in plan1]
    assert strip == [{k: v for k, v in i.items() if k != "destination"} for i in plan8]
    assert len(images1) > 20
    assert {(d.split("/", 1)[1], a, g) for d, a, g in images1} == {
        (d.split("/", 1)[1], a, g) for d, a, g in images8
    }
    assert sorted((c["name"], c["action"]) for c in charts1) == sorted(
        (c["name"], c["action"]) for c in charts8
    )


class TagWatch(httpx.BaseTransport):
    """The real transport, watching tag writes: how many are in flight per tag and in all.

    The first tag write is held until a second one is in flight (or 30 s pass): tags are written
    at once only if that second write arrives while the first is held.
    """

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.most_per_tag = 0
        self.second_arrived = threading.Event()
        self.first_held = False
        self.overlapped = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        reference = path.rsplit("/", 1)[-1]
        if request.method != "PUT" or "/manifests/" not in path or reference.startswith("sha256:"):
            return self.inner.handle_request(request)
        with self.lock:
            self.in_flight[path] = self.in_flight.get(path, 0) + 1
            self.most_per_tag = max(self.most_per_tag, self.in_flight[path])
            hold = not self.first_held
            self.first_held = True
            if not hold and sum(self.in_flight.values()) > 1:
                self.second_arrived.set()
        try:
            if hold:
                self.overlapped = self.second_arrived.wait(30)
            return self.inner.handle_request(request)
        finally:
            with self.lock:
                self.in_flight[path] -= 1

    def close(self) -> None:
        self.inner.close()


def test_independent_tags_are_written_at_once_with_one_writer_per_tag(
    registry: RegistryServer, sample_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = sample_package("v0.12.0", "amd64", bulk=10)
    watch = TagWatch()
    client = RegistryClient(registry.url, insecure=True, transport=watch)
    seen: list[ev.Event] = []
    config = build_target_config(registry.url, insecure=True, env={})
    with client:
        session = Session(
            RegistryTarget(client), state_dir=tmp_path / "state", emit=seen.append, config=config
        )
        packages = session.scan([package])
        options = RunOptions(workers=4)
        summary = session.run(session.preflight(packages, options=options), options=options)
    assert summary.status == "done", summary.failures
    assert watch.overlapped, "no second tag write started while the first was in flight"
    assert watch.most_per_tag == 1
    done = [e for e in seen if isinstance(e, ev.ImageDone)]
    assert len(done) == len({e.destination for e in done}) > 10


def test_bearer_tokens_cover_many_repositories(
    token_registry: RegistryServer, sample_package: Callable[..., Path], tmp_path: Path
) -> None:
    issuer = token_registry.issuer
    assert issuer is not None
    package = sample_package("v0.12.0", "amd64", bulk=30)
    # --scan-first: the run's tokens (a cold import's one read asks one token per bundle as it reads)
    result = archfuse("import", package, *registry_args(token_registry), "--yes", "--json", "--scan-first",
                      state_dir=tmp_path / "state", password=token_registry.password)  # fmt: skip
    assert result.code == 0, result.err
    repositories = {e["destination"].split("/", 1)[1].rsplit(":", 1)[0] for e in result.of("image_done")}
    assert len(repositories) > 30
    asked = [r.scopes for r in issuer.requests]
    assert max(len(s) for s in asked) > 1, "every token was fetched for one repository"
    # per repository: at most one pull and one push token would be 2 x repositories; shared tokens
    # cover up to 25 repositories each, so what is left is the per-space push checks and charts
    assert len(asked) < len(repositories)
    assert all(r.status == 200 for r in issuer.requests)


def test_rate_limit_holds_back_every_uploaded_byte(
    registry: RegistryServer,
    sample_package: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = sample_package("v0.12.0", "amd64", payload=3 << 20)
    clock = FakeClock()
    waits: list[float] = []
    taken: list[int] = []

    class Recorded(RateLimit):
        def take(self, size: int) -> float:
            taken.append(size)
            return super().take(size)

    def bucket(rate: int, **_: object) -> RateLimit:
        return Recorded(rate, clock=clock, sleep=waits.append)  # a clock that stands still: debts add up

    monkeypatch.setattr(engine, "RateLimit", bucket)
    config = build_target_config(registry.url, insecure=True, env={})
    session = Session(RegistryTarget(registry.client()), state_dir=tmp_path / "state", config=config)
    options = RunOptions(rate_limit=1 << 20)
    summary = session.run(session.preflight(session.scan([package]), options=options), options=options)
    assert summary.status == "done", summary.failures
    assert sum(taken) == summary.bytes_uploaded > 3 << 20
    assert max(waits) == pytest.approx((summary.bytes_uploaded - (1 << 20)) / (1 << 20))


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [("--jobs", "0", "--jobs 0 is out of range"), ("--jobs", "33", "from 1 to 32"),
     ("--limit-rate", "fast", "--limit-rate 'fast' is not a size")],
)  # fmt: skip
def test_bad_jobs_and_rate_are_refused_in_one_sentence(
    registry: RegistryServer, demo_packages: list[Path], tmp_path: Path, flag: str, value: str, says: str
) -> None:
    result = archfuse("import", demo_packages[0], *registry_args(registry), "--yes", flag, value,
                      state_dir=tmp_path / "state")  # fmt: skip
    assert result.code == 2
    assert says in result.err and "Traceback" not in result.err
    assert not list(registry.storage.glob("docker/registry/v2/repositories/*"))
