import pytest

from compliance_site import crypto, keystore


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


def test_a_wrapped_key_opens_only_for_its_owner():
    data_key = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(data_key, context=b"subject:7")
    assert data_key not in wrapped
    assert crypto.wrapped_key_id(wrapped) == "test1"
    assert crypto.unwrap_data_key(wrapped, context=b"subject:7") == data_key
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_data_key(wrapped, context=b"subject:8")


def test_rotation_rewraps_under_the_new_key_and_the_old_key_can_then_go():
    data_key = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(data_key, context=b"s")
    new = keystore.create()  # the newest key not retired is current
    rewrapped = crypto.rewrap_data_key(wrapped, context=b"s")
    assert crypto.wrapped_key_id(rewrapped) == new.key_id
    keystore.retire("test1")
    assert crypto.unwrap_data_key(wrapped, context=b"s") == data_key  # retired keys still open
    assert keystore.destroy("test1")
    assert crypto.unwrap_data_key(rewrapped, context=b"s") == data_key
    with pytest.raises(crypto.DecryptionError, match="not in the key store"):
        crypto.unwrap_data_key(wrapped, context=b"s")


def test_with_no_current_key_nothing_is_wrapped():
    keystore.retire("test1")
    with pytest.raises(keystore.KeyStoreError, match="no current master key"):
        crypto.wrap_data_key(crypto.new_data_key(), context=b"s")


@pytest.mark.parametrize(
    ("key_id", "key"),
    [("", b"A" * 32), ("../escape", b"A" * 32), ("x" * 33, b"A" * 32), ("k", b"short")],
)
def test_malformed_master_keys_are_refused(key_id, key):
    with pytest.raises(keystore.KeyStoreError):
        keystore.create(key_id=key_id or "!", key=key)


def test_a_key_id_is_never_reused_and_writes_leave_no_temporary_file(key_store):
    with pytest.raises(FileExistsError):
        keystore.create(key_id="test1", key=b"B" * 32)
    assert keystore.get("test1").key == b"test-only-master-key-32-bytes!!!"
    keystore.retire("test1")
    assert [p.name for p in key_store.iterdir()] == ["test1.key"]


def test_destroying_a_key_overwrites_and_removes_its_file(key_store):
    file = key_store / "test1.key"
    inode_reader = open(file, "rb")  # noqa: SIM115 - a process that had the file open
    try:
        assert keystore.destroy("test1")
        assert set(inode_reader.read()) == {0}  # the bytes it could still read are zeros
    finally:
        inode_reader.close()
    assert not file.exists()
    assert keystore.destroy("test1") is False


# --- segmented ciphertext (large results, streamed downloads) ----------------------------------


def _segmented(size: int) -> tuple[bytes, bytes, bytes]:
    key = crypto.new_data_key()
    plain = bytes(i % 251 for i in range(size))
    return key, plain, crypto.encrypt_segmented(key, plain, aad=b"result:1", segment_size=100)


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 250, 1000])
@pytest.mark.parametrize("piece", [1, 7, 4096])
def test_a_segmented_ciphertext_opens_from_pieces_of_any_size(size, piece):
    key, plain, blob = _segmented(size)
    pieces = [blob[i : i + piece] for i in range(0, len(blob), piece)]
    segments = list(crypto.decrypt_segments(key, pieces, aad=b"result:1"))
    assert b"".join(segments) == plain and all(len(s) <= 100 for s in segments)
    assert crypto.segmented_plain_size(len(blob), blob[:8]) == size
    assert crypto.decrypt_any(key, blob, aad=b"result:1") == plain
    assert plain[:40] not in blob or size < 40


@pytest.mark.parametrize("size", [100, 250, 1000])
def test_a_segmented_ciphertext_cut_short_reordered_or_moved_does_not_open(size):
    key, _plain, blob = _segmented(size)
    record = 12 + 100 + 16
    header, body = blob[:8], blob[8:]
    records = [body[i : i + record] for i in range(0, len(body), record)]
    damaged = [
        header + b"".join(records[:-1]),  # the last segment dropped
        header + b"".join(reversed(records)),  # reordered
    ]
    for bad in damaged:
        if bad != blob:
            with pytest.raises(crypto.DecryptionError):
                b"".join(crypto.decrypt_segments(key, [bad], aad=b"result:1"))
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_any(key, blob, aad=b"result:2")
