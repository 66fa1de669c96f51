"""Chart archives: deterministic packing and careful unpacking, all in memory.

``repack`` writes ``<name>/<path>`` entries in sorted order with fixed mtime, owner and
modes, and a gzip header without a file name or time: the same chart gives the same bytes,
so a re-import is recognised as unchanged.
"""

from __future__ import annotations

import gzip
import io
import tarfile

from core.charts.validate import DEFAULT_LIMITS, Limits, check_path
from core.errors import ChartError

#: 2000-01-01T00:00:00Z; a fixed, plausible time (some tools warn about 1970 entries)
FIXED_MTIME = 946684800


def archive_name(name: str, version: str) -> str:
    """``<name>-<version>.tgz``."""
    return f"{name}-{version}.tgz"


def repack(name: str, files: dict[str, bytes]) -> bytes:
    """A gzip tar with every file under ``<name>/``, byte for byte the same for the same input."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            data = files[path]
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(data)
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def unpack(data: bytes, *, what: str, limits: Limits = DEFAULT_LIMITS) -> tuple[str, dict[str, bytes]]:
    """The top directory and files (paths relative to it) of a chart ``.tgz``.

    Refuses links, devices, hostile or duplicate names, several top directories and files
    over the limits; ``what`` names the archive in the error sentence.
    """
    files: dict[str, bytes] = {}
    top = ""
    total = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
            for member in tar:
                check_path(member.name, what=what)
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ChartError(f"{what} holds {member.name!r}, which is not a regular file.")
                name = member.name
                while name.startswith("./"):
                    name = name[2:]
                head, _, rest = name.partition("/")
                if not rest:
                    raise ChartError(f"{what} holds {member.name!r} outside a chart directory.")
                if top and head != top:
                    raise ChartError(f"{what} holds more than one chart directory ({top!r}, {head!r}).")
                top = head
                if member.size > limits.file_size:
                    raise ChartError(
                        f"{what} holds {member.name!r} of {member.size} bytes, over the {limits.file_size} byte limit."
                    )
                total += member.size
                if total > limits.total_size:
                    raise ChartError(f"{what} unpacks to more than {limits.total_size} bytes.")
                if rest in files:
                    raise ChartError(f"{what} holds {member.name!r} twice.")
                handle = tar.extractfile(member)
                files[rest] = handle.read() if handle else b""
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ChartError(f"{what} is not a readable chart archive ({err}).") from err
    if not top:
        raise ChartError(f"{what} holds no chart.")
    return top, files
