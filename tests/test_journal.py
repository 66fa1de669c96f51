"""The journal: runs, images and tag writes recorded; history; interrupted runs; the target lock; secrets."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core.config import Secret
from core.errors import RunLocked, UsageError
from core.package.model import PackageIndex
from core.record.journal import Journal, render_history
from core.record.runlock import lock_path
from core.targets.layout import LayoutTarget
from tests.fixtures.imports import journaled_import, make_package
from tui.cli import main

ROOT = Path(__file__).resolve().parents[1]
TARGET = "oci:/srv/layout"


def _package(version: str, arch: str = "amd64", checksum: str = "missing") -> PackageIndex:
    name = f"addon-{version}-{arch}.tar.gz"
    return PackageIndex(f"/p/{name}", name, version, arch, 10, checksum)


# -- records ----------------------------------------------------------------------------------


def test_import_records_each_tag_before_and_after_and_each_image(
    journal: Journal, layout: LayoutTarget
) -> None:
    repo, tag = "addon/app", "1.0"
    first, s1 = journaled_import(journal, layout, [make_package(layout, "v1.0", "amd64")], {"prefix": ""})
    after_first = layout.get_manifest(repo, tag)
    second, s2 = journaled_import(journal, layout, [make_package(layout, "v1.0", "arm64")])
    after_second = layout.get_manifest(repo, tag)
    assert s1.status == s2.status == "done" and after_first and after_second

    [t1] = journal.tags_of(first)
    assert (t1.repository, t1.tag, t1.before, t1.after) == (repo, tag, None, after_first.digest)
    [t2] = journal.tags_of(second)
    assert (t2.before, t2.after) == (after_first.digest, after_second.digest)

    [img] = journal.images_of(second)
    assert (img.platform, img.action, img.result) == ("linux/arm64", "add-arch", "done")
    assert img.destination.endswith("/addon/app:1.0")

    run = journal.run(second)
    assert (run.kind, run.status, run.target, run.tags, run.images) == (
        "import",
        "done",
        layout.description,
        1,
        1,
    )
    assert run.counts == {"add-arch": 1}
    assert run.packages[0]["name"] == "addon-v1.0-arm64.tar.gz" and run.packages[0]["checksum"] == "missing"
    assert run.ended is not None and run.ended >= run.started
    assert [r.id for r in journal.runs()] == [second, first]  # newest first
    assert journal.run(second[:6]).id == second  # a unique prefix is enough


def test_unchanged_rerun_writes_no_tag(journal: Journal, layout: LayoutTarget) -> None:
    pkg = make_package(layout, "v1.0", "amd64")
    journaled_import(journal, layout, [pkg])
    again, summary = journaled_import(journal, layout, [pkg])
    assert summary.counts == {"unchanged": 1}
    assert journal.tags_of(again) == []
    assert journal.images_of(again)[0].action == "unchanged"


def test_tag_written_twice_in_a_run_keeps_the_last_write(journal: Journal) -> None:
    rid = journal.start_run("import", TARGET, [], {})
    journal.tag_moving(rid, "r", "t", "sha256:" + "a" * 64, "sha256:" + "b" * 64)
    journal.tag_moving(
        rid, "r", "t", "sha256:" + "c" * 64, "sha256:" + "d" * 64
    )  # re-merge after another client
    [rec] = journal.tags_of(rid)
    assert (rec.before, rec.after, rec.writes) == ("sha256:" + "c" * 64, "sha256:" + "d" * 64, 2)


def test_recording_from_many_threads_loses_nothing(journal: Journal) -> None:
    rid = journal.start_run("import", TARGET, [], {})

    def work(n: int) -> None:
        for i in range(40):
            journal.tag_moving(
                rid, f"repo{n}", "t", None if i == 0 else f"sha256:{i - 1:064x}", f"sha256:{i:064x}"
            )
            journal.chart_done(rid, f"chart{n}", str(i), "oci://x", "new")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tags = journal.tags_of(rid)
    assert len(tags) == 8 and all(t.writes == 40 and t.after == f"sha256:{39:064x}" for t in tags)
    assert len(journal.charts_of(rid)) == 320


def test_unknown_run_is_a_usage_error(journal: Journal) -> None:
    with pytest.raises(UsageError, match="no run 'nope'"):
        journal.run("nope")


def test_last_version_imported_skips_failed_and_rolled_back_runs(journal: Journal) -> None:
    assert journal.last_version_imported(TARGET) is None
    old = journal.start_run("import", TARGET, [_package("v1.0"), _package("v1.0", "arm64")], {})
    journal.finish_run(old, "done", {}, 0)
    new = journal.start_run("import", TARGET, [_package("v1.10"), _package("v1.9", "arm64")], {})
    journal.finish_run(new, "done", {}, 0)
    failed = journal.start_run("import", TARGET, [_package("v2.0")], {})
    journal.finish_run(failed, "failed", {}, 0, "broken")
    other = journal.start_run("import", "oci:/elsewhere", [_package("v9.0")], {})
    journal.finish_run(other, "done", {}, 0)
    assert journal.last_version_imported(TARGET) == "v1.10"  # natural order, not text order
    undo = journal.start_run("rollback", TARGET, [], {}, parent=new)
    journal.finish_run(undo, "done", {}, 0)
    assert journal.last_version_imported(TARGET) == "v1.0"


# -- history -----------------------------------------------------------------------------------


def test_history_text_and_json(
    tmp_path: Path, layout: LayoutTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    with Journal(state) as journal:
        rid, _ = journaled_import(journal, layout, [make_package(layout, "v1.0", "amd64")])
        bad = journal.start_run("import", layout.description, [_package("v1.1")], {})
        journal.finish_run(bad, "failed", {"error": 1}, 2048, "the registry said no")
        text = render_history(journal.runs())
    assert text.index(bad) < text.index(rid)
    assert f"{rid}  import  DONE" in text and "addon-v1.0-amd64.tar.gz: v1.0 amd64, checksum missing" in text
    assert "1 images (1 new), 1 tag writes" in text
    assert "FAILED" in text and "the registry said no" in text and "2.0 KiB uploaded" in text
    assert render_history([]) == "No runs in the journal yet."

    assert main(["history", "--json", "--state-dir", str(state)]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_id = {r["id"]: r for r in doc["runs"]}
    assert by_id[rid]["status"] == "done" and by_id[rid]["counts"] == {"new": 1} and by_id[rid]["tags"] == 1
    assert by_id[rid]["packages"][0]["version"] == "v1.0" and by_id[rid]["target"] == layout.description
    assert by_id[bad]["bytes_uploaded"] == 2048 and by_id[bad]["message"] == "the registry said no"
    assert by_id[bad]["started_at"] and by_id[bad]["ended_at"]

    assert main(["history", "--state-dir", str(state)]) == 0
    assert rid in capsys.readouterr().out


def _python(code: str, **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_run_of_a_killed_process_reads_as_interrupted(journal: Journal) -> None:
    proc = _python(
        f"""
        import os, signal, sys
        from core.record.journal import Journal
        j = Journal({str(journal.state_dir)!r})
        rid = j.start_run("import", {TARGET!r}, [], {{}})
        j.tag_moving(rid, "r", "t", None, "sha256:" + "1" * 64)
        print(rid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    killed = out.strip()
    mine = journal.start_run("import", TARGET, [], {})  # this process is alive: still running
    statuses = {r.id: r.status for r in journal.runs()}
    assert statuses == {killed: "interrupted", mine: "running"}
    assert journal.tags_of(killed)[0].after == "sha256:" + "1" * 64  # the write it announced survived
    assert "INTERRUPTED" in render_history(journal.runs()) and "run the same import again" in render_history(
        journal.runs()
    )


# -- the target lock ---------------------------------------------------------------------------


HOLDER = """
import os, sys
from core.record.journal import Journal
j = Journal({state!r})
with j.lock({target!r}):
    rid = j.start_run("import", {target!r}, [], {{}})
    {extra}
    print(rid, os.getpid(), flush=True)
    sys.stdin.readline()
"""


def _holder(state: Path, extra: str = "pass") -> tuple[subprocess.Popen[str], str, int]:
    proc = _python(HOLDER.format(state=str(state), target=TARGET, extra=extra))
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line, "the lock holder did not start"
    return proc, line[0], int(line[1])


def test_second_run_on_a_target_is_refused_naming_the_first(journal: Journal) -> None:
    proc, rid, pid = _holder(journal.state_dir)
    try:
        started = journal.run(rid).started
        with pytest.raises(RunLocked) as err, journal.lock(TARGET):
            pass
        message = str(err.value)
        assert f"run {rid}" in message and f"pid {pid}" in message and TARGET in message
        assert time.strftime("%Y-%m-%d %H:%M", time.localtime(started)) in message
        with journal.lock("oci:/another/layout"):  # other targets are free
            pass
    finally:
        proc.communicate("\n", timeout=60)
    with journal.lock(TARGET) as owner:  # released when the first run ended
        assert owner.pid == os.getpid()


def test_lock_of_a_killed_run_is_taken_over(journal: Journal) -> None:
    proc, rid, _pid = _holder(journal.state_dir)
    proc.kill()
    proc.communicate(timeout=60)
    with journal.lock(TARGET) as owner:
        assert owner.pid == os.getpid()


@pytest.mark.parametrize("end", ["killed", "finished"])
def test_stale_lock_held_by_a_leftover_descriptor_is_taken_over(journal: Journal, end: str) -> None:
    # The holder forks a child that keeps the lock's descriptor and outlives it.
    extra = (
        "child = os.fork()\n"
        "    if child == 0:\n"
        "        import time; os.close(0); os.close(1); time.sleep(120); os._exit(0)\n"
        "    print(child, flush=True)"
    )
    proc = _python(HOLDER.format(state=str(journal.state_dir), target=TARGET, extra=extra))
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    proc.stdout.readline()
    if end == "killed":
        proc.kill()  # the run dies; its child lives on with the descriptor
        proc.communicate(timeout=60)
    else:
        proc.communicate("\n", timeout=60)  # the run ends normally; its child lives on
    try:
        lock_file = lock_path(TARGET)
        fd = os.open(lock_file, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):  # the flock really is still held, by the child
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        with journal.lock(TARGET) as owner:
            assert owner.pid == os.getpid()
            with pytest.raises(RunLocked):  # and now it is ours: another thread is refused
                _lock_in_thread(journal)
    finally:
        os.kill(child, signal.SIGKILL)


def _lock_in_thread(journal: Journal, target: str = TARGET) -> None:
    errors: list[BaseException] = []

    def take() -> None:
        try:
            with journal.lock(target):
                pass
        except BaseException as err:  # handed back to the test
            errors.append(err)

    t = threading.Thread(target=take)
    t.start()
    t.join()
    if errors:
        raise errors[0]


@pytest.mark.parametrize(
    ("held", "asked"),
    [
        ("http://127.0.0.1:5000", "http://localhost:5000"),
        ("http://[::1]:5000", "http://LOCALHOST:5000/"),
        ("https://registry.example.com", "https://Registry.Example.com:443"),
        ("http://registry.example.com:80", "http://registry.example.com"),
    ],
)
def test_lock_is_keyed_by_the_target_not_its_spelling_across_state_dirs(
    tmp_path: Path, held: str, asked: str
) -> None:
    code = f"""
        from core.record.journal import Journal
        with Journal({str(tmp_path / "first")!r}).lock({held!r}):
            print("held", flush=True)
            input()
    """
    proc = _python(code)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    try:
        with Journal(tmp_path / "second") as other, pytest.raises(RunLocked, match="Another archfuse run"):
            _lock_in_thread(other, asked)
        with Journal(tmp_path / "second") as other, other.lock("http://127.0.0.2:5001"):
            pass  # another port is another target
    finally:
        proc.communicate("\n", timeout=60)


def test_a_layout_is_one_target_whatever_its_spelling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "dir")
    monkeypatch.chdir(tmp_path)
    with Journal(tmp_path / "a") as first, first.lock("./dir"):
        for spelling in ("dir", f"oci:{tmp_path}/dir", "oci:link", f"{tmp_path}/x/../dir/"):
            with Journal(tmp_path / "b") as other, pytest.raises(RunLocked):
                _lock_in_thread(other, spelling)


