"""``--jobs auto`` against the best fixed ``--jobs``, on a fast and on a throttled target.

    .venv/bin/python scripts/jobs_bench.py [--images 300] [--payload 64MiB] [--jobs 1,2,4,8,16,auto]
                                           [--repeat 1] [--targets fast,throttled] [--limit 4] [--penalty 0.02] [--work DIR]

One package of many small images (``core.demo.samples``' writer, ``--images`` small images beside the
sample charts, ``--payload`` spread over their app layers) is imported cold, with each ``--jobs``:

- fast: into a fresh registry on loopback;
- throttled: into a fresh registry behind the fault proxy (``tests.fixtures.faultproxy``), which holds
  each blob upload (``PUT``) in flight over ``--limit`` for ``--penalty`` seconds per upload over it:
  a registry on slow disks, that more writers make slower.

Each cold import is timed from process start to exit (``--repeat`` times: the best is kept); the
report puts ``auto`` beside the best fixed ``--jobs`` of each target (goal: within 10 %).
Helpers (the registry, the timed ``archfuse`` process) are scripts/bench.py's.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import Archfuse, drop_registry, fresh_registry, parse_size

from core.demo.samples import write_sample_package
from tests.fixtures.faultproxy import FaultProxy

GOAL = 1.10  # auto within 10 % of the best fixed --jobs


def cold_import(package: Path, work: Path, jobs: str, *, limit: int = 0, penalty: float = 0.0) -> float:
    """Seconds of one cold import with ``--jobs jobs`` into a fresh registry (behind a crowding proxy
    when ``limit``); the last uploads at once ``auto`` settled on is printed."""
    server = fresh_registry(work / "reg")
    proxy = FaultProxy(server.host, lifetime=3600.0) if limit else None
    try:
        if proxy is not None:
            proxy.crowd("PUT", r"/blobs/uploads/", limit, seconds=penalty)
        af = Archfuse(work / "af")
        done = af.run("import", package, server, "--yes", "--jobs", jobs, url=proxy.url if proxy else "")
    finally:
        if proxy is not None:
            proxy.close()
        drop_registry(server)
    moves = [e["jobs"] for e in done.events if e.get("event") == "jobs_changed"]
    if moves:
        print(f"    auto: {len(moves)} moves, ended at {moves[-1]}, most {max(moves)}", flush=True)
    return done.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=300, help="small images beside the sample charts (300)")
    parser.add_argument("--payload", default="64MiB", help="bytes spread over the app layers (64MiB)")
    parser.add_argument("--jobs", default="1,2,4,8,16,auto", help="the --jobs values (1,2,4,8,16,auto)")
    parser.add_argument("--targets", default="fast,throttled", help="which targets (fast,throttled)")
    parser.add_argument("--repeat", type=int, default=1, help="cold imports per value; the best is kept (1)")
    parser.add_argument("--limit", type=int, default=4, help="throttled: uploads at once before it slows (4)")
    parser.add_argument("--penalty", type=float, default=0.02,
                        help="throttled: seconds an upload waits per upload in flight over the limit (0.02)")
    parser.add_argument("--work", type=Path, default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="archfuse-jobs-bench-"))
    values = [v.strip() for v in args.jobs.split(",") if v.strip()]
    try:
        package = write_sample_package(work / "pkg", "v9.0.0", "amd64", bulk=args.images,
                                       payload=parse_size(args.payload))
        print(f"package: {package.name}, {package.stat().st_size:,} bytes, {args.images} extra small images")
        results: dict[str, dict[str, float]] = {}
        chosen = [t.strip() for t in args.targets.split(",")]
        for target, limit in [t for t in (("fast", 0), ("throttled", args.limit)) if t[0] in chosen]:
            results[target] = {}
            for jobs in values:
                runs = [cold_import(package, work / "run", jobs, limit=limit, penalty=args.penalty)
                        for _ in range(args.repeat)]
                results[target][jobs] = min(runs)
                print(f"{target:9} --jobs {jobs:>4}: {' '.join(f'{s:.2f}' for s in runs)} s", flush=True)
        report(results)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def report(results: dict[str, dict[str, float]]) -> None:
    print()
    for target, times in results.items():
        fixed = {j: s for j, s in times.items() if j != "auto"}
        line = "  ".join(f"{j}: {s:.2f}" for j, s in times.items())
        print(f"{target}: {line}")
        if "auto" in times and fixed:
            best = min(fixed, key=fixed.__getitem__)
            ratio = times["auto"] / fixed[best]
            verdict = "met" if ratio <= GOAL else "NOT met"
            print(f"  auto {times['auto']:.2f} s vs best fixed --jobs {best} {fixed[best]:.2f} s: "
                  f"{ratio:.2f}x (goal <= {GOAL:.2f}x: {verdict})")


if __name__ == "__main__":
    main()
