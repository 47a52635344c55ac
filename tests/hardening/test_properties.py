"""Property tests (hypothesis): the phone parser, the upload validators and the public audit
proofs answer every input with a result or their own domain error, never anything else."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from audit.models import AuditLeaf
from audit.services import audit_seal
from biometrics.analysis import AnalysisError
from biometrics.analysis.images import decode_image
from biometrics.analysis.video import decode_video
from compliance_site.errors import ApplicationError
from consent.identity.services import check_phone
from swap.services import check_template_file
from tests.audit.helpers import record_events, verify_consistency, verify_inclusion

BOUNDED = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no example database in the work tree; each run explores afresh
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(BOUNDED, max_examples=60)

phone_like = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\A[+]?[0-9 ()\-.]{0,30}\Z"),
    st.builds(
        lambda cc, rest: f"+{cc}{rest}", st.integers(0, 999), st.text("0123456789", max_size=16)
    ),
    st.text(alphabet=st.characters(categories=["Nd", "Pd", "Zs", "Cf"]), max_size=25),
)


@BOUNDED
@given(raw=phone_like)
def test_the_phone_parser_raises_only_its_domain_error(raw):
    try:
        number = check_phone(raw)
    except ApplicationError as refusal:
        assert refusal.status_code == 400 and refusal.code
    else:
        assert number.country_code > 0 and number.national_number > 0


MAGIC = [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP", b"GIF89a"]
VIDEO_MAGIC = [b"", b"\x1a\x45\xdf\xa3", b"\x00\x00\x00\x18ftypmp42", b"\x00\x00\x00\x20ftypisom"]


@FEW
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=2048))
def test_the_image_decoder_raises_only_analysis_errors(prefix, body):
    try:
        image = decode_image(prefix + body)
    except AnalysisError as refusal:
        assert refusal.code in {"unsupported_image", "image_too_large", "corrupt_image"}
    else:
        assert image.ndim == 3 and image.shape[2] == 3


@FEW
@given(prefix=st.sampled_from(VIDEO_MAGIC), body=st.binary(max_size=4096))
def test_the_video_decoder_raises_only_analysis_errors(prefix, body):
    try:
        video = decode_video(prefix + body)
    except AnalysisError as refusal:
        assert refusal.code
    else:
        assert video.frames


@FEW
@given(prefix=st.sampled_from(MAGIC + VIDEO_MAGIC), body=st.binary(max_size=2048))
def test_the_template_check_raises_only_its_refusal(prefix, body):
    with pytest.raises(ApplicationError) as refusal:
        check_template_file(prefix + body)
    assert refusal.value.status_code == 422


# --- the public audit proofs --------------------------------------------------------------------

LEAVES = 13


@pytest.fixture
def sealed_log(db):
    """A log of 13 sealed events and the root of every prefix of it (computed here)."""
    from audit.merkle import CompactRange

    record_events(LEAVES)
    audit_seal()
    tree, roots = CompactRange(), []
    roots.append(tree.root())
    for leaf in AuditLeaf.objects.order_by("index").values_list("leaf_hash", flat=True):
        tree.append(bytes(leaf))
        roots.append(tree.root())
    return roots


numbers = st.one_of(
    st.integers(-3, LEAVES + 3).map(str),
    st.integers(0, 2**70).map(str),
    st.text(max_size=12),
    st.sampled_from(["", " 1", "1 ", "+1", "0x1", "1e3", "١", "01"]),
)


def _answered_well(response) -> bool:
    if response.status_code == 400:
        return response.json()["code"] == "invalid_parameter"
    return response.status_code == 200


@BOUNDED
@given(index=numbers, tree_size=numbers)
def test_an_inclusion_proof_verifies_or_is_a_400(sealed_log, index, tree_size):
    response = APIClient().get(
        "/api/v1/audit/proof/inclusion", {"index": index, "tree_size": tree_size}
    )

    assert _answered_well(response), response.content
    if response.status_code == 200:
        proof = response.json()
        size, at = proof["tree_size"], proof["leaf_index"]
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        assert verify_inclusion(bytes.fromhex(proof["leaf_hash"]), at, size, path, sealed_log[size])


@BOUNDED
@given(first=numbers, second=numbers)
def test_a_consistency_proof_verifies_or_is_a_400(sealed_log, first, second):
    response = APIClient().get(
        "/api/v1/audit/proof/consistency", {"first": first, "second": second}
    )

    assert _answered_well(response), response.content
    if response.status_code == 200:
        proof = [bytes.fromhex(h) for h in response.json()["proof"]]
        low, high = int(first), int(second)
        assert verify_consistency(low, high, sealed_log[low], sealed_log[high], proof)
