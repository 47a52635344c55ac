"""Reads with logic for identity: who is behind a number, a token, a request."""

from __future__ import annotations

import hashlib
from functools import cache

import phonenumbers
from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac
from phonenumbers.geodata.locale import LOCALE_DATA

from consent.identity.models import ApiToken, ErasedNumber, User

_MAX_TOKEN_KEY_LENGTH = 128


def keyed_digest(purpose: str, value: str) -> str:
    """HMAC-SHA256 (keyed by SECRET_KEY) of ``value``: a stable key that is not the value.

    Used wherever a phone number, address or prefix must be found again without being
    stored. Each ``purpose`` gets its own key, so digests cannot be matched across tables.
    """
    return salted_hmac(f"faceledger.consent.{purpose}", value, algorithm="sha256").hexdigest()


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_digest(number: phonenumbers.PhoneNumber) -> str:
    return keyed_digest("phone", e164(number))


def subject_phone_digest(subject_id: int) -> str | None:
    """The keyed digest of the subject's number, by which the sign-in stores find its rows:
    from the account row, or, once an unfinished erasure deleted it, from the digest that
    erasure keeps until it completes (``ErasedNumber``). None: no such subject."""
    phone = User.objects.filter(pk=subject_id).values_list("phone_number", flat=True).first()
    if phone:
        return phone_digest(phonenumbers.parse(str(phone), None))
    return (
        ErasedNumber.objects.filter(subject_ref=subject_id)
        .values_list("phone_digest", flat=True)
        .first()
    )


def user_for_number(number: phonenumbers.PhoneNumber) -> User | None:
    return User.objects.filter(phone_number=e164(number)).first()


def token_digest(key: str) -> str:
    # The key holds 256 random bits, so a plain SHA-256 cannot be reversed by guessing.
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_for_key(key: str) -> ApiToken | None:
    """The live token for ``key`` (unexpired, active user), or None."""
    if not key or len(key) > _MAX_TOKEN_KEY_LENGTH:
        return None
    token_sql, user_sql = _token_sql()
    tokens = list(ApiToken.objects.raw(token_sql, [token_digest(key), timezone.now()]))
    if not tokens:
        return None
    users = list(User.objects.raw(user_sql, [tokens[0].user_id]))
    if not users:
        return None
    tokens[0].user = users[0]
    return tokens[0]


@cache
def _token_sql() -> tuple[str, str]:
    """The live token by its digest, then its active user. Written out rather than built by
    the ORM on each call: this runs on every API request, and building the join cost more
    than the database needs to answer it (``load.consent_list_ratio``)."""
    token, user = ApiToken._meta.db_table, User._meta.db_table
    return (
        f"SELECT * FROM {token} WHERE key_digest = %s AND expires_at > %s LIMIT 1",  # noqa: S608
        f"SELECT * FROM {user} WHERE id = %s AND is_active",  # noqa: S608
    )


def prefix_limit_key(number: phonenumbers.PhoneNumber) -> str:
    """Country code + the first ``OTP_SEND_PREFIX_DIGITS`` national digits: SMS-pumping fraud
    walks through consecutive numbers of one range, which this groups together."""
    national = phonenumbers.national_significant_number(number)
    return f"{number.country_code}:{national[: settings.OTP_SEND_PREFIX_DIGITS]}"


def phone_display(phone) -> str:
    """The number as the person typed it, formatted for their own pages."""
    try:
        number = phonenumbers.parse(str(phone), None)
    except phonenumbers.NumberParseException:
        return str(phone)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def masked_phone(phone) -> str:
    """``+44 •••••••456``: enough for staff to tell accounts apart in a list, no more."""
    text = str(phone or "")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return "•" * 6
    national = phonenumbers.national_significant_number(number)
    return f"+{number.country_code} {'•' * max(len(national) - 3, 2)}{national[-3:]}"


# The country a national number is read in when the person has not chosen one: the one whose
# numbers the page's language most likely means.
_REGION_FOR_LANGUAGE = {"zh-hans": "CN", "en": "GB"}


def phone_region_for_language(language: str | None) -> str:
    return _REGION_FOR_LANGUAGE.get((language or "").lower(), _REGION_FOR_LANGUAGE["en"])


@cache
def phone_region_choices(language: str) -> list[tuple[str, str]]:
    """Every region with a numbering plan as ``(code, "China (+86)")``, named in ``language``
    (the bare code where no name is known in it), sorted by name."""
    lang = language.split("-")[0].lower()
    choices = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        name = _region_name(region, lang) or region
        calling_code = phonenumbers.country_code_for_region(region)
        choices.append((region, f"{name} (+{calling_code})"))
    return sorted(choices, key=lambda choice: choice[1])


# Regions with a numbering plan that the phone library's names leave out.
_REGION_NAMES_MISSING = {
    "en": {"AC": "Ascension Island", "TA": "Tristan da Cunha", "XK": "Kosovo"},
    "zh": {"AC": "阿森松岛", "TA": "特里斯坦-达库尼亚", "WS": "萨摩亚", "XK": "科索沃"},
}


def _region_name(region: str, lang: str) -> str:
    if region in _REGION_NAMES_MISSING.get(lang, {}):
        return _REGION_NAMES_MISSING[lang][region]
    names = LOCALE_DATA.get(region, {})
    name = names.get(lang, "")
    if name.startswith("*"):  # the name is held under another language's entry
        name = names.get(name[1:], "")
    return "" if name.startswith("*") else name
