"""The `X-Identity-Assertion` header (contract §2): a short-lived JWS naming the user."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Tuple, Union

import jwt

#: The connector refuses assertions living longer than 300 s; a minute covers clock skew.
DEFAULT_LIFETIME_SECONDS = 60
MAX_LIFETIME_SECONDS = 300
DEFAULT_AUDIENCE = "cloud-connector"
#: Users whose assertion is kept for reuse; past that, the longest-kept is dropped.
MAX_REUSED_USERS = 1000

# The only algorithms the connector accepts, chosen by the key's type and curve.
_ALGORITHMS = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256"}

JwkSource = Union[str, Path, Mapping[str, Any]]


def load_private_jwk(source: JwkSource) -> dict:
    """A private JWK from a dict, a JSON string, or a path to the file `identity:keygen` wrote."""
    if isinstance(source, Mapping):
        return dict(source)
    text = str(source).strip()
    if not text.startswith("{"):
        text = Path(text).read_text(encoding="utf-8")
    try:
        jwk = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"the signing key is not a JSON JWK: {error.msg}") from None
    if not isinstance(jwk, dict):
        raise ValueError("the signing key must be a JSON object (a private JWK)")
    return jwk


class IdentitySigner:
    """Mints assertions signed with the main app's private JWK (EdDSA or ES256).

    An assertion is sent again for the same user for `reuse_seconds` after it was minted (default
    half its lifetime, at most half, 0 to mint one per call): the connector verifies a signature
    once per assertion and answers the repeats from its cache, so a fresh assertion on every call
    costs it a signature check per request (docs/performance.md, row B against A).
    """

    def __init__(
        self,
        private_jwk: JwkSource,
        issuer: str,
        audience: str = DEFAULT_AUDIENCE,
        lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
        reuse_seconds: Optional[int] = None,
    ) -> None:
        jwk = load_private_jwk(private_jwk)
        algorithm = _ALGORITHMS.get((jwk.get("kty"), jwk.get("crv")))
        if algorithm is None:
            raise ValueError("the signing key must be an Ed25519 (EdDSA) or P-256 (ES256) JWK")
        if "d" not in jwk:
            raise ValueError("the signing key is a public JWK; the private one (with \"d\") signs")
        if jwk.get("alg") not in (None, algorithm):
            raise ValueError(f"the JWK says alg {jwk.get('alg')!r} but its key is for {algorithm}")
        if not jwk.get("kid"):
            raise ValueError("the signing key needs a kid: the connector selects its key by it")
        if not issuer:
            raise ValueError("issuer is required (the connector's IDENTITY_ISSUER)")
        if not 0 < lifetime_seconds <= MAX_LIFETIME_SECONDS:
            raise ValueError(f"lifetime_seconds must be 1..{MAX_LIFETIME_SECONDS}")
        # Every assertion sent keeps at least half its lifetime, for clock skew and time in flight.
        reuse = lifetime_seconds // 2 if reuse_seconds is None else reuse_seconds
        valid = isinstance(reuse, int) and not isinstance(reuse, bool)
        if not valid or not 0 <= reuse <= lifetime_seconds / 2:
            raise ValueError("reuse_seconds must be an integer from 0 to half of lifetime_seconds")
        self._key = jwt.PyJWK(jwk, algorithm).key
        self.algorithm = algorithm
        self.kid = jwk["kid"]
        self.issuer = issuer
        self.audience = audience
        self.lifetime_seconds = lifetime_seconds
        self.reuse_seconds = reuse
        self._clock = clock
        # user id -> (assertion, its iat, the second its reuse ends), in the order minted;
        # Django serves requests from several threads.
        self._reused: "OrderedDict[str, Tuple[str, int, int]]" = OrderedDict()
        self._lock = threading.Lock()

    def assertion(self, user_id: Any) -> str:
        sub = str(user_id)
        if not 0 < len(sub) <= 255:
            raise ValueError("the user id must be 1 to 255 characters")
        now = int(self._clock())
        with self._lock:
            kept = self._reused.get(sub)
        # A clock set back (NTP) would otherwise keep an assertion past its expiry.
        if kept is not None and kept[1] <= now < kept[2]:
            return kept[0]
        token = self._mint(sub, now)
        if self.reuse_seconds:
            with self._lock:
                self._reused.pop(sub, None)
                if len(self._reused) >= MAX_REUSED_USERS:
                    self._reused.popitem(last=False)
                self._reused[sub] = (token, now, now + self.reuse_seconds)
        return token

    def _mint(self, sub: str, now: int) -> str:
        claims = {
            "iss": self.issuer,
            "aud": self.audience,  # one string, never a list
            "sub": sub,
            "iat": now,
            "exp": now + self.lifetime_seconds,
        }
        token = jwt.encode(claims, self._key, algorithm=self.algorithm, headers={"kid": self.kid})
        # PyJWT < 2 returned bytes.
        return token.decode("ascii") if isinstance(token, bytes) else token

    def __repr__(self) -> str:  # never the key
        return f"IdentitySigner(kid={self.kid!r}, algorithm={self.algorithm!r}, issuer={self.issuer!r})"
