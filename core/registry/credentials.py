"""Registry credentials: where they come from, and a type that never shows the password.

Precedence: explicit flags > ``ARCHFUSE_USERNAME``/``ARCHFUSE_PASSWORD`` > docker ``config.json``
(``auths`` entries, then ``credHelpers``/``credsStore`` through ``docker-credential-<name> get``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from core.advice import Advice
from core.errors import UsageError

ENV_USERNAME = "ARCHFUSE_USERNAME"
ENV_PASSWORD = "ARCHFUSE_PASSWORD"
_HELPER_TIMEOUT = 20.0


@dataclass(frozen=True)
class Credentials:
    """A username and password; ``repr``/``str`` show the username only."""

    username: str
    password: str = field(repr=False)
    #: where they came from, for messages: ``flags``, ``environment``, ``docker config``, ``helper NAME``
    source: str = field(default="flags", compare=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***', source={self.source!r})"

    __str__ = __repr__


def normalize_host(host_or_url: str) -> str:
    """``host[:port]`` of a URL or host string, lower-cased (``https://Reg:5000/x`` -> ``reg:5000``)."""
    text = host_or_url.strip()
    if "://" not in text:
        text = "//" + text
    parts = urlsplit(text)
    return (parts.netloc or parts.path).rsplit("@", 1)[-1].lower().rstrip("/")


def resolve_credentials(
    host: str,
    *,
    username: str | None = None,
    password: str | None = None,
    env: Mapping[str, str] | None = None,
    docker_config: Path | None = None,
) -> Credentials | None:
    """The credentials to use for ``host`` (``host[:port]`` or a URL), or None for anonymous access.

    ``docker_config`` is the ``config.json`` file; by default ``$DOCKER_CONFIG/config.json`` or
    ``~/.docker/config.json``.
    """
    environ = os.environ if env is None else env
    if username is not None or password is not None:
        if not username:
            raise UsageError("A password was given without a username.", hint=Advice("{Username} as well."))
        return Credentials(username, password or "", "flags")
    env_user = environ.get(ENV_USERNAME)
    if env_user:
        return Credentials(env_user, environ.get(ENV_PASSWORD, ""), "environment")
    path = docker_config if docker_config is not None else _default_docker_config(environ)
    return _from_docker_config(normalize_host(host), path, environ)


def _default_docker_config(environ: Mapping[str, str]) -> Path:
    base = environ.get("DOCKER_CONFIG")
    if base:
        return Path(base) / "config.json"
    return Path(environ.get("HOME") or Path.home()) / ".docker" / "config.json"


def _from_docker_config(host: str, path: Path, environ: Mapping[str, str]) -> Credentials | None:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"Cannot read the docker configuration {path}: {type(exc).__name__}.",
            hint=Advice("Fix or remove the file, or {username}."),
        ) from None
    if not isinstance(config, dict):
        return None
    helpers = config.get("credHelpers") or {}
    if isinstance(helpers, dict):
        for key, helper in helpers.items():
            if normalize_host(key) == host and isinstance(helper, str) and helper:
                found = _from_helper(helper, key, environ)
                if found:
                    return found
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = _from_helper(store, host, environ)
        if found:
            return found
    auths = config.get("auths") or {}
    if isinstance(auths, dict):
        for key, entry in auths.items():
            if normalize_host(key) == host and isinstance(entry, dict):
                found = _from_auth_entry(entry, path, host)
                if found:
                    return found
    return None


def _from_auth_entry(entry: dict[str, object], path: Path, host: str) -> Credentials | None:
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user, sep, secret = decoded.partition(":")
        if not sep or not user:
            raise UsageError(
                f"The docker configuration {path} has an unreadable 'auth' entry for {host}.",
                hint=Advice("Run docker login again, or {username}."),
            )
        return Credentials(user, secret, "docker config")
    user_value = entry.get("username")
    if isinstance(user_value, str) and user_value:
        secret_value = entry.get("password")
        return Credentials(user_value, secret_value if isinstance(secret_value, str) else "", "docker config")
    return None


def _from_helper(name: str, server: str, environ: Mapping[str, str]) -> Credentials | None:
    """Ask ``docker-credential-<name> get``; None when the helper is absent or knows nothing."""
    program = shutil.which(f"docker-credential-{name}", path=environ.get("PATH"))
    if not program:
        return None
    candidates = [server] if server.startswith(("http://", "https://")) else [server, f"https://{server}"]
    for candidate in candidates:
        try:
            done = subprocess.run(
                [program, "get"],
                input=candidate.encode(),
                capture_output=True,
                timeout=_HELPER_TIMEOUT,
                env=dict(environ),
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0:
            continue
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            continue
        user = answer.get("Username") if isinstance(answer, dict) else None
        secret = answer.get("Secret") if isinstance(answer, dict) else None
        if isinstance(user, str) and isinstance(secret, str) and (user or secret):
            if user == "<token>":
                # an identity token: not usable for basic auth against a distribution registry
                continue
            return Credentials(user, secret, f"helper {name}")
    return None
