"""Roster import (xlsx, csv in UTF-8/BOM/GBK): all-or-nothing, idempotent, exact names; export."""

import csv
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from lms.audit.models import AuditLog
from lms.auth.models import Role, User
from lms.extensions import db
from lms.org.models import Category, Member
from lms.org.roster import TEMPLATE_HEADER
from tests.conftest import login
from tests.factories import make_branch, make_department, make_member, make_shift, make_user

GOOD_ROWS = [
    [
        "300001",
        "王𠮷祥",
        "男",
        "发电一部",
        "发电一部第一党支部",
        "一值",
        "党员",
        "2015-07-01",
        "是",
    ],
    ["300002", "李喆", "女", "发电一部", "发电一部第一党支部", "", "入党积极分子", "", ""],
    [
        "300003",
        "陈堃",
        "男",
        "控制部",
        "控制部热控党支部",
        "一值",
        "中层党员干部",
        "2001/7/1",
        "是",
    ],
    ["300004", "阿依古丽·买买提", "女", "控制部", "控制部热控党支部", "", "团员", "", "否"],
]


@pytest.fixture
def org():
    first = make_department("发电一部")
    control = make_department("控制部")
    make_branch("发电一部第一党支部", first)
    make_branch("控制部热控党支部", control)
    make_shift("一值")


@pytest.fixture
def organizer(client):
    return login(client, make_user(roles={Role.ORGANIZER}))


def xlsx_bytes(rows, header=TEMPLATE_HEADER):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, encoding="utf-8", header=TEMPLATE_HEADER):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(client, data: bytes, filename: str, create_accounts: bool = False):
    form = {"file": (io.BytesIO(data), filename)}
    if create_accounts:
        form["create_accounts"] = "y"
    return client.post("/members/import", data=form, content_type="multipart/form-data")


def member_count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Member))


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("名册.xlsx", lambda: xlsx_bytes(GOOD_ROWS)),
        ("roster.csv", lambda: csv_bytes(GOOD_ROWS, "utf-8")),
        ("roster-bom.csv", lambda: csv_bytes(GOOD_ROWS, "utf-8-sig")),
        (
            "roster-gbk.csv",
            lambda: csv_bytes(
                [r for r in GOOD_ROWS if "𠮷" not in r[1] and "喆" not in r[1]], "gbk"
            ),
        ),
        ("roster-gb18030.csv", lambda: csv_bytes(GOOD_ROWS, "gb18030")),
    ],
)
def test_import_formats_store_names_exactly(client, org, organizer, filename, data):
    payload = data()
    response = upload(client, payload, filename)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    stored = {m.staff_no: m for m in db.session.scalars(db.select(Member))}
    expected = (
        csv.reader(io.StringIO(payload.decode("gb18030" if "gb" in filename else "utf-8-sig")))
        if filename.endswith(".csv")
        else None
    )
    rows = list(expected)[1:] if expected else GOOD_ROWS
    for row in rows:
        assert stored[row[0]].name == row[1]
    if "300004" in stored:
        assert stored["300004"].active is False
        assert stored["300004"].category is Category.LEAGUE_MEMBER
    assert stored["300003"].shift.name == "一值"


def test_reimport_is_idempotent(client, org, organizer):
    upload(client, xlsx_bytes(GOOD_ROWS), "a.xlsx")
    snapshot = {
        (m.staff_no, m.name, m.branch_id, m.active, m.updated_at)
        for m in db.session.scalars(db.select(Member))
    }
    response = upload(client, xlsx_bytes(GOOD_ROWS), "a.xlsx")
    assert response.status_code == 302
    with client.session_transaction() as session:
        flashes = [message for _category, message in session.get("_flashes", [])]
    assert any("新增 0 人，更新 0 人，未变 4 人" in m for m in flashes)
    after = {
        (m.staff_no, m.name, m.branch_id, m.active, m.updated_at)
        for m in db.session.scalars(db.select(Member))
    }
    assert after == snapshot


def test_reimport_updates_changed_rows(client, org, organizer):
    upload(client, xlsx_bytes(GOOD_ROWS), "a.xlsx")
    changed = [row[:] for row in GOOD_ROWS]
    changed[1][6] = "预备党员"
    changed[1][7] = "2026-01-05"
    upload(client, xlsx_bytes(changed), "a.xlsx")
    member = db.session.scalar(db.select(Member).where(Member.staff_no == "300002"))
    assert member.category is Category.PROBATIONARY
    assert str(member.joined_party_on) == "2026-01-05"


