"""Places as the dashboard names them: the inventory's English names on English pages,
the Chinese name where none is set."""

import pytest

from monitoring.labels import scope_label

ENGLISH = {"street:笋岗": "Sungang", "street:东门": "Dongmen Subdistrict",
           "community:湖景社区": "Hujing Community"}


@pytest.mark.parametrize(("scope", "lang", "shown"), [
    ("street:笋岗", "en", "Sungang street"),
    ("street:东门", "en", "Dongmen Subdistrict"),  # it already says what it is
    ("street:桂园", "en", "桂园 street"),  # no English name: the Chinese one
    ("community:湖景社区", "en", "Hujing Community"),
    ("community:田心社区", "en", "田心社区"),
    ("street:笋岗", "zh-CN", "笋岗街道"),
    ("community:湖景社区", "zh-CN", "湖景社区"),
    ("district", "en", "the district"),
    ("building_type:community_workstation", "zh-CN", "社区工作站"),
])
def test_places_by_their_names_in_the_pages_language(scope: str, lang: str,
                                                     shown: str) -> None:
    assert scope_label(scope, lang, ENGLISH) == shown
