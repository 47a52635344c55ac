"""Every sentence of every current policy text is a tested promise.

``PROMISES`` maps each sentence of each purpose's current text, in English and in Chinese
(split by ``consent.ledger.policies.text_sentences``; the two languages sentence by
sentence), to the tests that prove it. A sentence that is not a promise (a title) or whose
promise no test can prove (an absence of processing, a legal undertaking) is listed as such,
with the reason. The suite fails when a current text has a sentence the table does not list
(a new or edited text needs its row), when a row names a sentence no current text has, or
when a named test does not exist.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from consent.ledger.models import PolicyText, Purpose
from consent.ledger.policies import LANGUAGES, PURPOSES, text_sentences

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Not:
    """Not proved by a test, and why."""

    reason: str


TITLE = Not("the title: names the purpose, promises nothing")
PREVIEW = "tests/swap/test_withdrawal_preview.py::test_the_preview_counts_exactly_what_the_withdrawal_then_erases[{}]"  # noqa: E501
CHECK_PAGE = (
    "tests/swap/test_withdrawal_preview.py::"
    "test_the_centres_withdraw_button_asks_first_and_the_check_page_withdraws"
)
SEPARATE = "tests/consent/ledger/test_gate.py::test_a_grant_covers_only_its_own_purpose_and_its_own_subject"  # noqa: E501
WITHDRAW_AT_ONCE = (
    "tests/consent/ledger/test_ledger_api.py::"
    "test_withdrawal_returns_200_with_a_receipt_and_closes_the_gate"
)
SEM = "tests/swap/test_withdrawal_semantics.py::"
CAPTURE_API = "tests/biometrics/test_capture_api.py::"
JOBS_API = "tests/swap/test_jobs_api.py::"
LIFECYCLE = "tests/swap/test_jobs_lifecycle.py::"
EPHEMERAL = "tests/swap/test_ephemeral.py::"
SHARE = "tests/swap/test_share_links.py::"

# purpose → [(English sentence, Chinese sentence, proof)], in the texts' order.
PROMISES: dict[str, list[tuple[str, str, tuple[str, ...] | Not]]] = {
    "biometric_enrolment": [
        (
            "Biometric enrolment — consent to take and keep my face data",
            "生物识别登记——同意采集并保存我的人脸数据",
            TITLE,
        ),
        (
            "What we collect: one photo of your face and a short video in which you follow "
            "on-screen prompts (turn your head, blink).",
            "我们采集的内容：一张您的面部照片，以及一段您按屏幕提示（转头、眨眼）完成动作的短视频。",
            (
                CAPTURE_API + "test_a_challenge_is_four_timed_random_actions_valid_two_minutes",
                CAPTURE_API + "test_a_live_capture_is_stored_and_answered_201",
            ),
        ),
        (
            "Nothing else: no ID documents, contacts or location.",
            "除此之外不采集任何信息：不收集身份证件、通讯录或位置信息。",
            (
                CAPTURE_API + "test_unexpected_file_fields_are_refused",
                "tests/biometrics/test_vault.py::"
                "test_a_photo_uploaded_with_its_location_is_kept_without_it",
                "tests/erasure/test_inventory_stores.py::"
                "test_exports_are_json_safe_and_never_hold_biometric_bytes",
            ),
        ),
        (
            "Why: to check that a live person is in front of the camera and to make an "
            "encrypted face template (face landmarks and a numeric face embedding) that you can "
            "later use for face swaps you ask for.",
            "目的：确认镜头前是真实在场的本人，并生成一份加密的人脸模板（面部关键点和人脸特征向量），"
            "供您日后发起换脸时使用。",
            (
                "tests/biometrics/test_liveness.py::test_a_replayed_still_photo_fails_with_no_motion",
                "tests/biometrics/test_vault.py::test_no_plaintext_photo_embedding_or_landmarks_is_kept_anywhere",  # noqa: E501
                JOBS_API + "test_using_a_capture_for_a_swap_marks_it_used",
                JOBS_API + "test_a_capture_is_not_used_while_its_enrolment_consent_is_outdated",
            ),
        ),
        (
            "We use it for nothing else: no advertising, no identification, no training of "
            "models, no sale or transfer to anyone.",
            "我们不将其用于任何其他用途：不用于广告、身份识别或模型训练，也不出售或转让给任何人。",
            Not(
                "an absence of processing: no code opens a template except capture_use, which "
                "the gate guards per purpose (tests/biometrics/test_vault.py::"
                "test_using_a_capture_needs_the_use_purpose_and_marks_it_used)"
            ),
        ),
        (
            "How it is kept: the photo, the face template and every result made from them are "
            "encrypted with a data key that belongs to you alone.",
            "保存方式：照片、人脸模板以及由它们生成的每一个结果，都使用仅属于您的数据密钥加密保存。",
            (
                "tests/biometrics/test_vault.py::test_the_stored_photo_is_ciphertext_without_image_metadata",  # noqa: E501
                "tests/biometrics/test_vault.py::test_a_wrapped_key_moved_to_another_subject_does_not_open",  # noqa: E501
                JOBS_API
                + "test_a_still_is_swapped_into_a_labelled_encrypted_result_with_its_job_id",
            ),
        ),
        (
            "The video is used for the live-person check and deleted in the same request; it is "
            "never stored.",
            "视频仅用于活体检测，并在同一次请求中删除，从不存储。",
            (CAPTURE_API + "test_uploads_are_read_in_memory_and_never_written_to_a_temp_file",),
        ),
        (
            "How long: until you withdraw this consent or delete the capture, and at most 365 "
            "days after you last used it; then it is erased automatically.",
            "保存期限：直至您撤回本同意或删除该采集记录，且最长不超过您最后一次使用后 365 天，"
            "期满后自动删除。",
            (
                "tests/biometrics/test_retention.py::"
                "test_captures_unused_for_365_days_are_erased_and_no_others",
                CAPTURE_API
                + "test_deleting_a_capture_erases_its_file_and_row_and_records_the_consent_state",
                CAPTURE_API + "test_withdrawing_biometric_consent_erases_captures_and_challenges",
                "tests/reports/test_report.py::"
                "test_deleting_a_capture_leaves_no_copy_of_its_photo_in_a_stored_report",
                "tests/reports/test_report.py::"
                "test_a_capture_erased_by_retention_leaves_no_copy_of_its_photo_in_a_stored_report",
            ),
        ),
        (
            "Your data key is destroyed as soon as nothing of yours encrypted with it is kept.",
            "一旦不再保存任何用您的数据密钥加密的内容，该密钥即被销毁。",
            (
                SEM + "test_withdrawing_enrolment_destroys_the_data_key",
                SEM + "test_deleting_the_last_capture_and_result_destroys_the_data_key",
                SEM + "test_the_retention_sweep_destroys_a_key_once_its_last_result_expired",
                SEM + "test_a_key_that_still_opens_a_capture_survives_the_sweep",
                "tests/reports/test_report.py::"
                "test_a_data_key_only_a_stored_report_needs_goes_when_the_report_expires",
                "tests/biometrics/test_vault.py::test_destroying_the_subject_key_makes_every_copy_unreadable",  # noqa: E501
                "tests/swap/test_depicted_withdrawal.py::"
                "test_the_depicted_withdrawal_destroys_a_key_its_erasure_left_with_nothing_to_open",
                SEM + "test_a_failed_swap_holds_nothing_under_the_key_so_deleting_the_last_"
                "capture_destroys_it",
            ),
        ),
        (
            "What withdrawal erases: at once and in one step, your face photos and templates, "
            "your liveness challenges, every swap result made from your face (kept under output "
            "storage or not; swaps waiting or running are stopped), and the data reports stored "
            "for you; then your data key.",
            "撤回后删除的内容：立即一次性删除您的面部照片和人脸模板、活体检测挑战、由您的面部生成的"
            "每一个换脸结果（无论是否依据结果保存同意保存；等待中或进行中的换脸任务随即停止），"
            "以及为您保存的数据报告；随后销毁您的数据密钥。",
            (
                CAPTURE_API + "test_withdrawing_biometric_consent_erases_captures_and_challenges",
                SEM + "test_withdrawing_enrolment_erases_every_result_made_from_the_face",
                SEM + "test_withdrawing_enrolment_stops_a_running_clip_and_keeps_nothing",
                "tests/reports/test_report.py::"
                "test_withdrawing_enrolment_erases_stored_reports_with_their_thumbnails",
            ),
        ),
        (
            "Before you withdraw, we show you exactly what will be erased.",
            "在您撤回之前，我们会准确告诉您将删除哪些内容。",
            (PREVIEW.format("biometric_enrolment"), CHECK_PAGE),
        ),
        (
            "We keep the record of your consent and of its withdrawal as proof until your "
            "account is erased.",
            "我们保留您同意及撤回同意的记录作为证明，直至您的账户被删除。",
            (
                "tests/consent/ledger/test_ledger_inventory.py::"
                "test_the_ledger_is_registered_and_erased_only_by_erasure",
                WITHDRAW_AT_ONCE,
            ),
        ),
        (
            "Your rights: this consent is separate from our terms and from every other purpose.",
            "您的权利：本同意独立于我们的服务条款和其他任何目的。",
            (
                SEPARATE,
                "tests/consent/ledger/test_ledger_portal.py::"
                "test_the_centre_shows_every_purpose_in_full_with_nothing_pre_ticked",
            ),
        ),
        (
            "You can withdraw it at any time in the consent centre or the app, and it takes "
            "effect at once.",
            "您可以随时在同意中心或应用中撤回，撤回立即生效。",
            (
                WITHDRAW_AT_ONCE,
                "tests/consent/ledger/test_ledger_portal.py::"
                "test_a_grant_and_a_withdrawal_are_one_button_each",
            ),
        ),
        (
            "You can download a report of all data we hold about you and ask for its erasure.",
            "您可以下载我们持有的关于您的全部数据报告，并要求删除。",
            (
                "tests/reports/test_report.py::"
                "test_the_report_holds_the_subjects_consents_captures_swaps_and_events_and_nothing_of_bob",  # noqa: E501
                "tests/erasure/test_erasure.py::"
                "test_after_erasure_no_store_holds_anything_and_raw_scans_find_no_trace",
            ),
        ),
        (
            "We take no licence, ownership or other right to your face or likeness.",
            "我们不取得您的面部或肖像的任何许可、所有权或其他权利。",
            Not("a legal undertaking about rights, not a behaviour of the service"),
        ),
    ],
    "face_swap": [
        (
            "Face swap — consent to use my face template for the swaps I ask for",
            "换脸——同意将我的人脸模板用于我发起的换脸",
            TITLE,
        ),
        (
            "What we do: when you ask for a swap, we decrypt your face template in memory and "
            "place your face into the template clip or picture you chose.",
            "我们做什么：当您发起换脸时，我们在内存中解密您的人脸模板，并把您的面部合成到您所选的"
            "模板视频或图片中。",
            (
                JOBS_API + "test_the_swapped_face_differs_from_the_template_inside_the_face_only",
                JOBS_API
                + "test_a_clip_is_swapped_frame_by_frame_into_a_labelled_h264_mp4_that_keeps_its_sound",  # noqa: E501
                LIFECYCLE + "test_a_clip_swap_writes_no_file_but_its_encrypted_result",
            ),
        ),
        (
            "We only do this for swaps you start yourself, with templates whose depicted person "
            "has consented to it.",
            "我们只为您本人发起、且模板中被描绘者已同意的换脸这样做。",
            (
                JOBS_API + "test_a_swap_is_refused_without_face_swap_consent_and_nothing_is_stored",
                JOBS_API + "test_another_users_capture_is_not_found_and_nothing_is_stored",
                JOBS_API + "test_a_template_whose_licence_or_depicted_consent_expired_is_refused",
                LIFECYCLE
                + "test_a_queued_job_on_a_template_whose_depicted_person_withdrew_"
                + "is_cancelled_and_never_runs",
            ),
        ),
        (
            'Labelling: every result carries a visible "AI-generated" mark and machine-readable '
            "provenance information.",
            "标识：每一个结果都带有可见的“AI 生成”标记和机器可读的来源信息。",
            (
                JOBS_API
                + "test_a_still_is_swapped_into_a_labelled_encrypted_result_with_its_job_id",
                "tests/swap/test_engines_video.py::test_every_frame_is_labelled_and_the_timestamps_are_kept",  # noqa: E501
                "tests/swap/test_label.py::test_the_png_carries_the_iptc_source_type_and_the_job_in_xmp",  # noqa: E501
            ),
        ),
        (
            "No setting removes it.",
            "任何设置都无法去除它。",
            (JOBS_API + "test_no_setting_removes_the_label",),
        ),
        (
            "How long: results are kept for 24 hours so that you can download them, then "
            'erased, unless you also grant the separate "output storage" consent.',
            "保存期限：结果保存 24 小时供您下载，之后删除，除非您另外授予“结果保存”同意。",
            (
                LIFECYCLE + "test_a_result_is_erased_by_the_sweep_after_24_hours",
                LIFECYCLE + "test_with_output_storage_a_result_is_kept_30_days",
            ),
        ),
        (
            "What withdrawal erases: swaps that are waiting or running are cancelled at once and "
            'never finished, and every result not kept under "output storage" is erased.',
            "撤回后删除的内容：等待中或进行中的换脸任务立即取消且不会完成，未依据“结果保存”同意保存的"
            "每一个结果都将被删除。",
            (
                SEM
                + "test_withdrawing_face_swap_cancels_queued_jobs_and_erases_only_unkept_results",
                LIFECYCLE
                + "test_withdrawing_face_swap_while_a_clip_runs_stops_it_and_keeps_nothing",
                LIFECYCLE + "test_a_queued_job_cancelled_by_withdrawal_never_runs_the_engine",
            ),
        ),
        (
            'Results kept under "output storage" stay until you withdraw that consent or their '
            "30 days end.",
            "依据“结果保存”同意保存的结果将保留，直至您撤回该同意或其 30 天期满。",
            (
                JOBS_API
                + "test_a_result_kept_after_face_swap_is_withdrawn_still_downloads_under_output_storage",  # noqa: E501
                SEM
                + "test_withdrawing_face_swap_cancels_queued_jobs_and_erases_only_unkept_results",
            ),
        ),
        (
            "Before you withdraw, we show you exactly what will be erased.",
            "在您撤回之前，我们会准确告诉您将删除哪些内容。",
            (PREVIEW.format("face_swap"), CHECK_PAGE),
        ),
        (
            "Your rights: this consent is separate from biometric enrolment and from our terms.",
            "您的权利：本同意独立于生物识别登记和我们的服务条款。",
            (SEPARATE,),
        ),
        (
            "You can withdraw it at any time, and it takes effect at once.",
            "您可以随时撤回，撤回立即生效。",
            (WITHDRAW_AT_ONCE,),
        ),
        (
            "Your results are yours: we take no licence to publish, share or reuse them, and we "
            "never use your face in any other content.",
            "结果归您所有：我们不取得发布、分享或再利用这些结果的任何许可，也绝不会把您的面部用于任何"
            "其他内容。",
            (JOBS_API + "test_another_user_gets_404_on_the_job_its_result_and_its_deletion",),
        ),
    ],
    "output_storage": [
        (
            "Output storage — consent to keep my swap results in my account",
            "结果保存——同意在我的账户中保存换脸结果",
            TITLE,
        ),
        (
            "What we do: we keep the results of your face swaps, encrypted with your own data "
            "key, in your account so that you can view and download them again.",
            "我们做什么：我们使用仅属于您的数据密钥加密保存您的换脸结果，方便您再次查看和下载。",
            (
                JOBS_API
                + "test_a_result_kept_after_face_swap_is_withdrawn_still_downloads_under_output_storage",  # noqa: E501
                LIFECYCLE + "test_the_subjects_own_copy_holds_each_result_decrypted",
            ),
        ),
        (
            "How long: each result made while this consent stands is kept for 30 days after it "
            "was made, then erased automatically.",
            "保存期限：在本同意有效期间生成的每个结果，自生成起保存 30 天，之后自动删除。",
            (LIFECYCLE + "test_with_output_storage_a_result_is_kept_30_days",),
        ),
        (
            "You can delete any result earlier.",
            "您也可以随时提前删除任何结果。",
            (JOBS_API + "test_deleting_a_job_deletes_its_result_file_and_row",),
        ),
        (
            "What withdrawal erases: kept results made more than 24 hours ago are erased at "
            "once; younger ones are kept until 24 hours after they were made, then erased.",
            "撤回后删除的内容：生成超过 24 小时的已保存结果立即删除；"
            "较新的结果保存至生成后 24 小时，之后删除。",
            (
                SEM + "test_withdrawing_output_storage_erases_kept_results_older_than_24_hours",
                SEM
                + "test_withdrawing_output_storage_keeps_a_young_result_until_24_hours_after_it_was_made",  # noqa: E501
                SEM
                + "test_a_result_past_its_24_hours_is_not_served_even_before_the_sweep_erases_it",
            ),
        ),
        (
            "New results are kept for 24 hours only.",
            "新的结果只保存 24 小时。",
            (SEM + "test_after_output_storage_is_withdrawn_new_results_are_kept_24_hours_only",),
        ),
        (
            "Withdrawing biometric enrolment erases every result, kept or not.",
            "撤回生物识别登记同意将删除所有结果，无论是否已保存。",
            (SEM + "test_withdrawing_enrolment_erases_every_result_made_from_the_face",),
        ),
        (
            "Before you withdraw, we show you exactly what will be erased.",
            "在您撤回之前，我们会准确告诉您将删除哪些内容。",
            (
                PREVIEW.format("output_storage"),
                "tests/swap/test_withdrawal_preview.py::"
                "test_the_preview_of_output_storage_says_young_results_stay_and_why",
            ),
        ),
        (
            "Your rights: this consent is optional and separate from every other purpose.",
            "您的权利：本同意是可选的，独立于其他任何目的。",
            (SEPARATE,),
        ),
        (
            "You can withdraw it at any time, and it takes effect at once.",
            "您可以随时撤回，撤回立即生效。",
            (WITHDRAW_AT_ONCE,),
        ),
    ],
    "ephemeral_swap": [
        (
            "Swap once without enrolling — consent to check my face in memory for one swap at "
            "a time",
            "一次性换脸（无需登记）——同意为每一次换脸在内存中检查我的人脸",
            TITLE,
        ),
        (
            "What we do: for each swap you start this way, we check the photo and the short "
            "video you send (that a live person is in front of the camera, and that it is the "
            "face in the photo) and place your face into the picture you chose, all in memory "
            "while you wait.",
            "我们做什么：对于您以这种方式发起的每一次换脸，我们检查您发送的照片和短视频（确认镜头前"
            "是真人，且就是照片中的人脸），并把您的面部合成到您所选的图片中，全部在内存中、在您等待"
            "时完成。",
            (
                EPHEMERAL
                + "test_an_ephemeral_swap_checks_in_memory_and_answers_with_the_labelled_result",
                EPHEMERAL + "test_an_ephemeral_swap_failing_liveness_is_refused_and_keeps_nothing",
                EPHEMERAL
                + "test_an_ephemeral_swap_into_a_clip_is_refused_before_the_challenge_is_spent",
            ),
        ),
        (
            "We only use templates whose depicted person has consented to it.",
            "我们只使用模板中被描绘者已同意的模板。",
            (
                EPHEMERAL
                + "test_an_ephemeral_swap_is_refused_on_a_template_without_depicted_consent",
            ),
        ),
        (
            'What we keep: only the result, labelled "AI-generated" with machine-readable '
            "provenance.",
            "我们保留的内容：只保留结果，结果带有“AI 生成”标记和机器可读的来源信息。",
            (
                EPHEMERAL
                + "test_an_ephemeral_swap_checks_in_memory_and_answers_with_the_labelled_result",
            ),
        ),
        (
            "Your photo, the video, and the landmarks and face template computed from them are "
            "destroyed as soon as the swap is made or refused: they are never written to our "
            "database, our files, a cache or a queue.",
            "您的照片、视频，以及由它们计算出的特征点和人脸模板，在换脸完成或被拒绝后立即销毁：它们"
            "绝不会写入我们的数据库、文件、缓存或队列。",
            (
                EPHEMERAL
                + "test_after_an_ephemeral_swap_no_row_file_cache_or_message_holds_the_face",
                EPHEMERAL + "test_an_ephemeral_swap_failing_liveness_is_refused_and_keeps_nothing",
            ),
        ),
        (
            "The audit log records each such swap with what was destroyed and when.",
            "审计日志记录每一次这样的换脸，以及销毁了什么、何时销毁。",
            (EPHEMERAL + "test_each_ephemeral_swap_is_audited_with_what_was_destroyed_and_when",),
        ),
        (
            "How long: the result is kept for 24 hours so that you can download or share it, "
            'then erased, unless you also grant the separate "output storage" consent (then 30 '
            "days).",
            "保存期限：结果保存 24 小时供您下载或分享，之后删除，除非您另外授予单独的“结果保存”同意"
            "（此时保存 30 天）。",
            (
                EPHEMERAL
                + "test_an_ephemeral_result_is_kept_24_hours_or_30_days_under_output_storage",
                SHARE
                + "test_a_link_lasts_24_hours_by_default_at_most_7_days_never_past_its_result",
            ),
        ),
        (
            'What withdrawal erases: every result made this way and not kept under "output '
            'storage" is erased at once, and every share link to it stops working.',
            "撤回后删除的内容：以这种方式制作、且未依据“结果保存”同意保存的每一个结果都将立即删除，"
            "指向它的每一个分享链接随即失效。",
            (
                EPHEMERAL
                + "test_withdrawing_ephemeral_swap_erases_its_results_and_their_share_links",
            ),
        ),
        (
            "Before you withdraw, we show you exactly what will be erased.",
            "在您撤回之前，我们会准确告诉您将删除哪些内容。",
            (
                EPHEMERAL
                + "test_withdrawing_ephemeral_swap_erases_its_results_and_their_share_links",
                CHECK_PAGE,
            ),
        ),
        (
            "Your rights: this consent is separate from biometric enrolment, from swaps of an "
            "enrolled face and from our terms.",
            "您的权利：本同意独立于生物识别登记、对已登记人脸的换脸以及我们的服务条款。",
            (SEPARATE, EPHEMERAL + "test_enrolment_consent_alone_does_not_allow_an_ephemeral_swap"),
        ),
        (
            "You can withdraw it at any time, and it takes effect at once.",
            "您可以随时撤回，撤回立即生效。",
            (WITHDRAW_AT_ONCE,),
        ),
    ],
}


def _current_sentences(purpose: str, language: str) -> list[str]:
    row = Purpose.objects.get(code=purpose)
    text = PolicyText.objects.get(policy_id=row.current_version_id, language=language)
    return text_sentences(text.text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("purpose", [spec.code for spec in PURPOSES])
def test_every_sentence_of_every_current_text_is_in_the_promise_table(policies, purpose, language):
    column = 0 if language == "en" else 1
    listed = [row[column] for row in PROMISES[purpose]]

    assert _current_sentences(purpose, language) == listed


@cache
def _test_names(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    )


def _proofs() -> list[str]:
    return sorted(
        {
            node
            for rows in PROMISES.values()
            for _en, _zh, proof in rows
            if not isinstance(proof, Not)
            for node in proof
        }
    )


@pytest.mark.parametrize("node", _proofs())
def test_every_named_proof_is_a_test_that_exists(node):
    path, _sep, name = node.partition("::")
    assert (ROOT / path).is_file(), f"{path} does not exist"
    assert name.split("[", 1)[0] in _test_names(path), f"{node} is not a test"


def test_every_row_has_a_proof_or_a_reason_and_titles_are_the_only_free_lines():
    for purpose, rows in PROMISES.items():
        for english, chinese, proof in rows:
            assert english and chinese, purpose
            if isinstance(proof, Not):
                assert proof.reason.strip(), english
            else:
                assert proof, english
    free = [row for rows in PROMISES.values() for row in rows if isinstance(row[2], Not)]
    assert len(free) == 6  # four titles, one absence of processing, one legal undertaking


def test_the_splitter_cuts_both_languages_deterministically():
    text = "Title line\n\nOne. Two: a, b.\nThree?\n\n四。五！六？\n"

    assert text_sentences(text) == ["Title line", "One.", "Two: a, b.", "Three?"] + [
        "四。",
        "五！",
        "六？",
    ]
