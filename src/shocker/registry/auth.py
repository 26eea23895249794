"""Registry authentication: WWW-Authenticate challenges (RFC 7235), bearer tokens from the
realm (distribution's token spec), Basic auth, and credentials from the environment or
~/.docker/config.json."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

from shocker.errors import RegistryError
from shocker.record import field, record
from shocker.registry.dockerconfig import Credentials, stored_credentials
from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from shocker.registry.http import Response
    from shocker.registry.transport import Transport

# distribution/registry/auth/token: `expires_in` defaults to 60 seconds when absent.
DEFAULT_TOKEN_LIFETIME = 60
# Ask for a new token this long before the old one expires.
EXPIRY_MARGIN = 5.0
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BARE_VALUE = re.compile(r"[^\s,]+")
PASSWORD_REFUSED = "the user name or password was refused"
CREDENTIALS_HINT = (
    "run 'shocker login HOST', or set SHOCKER_REGISTRY_USER and SHOCKER_REGISTRY_PASS"
)


@record(frozen=True)
class Challenge:
    scheme: str  # lowercase: "bearer", "basic"
    params: dict[str, str] = field(default_factory=dict)


def _skip(text: str, i: int, chars: str = " \t") -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The quoted-string starting at text[i] == '"', unescaped, and the index after it."""
    out: list[str] = []
    i += 1
    while i < len(text) and text[i] != '"':
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i + 1


def parse_www_authenticate(header: str) -> list[Challenge]:
    """Every challenge in a WWW-Authenticate value, e.g.
    `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`."""
    challenges: list[Challenge] = []
    i = 0
    while True:
        i = _skip(header, i, " \t,")
        match = _TOKEN.match(header, i)
        if match is None:
            return challenges
        word, i = match.group(), match.end()
        after = _skip(header, i)
        if challenges and after < len(header) and header[after] == "=":
            i = _skip(header, after + 1)
            if i < len(header) and header[i] == '"':
                value, i = _quoted(header, i)
            else:
                # Lenient: servers send unquoted URLs although RFC 7235 wants a token.
                value_match = _BARE_VALUE.match(header, i)
                value = value_match.group() if value_match else ""
                i = value_match.end() if value_match else i + 1
            challenges[-1].params[word.lower()] = value
        else:
            challenges.append(Challenge(word.lower()))


def docker_config_credentials(path: Path, registry: str) -> Credentials | None:
    """Credentials for `registry` from a Docker config.json (its `auths`, or its helper)."""
    return stored_credentials(path, registry)


def credentials_for(settings: Settings, registry: str) -> Credentials | None:
    """SHOCKER_REGISTRY_USER/PASS win; else the Docker config file's entry for that host."""
    if settings.registry_user is not None:
        return Credentials(settings.registry_user, settings.registry_pass or "")
    return docker_config_credentials(settings.docker_config, registry)


def error_reason(response: Response) -> str:
    """The reason a registry gives: its `errors` list (distribution spec) or the status."""
    try:
        doc: Any = json.loads(response.read() or b"null")
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        errors = doc.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("message") or first.get("code") or "").strip() or "denied"
        for key in ("details", "error_description", "error", "message"):
            if isinstance(doc.get(key), str) and doc[key]:
                return str(doc[key])
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


