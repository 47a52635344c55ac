"""Two witnesses, each its own process on 127.0.0.1 with its own key and state file, cosign the
log's checkpoints; a rolled-back or forked log is refused by them, then caught by the verifiers.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from audit import selectors, signing, witness
from audit.models import AuditCheckpoint, AuditNoteSignature
from audit.services import audit_seal
from tests.audit.helpers import record_events
from tests.audit.test_export import run_verifier
from tests.audit.test_trusted_checkpoint import disable_triggers, truncate_to

pytestmark = pytest.mark.django_db

WITNESS = Path(witness.__file__)


class WitnessProcess:
    def __init__(self, folder: Path, name: str, log_vkey: str):
        self.folder, self.name, self.log_vkey = folder, name, log_vkey
        self.key = folder / f"{name.replace('/', '_')}.pem"
        self.state = folder / f"{name.replace('/', '_')}.json"
        self.vkey = self._run("keygen", "--name", name, "--key", str(self.key)).strip()
        self.process: subprocess.Popen | None = None
        self.url = ""

    def _run(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, str(WITNESS), *args], capture_output=True, text=True, check=True
        ).stdout

    def start(self) -> None:
        command = [sys.executable, str(WITNESS), "serve", "--name", self.name]
        command += ["--key", str(self.key), "--state", str(self.state)]
        command += ["--log", self.log_vkey, "--listen", "127.0.0.1:0"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # "witness <vkey> listening on host:port"
        assert "listening on 127.0.0.1:" in line, line
        self.url = "http://" + line.rsplit(" ", 1)[1].strip()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def witnesses(tmp_path):
    log_vkey = signing.checkpoint_verifier().vkey
    started = [WitnessProcess(tmp_path, f"w{n}.witness.test/audit", log_vkey) for n in (1, 2)]
    for process in started:
        process.start()
    config = [{"vkey": w.vkey, "url": w.url} for w in started]
    with override_settings(AUDIT_WITNESSES=config, AUDIT_WITNESS_QUORUM=2):
        yield started
    for process in started:
        process.stop()


def grow(alice, count: int, start: int = 0) -> AuditCheckpoint:
    checkpoint = None
    for number in range(start, start + count):
        record_events(1, subject=alice, start=number)
        checkpoint = audit_seal()
    assert checkpoint is not None
    return checkpoint


def cosigners(checkpoint: AuditCheckpoint) -> list[str]:
    return selectors.checkpoint_cosigners(checkpoint, selectors.configured_witnesses())


def witness_args(witnesses) -> list[str]:
    return [arg for w in witnesses for arg in ("--witness", w.vkey)] + ["--quorum", "2"]


def test_each_new_checkpoint_is_cosigned_by_both_witnesses_and_served(witnesses, alice, client):
    checkpoint = grow(alice, 3)
    assert cosigners(checkpoint) == [w.name for w in witnesses]
    note = client.get("/api/v1/audit/log/checkpoint").content.decode()
    text, signatures = witness.split_note(note)
    assert [s.name for s in signatures] == ["faceledger-test", *[w.name for w in witnesses]]
    assert all(len(s.signature) == 8 + 64 for s in signatures[1:])  # timestamped cosignatures
    print(note)  # the closing note shows it
    call_command("audit_verify")  # quorum 2 from the settings
    call_command("audit_verify", "--ask-witnesses")


def test_the_offline_verifier_checks_the_quorum_of_cosignatures(witnesses, alice, tmp_path):
    grow(alice, 2)
    bundle = tmp_path / "audit.zip"
    call_command("audit_export", "--output", str(bundle))
    result = run_verifier(bundle, *witness_args(witnesses))
    assert result.returncode == 0, result.stderr
    assert "cosigned by 2 witnesses" in result.stdout


def test_a_rolled_back_log_is_refused_by_the_witnesses_and_caught(witnesses, alice, tmp_path):
    grow(alice, 8)
    disable_triggers()
    truncate_to(5)
    # The cut is invisible to the database alone, but the witnesses remember size 8.
    with pytest.raises(CommandError, match="trusted checkpoint covers 8"):
        call_command("audit_verify", "--ask-witnesses")
    # Re-grown to 6 events: both witnesses refuse to cosign a tree smaller than 8.
    rolled = grow(alice, 1, start=200)
    assert rolled.tree_size == 6
    assert cosigners(rolled) == []
    with pytest.raises(CommandError, match="0 of the 2 witness cosignatures"):
        call_command("audit_verify")
    bundle = tmp_path / "audit.zip"
    call_command("audit_export", "--output", str(bundle))
    result = run_verifier(bundle, *witness_args(witnesses))
    assert result.returncode == 1
    assert "0 of the 2 witness cosignatures" in result.stderr


def test_what_a_witness_last_cosigned_catches_a_rollback_in_a_fresh_export_offline(
    witnesses, alice, tmp_path
):
    """The offline verifier makes no network request: an auditor fetches what a witness last
    cosigned (``GET <witness>/checkpoint?origin=…``, a cosigned note) and gives it as a trusted
    checkpoint, with an export made after it."""
    grow(alice, 8)
    origin = urllib.parse.quote(settings.AUDIT_LOG_ID, safe="")
    status, served = witness.request(f"{witnesses[0].url}/checkpoint?origin={origin}", None, 5)
    assert status == 200
    kept = tmp_path / "witness-w1.txt"
    kept.write_bytes(served)
    fresh = tmp_path / "fresh.zip"
    call_command("audit_export", "--output", str(fresh))
    assert run_verifier(fresh, "--trusted-checkpoint", str(kept)).returncode == 0
    disable_triggers()
    truncate_to(5)
    grow(alice, 1, start=400)
    rolled = tmp_path / "rolled.zip"
    call_command("audit_export", "--output", str(rolled))
    result = run_verifier(rolled, "--trusted-checkpoint", str(kept))
    assert result.returncode == 1
    assert "the trusted checkpoint covers 8" in result.stderr


def test_a_forked_log_is_refused_by_the_witnesses_and_caught(witnesses, alice, tmp_path):
    grow(alice, 8)
    disable_triggers()
    truncate_to(5)
    forked = grow(alice, 4, start=300)  # a different history, re-signed, now larger: 9
    assert forked.tree_size == 9
    assert cosigners(forked) == []  # its consistency proof from 8 does not verify (422)
    with pytest.raises(CommandError, match="0 of the 2 witness cosignatures"):
        call_command("audit_verify")
    with pytest.raises(CommandError, match="not consistent with the trusted checkpoint"):
        call_command("audit_verify", "--ask-witnesses", "--quorum", "0")


def test_the_witness_answers_as_tlog_witness_specifies(witnesses, alice):
    checkpoint = grow(alice, 4)
    note = selectors.checkpoint_note(checkpoint)
    url = witnesses[0].url + "/add-checkpoint"

    def post(old: int, proof: list[bytes], body_note: str = note) -> tuple[int, bytes]:
        return witness.request(url, witness.add_checkpoint_body(old, proof, body_note), 5)

    assert post(2, []) == (409, b"4\n")  # not the size it cosigned: says which it did
    assert post(5, [])[0] == 400  # old larger than the checkpoint
    assert post(4, [])[0] == 200  # the same checkpoint again: cosigned again
    text = selectors.checkpoint_text(checkpoint)
    unsigned = (
        text.decode()
        + "\n"
        + witness.sign_note(text, "faceledger-test", witness.Ed25519PrivateKey.generate())
    )
    assert post(4, [], unsigned)[0] == 403
    other = witness.checkpoint_text("another.example/log", 4, bytes.fromhex(checkpoint.root_hash))
    stranger = other.decode() + "\n" + signing.sign_note(other)
    assert post(4, [], stranger)[0] == 404
    grow(alice, 1, start=10)
    newer = AuditCheckpoint.objects.order_by("-id").first()
    assert newer is not None
    bad_proof = [b"\x11" * 32, b"\x22" * 32]
    # The sealer already moved the witness to 5; from 5 a forged checkpoint of size 6 with a
    # made-up proof is refused as unverifiable.
    forged_text = witness.checkpoint_text("faceledger-test", 6, b"\x33" * 32)
    forged = forged_text.decode() + "\n" + signing.sign_note(forged_text)
    assert post(5, bad_proof, forged)[0] == 422


def test_a_witness_that_is_down_never_stops_sealing(witnesses, alice):
    witnesses[1].stop()
    with override_settings(AUDIT_WITNESS_TIMEOUT=1.0):
        checkpoint = grow(alice, 2)
    assert cosigners(checkpoint) == [witnesses[0].name]
    assert AuditNoteSignature.objects.filter(checkpoint=checkpoint).count() == 2
    with pytest.raises(CommandError, match="1 of the 2 witness cosignatures"):
        call_command("audit_verify")


def test_a_restarted_witness_still_refuses_a_rollback(witnesses, alice):
    grow(alice, 6)
    for process in witnesses:
        process.stop()
        process.start()
    with override_settings(
        AUDIT_WITNESSES=[{"vkey": w.vkey, "url": w.url} for w in witnesses],
        AUDIT_WITNESS_QUORUM=2,
    ):
        disable_triggers()
        truncate_to(3)
        rolled = grow(alice, 1, start=50)
        assert cosigners(rolled) == []


def test_the_transparency_page_says_who_cosigned_and_how_to_keep_a_checkpoint(
    witnesses, alice, client
):
    grow(alice, 1)
    page = client.get("/transparency/").content.decode()
    assert "Cosigned by 2 of our 2 independent witnesses" in page
    assert "--trusted-checkpoint checkpoint-today.txt" in page
    assert all(w.vkey in page for w in witnesses)
    chinese = client.get("/transparency/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已获我们 2 个独立见证方中的 2 个联署" in chinese


def test_a_bad_witness_setting_is_a_system_check_error():
    from audit.checks import witness_problems

    good = witness.Verifier(
        "w.test/a", witness.COSIGNATURE_V1, witness.Ed25519PrivateKey.generate().public_key()
    )
    assert witness_problems([{"vkey": good.vkey, "url": "http://127.0.0.1:1"}], 1) == []
    assert witness_problems([{"vkey": good.vkey, "url": "http://127.0.0.1:1"}], 2)
    assert witness_problems([{"vkey": "nonsense", "url": "http://x"}], 0)
    assert witness_problems([{"vkey": good.vkey, "url": ""}], 0)
    with override_settings(AUDIT_WITNESSES=[{"vkey": "nonsense", "url": ""}]):
        with pytest.raises(CommandError, match="audit.E001"):
            call_command("check")


def test_a_log_id_that_cannot_name_a_note_key_is_a_system_check_error():
    with override_settings(AUDIT_LOG_ID="faceledger audit+1"):
        with pytest.raises(CommandError, match="audit.E002"):
            call_command("check")


def test_the_witness_refuses_malformed_requests_with_a_4xx(witnesses):
    url = witnesses[0].url + "/add-checkpoint"
    assert witness.request(url, b"not a request", 5)[0] == 400
    assert witness.request(url, b"old 01\n\nx\n", 5)[0] == 400
    assert (
        witness.request(url, b"old 0\n\nfaceledger-test\n1\nnot base64\n\n\xe2\x80\x94 x y\n", 5)[0]
        == 400
    )
    assert witness.request(url, b"x" * (65 * 1024), 5)[0] == 413
    assert witness.request(witnesses[0].url + "/elsewhere", b"", 5)[0] == 404
    assert witness.request(witnesses[0].url + "/checkpoint?origin=nobody", None, 5)[0] == 404
