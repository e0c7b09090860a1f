"""Question files: GIFT, Aiken and the Excel sheet parse exactly, locate every error, round-trip."""

from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from lms.quizzes.formats.aiken import parse_aiken
from lms.quizzes.formats.gift import dump_gift, parse_gift
from lms.quizzes.formats.parsing import MAX_QUESTIONS
from lms.quizzes.formats.sheet import (
    SHEET_HEADER,
    TEMPLATE_EXAMPLES,
    question_sheet,
    read_question_sheet,
    template_sheet,
)
from lms.quizzes.questions import QuestionData, QuestionType, validate_question

SINGLE, MULTIPLE = QuestionType.SINGLE, QuestionType.MULTIPLE
TRUE_FALSE, FILL_BLANK = QuestionType.TRUE_FALSE, QuestionType.FILL_BLANK


def one(result):
    assert result.errors == []
    assert len(result.questions) == 1
    return result.questions[0]


# --- GIFT ------------------------------------------------------------------------------------
def test_gift_single_choice_with_every_attribute():
    text = """// a plain comment is ignored
$CATEGORY: 党章/总纲

// [tag:党章]
// [tag:理想信念] [source:《中国共产党章程》总纲]
// [difficulty:1]
::DZ-001::中国共产党的最高理想和最终目标是（　　）。{
    =实现共产主义
    ~全面建成小康社会
    ~实现社会主义现代化
    ####见党章总纲第一段。
}
"""
    assert one(parse_gift(text)) == QuestionData(
        type=SINGLE,
        stem="中国共产党的最高理想和最终目标是（　　）。",
        options=["实现共产主义", "全面建成小康社会", "实现社会主义现代化"],
        correct=[0],
        explanation="见党章总纲第一段。",
        source="《中国共产党章程》总纲",
        difficulty=1,
        tags=["党章", "理想信念"],
        category="党章/总纲",
        ref="DZ-001",
    )


def test_gift_multiple_choice_takes_the_positive_weights():
    text = "下列属于党的思想路线的有：{~%50%实事求是 ~%-100%照搬照抄 ~%50%一切从实际出发}"
    assert one(parse_gift(text)) == QuestionData(
        type=MULTIPLE,
        stem="下列属于党的思想路线的有：",
        options=["实事求是", "照搬照抄", "一切从实际出发"],
        correct=[0, 2],
    )


@pytest.mark.parametrize(
    ("answer", "correct"),
    [("T", [0]), ("TRUE", [0]), ("F", [1]), ("FALSE", [1]), ("true", [0])],
)
def test_gift_true_false(answer, correct):
    q = one(parse_gift(f"党的全国代表大会每五年举行一次。{{{answer}}}"))
    assert q == QuestionData(
        type=TRUE_FALSE, stem="党的全国代表大会每五年举行一次。", correct=correct
    )


def test_gift_short_answer_becomes_a_blank_where_the_block_stands():
    text = "中国共产党成立于 {=1921 =1921年} 年。"
    assert one(parse_gift(text)) == QuestionData(
        type=FILL_BLANK, stem="中国共产党成立于 ____ 年。", blanks=[["1921", "1921年"]]
    )
    # At the end of the text the blank ends the stem.
    q = one(parse_gift("党的最高理想是实现{=共产主义}"))
    assert (q.stem, q.blanks) == ("党的最高理想是实现____", [["共产主义"]])


def test_gift_several_blocks_are_several_blanks():
    text = (
        "中国共产党是中国{=工人阶级}的先锋队，"
        "同时是{=中国人民}和{=中华民族 =中华民族####总纲}的先锋队。"
    )
    assert one(parse_gift(text)) == QuestionData(
        type=FILL_BLANK,
        stem="中国共产党是中国____的先锋队，同时是____和____的先锋队。",
        blanks=[["工人阶级"], ["中国人民"], ["中华民族", "中华民族"]],
        explanation="总纲",
    )


