"""Target configuration: where images and charts go, from flags or the vendor's clusterConfig.yaml.

Three pieces:

* :func:`parse_target` reads a ``--registry`` value: ``https://host[:port]``, ``http://...``,
  ``oci:PATH`` or a directory path (an OCI image layout).
* :func:`load_cluster_config` reads the vendor installer's ``clusterConfig.yaml`` (v1alpha3
  ``spec.imagesAndCharts``; older ``addonOfflinePackagePath``; v1alpha2 ``spec.registry``).
* :func:`build_target_config` merges flags, environment and cluster config into one
  :class:`TargetConfig`. Precedence, highest first: flags (``--password-stdin`` counts as a
  flag), ``ARCHFUSE_USERNAME``/``ARCHFUSE_PASSWORD``, the cluster config (only when
  ``--registry`` is not given or names the file's own registry). Docker ``config.json``
  credentials are the registry client's last resort when all of these are empty.
  ``--chart-repo`` without ``--chart-repo-type`` means ChartMuseum for ``http(s)://`` URLs and OCI
  for ``oci://`` URLs. A ``user:password@`` inside a URL (``--registry``, ``--chart-repo``,
  ``externalImageRepo``/``externalChartRepo``) is taken out of it at once and counts as the
  flag (or file field) it came with; explicit ``--username``/``--password-stdin`` (or the file's
  user and password fields) win over it.

Secrets are held in :class:`Secret`, which never shows its value in ``repr``/``str``.
Every problem is a :class:`core.errors.UsageError` (exit code 2) naming the file and field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from core.advice import Advice
from core.errors import UsageError
from core.http.bounds import DEFAULT_STALL_TIMEOUT
from core.kinds import ChartDestinationKind
from core.oci.refs import is_repository_path
from core.registry.credentials import ENV_PASSWORD, ENV_USERNAME
from core.registry.retry import DEFAULT_RETRY_FOR
from core.safeload import DocumentError, load_yaml
from core.secrets import Secret, hide_userinfo, secret, split_userinfo

REGISTRY_TYPES = ("builtin", "external")
VISIBILITIES = ("public", "private")
#: clusterConfig.yaml ``type`` values the vendor documents (official-service: its online registry)
CLUSTER_REGISTRY_TYPES = ("builtin", "external", "official-service")
#: clusterConfig.yaml ``externalChartRepoType`` values the vendor documents
CLUSTER_CHART_REPO_TYPES = ("chartmuseum", "harbor", "jfrog", "oci")

TargetKind = Literal["registry", "layout"]

ENV_CHART_USERNAME = "ARCHFUSE_CHART_USERNAME"
ENV_CHART_PASSWORD = "ARCHFUSE_CHART_PASSWORD"


# -- credentials inside URLs ------------------------------------------------------------------


def split_url_credentials(value: str) -> tuple[str, str | None, Secret | None]:
    """``value`` without ``user:password@``, and the user and password it carried (percent-decoded).

    The user info ends at the last ``@`` before the host (RFC 3986), so a password with ``@``,
    ``/``, ``?`` or ``#`` in it, encoded or not, is taken out whole and never shown
    (:func:`core.secrets.split_userinfo`).
    """
    url, userinfo = split_userinfo(value.strip())
    if userinfo is None:
        return value, None, None
    user, _, password = userinfo.partition(":")
    return url, unquote(user) or None, secret(unquote(password))


def hide_url_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it removed, for messages."""
    return hide_userinfo(text)


# -- --registry values ----------------------------------------------------------------------

