"""RS256 signing keys: loading from the environment, development key generation, JWKS."""

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(public_pem: str) -> dict:
    """The public key as a JWK, its `kid` being the RFC 7638 thumbprint."""
    key = serialization.load_pem_public_key(public_pem.encode())
    numbers = key.public_numbers()
    members = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=")
    return {**members, "kid": kid.decode(), "use": "sig", "alg": "RS256"}


def _public_from_private(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )


def _read(env, text_var: str, path_var: str) -> str:
    text = env(text_var, default="")
    if text:
        # Env files often carry PEM text with literal "\n" escapes.
        return text.replace("\\n", "\n")
    path = env(path_var, default="")
    if not path:
        return ""
    try:
        return Path(path).read_text()
    except OSError as e:
        # One line naming the variable, like every other configuration error.
        message = f"ImproperlyConfigured: {path_var}={path} cannot be read ({e.strerror})."
        raise SystemExit(message) from None


@dataclass(frozen=True)
class SigningKeys:
    """The current key pair plus the public keys of earlier pairs still trusted."""

    private_pem: str = ""
    public_pem: str = ""
    previous_public_pems: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, env) -> "SigningKeys":
        private_pem = _read(env, "PRIVATE_KEY", "PRIVATE_KEY_PATH")
        public_pem = _read(env, "PUBLIC_KEY", "PUBLIC_KEY_PATH")
        if private_pem and not public_pem:
            public_pem = _public_from_private(private_pem)
        previous = _read(env, "PREVIOUS_PUBLIC_KEYS", "PREVIOUS_PUBLIC_KEYS_PATH")
        return cls(
            private_pem=private_pem,
            public_pem=public_pem,
            previous_public_pems=tuple(PEM_BLOCK.findall(previous)),
        )

    @classmethod
    def generate_into(cls, folder: Path, previous: tuple[str, ...] = ()) -> "SigningKeys":
        """Load a development key pair from `folder`, creating it the first time."""
        private_path = folder / "private.pem"
        if not private_path.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            private_path.touch(mode=0o600)
            private_path.write_bytes(pem)
        private_pem = private_path.read_text()
        return cls(
            private_pem=private_pem,
            public_pem=_public_from_private(private_pem),
            previous_public_pems=previous,
        )

    @property
    def configured(self) -> bool:
        return bool(self.private_pem)

    @cached_property
    def current_kid(self) -> str:
        return public_jwk(self.public_pem)["kid"]

    @cached_property
    def jwks(self) -> dict:
        """Every trusted public key, current first, as a JWK Set."""
        pems = (self.public_pem, *self.previous_public_pems)
        return {"keys": [public_jwk(pem) for pem in pems]}

    @cached_property
    def verifying_keys(self) -> dict[str, str]:
        """Public key PEM by `kid`, for picking the key a token names."""
        pems = (self.public_pem, *self.previous_public_pems)
        return {public_jwk(pem)["kid"]: pem for pem in pems}