def test_gift_choice_block_with_text_after_it_is_a_missing_word():
    q = one(parse_gift("党的{~二十 =十九 ~十八}大修改了党章。"))
    assert (q.type, q.stem, q.correct) == (SINGLE, "党的____大修改了党章。", [1])


def test_gift_escapes():
    text = r"::a\:b::1\+1\=2\? \{x\} \#1 \~ C\:\\d\nnext line{=是\=对 ~否\}}"
    assert one(parse_gift(text)) == QuestionData(
        type=SINGLE,
        stem="1\\+1=2\\? {x} #1 ~ C:\\d\nnext line",
        options=["是=对", "否}"],
        correct=[0],
        ref="a:b",
    )


def test_gift_category_lines_and_moodle_prefix():
    text = """$CATEGORY: $course$/top/党章/总纲

甲{T}

$CATEGORY: 党史 / 新民主主义革命时期
乙{F}
"""
    result = parse_gift(text)
    assert result.errors == []
    assert [q.category for q in result.questions] == ["党章/总纲", "党史/新民主主义革命时期"]


def test_gift_plain_and_moodle_format_markers_are_dropped():
    result = parse_gift("::x::[moodle]甲{T}\n\n[plain]乙{F}")
    assert [q.stem for q in result.questions] == ["甲", "乙"]


def test_gift_directives_in_a_block_of_their_own_belong_to_the_next_question():
    result = parse_gift("// [tag:a]\n\n甲{T}\n\n乙{T}")
    assert [q.tags for q in result.questions] == [["a"], []]


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("圆周率约等于多少？{#3.14:0.01}", "数值题"),
        ("配对：{=党章 -> 根本大法 =准则 -> 规范}", "匹配题"),
        ("谈谈你的学习体会。{}", "问答题"),
        ("党的宗旨是？{=全心全意为人民服务#很好 ~升官发财}", "单个答案的反馈"),
        ("判断。{T#答错了#答对了}", "单个答案的反馈"),
        ("[html]<b>党章</b>{T}", "[html]"),
        ("[markdown]**党章**{T}", "[markdown]"),
        ("部分得分{=%50%甲 =乙}", "部分得分"),
        ("部分得分{=甲 ~%50%乙 ~丙}", "部分得分"),
        ("没有答案部分。", "缺少答案部分"),
        ("不成对的括号{=甲", "}"),
        ("混合{=甲 ~乙}和{=丙}", "只有填空题"),
    ],
)
def test_gift_unsupported_features_are_named_at_their_line(question, named):
    result = parse_gift(f"甲{{T}}\n\n// comment\n{question}\n")
    assert [q.stem for q in result.questions] == ["甲"]
    assert len(result.errors) == 1
    assert result.errors[0].startswith("第 4 行：")
    assert named in result.errors[0]


def test_gift_reports_every_bad_question_with_its_line():
    text = """// 1
好题一{T}

坏题一{#1}

好题二
（两行题干）{=甲 ~乙}


// 10
坏题二{=甲 ~乙 =丙}
"""
    result = parse_gift(text)
    assert [q.stem for q in result.questions] == ["好题一", "好题二\n（两行题干）"]
    assert len(result.errors) == 2
    assert result.errors[0].startswith("第 4 行：") and "数值题" in result.errors[0]
    assert result.errors[1] == "第 11 行：单选题须有且只有一个正确答案。"
    assert not result.ok


def test_gift_duplicate_ref_names_both_lines():
    result = parse_gift("::X1::甲{T}\n\n::X2::乙{T}\n\n::X1::丙{F}\n")
    assert result.errors == ["第 5 行：编号“X1”与第 1 行的题目重复。"]


def test_gift_bad_difficulty_is_located_at_its_comment():
    result = parse_gift("甲{T}\n\n// [difficulty:难]\n乙{T}\n\n// [difficulty:5]\n丙{T}\n")
    assert result.errors == [
        "第 3 行：难度须为 1、2 或 3。",
        "第 7 行：难度须为 1、2 或 3。",
    ]