def test_bad_rows_are_all_reported_and_nothing_changes(client, org, organizer):
    make_member(staff_no="EXIST1", name="原名")
    bad = [
        GOOD_ROWS[0],
        ["300001", "重复", "男", "发电一部", "发电一部第一党支部", "", "党员", "", ""],
        ["300010", "", "男", "发电一部", "发电一部第一党支部", "", "党员", "", ""],
        ["300011", "张三", "男", "火星部", "发电一部第一党支部", "", "党员", "", ""],
        ["300012", "张三", "男", "发电一部", "不存在支部", "", "党员", "", ""],
        ["300013", "张三", "男", "发电一部", "控制部热控党支部", "", "党员", "", ""],
        ["300014", "张三", "男", "发电一部", "发电一部第一党支部", "", "皇帝", "", ""],
        ["300015", "张三", "男", "发电一部", "发电一部第一党支部", "", "党员", "昨天", ""],
        ["300016", "名" * 65, "男", "发电一部", "发电一部第一党支部", "", "党员", "", ""],
        ["3" * 33, "张三", "男", "发电一部", "发电一部第一党支部", "", "党员", "", ""],
        ["300017", "张三", "未知", "发电一部", "发电一部第一党支部", "", "党员", "", ""],
        ["300018", "张三", "男", "发电一部", "发电一部第一党支部", "九值", "党员", "", ""],
        ["300019", "张三", "男", "发电一部", "发电一部第一党支部", "", "党员", "1900-01-01", ""],
        ["EXIST1", "改名", "男", "发电一部", "发电一部第一党支部", "", "党员", "", ""],
    ]
    before = member_count()
    response = upload(client, xlsx_bytes(bad), "bad.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for row_number, reason in [
        (3, "与第 2 行重复"),
        (4, "姓名不能为空"),
        (5, "未知部门：火星部"),
        (6, "未知党支部：不存在支部"),
        (7, "不属于部门"),
        (8, "未知类别：皇帝"),
        (9, "日期格式应为"),
        (10, "姓名太长（最多 64 个字符）"),
        (11, "工号超过 32"),
        (12, "性别应为"),
        (13, "未知班组：九值"),
        (14, "入党日期不在合理范围内"),
    ]:
        assert f"<td>{row_number}</td>" in html, row_number
        assert reason in html, reason
    assert "发现 12 处错误" in html
    assert member_count() == before
    assert db.session.scalar(db.select(Member.name).where(Member.staff_no == "EXIST1")) == "原名"
    assert (
        db.session.scalar(db.select(AuditLog).where(AuditLog.action == "members.imported")) is None
    )


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("roster.txt", b"whatever", "只支持 .xlsx 或 .csv"),
        ("roster.xlsx", b"this is not a zip file", "无法读取该 Excel 文件"),
        ("roster.csv", b"", "文件是空的"),
        ("roster.csv", "姓名,性别\n张三,男\n".encode(), "缺少必填列"),
        ("roster.csv", ",".join(TEMPLATE_HEADER).encode() + b"\n", "没有数据行"),
        ("roster.csv", b"\xff\xfe\x00\x00\x81\x30", "编码"),
        ("../../etc/passwd.csv", csv_bytes(GOOD_ROWS[:1]), None),
    ],
)
def test_bad_files_are_refused_clearly(client, org, organizer, filename, data, message):
    before = member_count()
    response = upload(client, data, filename)
    html = response.get_data(as_text=True)
    if message is None:  # a path in the name is just a name
        assert response.status_code == 302
        return
    assert response.status_code == 200
    assert message in html
    assert member_count() == before


