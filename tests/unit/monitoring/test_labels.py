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
    ("building_type:community_workstation", "en", "community workstations"),
    ("street:笋岗", "zh-Hant", "笋岗街道"),
    ("district", "zh-Hant", "全區"),
    ("building_type:government_agency", "zh-Hant", "政府機關"),
])
def test_places_by_their_names_in_the_pages_language(scope: str, lang: str,
                                                     shown: str) -> None:
    assert scope_label(scope, lang, ENGLISH) == shown


def test_a_shortfall_is_said_in_the_language_asked_for() -> None:
    """From the catalogs, with no page: the CLI's --lang, the API's English."""
    from inventory.choices import TargetMetric
    from monitoring.labels import metric_label, say
    from monitoring.targets import SHORTFALLS

    msgid = SHORTFALLS[TargetMetric.FIBER_GOVERNMENT]
    said = {lang: say(msgid, lang, count=14, place=scope_label("street:笋岗", lang, ENGLISH))
            for lang in ("en", "zh-CN", "zh-Hant")}
    assert said == {"en": "14 more government buildings to connect in Sungang street",
                    "zh-CN": "笋岗街道还有 14 栋政务楼宇待接入光纤",
                    "zh-Hant": "笋岗街道尚有 14 幢政府樓宇待接駁光纖"}
    assert metric_label(TargetMetric.AP_AVAILABILITY, "zh-Hant") == "AP 在線率"