_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:\d+(/.*)?$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def normalize_registry_url(value: str, *, what: str = "The registry") -> str:
    """``scheme://host[:port]`` from a registry URL; UsageError for anything else."""
    parts = urlsplit(value.strip())
    value = hide_url_credentials(value)
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"{what} {value!r} must start with https:// or http://.")
    if not parts.hostname:
        raise UsageError(f"{what} {value!r} has no host name.")
    if parts.username or parts.password:
        raise UsageError(
            Advice(f"{what} {value!r} carries credentials in the URL; {{login}} instead.")
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(
            Advice(f"{what} {value!r} has a path; give only https://host[:port] and {{prefix}} for the path.")
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{what} {value!r} has an invalid port.") from exc
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def parse_target(value: str) -> tuple[TargetKind, str | Path]:
    """``("registry", "https://host:port")`` or ``("layout", Path)`` from a ``--registry`` value.

    A value that looks like a bare ``host:port`` or ``registry.example.com`` and is not an
    existing path is refused (it is almost surely a registry without its scheme); write
    ``./name`` to mean a directory of that name.
    """
    text = value.strip()
    if not text:
        raise UsageError("The registry is empty; give https://host[:port], http://host[:port] or a directory.")
    if text.startswith("oci:"):
        path_text = text[4:]
        if not path_text:
            raise UsageError("The registry oci: needs a directory path, e.g. oci:/data/layout.")
        return "layout", _layout_path(path_text)
    if "://" in text:
        return "registry", normalize_registry_url(text)
    if not Path(text).expanduser().exists() and (_HOST_PORT.match(text) or _HOSTNAME.match(text)):
        raise UsageError(
            Advice(f"The registry {text!r} looks like a registry host without a scheme; write https://{text} "
                   f"(or http://{text} and {{insecure}}), or ./{text} for a directory.")
        )
    return "layout", _layout_path(text)


def _layout_path(text: str) -> Path:
    if ":" in text:
        raise UsageError(
            f"The OCI layout path {text!r} contains ':'; skopeo and other tools split oci:PATH:REF "
            f"at it. Choose a directory without ':'."
        )
    return Path(text).expanduser()


# -- the target configuration ---------------------------------------------------------------


@dataclass
class TargetConfig:
    """Everything needed to reach the image and chart destinations. Secrets stay in Secret."""

    registry_url: str | None = None  # https://host[:port]; None for a layout
    layout_path: Path | None = None  # an OCI image layout directory; None for a registry
    insecure: bool = False
    ca_cert: Path | None = None
    username: str | None = None
    password: Secret | None = None
    chart_repo_url: str | None = None  # None: charts go to the image target (OCI)
    chart_repo_type: str = ChartDestinationKind.OCI
    chart_username: str | None = None
    chart_password: Secret | None = None
    prefix: str = ""
    create_spaces: bool = False
    space_visibility: str = "public"
    registry_type: str = "external"  # builtin: the installer's registry + ChartMuseum
    packages: tuple[Path, ...] = field(default=())  # packages a cluster config names
    retry_for: float = DEFAULT_RETRY_FOR  # --retry-for: seconds a failing request is retried
    stall_timeout: float = DEFAULT_STALL_TIMEOUT  # --stall-timeout: seconds a request may move no byte

    def secrets(self) -> tuple[str, ...]:
        """Every secret value of the configuration, for masking in output, the journal and reports."""
        return tuple(s.reveal() for s in (self.password, self.chart_password) if s)

    @property
    def kind(self) -> TargetKind:
        """``layout`` or ``registry``."""
        return "layout" if self.layout_path is not None else "registry"

    @property
    def description(self) -> str:
        """A display name without secrets."""
        if self.layout_path is not None:
            return f"oci:{self.layout_path}"
        return self.registry_url or "(no target)"

    def validate(self) -> None:
        """Raise UsageError when the configuration cannot work."""
        if self.prefix and not is_repository_path(self.prefix):
            raise UsageError(
                Advice(f"The prefix {self.prefix!r} is not a repository path; {{prefix}} with lowercase letters, digits, "
                       "'.', '_', '-' and '/' between parts, e.g. addons/v1.")
            )
        if (self.registry_url is None) == (self.layout_path is None):
            raise UsageError(
                "Give exactly one target: a registry URL, a directory, or a cluster config (clusterConfig.yaml)."
            )
        if self.registry_url is not None:
            self.registry_url = normalize_registry_url(self.registry_url)
            if self.registry_url.startswith("http://") and not self.insecure:
                raise UsageError(
                    Advice(f"{self.registry_url} is plain HTTP; {{insecure}} to allow it, or use https://.")
                )
        if self.chart_repo_type not in {kind.value for kind in ChartDestinationKind}:
            raise UsageError(
                f"The chart repository type {self.chart_repo_type!r} is not supported; use one of "
                f"{', '.join(kind.value for kind in ChartDestinationKind)}."
            )
        if self.chart_repo_type != ChartDestinationKind.OCI and not self.chart_repo_url:
            raise UsageError(Advice(f"A chart repository of type {self.chart_repo_type} needs its URL: {{chart_repo}}."))
        if self.chart_repo_url is not None:
            self.chart_repo_url = _chart_repo_url(self.chart_repo_url, self.chart_repo_type)
        if self.space_visibility not in VISIBILITIES:
            raise UsageError(f"New registry spaces must be public or private, not {self.space_visibility!r}.")
        if self.registry_type not in REGISTRY_TYPES:
            raise UsageError(f"The registry type must be builtin or external, not {self.registry_type!r}.")
        if self.ca_cert is not None and not self.ca_cert.is_file():
            raise UsageError(f"The CA certificate {self.ca_cert} is not a readable file.")
        if self.password and not self.username:
            raise UsageError(Advice("A registry password was given without a user name; {username}."))


def _chart_repo_url(value: str, repo_type: str) -> str:
    parts = urlsplit(value.strip())
    value = hide_url_credentials(value)
    if parts.scheme not in ("http", "https", "oci") or not parts.hostname:
        raise UsageError(f"The chart repository {value!r} must be a URL such as https://charts.example.com:8081.")
    if parts.username or parts.password:
        raise UsageError(
            f"The chart repository {value!r} carries credentials; give the chart repository's user instead."
        )
    return value.strip().rstrip("/")


def build_target_config(
    registry: str | None = None,
    cluster: ClusterConfig | None = None,
    *,
    username: str | None = None,
    password: str | Secret | None = None,
    insecure: bool = False,
    ca_cert: Path | None = None,
    chart_repo: str | None = None,
    chart_repo_type: str | None = None,
    chart_username: str | None = None,
    chart_password: str | Secret | None = None,
    prefix: str = "",
    create_spaces: bool = False,
    space_visibility: str = "public",
    env: Mapping[str, str] | None = None,
) -> TargetConfig:
    """One validated TargetConfig from flags (first), environment, then a cluster config.

    The faces call :func:`target_config` with what they collected; this is its engine.
    """
    env = os.environ if env is None else env
    if registry is not None:  # user:password@ in a URL: taken out, used like the flags
        registry, url_user, url_password = split_url_credentials(registry)
        username, password = username or url_user, password or url_password
    if chart_repo is not None:
        chart_repo, url_user, url_password = split_url_credentials(chart_repo)
        chart_username, chart_password = chart_username or url_user, chart_password or url_password
    if registry is None and cluster is None:
        raise UsageError(Advice("No target: {registry} (or a directory) or a cluster config (clusterConfig.yaml)."))
    config = cluster.target_config(registry=registry, chart_repo=chart_repo) if cluster else TargetConfig()
    if registry is not None:
        kind, where = parse_target(registry)
        if kind == "registry":
            config.registry_url, config.layout_path = str(where), None
        else:
            config.registry_url, config.layout_path = None, Path(where)
        if cluster is not None and config.registry_url != cluster.registry_url:
            config.username = config.password = None  # the file's credentials are for its own registry
    env_user = env.get(ENV_USERNAME) or None
    env_password = env.get(ENV_PASSWORD) or None
    if username or password or env_user or env_password:
        # flags first, each of user and password falling back to the environment on its own
        config.username = username or env_user
        config.password = _as_secret(password) or secret(env_password)
    chart_username = chart_username or env.get(ENV_CHART_USERNAME) or None
    chart_password = chart_password or env.get(ENV_CHART_PASSWORD) or None
    if chart_repo is not None:
        config.chart_repo_url = chart_repo
    if chart_repo_type is not None:
        config.chart_repo_type = chart_repo_type
    elif chart_repo is not None and (cluster is None or cluster.chart_repo_type is None):
        oci = chart_repo.startswith("oci://")
        config.chart_repo_type = ChartDestinationKind.OCI if oci else ChartDestinationKind.CHARTMUSEUM
    if chart_username or chart_password:
        config.chart_username, config.chart_password = chart_username, _as_secret(chart_password)
    config.insecure = insecure
    config.ca_cert = ca_cert
    config.prefix = prefix.strip("/")
    config.create_spaces = create_spaces
    config.space_visibility = space_visibility
    config.validate()
    return config


def _as_secret(value: str | Secret | None) -> Secret | None:
    return value if isinstance(value, Secret) else secret(value)


@dataclass(frozen=True)
class TargetInputs:
    """What a face collects about the target, as typed: the CLI's flags or the TUI's form.

    Empty text means "not given"; the environment and a cluster config fill the gaps
    (:func:`target_config`), so both faces build the same configuration from the same inputs.
    """

    registry: str = ""
    cluster_config: str = ""  # a clusterConfig.yaml path
    username: str = ""
    password: Secret | None = None
    insecure: bool = False
    ca_cert: str = ""
    prefix: str = ""
    chart_repo: str = ""
    chart_repo_type: str = ""  # empty: from the URL (oci:// is OCI, else ChartMuseum) or the cluster config
    chart_username: str = ""
    create_spaces: bool = False
    space_visibility: str = "public"

    @property
    def names_target(self) -> bool:
        """Whether a registry, a layout directory or a cluster config was given."""
        return bool(self.registry.strip() or self.cluster_config.strip())


def target_config(inputs: TargetInputs, env: Mapping[str, str] | None = None) -> TargetConfig:
    """The one way a face's inputs and the environment become a validated TargetConfig."""
    cluster_path = inputs.cluster_config.strip()
    cluster = load_cluster_config(Path(cluster_path).expanduser()) if cluster_path else None
    ca_cert = inputs.ca_cert.strip()
    return build_target_config(
        inputs.registry.strip() or None,
        cluster,
        username=inputs.username.strip() or None,
        password=inputs.password,
        insecure=inputs.insecure,
        ca_cert=Path(ca_cert).expanduser() if ca_cert else None,
        chart_repo=inputs.chart_repo.strip() or None,
        chart_repo_type=inputs.chart_repo_type or None,
        chart_username=inputs.chart_username.strip() or None,
        prefix=inputs.prefix.strip(),
        create_spaces=inputs.create_spaces,
        space_visibility=inputs.space_visibility,
        env=env,
    )


# -- clusterConfig.yaml -------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterConfig:
    """What archfuse uses of the vendor installer's clusterConfig.yaml."""

    path: Path
    api_version: str
    registry_type: str | None  # builtin | external | official-service | None (not said)
    registry_url: str | None  # normalized https://host[:port]
    username: str | None
    password: Secret | None
    chart_repo_type: str | None  # chartmuseum | harbor | jfrog | oci
    chart_repo_url: str | None
    chart_username: str | None
    chart_password: Secret | None
    packages: tuple[Path, ...]

    def target_config(self, *, registry: str | None = None, chart_repo: str | None = None) -> TargetConfig:
        """The TargetConfig this file describes; ``registry``/``chart_repo`` are flags that fill gaps.

        Raises UsageError when the file cannot give a target and no flag does (``builtin``
        without addresses, ``official-service``, a ``jfrog`` chart repository).
        """
        name = self.path
        if self.registry_type == "official-service" and registry is None:
            raise UsageError(
                Advice(f"{name}: spec.imagesAndCharts.type is official-service (the vendor's online registry), "
                       "which is not an import target; {registry}.")
            )
        if self.registry_type == "builtin" and registry is None and self.registry_url is None:
            raise UsageError(
                Advice(f"{name}: spec.imagesAndCharts.type is builtin but the file does not give the built-in "
                       "registry's address; {registry} and {chart_repo} (its ChartMuseum).")
            )
        if registry is None and self.registry_url is None:
            raise UsageError(
                Advice(f"{name} does not say where images go (no externalImageRepo); {{registry}}.")
            )
        chart_type = self.chart_repo_type
        chart_url = self.chart_repo_url
        if self.registry_type == "builtin" and chart_url is None and chart_repo is None:
            raise UsageError(
                Advice(f"{name}: spec.imagesAndCharts.type is builtin but the file does not give the built-in "
                       "ChartMuseum's address; {chart_repo}.")
            )
        if self.registry_type == "builtin" and chart_type is None:
            chart_type = ChartDestinationKind.CHARTMUSEUM
        if chart_type == "jfrog":
            raise UsageError(
                Advice(f"{name}: spec.imagesAndCharts.externalChartRepoType jfrog is not supported; {{chart_repo}} "
                       "and {chart_repo_oci} (Artifactory serves Helm charts over OCI).")
            )
        return TargetConfig(
            registry_url=self.registry_url,
            username=self.username,
            password=self.password,
            chart_repo_url=chart_url,
            chart_repo_type=chart_type or (ChartDestinationKind.CHARTMUSEUM if chart_url else ChartDestinationKind.OCI),
            chart_username=self.chart_username,
            chart_password=self.chart_password,
            registry_type="builtin" if self.registry_type == "builtin" else "external",
            packages=self.packages,
        )


class _Fields:
    """Typed reads of one mapping in the file, with errors naming the file and field."""

    def __init__(self, path: Path, where: str, data: Mapping[str, Any]) -> None:
        self.path, self.where, self.data = path, where, data

    def _field(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def string(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UsageError(f"{self.path}: {self._field(key)} must be a string; fix it in the file.")
        return str(value).strip() or None

    def mapping(self, key: str) -> _Fields | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise UsageError(
                f"{self.path}: {self._field(key)} must be a mapping of fields; fix it in the file."
            )
        return _Fields(self.path, self._field(key), value)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str | None:
        value = self.string(key)
        if value is not None and value not in allowed:
            raise UsageError(
                f"{self.path}: {self._field(key)} is {value!r}; it must be one of {', '.join(allowed)}."
            )
        return value

    def url(self, key: str, *, scheme_required: bool) -> str | None:
        value = self.string(key)
        if value is None:
            return None
        if not scheme_required and "://" not in value:
            value = "https://" + value
        value = split_url_credentials(value)[0]
        try:
            return normalize_registry_url(value, what=f"{self.path}: {self._field(key)}")
        except UsageError as exc:
            said = exc.message.template if isinstance(exc.message, Advice) else exc.message
            raise UsageError(Advice(f"{said[:-1]}; fix it in the file or {{registry}}.")) from exc

    def url_credentials(self, key: str) -> tuple[str | None, Secret | None]:
        """The ``user:password@`` a URL field carries (None, None when it carries none)."""
        value = self.string(key)
        if value and "://" not in value:  # v1alpha2's externalRegistry may lack its scheme
            value = "https://" + value
        return split_url_credentials(value)[1:] if value else (None, None)

    def chart_url(self, key: str) -> str | None:
        value = self.string(key)
        if value is None:
            return None
        value = split_url_credentials(value)[0]
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https", "oci") or not parts.hostname:
            raise UsageError(
                Advice(f"{self.path}: {self._field(key)} {value!r} must be a URL with a scheme "
                       "(https://charts.example.com:8081); fix it in the file or {chart_repo}.")
            )
        return value.rstrip("/")


def load_cluster_config(path: Path) -> ClusterConfig:
    """Read a clusterConfig.yaml; UsageError (exit 2) naming the file and field when it is bad."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot read the cluster config {path}: {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"The cluster config {path} is not UTF-8 text.") from exc
    try:
        doc = load_yaml(text)  # bounded: no alias bomb or deep nesting gets through
    except DocumentError as exc:
        raise UsageError(f"The cluster config {path} {exc}; fix the file.") from None
    if not isinstance(doc, dict):
        raise UsageError(f"The cluster config {path} is not a YAML mapping; is it a clusterConfig.yaml?")
    top = _Fields(path, "", doc)
    kind = top.string("kind")
    if kind is not None and kind != "ClusterConfig":
        raise UsageError(
            f"{path}: kind is {kind!r}, not ClusterConfig; pass the installer's clusterConfig.yaml."
        )
    api_version = top.string("apiVersion") or ""
    spec = top.mapping("spec")
    if spec is None:
        raise UsageError(f"{path} has no spec; pass the installer's clusterConfig.yaml.")

    registry_type = url = user = password = None
    chart_type = chart_url = chart_user = chart_password = None
    images = spec.mapping("imagesAndCharts")
    legacy = spec.mapping("registry")
    if images is not None:
        registry_type = images.choice("type", CLUSTER_REGISTRY_TYPES)
        url = images.url("externalImageRepo", scheme_required=True)
        url_user, url_password = images.url_credentials("externalImageRepo")
        user = images.string("externalImageRepoUsername") or url_user
        password = secret(images.string("externalImageRepoPassword")) or url_password
        chart_type = images.choice("externalChartRepoType", CLUSTER_CHART_REPO_TYPES)
        chart_url = images.chart_url("externalChartRepo")
        url_user, url_password = images.url_credentials("externalChartRepo")
        chart_user = images.string("externalChartRepoUsername") or url_user
        chart_password = secret(images.string("externalChartRepoPassword")) or url_password
    elif legacy is not None:  # v1alpha2; its externalRegistry may lack a scheme (https assumed)
        registry_type = legacy.choice("type", CLUSTER_REGISTRY_TYPES)
        url = legacy.url("externalRegistry", scheme_required=False)
        url_user, url_password = legacy.url_credentials("externalRegistry")
        user = legacy.string("externalRegistryUsername") or url_user
        password = secret(legacy.string("externalRegistryPassword")) or url_password
    if registry_type == "external" and url is None:
        field_name = "spec.imagesAndCharts.externalImageRepo" if images else "spec.registry.externalRegistry"
        raise UsageError(
            Advice(f"{path}: the type is external but {field_name} is missing; add it or {{registry}}.")
        )

    return ClusterConfig(
        path=path,
        api_version=api_version,
        registry_type=registry_type,
        registry_url=url,
        username=user,
        password=password,
        chart_repo_type=chart_type,
        chart_repo_url=chart_url,
        chart_username=chart_user,
        chart_password=chart_password,
        packages=_package_paths(path, spec, top),
    )


def _package_paths(path: Path, spec: _Fields, top: _Fields) -> tuple[Path, ...]:
    """``spec.addonPackage.path``, else the older ``addonOfflinePackagePath`` (spec or top level)."""
    values: list[str] = []
    addon = spec.mapping("addonPackage")
    raw: Any = addon.data.get("path") if addon is not None else None
    where = "spec.addonPackage.path"
    if raw in (None, ""):
        for fields in (spec, top):
            if fields.data.get("addonOfflinePackagePath") not in (None, ""):
                raw, where = fields.data["addonOfflinePackagePath"], fields._field("addonOfflinePackagePath")
                break
    if raw in (None, ""):
        return ()
    items = raw if isinstance(raw, list) else [raw]
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise UsageError(f"{path}: {where} must be a file path (or a list of them); fix it in the file.")
        values.append(item.strip())
    base = path.parent
    return tuple(p if p.is_absolute() else base / p for p in (Path(v).expanduser() for v in values))
