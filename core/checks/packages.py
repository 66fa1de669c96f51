"""Checks of the packages' side: each package's checksum and warnings, and a downgrade of the addon."""

from __future__ import annotations

from collections.abc import Iterator

from core import events as ev
from core.checks.base import Check, CheckContext, Preflight
from core.helpers.versions import version_key
from core.kinds import CheckKind, CheckStatus, ChecksumStatus
from core.package.model import PackageIndex
from core.record.journal import Journal

OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL


def check_packages(packages: list[PackageIndex], *, strict: bool = False) -> list[Check]:
    """Each package: readable (it was scanned), checksum state, arch as named."""
    out = []
    for package in packages:
        name = f"package {package.name}"
        if package.checksum == ChecksumStatus.MISMATCH:
            status, detail = (
                FAIL if strict else WARN,
                f"{package.name} does not match its .sha512sum; copy the file again from the source.",
            )
        elif package.checksum == ChecksumStatus.MISSING:
            status, detail = WARN, f"{package.version} {package.arch}: no .sha512sum beside it, integrity not checked."
        else:
            status, detail = (
                OK,
                f"{package.version} {package.arch}, checksum ok, {len(package.images)} images, {len(package.charts)} charts.",
            )
        out.append(Check(CheckKind.PACKAGE, status, detail, label=name))
        out += [Check(CheckKind.PACKAGE, WARN, warning, label=name) for warning in package.warnings]
    return out


def check_version(newest: str, last: str | None, target: str) -> Check | None:
    """Warn when ``newest`` (of the packages) is older than ``last``, the last version imported into ``target``."""
    if not last:
        return None
    if version_key(newest) < version_key(last):
        return Check(
            CheckKind.VERSION,
            WARN,
            f"{newest} is older than {last}, the last version imported into {target}: "
            "this is a downgrade. Tags it carries will move back to the older images.",
        )
    return Check(CheckKind.VERSION, OK, f"{newest}; last imported here: {last}.")


def packages_step(context: CheckContext, result: Preflight) -> Iterator[Check]:
    """Every package, then the downgrade check against the journal."""
    yield from check_packages(context.packages, strict=context.strict)
    if not context.packages:
        return
    notes: list[ev.Event] = []  # a corrupt journal set aside says so here
    with Journal(context.state_dir, secrets=context.secrets, emit=notes.append) as journal:
        last = journal.last_version_imported(context.target.description)
    for note in notes:
        if isinstance(note, ev.Warning):
            yield Check(CheckKind.JOURNAL, WARN, note.message)
    newest = max((p.version for p in context.packages), key=version_key)
    downgrade = check_version(newest, last, context.target.description)
    if downgrade is not None:
        yield downgrade
