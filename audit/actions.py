"""Every kind of audit event, numbered in ranges per app (as Zulip's AuditLogEventType).

Numbers are stored in the log and so are part of its meaning: never renumber, only add.
"""

from enum import IntEnum


class AuditAction(IntEnum):
    # 100–199: the audit log itself
    AUDIT_EXPORTED = 101
    AUDIT_CHECKPOINT_ISSUED = 102
    AUDIT_VERIFIED = 103

    # 200–299: identity (consent app: sign-in, accounts, staff)
    OTP_REQUESTED = 201
    OTP_SEND_REFUSED = 202
    OTP_SEND_FAILED = 203
    OTP_VERIFIED = 204
    OTP_FAILED = 205
    OTP_LOCKED_OUT = 206
    SUBJECT_CREATED = 207
    LOGIN = 208
    LOGOUT = 209
    STAFF_CREATED = 210
    STAFF_LOGIN = 211
    STAFF_VIEWED_SUBJECT = 212
    STAFF_PASSWORD_RESET = 213
    IDENTITY_PRUNED = 214
    # 230–239: what staff learn about people in the admin
    STAFF_SEARCHED_SUBJECTS = 230
    STAFF_REVEALED_PHONE_NUMBER = 231

    # 300–399: consent ledger
    CONSENT_GRANTED = 301
    CONSENT_WITHDRAWN = 302
    POLICY_PUBLISHED = 303
    ASSESSMENT_PUBLISHED = 305
    MINOR_DECLARED = 304
    AGE_STATED = 310
    # 400–499: biometrics
    LIVENESS_CHALLENGE_ISSUED = 401
    LIVENESS_CHALLENGE_USED = 402
    CAPTURE_CREATED = 403
    CAPTURE_REFUSED = 404
    CAPTURE_DELETED = 405
    CAPTURE_USED = 406
    SUBJECT_KEY_CREATED = 407
    MASTER_KEY_ROTATED = 408
    MASTER_KEY_CREATED = 409
    MASTER_KEY_RETIRED = 410
    MASTER_KEY_DESTROYED = 411
    SUBJECT_KEY_DESTROYED = 412
    # 500–599: swap (templates and their records, by staff; jobs and results, by subjects)
    SWAP_TEMPLATE_ADDED = 501
    SWAP_TEMPLATE_LICENCE_RECORDED = 502
    SWAP_TEMPLATE_CONSENT_RECORDED = 503
    SWAP_TEMPLATE_CONSENT_WITHDRAWN = 504
    # A withdrawal secret refused on the public page or API (wrong, used, or rate-limited).
    SWAP_DEPICTED_WITHDRAWAL_REFUSED = 505
    # A new withdrawal secret issued for a depicted person's consent (the old one stops working).
    SWAP_TEMPLATE_CONSENT_SECRET_ISSUED = 506
    # A depicted person's withdrawal that reached staff (letter, email, call), logged with when it
    # arrived: its one-month deadline runs from then; the withdrawal event closes it.
    SWAP_DEPICTED_WITHDRAWAL_REQUEST_LOGGED = 507
    SWAP_JOB_REQUESTED = 510
    SWAP_JOB_STARTED = 511
    SWAP_JOB_DONE = 512
    SWAP_JOB_FAILED = 513
    SWAP_JOB_CANCELLED = 514
    SWAP_JOB_RETRIED = 515
    SWAP_RESULT_DOWNLOADED = 520
    SWAP_RESULT_DELETED = 521
    # A result erased because the depicted person withdrew, with the notice left to its owner.
    SWAP_RESULT_ERASED = 522
    # Someone asked the public "was this made here?" check; the answer only, nobody's data.
    SWAP_MARK_CHECKED = 530
    # A "was this made here?" check refused (too many from one network); nothing about the caller.
    SWAP_MARK_CHECK_REFUSED = 531
    # A swap without enrolment (ephemeral_swap): made in the request from a photo and a video
    # checked in memory; the event says what was destroyed and when. Refused: nothing kept.
    SWAP_EPHEMERAL_DONE = 540
    SWAP_EPHEMERAL_REFUSED = 541
    # Share links to a result: made, revoked by their owner, viewed (never the viewer's
    # address), refused (an unknown, expired, used-up or revoked token, or too many views).
    SWAP_SHARE_LINK_CREATED = 550
    SWAP_SHARE_LINK_REVOKED = 551
    SWAP_SHARE_LINK_VIEWED = 552
    SWAP_SHARE_LINK_REFUSED = 553
    # 600–699: data-subject requests and erasure
    ERASURE_REQUESTED = 601
    ERASURE_STORE_ERASED = 602
    ERASURE_COMPLETED = 603
    RETENTION_SWEPT = 604
    # 640–649: the service's wind-down (closing mode, erasure of everyone, the signed report)
    WIND_DOWN_STARTED = 640
    WIND_DOWN_ERASURE_STARTED = 641
    WIND_DOWN_STORE_ERASED = 642
    WIND_DOWN_ERASED = 643
    WIND_DOWN_REPORTED = 644
    # 700–799: reports and exports (access, portability, certificates, the auditor's bundle)
    REPORT_GENERATED = 701
    REPORT_REQUESTED = 702
    REPORT_DOWNLOADED = 703
    REPORT_FAILED = 704
    DATA_EXPORTED = 705
    ERASURE_CERTIFICATE_ISSUED = 706
    AUDITOR_EXPORTED = 710
