"""Several targets at once: sites, from a sites file or from a repeated ``--registry``.

A site is a name and the :class:`~core.config.TargetConfig` of one destination. A sites file is
YAML (read with :mod:`core.safeload`)::

    sites:
      - name: east
        registry: https://east.example:5000
        username: robot
        password_env: EAST_PASSWORD      # or password_file: /run/secrets/east
        ca_cert: /etc/ssl/east-ca.pem
      - name: lab
        registry: oci:/srv/lab-layout

A site without credentials takes the base's (the flags and ``$ARCHFUSE_USERNAME`` /
``$ARCHFUSE_PASSWORD``), else docker's config.json as a single target does. A password is never
written in the file itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.config import TargetConfig, build_target_config, parse_target, split_url_credentials
from core.errors import ConfigError, UsageError
from core.kinds import ChartDestinationKind
from core.registry.credentials import ENV_PASSWORD, ENV_USERNAME
from core.safeload import DocumentError, load_yaml
from core.secrets import Secret, secret

#: the keys a site may have in a sites file
SITE_KEYS = frozenset({
    "name", "registry", "username", "password_env", "password_file", "ca_cert", "insecure", "prefix",
    "chart_repo", "chart_repo_type",
})


@dataclass(frozen=True)
class Site:
    """One destination of a run to several targets: its name (shown and journaled) and its configuration."""

    name: str
    config: TargetConfig


def _text(path: Path, where: str, site: Mapping[str, Any], key: str) -> str | None:
    value = site.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{path}: {where}.{key} must be a string; fix it in the file.")
    return str(value).strip() or None


def _password(path: Path, where: str, site: Mapping[str, Any]) -> Secret | None:
    """The site's password from the variable or file the site names; None when it names neither."""
    variable = _text(path, where, site, "password_env")
    file_name = _text(path, where, site, "password_file")
    if variable and file_name:
        raise ConfigError(f"{path}: {where} has both password_env and password_file; keep one.")
    if variable:
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(f"{path}: {where}.password_env names ${variable}, which is not set; set it or change "
                              "the file.")
        return Secret(value)
    if file_name:
        password_path = Path(file_name).expanduser()
        if not password_path.is_absolute():
            password_path = path.parent / password_path
        try:
            value = password_path.read_text(encoding="utf-8").strip("\r\n")
        except OSError as err:
            raise ConfigError(f"{path}: {where}.password_file {password_path} cannot be read ({err.strerror}); "
                              "fix the path or the file's permissions.") from err
        if not value:
            raise ConfigError(f"{path}: {where}.password_file {password_path} is empty; put the password in it.")
        return Secret(value)
    return None


def _site(path: Path, where: str, site: Mapping[str, Any], base: TargetConfig) -> Site:
    unknown = sorted(str(k) for k in site if k not in SITE_KEYS)
    if unknown:
        raise ConfigError(f"{path}: {where} has the unknown key {unknown[0]!r} (known: "
                          f"{', '.join(sorted(SITE_KEYS))}); fix it in the file.")
    name = _text(path, where, site, "name")
    registry = _text(path, where, site, "registry")
    if not name:
        raise ConfigError(f"{path}: {where} has no name; give each site a name.")
    if not registry:
        raise ConfigError(f"{path}: {where}.registry is missing; give https://host[:port] or oci:PATH.")
    insecure = site.get("insecure", base.insecure)
    if not isinstance(insecure, bool):
        raise ConfigError(f"{path}: {where}.insecure must be true or false; fix it in the file.")
    ca_cert = _text(path, where, site, "ca_cert")
    chart_repo = _text(path, where, site, "chart_repo")
    username = _text(path, where, site, "username")
    password = _password(path, where, site)
    if not username and not password:
        username, password = base.username, base.password
    try:
        config = build_target_config(
            registry,
            username=username,
            password=password,
            insecure=insecure,
            ca_cert=Path(ca_cert).expanduser() if ca_cert else base.ca_cert,
            chart_repo=chart_repo,
            chart_repo_type=_text(path, where, site, "chart_repo_type"),
            chart_username=base.chart_username if chart_repo else None,
            chart_password=base.chart_password if chart_repo else None,
            prefix=_text(path, where, site, "prefix") or base.prefix,
            create_spaces=base.create_spaces,
            space_visibility=base.space_visibility,
            env={},
        )
    except ConfigError:
        raise
    except UsageError as err:
        raise ConfigError(f"{path}: {where} ({name}): {err}") from err
    if config.chart_repo_type not in set(ChartDestinationKind):
        raise ConfigError(f"{path}: {where}.chart_repo_type {config.chart_repo_type!r} is not one of "
                          f"{', '.join(ChartDestinationKind)}; fix it in the file.")
    return Site(name, replace(config, retry_for=base.retry_for, stall_timeout=base.stall_timeout))


