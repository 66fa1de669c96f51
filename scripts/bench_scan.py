"""Benchmark the scan against the floor of reading the package once (`gzip -dc > /dev/null`).

    .venv/bin/python scripts/bench_scan.py [SIZE_MB] [WORKDIR]

Writes a package of about SIZE_MB (default 1200) with the sample generator, then times
`gzip -dc PACKAGE > /dev/null` and an uncached scan (which also hashes every blob and the file's
sha512), and prints the speed ratio, the scan's peak RSS and what the scan wrote (its cache).
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.demo.samples import write_sample_package
from core.package.scan import scan_package


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1200
    work = Path(sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="archfuse-bench-"))
    t = time.perf_counter()
    path = write_sample_package(work, "v9.0.0", "amd64", payload=size_mb << 20)
    print(f"package: {path} ({path.stat().st_size / 1e9:.2f} GB, written in {time.perf_counter() - t:.1f} s)")
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    t = time.perf_counter()
    subprocess.run(["gzip", "-dc", str(path)], stdout=subprocess.DEVNULL, check=True)
    floor = time.perf_counter() - t
    state = work / "state"
    shutil.rmtree(state, ignore_errors=True)
    t = time.perf_counter()
    index = scan_package(path, state_dir=state)
    scan = time.perf_counter() - t
    t = time.perf_counter()
    scan_package(path, state_dir=state)
    cached = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    written = sum(p.stat().st_size for p in state.rglob("*") if p.is_file())
    print(f"gzip -dc > /dev/null: {floor:.2f} s")
    print(f"scan (uncached):      {scan:.2f} s  -> {floor / scan:.2f}x the speed of gzip -dc")
    print(f"scan (cached):        {cached:.3f} s")
    print(f"peak RSS: {rss:.0f} MiB; written: {written} bytes of cache; checksum {index.checksum}")


if __name__ == "__main__":
    main()
