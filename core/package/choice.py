"""Choosing charts: a :class:`ChartSelection` applied to package indexes gives the packages as the
import sees them, with the charts chosen and the images those charts need.

A chart is named by its name or ``<repo>/<name>``, exactly or by a shell glob (``cert-*``); the
images of a chosen chart come with it (those of its bundle, and those its hints name wherever they
are), so an image an unchosen chart shares is imported once. The scan still reads every bundle;
the rest of the import never sees an unchosen one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from core.errors import UsageError
from core.package.model import ChartRecord, ImageRecord, PackageIndex


def _patterns(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(p.strip() for word in words for p in word.split(",") if p.strip())


def charts_using(package: PackageIndex, image: ImageRecord) -> list[ChartRecord]:
    """The charts of ``package`` that need ``image``: its bundle's, and those whose hints name one of its refs."""
    refs = set(image.refs)
    return [c for c in package.charts if c.bundle == image.bundle or refs & set(c.images)]


@dataclass(frozen=True)
class ChartSelection:
    """Which charts an operation takes: ``include`` (every chart when empty) less ``exclude``."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, charts: Iterable[str] = (), skip: Iterable[str] = ()) -> ChartSelection:
        """From the words of ``--charts`` and ``--skip-charts`` (each a comma-separated list)."""
        return cls(_patterns(charts), _patterns(skip))

    @property
    def everything(self) -> bool:
        return not self.include and not self.exclude

    @staticmethod
    def _matches(pattern: str, chart: ChartRecord) -> bool:
        return fnmatchcase(chart.name, pattern) or fnmatchcase(f"{chart.repo}/{chart.name}", pattern)

    def chooses(self, chart: ChartRecord) -> bool:
        """True when ``chart`` is taken."""
        taken = not self.include or any(self._matches(p, chart) for p in self.include)
        return taken and not any(self._matches(p, chart) for p in self.exclude)

    def describe(self) -> str:
        """``charts a, b; not c`` (empty for every chart): the choice in words either face can show."""
        words = [f"charts {', '.join(self.include)}"] if self.include else []
        words += [f"not {', '.join(self.exclude)}"] if self.exclude else []
        return "; ".join(words)

    def select(self, package: PackageIndex) -> PackageIndex:
        """``package`` with the charts taken and the images they need (a copy; the scan's index is kept)."""
        if self.everything:
            return package
        charts = [c for c in package.charts if self.chooses(c)]
        images = [i for i in package.images if any(self.chooses(c) for c in charts_using(package, i))]
        return dataclasses.replace(package, charts=charts, images=images, warnings=list(package.warnings))

    def apply(self, packages: list[PackageIndex]) -> list[PackageIndex]:
        """The packages as an operation sees them: a package left without a chart is dropped.

        :class:`UsageError` when a ``--charts`` or ``--skip-charts`` pattern names no chart of the
        packages (a typo would otherwise import everything or nothing), or nothing is left."""
        if self.everything:
            return packages
        charts = [c for p in packages for c in p.charts]
        for patterns in (self.include, self.exclude):
            unknown = [p for p in patterns if not any(self._matches(p, c) for c in charts)]
            if unknown:
                names = ", ".join(sorted({c.name for c in charts})) or "none"
                raise UsageError(f"No chart of the packages is named {', '.join(unknown)} (they hold: {names}).")
        chosen = [self.select(p) for p in packages]
        chosen = [p for p in chosen if p.charts]
        if not chosen:
            raise UsageError(f"The chart choice ({self.describe()}) leaves no chart to take; nothing to do.")
        return chosen

    def shared(self, packages: list[PackageIndex]) -> dict[str, list[str]]:
        """Images a taken chart needs that an unchosen one uses too: ref -> the unchosen charts
        (the image is imported once, for the taken chart)."""
        out: dict[str, list[str]] = {}
        if self.everything:
            return out
        for package in packages:
            for image in package.images:
                users = charts_using(package, image)
                if not any(self.chooses(c) for c in users):
                    continue
                others = sorted({c.name for c in users if not self.chooses(c)})
                for ref in image.refs if others else ():
                    known = out.setdefault(ref, [])
                    known.extend(n for n in others if n not in known)
        return out
