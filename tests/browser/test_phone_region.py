"""A Chinese reader signs in typing their number the Chinese way: the country picker starts at
China (+86) on the Chinese page, and the account is the number's E.164 form."""

from __future__ import annotations

import pytest

from consent.identity.models import User
from tests.browser import flows

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]


@pytest.mark.parametrize("viewport", ["phone390", "desktop"])
def test_a_chinese_reader_signs_in_with_a_national_number(open_portal, viewport):
    portal = open_portal(viewport=viewport, language="zh-hans")
    portal.goto("/login/")
    portal.choose_language()
    picker = portal.page.locator("#id_region")
    assert picker.input_value() == "CN"
    assert picker.locator("option:checked").inner_text() == "中国 (+86)"
    assert portal.page.locator("label[for=id_region]").inner_text() == "国家/地区代码"

    flows.sign_in(portal, phone="13800138000")

    assert list(User.objects.values_list("phone_number", flat=True)) == ["+8613800138000"]
    assert "+86 138 0013 8000" in portal.text()