@pytest.mark.parametrize("text", ["", "\n\n  \n", "// only a comment\n", "$CATEGORY: a\n"])
def test_gift_without_questions_is_refused(text):
    result = parse_gift(text)
    assert result.questions == [] and result.errors == ["文件中没有题目。"]


def test_gift_with_too_many_questions_is_refused():
    result = parse_gift("甲{T}\n\n" * (MAX_QUESTIONS + 1))
    assert result.questions == []
    assert result.errors == ["文件中的题目超过 5000 道，请分批导入。"]
    assert parse_gift("甲{T}\n\n" * MAX_QUESTIONS).ok


def test_dump_gift_writes_moodle_style_weights_and_escapes():
    questions = [
        QuestionData(
            type=MULTIPLE,
            stem="选出{正确}的：",
            options=["甲", "乙", "丙", "丁"],
            correct=[0, 1, 3],
            category="党章/总纲",
        ),
        QuestionData(
            type=SINGLE, stem="单选", options=["=1", "%50%x"], correct=[1], category="党章/总纲"
        ),
    ]
    assert dump_gift(questions) == (
        "$CATEGORY: 党章/总纲\n\n"
        "选出\\{正确\\}的：{\n\t~%33.33333%甲\n\t~%33.33333%乙\n\t~%-100%丙\n\t~%33.33333%丁\n}"
        "\n\n"
        "单选{\n\t~\\=1\n\t=%100%%50%x\n}\n"
    )
    assert parse_gift(dump_gift(questions)).questions == questions


# --- Aiken -----------------------------------------------------------------------------------
def test_aiken_good_file():
    text = """中国共产党的最高理想和最终目标是（　　）。
A. 实现共产主义
B. 全面建成小康社会
C) 实现社会主义现代化
ANSWER: A

党的最高领导机关是
A) 党的全国代表大会和它所产生的中央委员会
B) 中央政治局
answer: b
"""
    result = parse_aiken(text)
    assert result.errors == []
    assert result.questions == [
        QuestionData(
            type=SINGLE,
            stem="中国共产党的最高理想和最终目标是（　　）。",
            options=["实现共产主义", "全面建成小康社会", "实现社会主义现代化"],
            correct=[0],
        ),
        QuestionData(
            type=SINGLE,
            stem="党的最高领导机关是",
            options=["党的全国代表大会和它所产生的中央委员会", "中央政治局"],
            correct=[1],
        ),
    ]


def test_aiken_errors_are_located_at_their_question():
    text = """好题
A. 甲
B. 乙
ANSWER: B

缺答案
A. 甲
B. 乙

答案不在选项中
A. 甲
B. 乙
ANSWER: D

只有一个选项
A. 甲
ANSWER: A
"""
    result = parse_aiken(text)
    assert [q.stem for q in result.questions] == ["好题"]
    assert result.errors == [
        "第 6 行：缺少 ANSWER 行（如 ANSWER: B）。",
        "第 10 行：答案 D 不在选项中。",
        "第 15 行：至少需要两个选项。",
    ]


def test_aiken_missing_answer_at_the_end_of_the_file():
    result = parse_aiken("题\nA. 甲\nB. 乙")
    assert result.errors == ["第 1 行：缺少 ANSWER 行（如 ANSWER: B）。"]


def test_aiken_is_single_choice_only():
    result = parse_aiken("题\nA. 甲\nB. 乙\nANSWER: AB\n")
    assert len(result.errors) == 1 and result.errors[0].startswith("第 1 行：ANSWER")


def test_aiken_empty_file_is_refused():
    assert parse_aiken("\n \n").errors == ["文件中没有题目。"]


