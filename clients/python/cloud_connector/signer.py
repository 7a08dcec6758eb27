"""The `X-Identity-Assertion` header (contract §2): a short-lived JWS naming the user."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Union

import jwt

#: The connector refuses assertions living longer than 300 s; a minute covers clock skew.
DEFAULT_LIFETIME_SECONDS = 60
MAX_LIFETIME_SECONDS = 300
DEFAULT_AUDIENCE = "cloud-connector"

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
    """Mints an assertion per call, signed with the main app's private JWK (EdDSA or ES256)."""

    def __init__(
        self,
        private_jwk: JwkSource,
        issuer: str,
        audience: str = DEFAULT_AUDIENCE,
        lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
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
        self._key = jwt.PyJWK(jwk, algorithm).key
        self.algorithm = algorithm
        self.kid = jwk["kid"]
        self.issuer = issuer
        self.audience = audience
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock

    def assertion(self, user_id: Any) -> str:
        sub = str(user_id)
        if not 0 < len(sub) <= 255:
            raise ValueError("the user id must be 1 to 255 characters")
        now = int(self._clock())
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
