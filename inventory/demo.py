"""The demo district: Luohu's 10 streets with 83 communities and generated buildings,
hotspots, APs, devices and the plan's targets.

Street names are Luohu's real ones; community names, buildings, hotspots and devices are
generated (seeded, so every run produces the same district) and are labelled demo data
wherever they are shown. Device management addresses are on 127.0.0.0/8 on purpose: a
collector or a push pointed at the demo never sends a packet off this machine.

The rows go through the ordinary importer, so the demo is checked like any import and
seeding twice changes nothing.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from inventory.files import RawRow
from inventory.kinds import KINDS

SEED = 2014
DEMO_MARK = "demo.seeded"
DEMO_NAS = "demo-hotspot-gw"
DEMO_NAS_SECRET = "demo-radius-secret"  # noqa: S105 - demo data, printed for the user
DEMO_UAM_SECRET = "demo-uam-secret"  # noqa: S105 - the hotspot simulator's uamsecret
OWNER = ("区科技创新局", "District Science, Technology and Innovation Bureau")


def timeline(today: date | None = None) -> tuple[date, date]:
    """(start of this month, the plan's deadline: the end of next year). The demo's dates
    are laid out around the month it is seeded in, so the dashboard's trends and forecasts
    look at a live plan whenever the demo runs (and re-seeding within a month changes
    nothing)."""
    today = today or date.today()
    return date(today.year, today.month, 1), date(today.year + 1, 12, 31)

STREETS: dict[tuple[str, str], list[str]] = {
    ("桂园", "Guiyuan"): ["老围", "新围", "松园", "红围", "大塘龙", "鹿丹村", "人民桥", "宝安南"],
    ("黄贝", "Huangbei"): ["黄贝岭", "新秀", "凤凰", "罗芳", "文华", "碧波", "新谊", "怡景",
                          "金岸", "淘金山"],
    ("东门", "Dongmen"): ["东门", "湖贝", "立新", "城东", "花场", "新园", "赤水洞", "乐园"],
    ("翠竹", "Cuizhu"): ["翠竹", "水贝", "木头龙", "翠达", "翠平", "民新", "翠锦", "北斗",
                        "华丽", "翠拓"],
    ("东晓", "Dongxiao"): ["东晓", "草埔西", "独树", "兰亭", "松泉", "布心", "太白"],
    ("南湖", "Nanhu"): ["南湖", "文锦", "嘉北", "罗湖", "新南", "渔邨", "东升", "向西", "新港"],
    ("笋岗", "Sungang"): ["笋岗", "田心", "湖景", "笋西", "梨园", "宝岗", "洪湖", "东晓路"],
    ("东湖", "Donghu"): ["东湖", "大望", "金湖", "翠鹏", "梧桐山", "新平", "东乐", "综合",
                        "水库"],
    ("莲塘", "Liantang"): ["莲塘", "仙湖", "鹏兴", "长岭", "坳下", "西岭", "畔山", "径肚"],
    ("清水河", "Qingshuihe"): ["清水河", "草埔东", "玉龙", "红岗", "坭岗", "银湖"],
}

# the communities' English names (pinyin, as the district's signs write them)
COMMUNITIES_EN = {
    "老围": "Laowei", "新围": "Xinwei", "松园": "Songyuan", "红围": "Hongwei",
    "大塘龙": "Datanglong", "鹿丹村": "Ludancun", "人民桥": "Renminqiao",
    "宝安南": "Bao'annan", "黄贝岭": "Huangbeiling", "新秀": "Xinxiu", "凤凰": "Fenghuang",
    "罗芳": "Luofang", "文华": "Wenhua", "碧波": "Bibo", "新谊": "Xinyi", "怡景": "Yijing",
    "金岸": "Jin'an", "淘金山": "Taojinshan", "东门": "Dongmen", "湖贝": "Hubei",
    "立新": "Lixin", "城东": "Chengdong", "花场": "Huachang", "新园": "Xinyuan",
    "赤水洞": "Chishuidong", "乐园": "Leyuan", "翠竹": "Cuizhu", "水贝": "Shuibei",
    "木头龙": "Mutoulong", "翠达": "Cuida", "翠平": "Cuiping", "民新": "Minxin",
    "翠锦": "Cuijin", "北斗": "Beidou", "华丽": "Huali", "翠拓": "Cuituo",
    "东晓": "Dongxiao", "草埔西": "Caopuxi", "独树": "Dushu", "兰亭": "Lanting",
    "松泉": "Songquan", "布心": "Buxin", "太白": "Taibai", "南湖": "Nanhu", "文锦": "Wenjin",
    "嘉北": "Jiabei", "罗湖": "Luohu", "新南": "Xinnan", "渔邨": "Yucun", "东升": "Dongsheng",
    "向西": "Xiangxi", "新港": "Xingang", "笋岗": "Sungang", "田心": "Tianxin",
    "湖景": "Hujing", "笋西": "Sunxi", "梨园": "Liyuan", "宝岗": "Baogang", "洪湖": "Honghu",
    "东晓路": "Dongxiaolu", "东湖": "Donghu", "大望": "Dawang", "金湖": "Jinhu",
    "翠鹏": "Cuipeng", "梧桐山": "Wutongshan", "新平": "Xinping", "东乐": "Dongle",
    "综合": "Zonghe", "水库": "Shuiku", "莲塘": "Liantang", "仙湖": "Xianhu",
    "鹏兴": "Pengxing", "长岭": "Changling", "坳下": "Aoxia", "西岭": "Xiling",
    "畔山": "Panshan", "径肚": "Jingdu", "清水河": "Qingshuihe", "草埔东": "Caopudong",
    "玉龙": "Yulong", "红岗": "Honggang", "坭岗": "Nigang", "银湖": "Yinhu",
}

PLACES = ["文化广场", "公园", "党群服务中心", "图书馆", "体育中心", "地铁站口", "市民中心",
          "步行街", "社康中心", "公交总站"]
SSIDS = ["i-Shenzhen", "Luohu-Free-WiFi"]
AP_MODELS = ["Huawei AP4050DN", "H3C WA6320", "Ruijie RG-AP820"]
ACCESS_PLATFORMS = ["huawei", "hp_comware", "ruijie_os"]


def _day(rng: random.Random, start: date, end: date) -> str:
    return (start + timedelta(days=rng.randrange((end - start).days))).isoformat()


def _months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _fiber(rng: random.Random, rate: float, eligible_rate: float,
           month: date) -> dict[str, Any]:
    """Most connections are years old; a fifth came in the last two years, so each
    street has a trend; planned work is spread over the next 18 months."""
    if rng.random() > eligible_rate:
        return {"fiber_status": "not_eligible"}
    if rng.random() < rate:
        recent = rng.random() < 0.2
        start, end = ((_months(month, -24), month) if recent
                      else (_months(month, -120), _months(month, -24)))
        return {"fiber_status": "connected", "fiber_connected_on": _day(rng, start, end)}
    if rng.random() < 0.6:
        return {"fiber_status": "planned",
                "fiber_planned_on": _day(rng, month, _months(month, 18))}
    return {"fiber_status": "unconnected"}


def generate(today: date | None = None) -> dict[str, list[dict[str, Any]]]:
    """The demo district as import rows, kind by kind."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
    month, deadline = timeline(today)
    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for s_index, ((street, street_en), communities) in enumerate(STREETS.items(), start=1):
        rows["streets"].append({"name": street, "name_en": street_en})
        street_rate = rng.uniform(0.74, 0.93)
        gov_rate = rng.uniform(0.86, 0.99)
        rows["devices"].append({
            "hostname": f"{street_en.lower()}-agg-01", "host": f"127.10.{s_index}.1",
            "platform": "huawei", "role": "aggregation_switch", "site": street,
            "credential": "demo-netops"})
        for c_index, short in enumerate(communities, start=1):
            community = f"{short}社区"
            rows["communities"].append({"name": community,
                                        "name_en": f"{COMMUNITIES_EN[short]} Community",
                                        "street": street})
            lat0, lon0 = 22.53 + rng.uniform(0, 0.07), 114.10 + rng.uniform(0, 0.12)
            types = (["community_workstation"] + ["government_agency"] * rng.randint(0, 2)
                     + ["public_institution"] * rng.randint(1, 3))
            types += ["commercial" if rng.random() < 0.25 else "residential"
                      for _ in range(25 + rng.randint(0, 6) - len(types))]
            for b_index, btype in enumerate(types, start=1):
                government = btype in ("government_agency", "public_institution",
                                       "community_workstation")
                rows["buildings"].append({
                    "code": f"LH-{s_index:02d}{c_index:02d}-{b_index:03d}",
                    "name": f"{short}{b_index}号楼",
                    "address": f"深圳市罗湖区{street}街道{short}路{b_index}号",
                    "type": btype,
                    "community": community,
                    "lat": round(lat0 + rng.uniform(-0.004, 0.004), 6),
                    "lon": round(lon0 + rng.uniform(-0.004, 0.004), 6),
                    **_fiber(rng, gov_rate if government else street_rate,
                             1.0 if government else 0.94, month),
                })
            for place in rng.sample(PLACES, 4 + rng.randint(0, 1)):
                hotspot = f"{short}{place}"
                rows["hotspots"].append({
                    "name": hotspot, "community": community,
                    "location": f"{street}街道{short}社区{place}",
                    "lat": round(lat0 + rng.uniform(-0.003, 0.003), 6),
                    "lon": round(lon0 + rng.uniform(-0.003, 0.003), 6),
                    "ssids": SSIDS})
                for a_index in range(1, rng.randint(2, 4) + 1):
                    mac = "00:e0:fc:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
                    rows["access_points"].append({
                        "mac": mac, "name": f"{hotspot}-AP{a_index}",
                        "model": rng.choice(AP_MODELS), "hotspot": hotspot})
            rows["devices"].append({
                "hostname": f"{street_en.lower()}-acc-{c_index:02d}",
                "host": f"127.10.{s_index}.{10 + c_index}",
                "platform": rng.choice(ACCESS_PLATFORMS), "role": "access_switch",
                "site": community, "credential": "demo-netops"})
    _dedupe_macs(rows["access_points"])
    rows["devices"] += [
        {"hostname": "luohu-core-01", "host": "127.10.0.1", "platform": "cisco_ios",
         "role": "router", "site": "罗湖区数据中心", "credential": "demo-netops"},
        {"hostname": "luohu-core-02", "host": "127.10.0.2", "platform": "cisco_ios",
         "role": "router", "site": "罗湖区灾备中心", "credential": "demo-netops"},
        {"hostname": "luohu-wlc-01", "host": "127.10.0.3", "platform": "huawei",
         "role": "wifi_controller", "site": "罗湖区数据中心", "credential": "demo-netops"},
    ]
    rows["credentials"].append({"name": "demo-netops", "username": "netops",
                                "password": "demo-device-password"})
    rows["nas"].append({"name": DEMO_NAS, "address": "127.0.0.1", "secret": DEMO_NAS_SECRET,
                        "vendor": "coovachilli", "policy": "default",
                        "uam_secret": DEMO_UAM_SECRET,
                        "hotspots": [h["name"] for h in rows["hotspots"][:3]]})
    rows["targets"] = [
        {"metric": "fiber_coverage_eligible", "scope": "district", "target": 90},
        {"metric": "fiber_coverage_government", "scope": "district", "target": 100},
        {"metric": "fiber_coverage_government", "scope": "building_type:government_agency",
         "target": 100},
        {"metric": "fiber_coverage_government", "scope": "building_type:public_institution",
         "target": 100},
        {"metric": "fiber_coverage_government",
         "scope": "building_type:community_workstation", "target": 100},
        {"metric": "hotspots_per_community", "scope": "district", "target": 4},
    ]
    for target in rows["targets"]:
        target.update(deadline=deadline.isoformat(), owner=OWNER[0], owner_en=OWNER[1])
    return rows


def _dedupe_macs(aps: list[dict[str, Any]]) -> None:
    """Random MAC suffixes can collide; bump the last octet until unique."""
    seen: set[str] = set()
    for ap in aps:
        while ap["mac"] in seen:
            head, last = ap["mac"].rsplit(":", 1)
            ap["mac"] = f"{head}:{(int(last, 16) + 1) % 256:02x}"
        seen.add(ap["mac"])


def raw_rows() -> list[RawRow]:
    return [RawRow("demo", index, KINDS[kind], row)
            for kind, rows in generate().items()
            for index, row in enumerate(rows, start=1)]

