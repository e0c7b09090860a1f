"""Generate realistic roster files (CSV) for the demo content and for benchmarks.

python bench/rostergen.py 300 content/demo/members.csv
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强海燕文斌晓东红梅玉兰国庆"
    "鹏辉宇浩然子轩思远欣怡雨涵梓萱俊杰文博晨阳佳琪嘉怡一鸣振华立新卫东春生秋菊冬梅晓燕海波云飞"
)
# Characters outside GB2312 (and one outside the BMP) that real rosters contain.
RARE = ("喆", "堃", "昇", "玥", "𠮷", "珺", "琦", "赟", "彧", "燊")
DEPARTMENTS = {
    "发电一部": ["发电一部第一党支部", "发电一部第二党支部", "发电一部第三党支部"],
    "发电二部": ["发电二部第一党支部", "发电二部第二党支部", "发电二部第三党支部"],
    "控制部": ["控制部热控党支部", "控制部电气党支部", "控制部化学党支部"],
    "综合事务部": ["综合事务部机关党支部", "综合事务部后勤党支部", "综合事务部离退休党支部"],
}
ROTA = ["一值", "二值", "三值", "四值", "五值"]
CATEGORIES = [
    ("中层党员干部", 7),
    ("党务工作者", 5),
    ("党员", 55),
    ("预备党员", 8),
    ("入党积极分子", 10),
    ("团员", 9),
    ("优秀青年代表", 6),
]
# Always present, so every demo shows names that need more than GB2312.
FIXED_NAMES = {20: "王𠮷祥", 21: "李喆", 22: "陈堃", 23: "赵昇", 24: "孙玥"}
HEADER = ["工号", "姓名", "性别", "部门", "党支部", "班组", "类别", "入党日期", "在册"]


def _name(rng: random.Random) -> str:
    surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.02 else rng.choice(SURNAMES)
    if rng.random() < 0.06:
        given = rng.choice(RARE) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")
    elif rng.random() < 0.3:
        given = rng.choice(GIVEN)
    else:
        given = rng.choice(GIVEN) + rng.choice(GIVEN)
    return surname + given


def generate(count: int, seed: int = 2026, first_staff_no: int = 100001) -> list[list[str]]:
    rng = random.Random(seed)
    categories = [name for name, _weight in CATEGORIES]
    weights = [weight for _name, weight in CATEGORIES]
    departments = list(DEPARTMENTS)
    rows = []
    for index in range(count):
        staff_no = str(first_staff_no + index)
        department = departments[index % len(departments)]
        branch = DEPARTMENTS[department][(index // len(departments)) % 3]
        if department == "综合事务部" or (department == "控制部" and rng.random() < 0.4):
            shift = "常白班"
        else:
            shift = rng.choice(ROTA)
        # The first twelve are the branch secretaries: cadres by definition.
        category = "中层党员干部" if index < 12 else rng.choices(categories, weights)[0]
        joined = ""
        if category in {"中层党员干部", "党务工作者", "党员"}:
            joined = (date(1985, 7, 1) + timedelta(days=rng.randrange(365 * 38))).isoformat()
        elif category == "预备党员":
            joined = (date(2025, 12, 1) + timedelta(days=rng.randrange(300))).isoformat()
        name = _name(rng)
        if index in FIXED_NAMES:
            name = FIXED_NAMES[index]
        rows.append(
            [
                staff_no,
                name,
                rng.choice("男男女"),
                department,
                branch,
                shift,
                category,
                joined,
                "是",
            ]
        )
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


if __name__ == "__main__":
    write_csv(Path(sys.argv[2]), generate(int(sys.argv[1])))