class ChallengeMemo:
    """The last challenge (scheme, realm, service) of each registry, kept in a JSON file.

    Not secret (any client gets it from the registry); never a token or a password. A file
    that cannot be read or written only costs the round trip it would have saved.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._known is None:
            try:
                doc = json.loads(self.path.read_bytes())
            except (OSError, ValueError):
                doc = None
            self._known = doc if isinstance(doc, dict) else {}
        return self._known

    def get(self, registry: str) -> Challenge | None:
        entry = self._load().get(registry)
        if not isinstance(entry, dict) or entry.get("scheme") not in ("bearer", "basic"):
            return None
        params = {
            k: v for k, v in entry.items() if k in ("realm", "service") and isinstance(v, str)
        }
        return Challenge(entry["scheme"], params)

    def remember(self, registry: str, challenge: Challenge) -> None:
        entry = {"scheme": challenge.scheme}
        entry.update({k: v for k, v in challenge.params.items() if k in ("realm", "service")})
        known = self._load()
        if known.get(registry) == entry:
            return
        known[registry] = entry
        import os

        scratch = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            scratch.write_text(json.dumps(known, sort_keys=True))
            scratch.replace(self.path)
        except OSError:
            scratch.unlink(missing_ok=True)


@record()
class _Token:
    value: str
    expires: float


class Authenticator:
    """What to send as Authorization, per registry and scope; thread-safe."""

    def __init__(
        self, settings: Settings, transport: Transport, challenges: Path | None = None
    ) -> None:
        self.settings = settings
        self.transport = transport
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._basic: dict[str, str] = {}
        self._credentials: dict[str, Credentials | None] = {}
        self._challenges = ChallengeMemo(challenges) if challenges is not None else None
        self._ahead_done: set[tuple[str, str]] = set()

    def authorization(self, registry: str, scope: str) -> dict[str, str]:
        """The header to send; ahead of the registry's 401 when it asked for auth before."""
        sent = self._current(registry, scope)
        if sent or self._challenges is None:
            return sent
        with self._lock:
            if (registry, scope) in self._ahead_done:
                return sent
            self._ahead_done.add((registry, scope))
        self._ahead(registry, scope)
        return self._current(registry, scope)

    def _current(self, registry: str, scope: str) -> dict[str, str]:
        with self._lock:
            token = self._tokens.get((registry, scope))
            if token is not None and time.monotonic() < token.expires:
                return {"Authorization": f"Bearer {token.value}"}
            basic = self._basic.get(registry)
        return {"Authorization": basic} if basic else {}

    def _ahead(self, registry: str, scope: str) -> None:
        """Answer the challenge `registry` gave on an earlier pull before it is asked again:
        a pull from Docker Hub then skips the round trip of its first 401."""
        assert self._challenges is not None
        challenge = self._challenges.get(registry)
        if challenge is None:
            return
        creds = self.credentials(registry)
        try:
            if challenge.scheme == "bearer":
                self._fetch_token(registry, scope, challenge, creds, tries=1)
            elif challenge.scheme == "basic" and creds is not None:
                with self._lock:
                    self._basic[registry] = creds.basic()
        except RegistryError:
            return  # the registry's own 401, if it still wants one, says what to do now

    def credentials(self, registry: str) -> Credentials | None:
        with self._lock:
            if registry not in self._credentials:
                self._credentials[registry] = credentials_for(self.settings, registry)
            return self._credentials[registry]

    def answer(self, registry: str, scope: str, header: str, sent: dict[str, str]) -> None:
        """Act on a 401: fetch a (new) token or switch to Basic; RegistryError if impossible."""
        challenges = {c.scheme: c for c in parse_www_authenticate(header)}
        creds = self.credentials(registry)
        if "bearer" in challenges:
            self._fetch_token(registry, scope, challenges["bearer"], creds)
            if self._challenges is not None:
                self._challenges.remember(registry, challenges["bearer"])
            return
        if "basic" in challenges:
            if self._challenges is not None:
                self._challenges.remember(registry, challenges["basic"])
            if creds is None:
                raise RegistryError(
                    f"authentication failed for {registry}: the registry requires credentials",
                    hint=CREDENTIALS_HINT,
                )
            if sent.get("Authorization") == creds.basic():
                raise self.refused(registry, PASSWORD_REFUSED)
            with self._lock:
                self._basic[registry] = creds.basic()
            return
        raise RegistryError(
            f"authentication failed for {registry}: unsupported challenge {header!r}"
        )

    def refused(self, registry: str, reason: str) -> RegistryError:
        return RegistryError(f"authentication failed for {registry}: {reason}")

    def _fetch_token(
        self,
        registry: str,
        scope: str,
        challenge: Challenge,
        creds: Credentials | None,
        tries: int | None = None,
    ) -> None:
        realm = challenge.params.get("realm")
        if not realm or not realm.startswith(("https://", "http://")):
            raise RegistryError(f"authentication failed for {registry}: bad token realm {realm!r}")
        params: list[tuple[str, str]] = []
        if challenge.params.get("service"):
            params.append(("service", challenge.params["service"]))
        # Several resources (a push that mounts): several params; none for a login.
        scopes = [s for s in scope.split(" ") if s]
        if scopes and challenge.params.get("scope") and challenge.params["scope"] not in scopes:
            scopes.append(challenge.params["scope"])
        params += [("scope", s) for s in scopes]
        headers = {"Authorization": creds.basic()} if creds else {}
        response = self.transport.send(
            "GET", realm, headers, registry=registry, params=params, tries=tries
        )
        try:
            if response.status_code in (401, 403):
                reason = error_reason(response)
                if creds is None:
                    raise RegistryError(
                        f"authentication failed for {registry}: {reason}", hint=CREDENTIALS_HINT
                    )
                raise self.refused(registry, f"{PASSWORD_REFUSED} (token server: {reason})")
            if response.status_code != 200:
                reason = error_reason(response)
                raise RegistryError(f"authentication failed for {registry}: token server: {reason}")
            token = self._parse_token(registry, response.read())
        finally:
            response.close()
        with self._lock:
            self._tokens[(registry, scope)] = token

    def _parse_token(self, registry: str, body: bytes) -> _Token:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise RegistryError(f"authentication failed for {registry}: token is not JSON")
        # The token spec names it `token`; OAuth2 servers answer `access_token`.
        value = doc.get("token") or doc.get("access_token")
        if not isinstance(value, str) or not value:
            raise RegistryError(f"authentication failed for {registry}: no token in the answer")
        lifetime = doc.get("expires_in")
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        # Renew a little early so a token does not expire between check and use.
        margin = min(EXPIRY_MARGIN, lifetime / 4)
        return _Token(value, time.monotonic() + float(lifetime) - margin)
