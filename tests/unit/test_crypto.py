"""Credential encryption: MultiFernet, key rotation, bare-string credentials."""

import pytest
from cryptography.fernet import Fernet

from webapp.crypto import CredentialCipher, CredentialsError


def test_round_trip_and_ciphertext_hides_the_key():
    cipher = CredentialCipher([Fernet.generate_key().decode()])
    token = cipher.encrypt({"api_key": "sk-live-SECRET", "organization": "org-1"})
    assert "sk-live-SECRET" not in token
    assert cipher.decrypt(token) == {"api_key": "sk-live-SECRET", "organization": "org-1"}


def test_a_bare_string_is_read_as_the_api_key():
    key = Fernet.generate_key()
    token = Fernet(key).encrypt(b"sk-legacy-string").decode()
    assert CredentialCipher([key.decode()]).decrypt(token) == {"api_key": "sk-legacy-string"}


def test_old_ciphertexts_stay_readable_after_a_new_key_is_added():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = CredentialCipher([old]).encrypt({"api_key": "sk-1"})
    both = CredentialCipher([new, old])
    assert both.decrypt(token) == {"api_key": "sk-1"}
    rotated = both.rotate(token)
    assert CredentialCipher([new]).decrypt(rotated) == {"api_key": "sk-1"}
    with pytest.raises(CredentialsError):
        CredentialCipher([old]).decrypt(rotated)


def test_wrong_key_gives_a_clear_error():
    token = CredentialCipher([Fernet.generate_key().decode()]).encrypt({"api_key": "x"})
    with pytest.raises(CredentialsError, match="CREDENTIALS_KEYS"):
        CredentialCipher([Fernet.generate_key().decode()]).decrypt(token)