def test_lock_dir_is_host_wide_with_an_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHFUSE_LOCK_DIR", str(tmp_path / "locks"))
    with Journal(tmp_path / "state") as journal, journal.lock(TARGET):
        assert lock_path(TARGET).parent == tmp_path / "locks" and lock_path(TARGET).exists()
        assert not (tmp_path / "state" / "locks").exists()


def test_lock_is_reentrant_in_one_thread(journal: Journal) -> None:
    with journal.lock(TARGET), journal.lock(TARGET):
        pass
    _lock_in_thread(journal)  # fully released


# -- secrets -----------------------------------------------------------------------------------


def test_secrets_never_reach_the_journal_file(tmp_path: Path) -> None:
    password, token, hidden = "hunter2-PW-Zq9", "tok-ABC-77xy", "sekrit-XYZ-9k"
    state = tmp_path / "state"
    with Journal(state) as journal:
        rid = journal.start_run(
            "import",
            f"https://admin:{password}@registry.example:5000",
            [],
            {
                "username": "admin",
                "password": password,
                "registry": f"https://admin:{password}@registry.example:5000",
                "chart": {"chart_repo": "https://charts.example", "token": token},
                "config": Secret(hidden),
                "note": f"pw {password} and {token}",
            },
        )
        journal.record_image(
            rid,
            "a:1",
            "linux/amd64",
            "registry.example:5000/a:1",
            "new",
            "sha256:" + "0" * 64,
            f"401 for {password}",
        )
        journal.finish_run(rid, "failed", {}, 0, f"login with {password} failed")
        record = journal.run(rid)
    assert record.options["username"] == "admin" and "password" not in record.options
    assert record.options["chart"] == {"chart_repo": "https://charts.example"}
    assert record.target == "https://registry.example:5000"
    files = [p for p in state.iterdir() if p.name.startswith("journal.sqlite")]
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in (password, token, hidden):
            assert secret.encode() not in data, f"{secret} found in {path.name}"