# --- Excel -----------------------------------------------------------------------------------
def sheet(rows, header=SHEET_HEADER) -> BytesIO:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.append(list(header))
    for row in rows:
        worksheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def row(**cells) -> list:
    """A sheet row from column names (选项A written as A=…)."""
    values = {f"选项{k}" if len(k) == 1 else k: v for k, v in cells.items()}
    return [values.get(name) for name in SHEET_HEADER]


def test_template_parses_to_its_examples():
    data = template_sheet()
    workbook = load_workbook(BytesIO(data), read_only=True)
    assert workbook.sheetnames == ["题目", "填写说明"]
    result = read_question_sheet(BytesIO(data))
    assert result.errors == []
    assert result.questions == TEMPLATE_EXAMPLES
    assert [q.type for q in TEMPLATE_EXAMPLES] == [SINGLE, TRUE_FALSE, FILL_BLANK]


def test_sheet_reads_every_type_and_coerces_cells():
    rows = [
        row(
            编号=1001,
            题型="多选",
            分类="党章 / 总纲",
            题干="选出正确的",
            A="甲",
            B="乙",
            C="丙",
            答案="a, c",
            难度=3.0,
            标签="党章，纪律、作风,廉政",
            互斥组=" 党章-理想 ",
        ),
        [None] * len(SHEET_HEADER),
        row(题型="判断题", 题干="对吗", 答案="错", 解析="因为", 出处="《准则》"),
        row(题型="fill_blank", 题干="____年成立于____", 答案="1921| 上海 /上海市"),
        row(题型="填空", 题干="成立于____年", 答案=1921),
    ]
    result = read_question_sheet(sheet(rows))
    assert result.errors == []
    assert result.questions == [
        QuestionData(
            type=MULTIPLE,
            stem="选出正确的",
            options=["甲", "乙", "丙"],
            correct=[0, 2],
            difficulty=3,
            tags=["党章", "纪律", "作风", "廉政"],
            category="党章/总纲",
            ref="1001",
            exclusive_group="党章-理想",
        ),
        QuestionData(
            type=TRUE_FALSE,
            stem="对吗",
            correct=[1],
            explanation="因为",
            source="《准则》",
            exclusive_group="",
        ),
        QuestionData(
            type=FILL_BLANK,
            stem="____年成立于____",
            blanks=[["1921"], ["上海", "上海市"]],
            exclusive_group="",
        ),
        QuestionData(type=FILL_BLANK, stem="成立于____年", blanks=[["1921"]], exclusive_group=""),
    ]


def test_a_sheet_without_the_group_column_leaves_groups_alone():
    header = ["编号", "题型", "题干", "答案"]
    q = one(read_question_sheet(sheet([["G1", "判断", "甲", "对"]], header=header)))
    assert q.exclusive_group is None


def test_sheet_reports_every_bad_row_at_once():
    rows = [
        row(题型="单选", 题干="好题", A="甲", B="乙", 答案="B"),  # row 2
        row(题型="问答", 题干="题型不对", 答案="随便"),  # row 3
        row(题型="单选", 题干="答案超出选项", A="甲", B="乙", 答案="C"),  # row 4
        row(题型="判断", 题干="难度不对", 答案="对", 难度=5),  # row 5
        row(题型="判断", 答案="对"),  # row 6
        row(题型="判断", 题干="判断答案不对", 答案="也许"),  # row 7
        row(题型="填空", 题干="空答案____", 答案="甲//乙"),  # row 8
        row(编号="X", 题型="判断", 题干="甲", 答案="T"),  # row 9
        row(编号="X", 题型="判断", 题干="乙", 答案="F"),  # row 10
    ]
    result = read_question_sheet(sheet(rows))
    assert [q.stem for q in result.questions] == ["好题", "甲"]
    assert result.errors == [
        "第 3 行：题型应为 单选、多选、判断 或 填空，而不是“问答”。",
        "第 4 行：答案指向了不存在的选项。",
        "第 5 行：难度须为 1、2 或 3。",
        "第 6 行：题干不能为空。",
        "第 7 行：判断题的答案应为“正确”或“错误”，而不是“也许”。",
        "第 8 行：填空题的可接受答案不能为空白。",
        "第 10 行：编号“X”与第 9 行的题目重复。",
    ]


