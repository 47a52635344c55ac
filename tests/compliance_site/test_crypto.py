import base64

import pytest
from django.core.exceptions import ImproperlyConfigured

from compliance_site import crypto

KEY_A = "a1:" + base64.b64encode(b"A" * 32).decode()
KEY_B = "b2:" + base64.b64encode(b"B" * 32).decode()


def test_data_round_trips_and_the_ciphertext_hides_the_plaintext():
    key = crypto.new_data_key()
    secret = b"\xff\xd8\xff face photo bytes " * 10
    blob = crypto.encrypt(key, secret, aad=b"capture:1:photo")
    assert secret[:16] not in blob
    assert crypto.decrypt(key, blob, aad=b"capture:1:photo") == secret


def test_a_ciphertext_moved_to_another_record_does_not_open():
    key = crypto.new_data_key()
    blob = crypto.encrypt(key, b"x", aad=b"capture:1:photo")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(key, blob, aad=b"capture:2:photo")


def test_a_flipped_bit_is_detected():
    key = crypto.new_data_key()
    blob = bytearray(crypto.encrypt(key, b"hello", aad=b"a"))
    blob[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(key, bytes(blob), aad=b"a")


def test_a_wrapped_key_opens_only_for_its_owner(settings):
    settings.BIOMETRIC_MASTER_KEYS = [KEY_A]
    data_key = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(data_key, context=b"subject:7")
    assert data_key not in wrapped
    assert crypto.unwrap_data_key(wrapped, context=b"subject:7") == data_key
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(wrapped, context=b"subject:8")


def test_rotation_rewraps_under_the_new_key_and_the_old_key_can_then_retire(settings):
    settings.BIOMETRIC_MASTER_KEYS = [KEY_A]
    data_key = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(data_key, context=b"s")
    settings.BIOMETRIC_MASTER_KEYS = [KEY_B, KEY_A]
    rewrapped = crypto.rewrap_data_key(wrapped, context=b"s")
    assert crypto.wrapped_key_id(rewrapped) == "b2"
    settings.BIOMETRIC_MASTER_KEYS = [KEY_B]
    assert crypto.unwrap_data_key(rewrapped, context=b"s") == data_key
    with pytest.raises(crypto.DecryptionError, match="not configured"):
        crypto.unwrap_data_key(wrapped, context=b"s")


@pytest.mark.parametrize(
    "value",
    [
        [],
        ["nocolon"],
        ["k:not-base64!"],
        ["k:" + base64.b64encode(b"short").decode()],
        [KEY_A, KEY_A],
    ],
)
def test_malformed_master_keys_are_refused(value):
    with pytest.raises(ImproperlyConfigured):
        crypto.parse_master_keys(value)
