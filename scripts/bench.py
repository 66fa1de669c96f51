"""Benchmark ``archfuse import`` against the vendor's way and against the registry's own ingest.

    .venv/bin/python scripts/bench.py [--shape vendor|large] [--size 300MiB|2GiB|24GiB] [--repeat 2]
        [--skip-vendor] [--floor-jobs 4 8] [--work DIR]

``--shape vendor`` (the default) writes two packages (amd64, arm64) shaped like the vendor's
(:func:`core.demo.samples.vendor_shape`: 57 charts, 300 images of 5-15 layers, base layers shared,
a few KB to a few hundred MB per layer), SIZE of payload each, kept in ``--work`` between runs.
Each repetition measures, against the same registry binary on loopback: (c) the registry floor:
every distinct blob as one monolithic upload (POST, PUT) into a fresh registry, at each of
``--floor-jobs`` concurrencies, the fastest counting; (a) ``archfuse import`` of both packages,
cold, then the no-op re-run; (d) the same cold import through a 25 ms-each-way delay line; (b)
the vendor's way (below) unless ``--skip-vendor``. It prints a/c, a/b, d/a and no-op/a.

``--shape large`` writes one package of about SIZE with few large layers, then, for each repetition:

- floor (c): ``gzip -dc PACKAGE > /dev/null`` (page cache warm, as for every step);
- registry floor (d): the package file itself PUT as one blob with ``curl -T`` into a fresh
  registry: what the registry needs to take in that many bytes (hash and write);
- archfuse (a): ``archfuse import`` into a fresh real registry with a fresh state dir (cold:
  the scan is included), then the same command again (the no-op re-run);
- baseline (b): what the vendor's installer does: ``tar -xzf`` into a work dir, ``tar -xf``
  each bundle, then ``skopeo copy docker-archive:images.tar:REF docker://...`` for each image
  into another fresh registry;
- resume: ``archfuse import`` killed with SIGKILL once half the bytes are uploaded (seen in its
  ``--json`` BytesProgress events), then the same command again, timed;
- plan: a package of IMAGES small images imported into a fresh registry, then ``archfuse plan``
  of it against that registry (scan cached), timed;
- several sites (``--sites N``): ``archfuse import`` of the package into one fresh registry behind a
  delay line (``--delay`` each way), then into N fresh registries each behind its own delay line
  (``--registry`` repeated: one read feeding every site), cold (scan included) and with the scan
  cached (an ``archfuse scan`` first, untimed).

Peak RSS is the process's own high-water mark (``VmHWM``, polled every 20 ms); CPU seconds come from ``wait4``. Peak extra disk of archfuse is
polled every 20 ms: its state dir and TMPDIR, plus any deleted file it holds open (the spool);
the registry's own storage is not counted. For the baseline it is the unpacked work dir.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.demo.samples import ARCHES, vendor_shape, write_sample_package  # noqa: E402
from tests.fixtures.delayline import DelayLine  # noqa: E402
from tests.fixtures.registry import RegistryServer  # noqa: E402

# the checkout's own venv, else the running interpreter's (a git worktree: PYTHONPATH picks its code)
ARCHFUSE = str(next((p for p in (ROOT / ".venv" / "bin" / "archfuse",) if p.exists()), Path(sys.executable).parent / "archfuse"))
IMPORT_ARGS: list[str] = []  # --import-arg: extra flags for every ``archfuse import``
POLL = 0.02


@dataclass
class Measured:
    """One measured process (or sequence of processes)."""

    seconds: float = 0.0
    rc: int = 0
    max_rss: int = 0  # bytes
    cpu: float = 0.0  # user + system seconds of the process and its children (wait4)
    peak_disk: int = 0  # bytes
    events: list[dict[str, Any]] = field(default_factory=list)


def parse_size(text: str) -> int:
    """``1GiB``, ``500MiB``, ``1200M`` -> bytes."""
    units = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    s = text.strip().lower().removesuffix("b").removesuffix("i")
    num, unit = (s[:-1], s[-1]) if s and s[-1] in units and s[-1].isalpha() else (s, "")
    return int(float(num) * units[unit])


def du(path: Path) -> int:
    """Bytes allocated under ``path`` (files only; missing is 0)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # a spool file gone meanwhile
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def high_water_rss(pid: int) -> int:
    """The process's own peak RSS so far (``VmHWM``), 0 once it is gone.

    ``wait4``'s ``ru_maxrss`` is not used: Linux carries the parent's peak into a child across
    fork and exec, so every child of a big benchmark process would report at least its size.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def deleted_open_files(pid: int) -> int:
    """Bytes held by deleted regular files ``pid`` still has open (unnamed spool files)."""
    total = 0
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return 0
    for fd in fds:
        try:
            if not os.readlink(f"{fd_dir}/{fd}").endswith(" (deleted)"):
                continue
            st = os.stat(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if (st.st_mode & 0o170000) == 0o100000:
            total += st.st_blocks * 512
    return total


class Poller:
    """Polls a disk-usage function in a thread and keeps the peak."""

    def __init__(self, usage: Callable[[], int]) -> None:
        self.usage, self.peak = usage, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.usage())
            self._stop.wait(POLL)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.usage())


def run(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    stdout: IO[bytes] | int | None = subprocess.DEVNULL,
    on_event: Callable[[dict[str, Any], subprocess.Popen[bytes]], None] | None = None,
    disk: Callable[[int], int] | None = None,
) -> Measured:
    """Run ``cmd``; wall time, exit code, peak RSS (VmHWM), CPU (wait4), peak disk and ``--json`` events."""
    out = Measured()
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE if on_event is not None else stdout, stderr=subprocess.PIPE
    )
    pid = proc.pid
    rss = Poller(lambda: high_water_rss(pid))
    with rss, Poller((lambda: disk(pid)) if disk else (lambda: 0)) as poller:
        if on_event is not None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith(b"{"):
                    event = json.loads(line)
                    out.events.append(event)
                    on_event(event, proc)
        stderr = proc.stderr.read() if proc.stderr else b""
        _pid, status, usage = os.wait4(pid, 0)
        out.seconds = time.perf_counter() - started
    proc.returncode = out.rc = os.waitstatus_to_exitcode(status)
    out.max_rss = rss.peak  # polled every POLL seconds: a process shorter than that may show 0
    out.cpu = usage.ru_utime + usage.ru_stime
    out.peak_disk = poller.peak
    if out.rc not in (0, -signal.SIGKILL):
        raise SystemExit(f"{' '.join(cmd[:3])}... exited {out.rc}: {stderr.decode(errors='replace')[-2000:]}")
    return out


def fresh_registry(root: Path) -> RegistryServer:
    shutil.rmtree(root, ignore_errors=True)
    server = RegistryServer(root)
    server.start()
    return server


def registry_cpu(server: RegistryServer) -> float:
    """CPU seconds the registry process has used so far (from /proc: load-independent work)."""
    assert server._process is not None
    fields = Path(f"/proc/{server._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drop_registry(server: RegistryServer) -> None:
    server.close()
    shutil.rmtree(server.root, ignore_errors=True)


# -- the measurements --------------------------------------------------------------------------


def floor(package: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["gzip", "-dc", str(package)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def registry_floor(package: Path, digest: str, work: Path) -> tuple[float, float]:
    """(d) what the registry itself needs to take in the package's bytes: one blob, one ``curl -T`` PUT.

    Returns the seconds and the registry's CPU seconds."""
    server = fresh_registry(work / "reg-d")
    try:
        before = registry_cpu(server)
        started = time.perf_counter()
        head = subprocess.run(
            ["curl", "-sS", "-i", "-X", "POST", f"{server.url}/v2/floor/blob/blobs/uploads/"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        location = next(
            line.split(":", 1)[1].strip()
            for line in head.splitlines()
            if line.lower().startswith("location:")
        )
        location = location if "://" in location else server.url + location
        status = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", str(package),
             "-H", "Content-Type: application/octet-stream",
             f"{location}{'&' if '?' in location else '?'}digest={digest}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        seconds = time.perf_counter() - started
        used = registry_cpu(server) - before
        if status != "201":
            raise SystemExit(f"the registry floor upload answered {status}")
    finally:
        drop_registry(server)
    return seconds, used


class Archfuse:
    """``archfuse`` runs with their own state dir and TMPDIR under ``work``."""

    def __init__(self, work: Path) -> None:
        shutil.rmtree(work, ignore_errors=True)
        self.state = work / "state"
        self.tmp = work / "tmp"
        self.tmp.mkdir(parents=True)
        # bytecode as an installed archfuse has it (pip compiles it): without it every run compiles ~0.3 s of source
        environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env = {**environ, "TMPDIR": str(self.tmp)}

    def disk(self, pid: int) -> int:
        return du(self.state) + du(self.tmp) + deleted_open_files(pid)

    def cmd(self, verb: str, package: Path | list[Path], server: RegistryServer, *extra: str, url: str = "") -> list[str]:
        packages = package if isinstance(package, list) else [package]
        return [ARCHFUSE, verb, *map(str, packages), "--registry", url or server.url, "--insecure", "--json",
                "--state-dir", str(self.state), *extra, *(IMPORT_ARGS if verb == "import" else [])]  # fmt: skip

    def run(
        self,
        verb: str,
        package: Path | list[Path],
        server: RegistryServer,
        *extra: str,
        on_event: Callable[[dict[str, Any], subprocess.Popen[bytes]], None] | None = None,
        url: str = "",
    ) -> Measured:
        return run(
            self.cmd(verb, package, server, *extra, url=url),
            env=self.env,
            on_event=on_event or (lambda _e, _p: None),
            disk=self.disk,
        )


def phases(events: list[dict[str, Any]], started_at: float) -> dict[str, float]:
    """Seconds from process start to the scan's end, to the run's start, and the run itself."""
    at = {e["event"]: e["at"] for e in events if "at" in e and "event" in e}
    out: dict[str, float] = {}
    if "package_scanned" in at:
        out["scan_until"] = at["package_scanned"] - started_at
    if "run_started" in at:
        out["run_starts_at"] = at["run_started"] - started_at
    finished = [e for e in events if e["event"] == "run_finished"]
    if finished:
        out["run"] = finished[-1]["seconds"]
    return out


def archfuse_import(package: Path | list[Path], work: Path, *, scan_first: bool = True) -> dict[str, Any]:
    """Cold import into a fresh registry, then the no-op re-run (then, unless told not to, the
    same cold import with ``--scan-first``)."""
    af = Archfuse(work / "af")
    server = fresh_registry(work / "reg-a")
    try:
        wall0 = time.time()
        before = registry_cpu(server)
        cold = af.run("import", package, server, "--yes")
        cold_registry_cpu = registry_cpu(server) - before
        cold_phases = phases(cold.events, wall0)
        noop = af.run("import", package, server, "--yes")
        uploaded = [e for e in noop.events if e["event"] == "run_started"][0]["bytes_total"]
        stored = du(server.storage)
    finally:
        drop_registry(server)
    cold_figures = {
        "staged_bytes": sum(e["bytes"] for e in cold.events if e["event"] == "blobs_staged"),
        "cold_s": cold.seconds,
        "cold_cpu": cold.cpu,
        "cold_registry_cpu": cold_registry_cpu,
        "cold_phases": cold_phases,
        "noop_s": noop.seconds,
        "noop_planned_upload": uploaded,
        "rss": max(cold.max_rss, noop.max_rss),
        "disk": max(cold.peak_disk, noop.peak_disk),
        "registry_bytes": stored,
    }
    if not scan_first:
        return cold_figures
    # the same cold import reading the package twice (scan through, checks, then the run's read)
    two = Archfuse(work / "af-two")
    server = fresh_registry(work / "reg-a2")
    try:
        wall0 = time.time()
        before = registry_cpu(server)
        twice = two.run("import", package, server, "--yes", "--scan-first")
        twice_registry_cpu = registry_cpu(server) - before
    finally:
        drop_registry(server)
    return {
        "scan_first_s": twice.seconds,
        "scan_first_cpu": twice.cpu,
        "scan_first_registry_cpu": twice_registry_cpu,
        "scan_first_phases": phases(twice.events, wall0),
        **cold_figures,
    }


def baseline(package: Path | list[Path], work: Path) -> dict[str, Any]:
    """The vendor's way: unpack everything, then skopeo copy each image from its images.tar."""
    packages = package if isinstance(package, list) else [package]
    unpack = work / "vendor"
    shutil.rmtree(unpack, ignore_errors=True)
    unpack.mkdir(parents=True)
    server = fresh_registry(work / "reg-b")
    rss = 0
    try:
        with Poller(lambda: du(unpack)) as poller:
            started = time.perf_counter()
            before = registry_cpu(server)
            cpu = 0.0
            for n, one in enumerate(packages):
                into = unpack / f"{n}" / "addon-offline-target-package"
                into.mkdir(parents=True)
                step = run(["tar", "-xzf", str(one), "-C", str(into)])
                rss, cpu = max(rss, step.max_rss), cpu + step.cpu
            images: list[tuple[Path, str]] = []
            for bundle in sorted(unpack.rglob("*.bundle.tar")):
                out = bundle.with_name(bundle.name.removesuffix(".bundle.tar"))
                out.mkdir()
                step = run(["tar", "-xf", str(bundle), "-C", str(out)])
                rss, cpu = max(rss, step.max_rss), cpu + step.cpu
                manifest = subprocess.run(
                    ["tar", "-xOf", str(out / "images.tar"), "manifest.json"], capture_output=True, check=True
                ).stdout
                images += [
                    (out / "images.tar", ref) for entry in json.loads(manifest) for ref in entry["RepoTags"]
                ]
            unpacked_s = time.perf_counter() - started
            unpack_cpu = cpu
            for archive, ref in images:
                dest = f"docker://{server.host}/{ref.split('/', 1)[1]}"
                copy = run(
                    [
                        "skopeo",
                        "copy",
                        "-q",
                        "--dest-tls-verify=false",
                        f"docker-archive:{archive}:{ref}",
                        dest,
                    ]
                )
                rss, cpu = max(rss, copy.max_rss), cpu + copy.cpu
            seconds = time.perf_counter() - started
            used = registry_cpu(server) - before
    finally:
        drop_registry(server)
        shutil.rmtree(unpack, ignore_errors=True)
    return {"s": seconds, "unpack_s": unpacked_s, "images": len(images), "rss": rss, "disk": poller.peak,
            "cpu": cpu, "unpack_cpu": unpack_cpu, "registry_cpu": used}  # fmt: skip


def resume(package: Path, work: Path) -> dict[str, Any]:
    """Kill an import once half its bytes are uploaded; time the re-run."""
    af = Archfuse(work / "af-resume")
    server = fresh_registry(work / "reg-r")
    killed: dict[str, Any] = {}

    def kill_half_way(event: dict[str, Any], proc: subprocess.Popen[bytes]) -> None:
        # a cold import uploads while its one read goes (scan_progress: the package's bytes read and
        # sent); with the scan cache, or --scan-first, the run's bytes_progress counts the uploads
        if killed or event["event"] not in ("bytes_progress", "scan_progress") or not event["bytes_total"]:
            return
        if event["bytes_done"] * 2 >= event["bytes_total"]:
            os.kill(proc.pid, signal.SIGKILL)
            killed.update(bytes_done=event["bytes_done"], bytes_total=event["bytes_total"], during=event["event"])

    try:
        first = af.run("import", package, server, "--yes", on_event=kill_half_way)
        if first.rc != -signal.SIGKILL:
            raise SystemExit(f"the import to interrupt finished before half way (exit {first.rc})")
        again = af.run("import", package, server, "--yes")
        left = [e for e in again.events if e["event"] == "run_started"][0]["bytes_total"] + sum(
            e["bytes"] for e in again.events if e["event"] == "blobs_staged"
        )
        verify = af.run("verify", package, server)
    finally:
        drop_registry(server)
    return {
        "killed_after_s": first.seconds,
        "killed_at_bytes": killed["bytes_done"],
        "killed_during": killed["during"],
        "bytes_total": killed["bytes_total"],
        "rerun_s": again.seconds,
        "rerun_upload": left,
        "verify_rc": verify.rc,
    }


def plan_many(package: Path, work: Path) -> dict[str, Any]:
    """Import a package of many small images, then time the plan against the registry holding it."""
    af = Archfuse(work / "af-plan")
    server = fresh_registry(work / "reg-p")
    try:
        imported = af.run("import", package, server, "--yes")
        plan = af.run("plan", package, server)
        result = plan.events[-1]
        actions = {i["action"] for i in result["images"]}
    finally:
        drop_registry(server)
    return {
        "images": len(result["images"]),
        "actions": sorted(actions),
        "import_s": imported.seconds,
        "import_rss": imported.max_rss,
        "plan_s": plan.seconds,
        "rss": plan.max_rss,
    }


def distance(package: Path, work: Path, delay: float) -> dict[str, Any]:
    """Cold imports of the same package: into a fresh registry on loopback, and into another one
    behind a delay line adding ``delay`` each way (throughput untouched). Both with a fresh state dir."""
    out: dict[str, Any] = {}
    for leg in ("loopback", "delayed"):
        af = Archfuse(work / f"af-{leg}")
        server = fresh_registry(work / f"reg-{leg}")
        line = DelayLine("127.0.0.1", server.port, delay) if leg == "delayed" else None
        try:
            url = f"http://{line.host}" if line else ""
            wall0 = time.time()
            done = af.run("import", package, server, "--yes", url=url)
            noop = af.run("import", package, server, "--yes", url=url)
        finally:
            if line:
                line.close()
            drop_registry(server)
        out[f"{leg}_s"] = done.seconds
        out[f"{leg}_noop_s"] = noop.seconds
        out[f"{leg}_phases"] = phases(done.events, wall0)
    return out


def several_sites(package: Path, work: Path, sites: int, delay: float) -> dict[str, Any]:
    """Imports of ``package`` into 1 and into ``sites`` fresh registries, each behind its own delay line
    (``delay`` each way); cold (fresh state dir) and with the scan cached."""
    out: dict[str, Any] = {}
    for count in (1, sites):
        for leg in ("cold", "scanned"):
            af = Archfuse(work / f"af-sites-{count}-{leg}")
            servers = [fresh_registry(work / f"reg-sites-{i}") for i in range(count)]
            lines = [DelayLine("127.0.0.1", s.port, delay) for s in servers]
            try:
                urls = [f"http://{line.host}" for line in lines]
                if leg == "scanned":
                    run([ARCHFUSE, "scan", str(package), "--state-dir", str(af.state)], env=af.env)
                extra = [w for url in urls[1:] for w in ("--registry", url)]
                done = af.run("import", package, servers[0], "--yes", *extra, url=urls[0])
                rows = [e for e in done.events if e.get("event") == "sites"]
                statuses = [r["status"] for r in rows[-1]["sites"]] if rows else ["done"]
                if statuses != ["done"] * count:
                    raise SystemExit(f"the import into {count} sites ended {statuses}")
            finally:
                for line in lines:
                    line.close()
                for server in servers:
                    drop_registry(server)
            out[f"{count}_{leg}_s"] = done.seconds
            out[f"{count}_{leg}_rss"] = done.max_rss
            out[f"{count}_{leg}_disk"] = done.peak_disk
    return out



# -- the vendor-shaped package -----------------------------------------------------------------


def vendor_packages(work: Path, size: int, seed: str) -> list[Path]:
    """Both arches' vendor-shaped packages of ``size`` payload each, kept in ``work`` between runs
    (keyed by size and seed: a second run with the same ``--work`` does not write them again)."""
    where = work / f"pkg-vendor-{size}-{seed}"
    shape = vendor_shape(size, seed=seed)
    out = []
    for arch in ARCHES:
        path = where / f"addon-offline-full-package-v9.0.0-{arch}.tar.gz"
        if not path.exists():
            t = time.perf_counter()
            write_sample_package(where, "v9.0.0", arch, shape=shape)
            print(f"package: {path.name}, {path.stat().st_size:,} bytes, written in {time.perf_counter() - t:.1f} s")
        out.append(path)
    return out


NOT_BLOBS = {"manifest.json", "repositories", "index.json", "oci-layout"}


def package_blobs(packages: list[Path], work: Path) -> Path:
    """The distinct blobs (layers and configs) of ``packages``, one file each, named by digest
    (kept in ``work`` beside the packages): what the registry floor uploads."""
    where = packages[0].parent / "blobs"
    if (where / ".done").exists():
        return where
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir()
    for package in packages:
        with tarfile.open(package, "r|gz") as outer:
            for member in outer:
                if not member.name.endswith(".bundle.tar"):
                    continue
                with tarfile.open(fileobj=outer.extractfile(member), mode="r|") as bundle:
                    for inner in bundle:
                        if inner.name != "images.tar":
                            continue
                        with tarfile.open(fileobj=bundle.extractfile(inner), mode="r|") as images:
                            for blob in images:
                                if blob.isfile() and blob.name.rsplit("/", 1)[-1] not in NOT_BLOBS:
                                    save_blob(images.extractfile(blob), where)
    (where / ".done").touch()
    return where


def save_blob(data: IO[bytes] | None, where: Path) -> None:
    assert data is not None
    sha = hashlib.sha256()
    tmp = where / ".part"
    with tmp.open("wb") as f:
        for piece in iter(lambda: data.read(1 << 20), b""):
            sha.update(piece)
            f.write(piece)
    tmp.replace(where / sha.hexdigest())


def blob_floor(blobs: Path, work: Path, jobs: int) -> tuple[float, float]:
    """(c) the registry floor: every blob as one monolithic upload (POST, then PUT of the whole
    blob with its digest) into a fresh registry, ``jobs`` uploads at a time. Seconds and the
    registry's CPU seconds."""
    files = sorted((p for p in blobs.iterdir() if not p.name.startswith(".")), key=lambda p: -p.stat().st_size)
    server = fresh_registry(work / "reg-c")
    local = threading.local()

    def upload(path: Path) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(server.host, blocksize=1 << 20)
        conn.request("POST", f"/v2/floor/{path.name[:2]}/blobs/uploads/", headers={"Content-Length": "0"})
        answer = conn.getresponse()
        answer.read()
        location = urllib.parse.urlsplit(answer.headers["Location"])
        target = f"{location.path}?{location.query + '&' if location.query else ''}digest=sha256:{path.name}"
        with path.open("rb") as body:
            conn.request("PUT", target, body=body, headers={
                "Content-Length": str(path.stat().st_size), "Content-Type": "application/octet-stream"})  # fmt: skip
            answer = conn.getresponse()
            answer.read()
        if answer.status != 201:
            raise SystemExit(f"the registry floor upload of {path.name} answered {answer.status}")

    try:
        before = registry_cpu(server)
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            list(pool.map(upload, files))
        seconds = time.perf_counter() - started
        used = registry_cpu(server) - before
    finally:
        drop_registry(server)
    return seconds, used


def vendor_row(packages: list[Path], blobs: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One repetition on the vendor-shaped packages: (c), (a), (d), then (b) unless skipped."""
    row: dict[str, Any] = {"load_before": os.getloadavg()[0], "uptime": uptime()}
    floors = {jobs: blob_floor(blobs, work, jobs) for jobs in args.floor_jobs}
    best = min(floors, key=lambda j: floors[j][0])
    row["floor"] = {"s": floors[best][0], "registry_cpu": floors[best][1], "jobs": best,
                    "all": {str(j): round(f[0], 2) for j, f in floors.items()}}  # fmt: skip
    row["archfuse"] = archfuse_import(packages, work, scan_first=False)
    row["delayed"] = delayed_import(packages, work, args.delay)
    if not args.skip_vendor:
        row["baseline"] = baseline(packages, work)
    row["load_after"] = os.getloadavg()[0]
    return row


def delayed_import(packages: list[Path], work: Path, delay: float) -> dict[str, Any]:
    """(d) the cold import behind a delay line adding ``delay`` each way (throughput untouched)."""
    af = Archfuse(work / "af-delayed")
    server = fresh_registry(work / "reg-delayed")
    line = DelayLine("127.0.0.1", server.port, delay)
    try:
        wall0 = time.time()
        done = af.run("import", packages, server, "--yes", url=f"http://{line.host}")
        noop = af.run("import", packages, server, "--yes", url=f"http://{line.host}")
    finally:
        line.close()
        drop_registry(server)
    return {"s": done.seconds, "noop_s": noop.seconds, "phases": phases(done.events, wall0), "rss": done.max_rss}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def vendor_report(rows: list[dict[str, Any]], packages: list[Path], blobs: Path) -> None:
    def col(get: Callable[[dict[str, Any]], float], fmt: str = "{:.1f}") -> str:
        return spread([get(r) for r in rows], fmt)

    def ratio(name: str, get: Callable[[dict[str, Any]], float], goal: str) -> None:
        print(f"    {name:<36}{col(get, '{:.2f}')}  (goal {goal})")

    count = sum(1 for p in blobs.iterdir() if not p.name.startswith("."))
    size = sum(p.stat().st_size for p in blobs.iterdir())
    loads = [r[k] for r in rows for k in ("load_before", "load_after")]
    print(f"\nvendor-shaped: {len(packages)} packages ({', '.join(f'{p.stat().st_size / (1 << 20):.0f} MiB' for p in packages)}), "
          f"{count} distinct blobs, {mib(size)}")  # fmt: skip
    print(f"{len(rows)} repetition(s), min–max (1-min load average {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores)")
    for r in rows:
        print(f"    {r['uptime']}")
    print(f"(c) registry floor: monolithic uploads {col(lambda r: r['floor']['s'])} s  "
          f"(best of --floor-jobs {'/'.join(rows[0]['floor']['all'])}: {[r['floor']['all'] for r in rows]}); "
          f"registry CPU {col(lambda r: r['floor']['registry_cpu'])} s")  # fmt: skip
    print(f"(a) archfuse import, cold, both     {col(lambda r: r['archfuse']['cold_s'])} s  "
          f"(peak RSS {mib(max(r['archfuse']['rss'] for r in rows))}, peak extra disk {mib(max(r['archfuse']['disk'] for r in rows))}; "
          f"CPU archfuse {col(lambda r: r['archfuse']['cold_cpu'])} s, its registry {col(lambda r: r['archfuse']['cold_registry_cpu'])} s)")  # fmt: skip
    print("    phases: " + ", ".join(
        f"{k} {col(lambda r, k=k: r['archfuse']['cold_phases'].get(k, 0))} s" for k in rows[0]["archfuse"]["cold_phases"]
    ))  # fmt: skip
    print(f"    no-op re-run                    {col(lambda r: r['archfuse']['noop_s'], '{:.2f}')} s "
          f"(planned upload {rows[0]['archfuse']['noop_planned_upload']} bytes)")  # fmt: skip
    print(f"(d) through the delay line          {col(lambda r: r['delayed']['s'])} s (no-op {col(lambda r: r['delayed']['noop_s'], '{:.2f}')} s)")
    if "baseline" in rows[0]:
        print(f"(b) vendor: unpack + skopeo copy    {col(lambda r: r['baseline']['s'])} s  "
              f"(unpack {col(lambda r: r['baseline']['unpack_s'])} s; {rows[0]['baseline']['images']} images; "
              f"peak extra disk {mib(max(r['baseline']['disk'] for r in rows))})")  # fmt: skip
    ratio("a/c (registry floor)", lambda r: r["archfuse"]["cold_s"] / r["floor"]["s"], "<= 1.3")
    if "baseline" in rows[0]:
        ratio("a/b (vendor's way)", lambda r: r["archfuse"]["cold_s"] / r["baseline"]["s"], "<= 0.3")
    ratio("d/a (50 ms RTT / loopback)", lambda r: r["delayed"]["s"] / r["archfuse"]["cold_s"], "<= 1.3")
    ratio("no-op / a", lambda r: r["archfuse"]["noop_s"] / r["archfuse"]["cold_s"], "<= 0.03")


# -- report ------------------------------------------------------------------------------------


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"


def mib(n: float) -> str:
    return f"{n / (1 << 20):.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shape", default="vendor", choices=["vendor", "large"],
        help="vendor: both arches' packages shaped like the vendor's (default); large: one package of a few large layers",
    )  # fmt: skip
    parser.add_argument("--size", help="payload of each package (default 300MiB for vendor, 1GiB for large)")
    parser.add_argument("--seed", default="vendor", help="seed of the vendor-shaped layout (default vendor)")
    parser.add_argument("--skip-vendor", action="store_true", help="vendor shape: leave out (b), the vendor's way")
    parser.add_argument(
        "--floor-jobs", type=int, nargs="+", default=[4, 8],
        help="vendor shape: concurrent uploads tried for the registry floor; the best counts (default 4 8)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=2, help="repetitions of every measurement (default 2)")
    parser.add_argument(
        "--images", type=int, default=500, help="small images in the plan package (default 500)"
    )
    parser.add_argument("--work", type=Path, help="work directory (default: a new one under /tmp, removed)")
    parser.add_argument("--import-arg", action="append", default=[], help="extra flag for archfuse import")
    parser.add_argument(
        "--distance-images", type=int, default=120, help="small images in the distance package (default 120)"
    )
    parser.add_argument(
        "--delay", type=float, default=0.025, help="delay line, seconds each way (default 0.025)"
    )
    parser.add_argument(
        "--skip", action="append", default=[], choices=["baseline", "resume", "plan", "distance", "import"]
    )
    parser.add_argument(
        "--sites", type=int, default=0, metavar="N",
        help="also import into N registries at once, each behind the delay line, against one (0: not measured)",
    )
    args = parser.parse_args()
    IMPORT_ARGS.extend(args.import_arg)
    work = args.work or Path(f"/tmp/archfuse-bench-{os.getpid()}")
    work.mkdir(parents=True, exist_ok=True)
    size = parse_size(args.size or ("300MiB" if args.shape == "vendor" else "1GiB"))
    if args.shape == "vendor":
        try:
            packages = vendor_packages(work, size, args.seed)
            blobs = package_blobs(packages, work)
            for package in packages:  # warms the page cache
                subprocess.run(["cat", str(package)], stdout=subprocess.DEVNULL, check=True)
            rows = []
            for i in range(args.repeat):
                rows.append(vendor_row(packages, blobs, work, args))
                print(f"run {i + 1}: {json.dumps(rows[-1])}", flush=True)
            vendor_report(rows, packages, blobs)
        finally:
            if args.work is None:
                shutil.rmtree(work, ignore_errors=True)
        return
    try:
        t = time.perf_counter()
        package = write_sample_package(work / "pkg", "v9.0.0", "amd64", payload=size)
        print(
            f"package: {package.name}, {package.stat().st_size:,} bytes, written in {time.perf_counter() - t:.1f} s"
        )
        many = write_sample_package(work / "pkg-many", "v9.0.0", "arm64", bulk=args.images)
        print(f"plan package: {many.name}, {many.stat().st_size:,} bytes, {args.images} extra small images")
        near = write_sample_package(work / "pkg-distance", "v9.0.0", "amd64", bulk=args.distance_images)
        with package.open(
            "rb"
        ) as f:  # warms the page cache; in pieces: this process's size leaks into its children's
            sha = hashlib.sha256()
            for piece in iter(lambda: f.read(4 << 20), b""):
                sha.update(piece)
            digest = "sha256:" + sha.hexdigest()
        rows: list[dict[str, Any]] = []
        for i in range(args.repeat):
            row: dict[str, Any] = {"load_before": os.getloadavg()[0], "floor_s": floor(package)}
            row["registry_floor_s"], row["registry_floor_cpu"] = registry_floor(package, digest, work)
            if "import" not in args.skip:
                row["archfuse"] = archfuse_import(package, work)
            if "distance" not in args.skip:
                row["distance"] = distance(near, work, args.delay)
            if "baseline" not in args.skip:
                row["baseline"] = baseline(package, work)
            if "resume" not in args.skip:
                row["resume"] = resume(package, work)
            if "plan" not in args.skip:
                row["plan"] = plan_many(many, work)
            if args.sites > 1:
                row["sites"] = several_sites(package, work, args.sites, args.delay)
            row["load_after"] = os.getloadavg()[0]
            rows.append(row)
            print(f"run {i + 1}: {json.dumps(row)}", flush=True)
        report(rows)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def report(rows: list[dict[str, Any]]) -> None:
    def col(get: Callable[[dict[str, Any]], float], fmt: str = "{:.1f}") -> str:
        return spread([get(r) for r in rows], fmt)

    def ratio(name: str, get: Callable[[dict[str, Any]], float], goal: str) -> None:
        print(f"    {name:<36}{col(get, '{:.2f}')}  (goal {goal})")

    loads = [r[k] for r in rows for k in ("load_before", "load_after")]
    print(
        f"\n{len(rows)} repetition(s), min–max (1-min load average {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores):"
    )
    print(f"(c) floor  gzip -dc > /dev/null     {col(lambda r: r['floor_s'])} s")
    print(f"(d) registry floor: 1 blob, curl -T  {col(lambda r: r['registry_floor_s'])} s")
    a = col(lambda r: r["archfuse"]["cold_s"]) if "archfuse" in rows[0] else "n/a"
    if "archfuse" in rows[0]:
        print(f"(a) archfuse import, cold           {a} s  (peak RSS {mib(max(r['archfuse']['rss'] for r in rows))}, "
              f"peak extra disk {mib(max(r['archfuse']['disk'] for r in rows))})")  # fmt: skip
        print("    phases: " + ", ".join(
            f"{k} {col(lambda r, k=k: r['archfuse']['cold_phases'].get(k, 0))} s" for k in rows[0]["archfuse"]["cold_phases"]
        ))  # fmt: skip
        print(f"    no-op re-run                    {col(lambda r: r['archfuse']['noop_s'], '{:.2f}')} s "
              f"(planned upload {rows[0]['archfuse']['noop_planned_upload']} bytes)")  # fmt: skip
        print(f"    of which uploaded while reading {col(lambda r: r['archfuse']['staged_bytes'] / (1 << 20), '{:.0f}')} MiB")
        print(f"(a2) the same, --scan-first (2 reads) {col(lambda r: r['archfuse']['scan_first_s'])} s; phases: " + ", ".join(
            f"{k} {col(lambda r, k=k: r['archfuse']['scan_first_phases'].get(k, 0))} s"
            for k in rows[0]["archfuse"]["scan_first_phases"]
        ))  # fmt: skip
        print(f"    CPU seconds: archfuse {col(lambda r: r['archfuse']['scan_first_cpu'])}, its registry "
              f"{col(lambda r: r['archfuse']['scan_first_registry_cpu'])}")  # fmt: skip
        ratio("a/a2 (one read / two)", lambda r: r["archfuse"]["cold_s"] / r["archfuse"]["scan_first_s"], "< 1")
        ratio("a2/d", lambda r: r["archfuse"]["scan_first_s"] / r["registry_floor_s"], "none")
        ratio("a/c", lambda r: r["archfuse"]["cold_s"] / r["floor_s"], "none")
        ratio("a/d (registry floor)", lambda r: r["archfuse"]["cold_s"] / r["registry_floor_s"], "<= 1.5")
        ratio("no-op / a", lambda r: r["archfuse"]["noop_s"] / r["archfuse"]["cold_s"], "<= 0.05")
        print(f"    CPU seconds: archfuse {col(lambda r: r['archfuse']['cold_cpu'])}, its registry "
              f"{col(lambda r: r['archfuse']['cold_registry_cpu'])}; floor (d) registry "
              f"{col(lambda r: r['registry_floor_cpu'])}")  # fmt: skip
        ratio(
            "CPU a/d (both sides' processes)",
            lambda r: (
                (r["archfuse"]["cold_cpu"] + r["archfuse"]["cold_registry_cpu"]) / r["registry_floor_cpu"]
            ),
            "load-independent view",
        )
    if "baseline" in rows[0]:
        print(f"(b) vendor: unpack + skopeo copy    {col(lambda r: r['baseline']['s'])} s  "
              f"(unpack {col(lambda r: r['baseline']['unpack_s'])} s; {rows[0]['baseline']['images']} images; "
              f"peak RSS {mib(max(r['baseline']['rss'] for r in rows))}; "
              f"peak extra disk {mib(max(r['baseline']['disk'] for r in rows))})")  # fmt: skip
        if "archfuse" in rows[0]:
            ratio("a/b", lambda r: r["archfuse"]["cold_s"] / r["baseline"]["s"], "<= 0.35")
            ratio("a/(b's unpack)", lambda r: r["archfuse"]["cold_s"] / r["baseline"]["unpack_s"], "<= 1.0")
            ratio("a2/b (--scan-first)", lambda r: r["archfuse"]["scan_first_s"] / r["baseline"]["s"], "none")
            print(
                f"    CPU seconds: vendor {col(lambda r: r['baseline']['cpu'])} (unpack "
                f"{col(lambda r: r['baseline']['unpack_cpu'])}), its registry {col(lambda r: r['baseline']['registry_cpu'])}"
            )
            ratio(
                "CPU a/b (with the registries)",
                lambda r: (
                    (r["archfuse"]["cold_cpu"] + r["archfuse"]["cold_registry_cpu"])
                    / (r["baseline"]["cpu"] + r["baseline"]["registry_cpu"])
                ),
                "load-independent view",
            )
            ratio(
                "CPU a/(b's unpack)",
                lambda r: r["archfuse"]["cold_cpu"] / r["baseline"]["unpack_cpu"],
                "load-independent view",
            )
    if "distance" in rows[0]:
        print(f"distance: cold import of the small-image package: loopback {col(lambda r: r['distance']['loopback_s'])} s, "
              f"behind the delay line {col(lambda r: r['distance']['delayed_s'])} s; no-op re-run "
              f"{col(lambda r: r['distance']['loopback_noop_s'], '{:.2f}')} / "
              f"{col(lambda r: r['distance']['delayed_noop_s'], '{:.2f}')} s")  # fmt: skip
        ratio(
            "delayed / loopback", lambda r: r["distance"]["delayed_s"] / r["distance"]["loopback_s"], "<= 1.5"
        )
    if "resume" in rows[0]:
        print(
            f"resume: killed after                {col(lambda r: r['resume']['killed_after_s'])} s "
            f"({col(lambda r: r['resume']['killed_at_bytes'] / r['resume']['bytes_total'] * 100, '{:.0f}')}% "
            f"of {rows[0]['resume']['killed_during']})"
        )
        print(f"        re-run                      {col(lambda r: r['resume']['rerun_s'])} s "
              f"(uploads {col(lambda r: r['resume']['rerun_upload'] / r['resume']['bytes_total'] * 100, '{:.0f}')}% "
              f"of the bytes; verify exit {sorted({r['resume']['verify_rc'] for r in rows})}) "
              f"vs from scratch {a} s")  # fmt: skip
    if "plan" in rows[0]:
        p = rows[0]["plan"]
        print(f"plan: {p['images']} images, all {p['actions']}: "
              f"{col(lambda r: r['plan']['plan_s'], '{:.2f}')} s (goal < 10 s at 2,000; scan cached; "
              f"peak RSS {mib(max(r['plan']['rss'] for r in rows))}); "
              f"their first import {col(lambda r: r['plan']['import_s'])} s "
              f"(peak RSS {mib(max(r['plan']['import_rss'] for r in rows))})")  # fmt: skip
    if "sites" in rows[0]:
        n = max(int(k.split("_")[0]) for k in rows[0]["sites"])
        for leg in ("cold", "scanned"):
            print(f"sites ({leg}): 1 site {col(lambda r, leg=leg: r['sites'][f'1_{leg}_s'])} s, {n} sites "
                  f"{col(lambda r, leg=leg: r['sites'][f'{n}_{leg}_s'])} s, each behind the delay line "
                  f"(peak RSS {mib(max(r['sites'][f'{n}_{leg}_rss'] for r in rows))}, peak extra disk "
                  f"{mib(max(r['sites'][f'{n}_{leg}_disk'] for r in rows))})")  # fmt: skip
            ratio(f"{n} sites / 1 ({leg})", lambda r, leg=leg: r["sites"][f"{n}_{leg}_s"] / r["sites"][f"1_{leg}_s"],
                  "<= 1.3")


if __name__ == "__main__":
    main()
