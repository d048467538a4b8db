"""Credential encryption with MultiFernet: the only module that handles the keys."""

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class CredentialsError(Exception):
    """Stored credentials could not be decrypted with the configured keys."""


class CredentialCipher:
    """Encrypts credential objects with the first key; decrypts with any configured key."""

    def __init__(self, keys: list[str]):
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, credentials: dict) -> str:
        payload = json.dumps(credentials, separators=(",", ":"), sort_keys=True)
        return self._fernet.encrypt(payload.encode()).decode()

    def decrypt(self, token: str) -> dict:
        try:
            plaintext = self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError, AttributeError):
            raise CredentialsError(
                "cannot decrypt: none of CREDENTIALS_KEYS matches the stored ciphertext"
            ) from None
        return parse_credentials(plaintext)

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key (it must decrypt under one of the keys)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except (InvalidToken, ValueError, AttributeError):
            raise CredentialsError(
                "cannot decrypt: none of CREDENTIALS_KEYS matches the stored ciphertext"
            ) from None


def parse_credentials(plaintext: str) -> dict:
    """A JSON object, or a bare string read as the API key (the older stored form)."""
    try:
        value = json.loads(plaintext)
    except ValueError:
        return {"api_key": plaintext}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        return {"api_key": value}
    return {"api_key": plaintext}


def init_app(app):
    app.extensions["credential_cipher"] = CredentialCipher(app.config["CREDENTIALS_KEYS"])


def cipher() -> CredentialCipher:
    return current_app.extensions["credential_cipher"]