def test_oversize_upload_gets_friendly_413(client, app, org, organizer, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = upload(client, b"x" * 4096, "big.csv")
    assert response.status_code == 413
    assert "文件太大" in response.get_data(as_text=True)


def test_too_many_rows_refused(client, app, org, organizer, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_MAX_ROWS", 3)
    response = upload(client, xlsx_bytes(GOOD_ROWS), "a.xlsx")
    assert "超过 3 行" in response.get_data(as_text=True)
    assert member_count() == 0


def test_create_accounts_hands_out_one_time_passwords(client, org, organizer):
    response = upload(client, xlsx_bytes(GOOD_ROWS), "a.xlsx", create_accounts=True)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    credentials = {row[0]: row for row in rows[1:]}
    # Active members get accounts; the inactive one (300004) does not.
    assert set(credentials) == {"300001", "300002", "300003"}
    assert credentials["300001"][1] == "王𠮷祥"
    user = db.session.scalar(db.select(User).where(User.username == "300001"))
    assert user.must_change_password and user.roles == {Role.TRAINEE}
    assert user.check_password(credentials["300001"][4])
    assert user.member.staff_no == "300001"
    # Again: nobody new needs an account, and the roster is unchanged.
    response = upload(client, xlsx_bytes(GOOD_ROWS), "a.xlsx", create_accounts=True)
    assert response.status_code == 302
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 4  # 3 + organizer


def test_username_clash_blocks_the_whole_import(client, org, organizer):
    make_user(username="300002")
    response = upload(client, xlsx_bytes(GOOD_ROWS), "a.xlsx", create_accounts=True)
    html = response.get_data(as_text=True)
    assert "用户名 300002 已被其他账号占用" in html
    assert member_count() == 0


def test_export_then_import_changes_nothing(client, org, organizer):
    upload(client, xlsx_bytes(GOOD_ROWS), "a.xlsx")
    exported = client.get("/members/export.xlsx?active=all")
    assert exported.status_code == 200
    rows = list(load_workbook(io.BytesIO(exported.data)).active.iter_rows(values_only=True))
    assert list(rows[0]) == TEMPLATE_HEADER
    assert {row[1] for row in rows[1:]} == {row[1] for row in GOOD_ROWS}
    upload(client, exported.data, "export.xlsx")
    with client.session_transaction() as session:
        flashes = [message for _category, message in session.get("_flashes", [])]
    assert any("未变 4 人" in m for m in flashes)


def test_export_keeps_formula_like_text_as_text(client, org, organizer):
    make_member(name='=HYPERLINK("http://x")', staff_no="F1")
    exported = client.get("/members/export.xlsx")
    sheet = load_workbook(io.BytesIO(exported.data)).active
    cell = next(c for c in sheet["B"] if c.value and str(c.value).startswith("="))
    assert cell.data_type == "s"


def test_template_download_has_header_and_notes(client, organizer):
    response = client.get("/members/import/template.xlsx")
    workbook = load_workbook(io.BytesIO(response.data))
    assert [c.value for c in workbook.worksheets[0][1]] == TEMPLATE_HEADER
    assert len(workbook.worksheets) == 2


def test_cli_import_with_progress(runner, org, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(GOOD_ROWS, "utf-8-sig"))
    result = runner.invoke(args=["members", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 new, 0 updated, 0 unchanged" in result.output
    result = runner.invoke(args=["members", "import", str(path)])
    assert "0 new, 0 updated, 4 unchanged" in result.output


def test_cli_import_reports_bad_rows_and_fails(runner, org, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(
        csv_bytes(
            [
                GOOD_ROWS[0],
                ["", "无工号", "男", "发电一部", "发电一部第一党支部", "", "党员", "", ""],
            ]
        )
    )
    result = runner.invoke(args=["members", "import", str(path)])
    assert result.exit_code != 0
    assert "row 3" in result.output and "nothing was imported" in result.output
    assert member_count() == 0


# --- hostile files and hidden characters -----------------------------------------------------
def sparse_xlsx(rows: int, value: str = " ", column: int = 16384) -> bytes:
    """A roster header, then `rows` rows holding only `value` in `column` (XFD by default): the
    sheet declares A1:XFD<n>, which openpyxl would pad every row to."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(TEMPLATE_HEADER)
    for number in range(2, rows + 2):
        sheet.cell(row=number, column=column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_empty_rows_count_against_the_row_limit(client, app, org, organizer, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_MAX_ROWS", 50)
    response = upload(client, sparse_xlsx(60), "sparse.xlsx")
    assert "文件超过 50 行（空行也计算在内）" in response.get_data(as_text=True)
    assert member_count() == 0


def test_the_reader_reads_only_the_first_columns():
    from lms.excel import MAX_COLUMNS, read_sheet_rows

    rows = list(read_sheet_rows(io.BytesIO(sparse_xlsx(3, value="x")), max_rows=10))
    assert [len(cells) for _number, cells in rows] == [MAX_COLUMNS] * 4
    assert [cells[0] for _number, cells in rows] == ["工号", None, None, None]


def bloated_xlsx(unpacked_mb: int) -> bytes:
    """A small valid roster whose zip carries a part unpacking to `unpacked_mb` MB of text,
    written in chunks so the test itself never holds it."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(GOOD_ROWS[:1])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        with target.open("xl/padding.xml", "w") as part:
            for _ in range(unpacked_mb):
                part.write(b"x" * 2**20)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_parsed(client, org, organizer, monkeypatch):
    import lms.excel

    def never(*args, **kwargs):
        raise AssertionError("openpyxl must not see a file that unpacks this big")

    monkeypatch.setattr(lms.excel, "load_workbook", never)
    data = bloated_xlsx(40)
    assert len(data) < 200_000
    response = upload(client, data, "bomb.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Excel 文件解压后超过 32 MB" in html
    assert len(html) < 50_000
    assert member_count() == 0


def test_a_bad_cell_is_quoted_short_in_the_error(client, org, organizer):
    row = list(GOOD_ROWS[0])
    row[3] = "部" * 10_000
    html = upload(client, xlsx_bytes([row]), "long.xlsx").get_data(as_text=True)
    assert "未知部门：" + "部" * 50 + "…" in html
    assert "部" * 51 not in html
    assert member_count() == 0


@pytest.mark.parametrize(
    "name", ["钱\u202e强军", "王\u200b五", "赵\ufeff六", "孙\u0007七", "李\u2066八"]
)
def test_names_with_hidden_characters_are_refused(client, org, organizer, name):
    row = [*GOOD_ROWS[0][:1], name, *GOOD_ROWS[0][2:]]
    html = upload(client, csv_bytes([row]), "hidden.csv").get_data(as_text=True)
    assert "姓名含有不允许的不可见字符" in html
    assert member_count() == 0


def test_legitimate_rare_names_are_imported(client, org, organizer):
    names = ["张喆", "李堃", "王昇", "赵玥", "𠮷田", "阿卜杜拉·买买提"]
    rows = [[f"40000{i}", name, *GOOD_ROWS[0][2:]] for i, name in enumerate(names)]
    assert upload(client, xlsx_bytes(rows), "rare.xlsx").status_code == 302
    assert sorted(db.session.scalars(db.select(Member.name))) == sorted(names)


def test_committee_column_is_optional_and_kept_when_absent(client, org, organizer):
    assert TEMPLATE_HEADER[-1] == "支部委员"
    header, old_header = TEMPLATE_HEADER, TEMPLATE_HEADER[:-1]
    rows = [[*GOOD_ROWS[0], "是"], [*GOOD_ROWS[1], ""]]
    assert upload(client, xlsx_bytes(rows, header=header), "a.xlsx").status_code == 302
    flags = dict(db.session.execute(db.select(Member.staff_no, Member.committee_member)).all())
    assert flags == {"300001": True, "300002": False}
    # A roster without the column (an older template) leaves the flags as they are.
    assert upload(client, xlsx_bytes(GOOD_ROWS[:2], old_header), "b.xlsx").status_code == 302
    flags = dict(db.session.execute(db.select(Member.staff_no, Member.committee_member)).all())
    assert flags == {"300001": True, "300002": False}
    bad = upload(client, xlsx_bytes([[*GOOD_ROWS[0], "也许"]], header=header), "c.xlsx")
    assert "支部委员应为“是”或“否”" in bad.get_data(as_text=True)


def test_template_and_export_carry_the_committee_column(client, org, organizer):
    make_member(staff_no="C1").committee_member = True
    db.session.commit()
    sheet = load_workbook(io.BytesIO(client.get("/members/export.xlsx").data)).active
    header = [cell.value for cell in sheet[1]]
    assert header[-1] == "支部委员"
    assert [cell.value for cell in sheet[2]][-1] == "是"