def test_sheet_with_unknown_and_missing_columns_is_refused():
    header = ["编号", "题型", "题目", "选项A", "备注", "答案"]
    result = read_question_sheet(sheet([["1", "判断", "甲", None, None, "对"]], header=header))
    assert result.questions == []
    assert result.errors == ["第 1 行：未知的列：题目、备注。", "第 1 行：缺少必填列：题干。"]


def test_sheet_columns_may_come_in_any_order():
    header = ["答案", "题干", "题型"]
    q = one(read_question_sheet(sheet([["正确", "甲", "判断"]], header=header)))
    assert (q.type, q.stem, q.correct) == (TRUE_FALSE, "甲", [0])


def test_sheet_without_rows_or_not_xlsx_is_refused():
    assert read_question_sheet(sheet([])).errors == ["文件中没有题目。"]
    errors = read_question_sheet(BytesIO(b"not a workbook")).errors
    assert len(errors) == 1 and ".xlsx" in errors[0]


def test_sheet_with_too_many_questions_is_refused():
    rows = [row(题型="判断", 题干=f"题{i}", 答案="对") for i in range(MAX_QUESTIONS + 1)]
    assert read_question_sheet(sheet(rows)).errors == [
        "文件超过 5000 行（空行也计算在内），请分批导入。"
    ]


# --- round trips -----------------------------------------------------------------------------
# Control and format characters are refused in any question (line breaks only in the stem and
# the explanation), so valid questions hold none.
GIFT_CHARS = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs")),
    st.sampled_from(list("{}=~#:\\\n[]->%/|_ 。，：；“”《》、？！（）")),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF),
)
# .xlsx holds no control characters but the line feed; tags, fill-in answers and category
# names cannot hold the sheet's own separators.
SHEET_CHARS = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Cn")),
    st.sampled_from(list("{}=~#:\\\n[]->%_ 。：；“”《》？！（）")),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF),
)


def texts(chars, exclude: str = "", max_size: int = 12):
    alphabet = chars.filter(lambda ch: ch not in exclude)
    return st.text(alphabet, min_size=1, max_size=max_size).map(str.strip).filter(bool)


@st.composite
def questions(draw, chars, sheet: bool = False):
    text = texts(chars)
    line = texts(chars, exclude="\n")
    kind = draw(st.sampled_from(list(QuestionType)))
    q = QuestionData(
        type=kind,
        stem=draw(text),
        explanation=draw(st.one_of(st.just(""), text)),
        source=draw(st.one_of(st.just(""), line)),
        difficulty=draw(st.integers(1, 3)),
        tags=draw(st.lists(texts(chars, exclude=",，、\n" if sheet else "\n"), max_size=3)),
        category="/".join(draw(st.lists(texts(chars, exclude="/\n"), max_size=3))),
        ref=draw(st.one_of(st.just(""), line)),
        # The sheet carries the exclusive group ("" for none); GIFT does not (None).
        exclusive_group=draw(st.one_of(st.just(""), line)) if sheet else None,
    )
    if kind in (SINGLE, MULTIPLE):
        q.options = draw(st.lists(line, min_size=2, max_size=8, unique=True))
        indices = st.integers(0, len(q.options) - 1)
        if kind is SINGLE:
            q.correct = [draw(indices)]
        else:
            q.correct = sorted(draw(st.sets(indices, min_size=1)))
    elif kind is TRUE_FALSE:
        q.correct = [draw(st.integers(0, 1))]
    else:
        count = draw(st.integers(1, 3))
        no_underscore = chars.filter(lambda ch: ch != "_")
        # Text between two blanks keeps them apart: "________" would be a single blank.
        middle = draw(
            st.lists(
                st.text(no_underscore, min_size=1, max_size=8),
                min_size=count - 1,
                max_size=count - 1,
            )
        )
        ends = draw(st.lists(st.text(no_underscore, max_size=8), min_size=2, max_size=2))
        q.stem = "____".join([ends[0], *middle, ends[1]])
        q.stem = q.stem.strip()
        answer = texts(chars, exclude="|/\n" if sheet else "\n")
        q.blanks = draw(
            st.lists(st.lists(answer, min_size=1, max_size=3), min_size=count, max_size=count)
        )
    return q