def load_sites(path: Path, base: TargetConfig) -> list[Site]:
    """The sites a YAML sites file lists, each filled in from ``base`` where the file is silent.

    Raises ConfigError naming the file and the key for anything the file gets wrong.
    """
    try:
        data = load_yaml(path.read_bytes())
    except OSError as err:
        raise ConfigError(f"The sites file {path} cannot be read ({err.strerror}); fix the path.") from err
    except DocumentError as err:
        raise ConfigError(f"The sites file {path} {err}; fix it.") from err
    entries = data.get("sites") if isinstance(data, dict) else None
    if isinstance(data, dict):
        extra = sorted(str(k) for k in data if k != "sites")
        if extra:
            raise ConfigError(f"{path} has the unknown key {extra[0]!r} (a sites file has only 'sites'); fix it.")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: sites must be a list of sites (name, registry, ...); fix the file.")
    sites: list[Site] = []
    for index, entry in enumerate(entries):
        where = f"sites[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {where} must be a mapping (name, registry, ...); fix the file.")
        site = _site(path, where, entry, base)
        if any(s.name == site.name for s in sites):
            raise ConfigError(f"{path}: {where}.name {site.name!r} is used twice; give each site its own name.")
        sites.append(site)
    return sites


def _site_name(config: TargetConfig) -> str:
    if config.layout_path is not None:
        return config.layout_path.name or str(config.layout_path)
    return urlsplit(config.registry_url or "").netloc or (config.registry_url or "site")


def unique_names(names: Sequence[str]) -> list[str]:
    """``names`` with a ``-2``, ``-3``... added to a name seen before."""
    out: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in out:
            n += 1
            candidate = f"{name}-{n}"
        out.append(candidate)
    return out


def sites_from_registries(urls: Sequence[str], base: TargetConfig) -> list[Site]:
    """A site per ``--registry`` value, the rest of each configuration from ``base``; named by
    host:port or the layout directory's name, made unique."""
    configs: list[TargetConfig] = []
    for url in urls:
        bare, user, password = split_url_credentials(url)
        kind, where = parse_target(bare)
        config = replace(base, registry_url=str(where), layout_path=None) if kind == "registry" else \
            replace(base, registry_url=None, layout_path=Path(where))
        if user or password:
            config = replace(config, username=user, password=password or secret(None))
        config.validate()
        configs.append(config)
    names = unique_names([_site_name(c) for c in configs])
    return [Site(name, config) for name, config in zip(names, configs)]


def site_of(config: TargetConfig) -> Site:
    """The one site of a single-target run, named as :func:`sites_from_registries` names it."""
    return Site(_site_name(config), config)


def sites_base(username: str | None, password: Secret | None, *, insecure: bool = False,
               ca_cert: Path | None = None, prefix: str = "", env: Mapping[str, str] | None = None) -> TargetConfig:
    """The defaults a sites file's sites start from: the flags, else ``$ARCHFUSE_USERNAME`` /
    ``$ARCHFUSE_PASSWORD`` (no target of its own)."""
    env = os.environ if env is None else env
    return TargetConfig(
        username=username or env.get(ENV_USERNAME) or None,
        password=password or secret(env.get(ENV_PASSWORD)),
        insecure=insecure,
        ca_cert=ca_cert,
        prefix=prefix.strip("/"),
    )