def question_lists(chars, sheet: bool = False):
    """Lists of valid questions whose refs, where given, are unique as a file requires."""

    def unique_refs(qs: list[QuestionData]) -> bool:
        refs = [q.ref for q in qs if q.ref]
        return len(refs) == len(set(refs))

    return st.lists(questions(chars, sheet), min_size=1, max_size=5).filter(unique_refs)


ROUND_TRIP = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@ROUND_TRIP
@given(question_lists(GIFT_CHARS))
def test_gift_round_trip(qs):
    for q in qs:
        assert validate_question(q) == []
    assert parse_gift(dump_gift(qs)).questions == qs


@ROUND_TRIP
@given(question_lists(SHEET_CHARS, sheet=True))
def test_sheet_round_trip(qs):
    for q in qs:
        assert validate_question(q) == []
    result = read_question_sheet(BytesIO(question_sheet(qs)))
    assert result.errors == []
    assert result.questions == qs


def test_gift_round_trip_of_awkward_text():
    awkward = "::a:: //b [html] {c} #d =e ~f \\g \\n h\ni %50% -> ____"
    one_line = awkward.replace("\n", " ")
    qs = [
        QuestionData(type=TRUE_FALSE, stem="//注释样子", correct=[1], ref="x"),
        QuestionData(type=TRUE_FALSE, stem="[html]标记样子", correct=[0]),
        QuestionData(
            type=SINGLE,
            stem=awkward,
            options=["%50%甲", one_line],
            correct=[0],
            explanation=awkward,
            source="[第三条]" + one_line,
            tags=["[a]", one_line[:32]],
            ref="a::b",
        ),
        QuestionData(type=FILL_BLANK, stem="____", blanks=[["a->b", "%10%c", "=d", "T"]]),
    ]
    assert parse_gift(dump_gift(qs)).questions == qs


# --- limits shared with the question form ------------------------------------------------------
def test_gift_category_depth_is_limited():
    deep = "/".join(f"c{i}" for i in range(3000))
    result = parse_gift(f"$CATEGORY: {deep}\n\n题{{T}}\n")
    assert result.questions == []
    assert result.errors == ["第 3 行：分类层级太多（最多 8 级）。"]
    eight = "/".join(f"c{i}" for i in range(8))
    assert one(parse_gift(f"$CATEGORY: {eight}\n\n题{{T}}\n")).category == eight
    long_name = parse_gift(f"$CATEGORY: 党章/{'名' * 65}\n\n题{{T}}\n")
    assert long_name.errors == ["第 3 行：分类名称太长（最多 64 个字符）。"]


@pytest.mark.parametrize(
    ("gift", "message"),
    [
        ("题\x00干{T}", "题干含有不允许的不可见字符（U+0000）"),
        ("题\u202e干{T}", "题干含有不允许的不可见字符（U+202E）"),
        ("// [source:" + "出" * 1000 + "]\n题{T}", "出处太长（最多 255 个字符）"),
        ("题{T####" + "解" * 1_000_000 + "}", "解析太长（最多 2000 个字符）"),
        ("题{=对\x07 ~错}", "选项含有不允许的不可见字符（U+0007）"),
        ("题{=对\\n对 ~错}", "选项只能写一行（不能有换行符或制表符）"),
        ("::编\u200b号::题{T}", "编号含有不允许的不可见字符（U+200B）"),
        ("".join(f"// [tag:{i}{'签' * 5000}]\n" for i in range(200)) + "题{T}", "标签太多"),
        ("// [tag:" + "签" * 5000 + "]\n题{T}", "标签太长（最多 32 个字符）"),
    ],
)
def test_gift_refuses_what_the_form_refuses(gift, message):
    result = parse_gift(gift)
    assert result.questions == []
    assert any(message in error for error in result.errors), result.errors
    assert all(len(error) < 500 for error in result.errors)


def test_aiken_refuses_hidden_characters_and_long_options():
    result = parse_aiken("题\u200b干\nA. 甲\nB. " + "乙" * 501 + "\nANSWER: A\n")
    assert result.errors == [
        "第 1 行：题干含有不允许的不可见字符（U+200B），请删除后重试。",
        "第 1 行：选项太长（最多 500 个字符）。",
    ]


def test_sheet_refuses_what_the_form_refuses():
    rows = [
        row(题型="判断", 题干="题", 答案="对", 出处="出" * 1000),
        row(题型="判断", 题干="题\u202e干", 答案="对"),
        row(题型="判断", 题干="题", 答案="对", 标签="，".join(["签" * 40] * 3)),
        row(题型="判断", 题干="题", 答案="对", 分类="/".join("abcdefghi")),
    ]
    assert read_question_sheet(sheet(rows)).errors == [
        "第 2 行：出处太长（最多 255 个字符）。",
        "第 3 行：题干含有不允许的不可见字符（U+202E），请删除后重试。",
        "第 4 行：标签太长（最多 32 个字符）。",
        "第 5 行：分类层级太多（最多 8 级）。",
    ]


def test_sheet_cell_quoted_in_an_error_is_cut_short():
    errors = read_question_sheet(sheet([row(题型="单" * 100_000, 题干="题", 答案="A")])).errors
    assert errors == ["第 2 行：题型应为 单选、多选、判断 或 填空，而不是“" + "单" * 50 + "…”。"]


def test_sheet_empty_rows_count_against_the_limit(monkeypatch):
    import lms.quizzes.formats.sheet

    monkeypatch.setattr(lms.quizzes.formats.sheet, "MAX_QUESTIONS", 20)
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.append(SHEET_HEADER)
    for number in range(2, 40):
        worksheet.cell(row=number, column=16384, value=" ")
    buffer = BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    assert read_question_sheet(buffer).errors == ["文件超过 20 行（空行也计算在内），请分批导入。"]


# --- parsers never raise -------------------------------------------------------------------
def test_gift_of_private_use_characters_parses():
    # Every private-use character appears (the escapes once took their placeholders from them).
    private = "".join(chr(c) for c in range(0xE000, 0xF900))
    text = f"// {private}\n{private[:1000]}\\{{\\={{T}}\n"
    assert one(parse_gift(text)).stem == private[:1000] + "{="
    assert parse_gift(private).errors == ["第 1 行：缺少答案部分 {…}。"]


ANY_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list("{}=~#:\\\n[]->%/_$T ")),
        st.characters(min_codepoint=0xE000, max_codepoint=0xF8FF),
    ),
    max_size=200,
)
ANY_LINES = st.lists(
    st.one_of(
        ANY_TEXT,
        st.sampled_from(["", "ANSWER: A", "A. 甲", "B) 乙", "$CATEGORY: a/b", "// [tag:x]"]),
    ),
    max_size=12,
).map("\n".join)


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(ANY_TEXT, ANY_LINES))
def test_gift_and_aiken_only_ever_return_questions_or_errors(text):
    for parse in (parse_gift, parse_aiken):
        result = parse(text)
        assert all(isinstance(error, str) and error for error in result.errors)
        assert result.questions or result.errors
        if not result.errors:
            assert all(validate_question(q) == [] for q in result.questions)
