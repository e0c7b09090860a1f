"""Completion certificates for 200 members with Chinese names, rare characters included
(𠮷 喆 堃 昇 玥), measured side by side in one run.

Targets: ≤ 20 ms per certificate when issuing many (a Chinese serif or kai face, one correct
self-contained PDF per member), a single on-demand certificate ≤ 1 s, p95 of downloading an
issued certificate ≤ 20 ms.

- naive: one `render_document([item])` (and split) per certificate, for a sample of NAIVE
  certificates, extrapolated per certificate; with the template's face (AR PL UKai, TrueType)
  and with Noto Serif CJK SC (CFF) forced, to see what the font costs.
- ours: all 200 through the real path, `issuing.issue_batch` in batches of `issuing.BATCH`
  (serials, render, split, stored files, flush/commit); rendering runs in a pool of spawn
  processes, whose one-off start is timed apart (`pool_start_s`) and also included in
  `ours_cold_ms_per_certificate`; and once more in one process (CERT_RENDER_PROCESSES=1).
- single: one on-demand certificate (`render_members([item])` + `store_pdf`), median of 5.
- download: gunicorn serving the app, an organizer GETs each of the 200 `/certificates/<id>.pdf`.

Every stored PDF is checked: one page, the member's name and serial extractable as text."""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from bench._serving import Client, Gunicorn, database_url, demo_app

MEMBERS = 200
NAIVE = 10
SINGLE_REPEATS = 5
TARGET_MS = 20.0
TARGET_SINGLE_MS = 1000.0
TARGET_DOWNLOAD_P95_MS = 20.0
GUNICORN_ARGS = ["-w", "2", "--threads", "1", "--worker-class", "sync"]
ORGANIZER = ("organizer", "Organizer@2026")
RARE = ["王𠮷祥", "张喆", "李堃", "陈昇", "赵玥"]
SURNAMES = "王张李陈赵刘杨黄周吴徐孙胡朱高林何郭马罗欧阳"
GIVEN = "𠮷喆堃昇玥伟芳娜敏静丽强磊洋艳勇军杰娟涛明超秀霞平刚桂英华"
HOURS = Decimal("4.5")


def _names(count: int) -> list[str]:
    names = list(RARE)
    i = 0
    while len(names) < count:
        surname = SURNAMES[i % len(SURNAMES)]
        given = GIVEN[(i * 7) % len(GIVEN)] + ("" if i % 3 else GIVEN[(i * 11 + 3) % len(GIVEN)])
        if (name := surname + given) not in names:
            names.append(name)
        i += 1
    return names


def _item(name: str, n: int):
    from lms.certificates import issuing, rendering

    return rendering.CertificateData(
        name=name,
        achievement="2026年第11期集中培训",
        start_date=date(2026, 11, 26),
        end_date=date(2026, 11, 27),
        hours=HOURS,
        serial=f"NV2026-{n:05d}",
        signatory="党校校长",
        issue_date=date(2026, 11, 27),
        verify_url=issuing.verify_url(f"naive-{n:05d}-token-token-token"),
    )


def _naive(names: list[str], css: str | None) -> float:
    """ms per certificate: one document per certificate, split, stored."""
    from lms.certificates import rendering, storage
    from lms.pdf import split_pages

    html, default_css = rendering.default_template()
    start = time.perf_counter()
    for n, name in enumerate(names[:NAIVE]):
        pdf = rendering.render_document([_item(name, n)], html, css or default_css)
        storage.store_pdf(split_pages(pdf)[0])
    return (time.perf_counter() - start) / NAIVE * 1000


def _issue_all(session, members) -> tuple[float, list]:
    from lms.certificates import eligibility, issuing
    from lms.extensions import db

    rows = [eligibility.Eligibility(member=m, eligible=True, hours=HOURS) for m in members]
    issued = []
    start = time.perf_counter()
    for first in range(0, len(rows), issuing.BATCH):
        issued += issuing.issue_batch(rows[first : first + issuing.BATCH], session=session)
        db.session.commit()
    return time.perf_counter() - start, issued


def _check(certificates) -> int:
    """How many stored PDFs have one page and the member's name and serial as text."""
    from pypdf import PdfReader

    from lms.certificates import storage

    good = 0
    for certificate in certificates:
        reader = PdfReader(
            io.BytesIO(storage.certificate_path(certificate.pdf_sha256).read_bytes())
        )
        text = "".join(page.extract_text() for page in reader.pages)
        if len(reader.pages) == 1 and certificate.name in text and certificate.serial in text:
            good += 1
    return good


def _ms(seconds: float, count: int = 1) -> float:
    return round(seconds / count * 1000, 1)


def run() -> dict[str, object]:
    figures: dict[str, object] = {"members": MEMBERS, "naive_sample": NAIVE}
    saved = os.environ.get("LMS_INSTANCE_PATH")
    server = None
    failed = False
    try:
        with tempfile.TemporaryDirectory() as folder_name:
            folder = Path(folder_name)
            app = demo_app(folder)
            with app.app_context():
                figures.update(_render_figures(app))
                ids = figures.pop("_ids")
            server = Gunicorn(
                "bench._catalog_wsgi:app",
                folder,
                GUNICORN_ARGS,
                {
                    "BENCH_DATABASE_URL": database_url(folder),
                    "LMS_SECRET_KEY": "bench",
                    "LMS_INSTANCE_PATH": str(folder),
                },
            )
            client = Client(server.port)
            client.login(*ORGANIZER)
            latencies = []
            for certificate_id in ids:
                start = time.perf_counter()
                status, _, body = client.request("GET", f"/certificates/{certificate_id}.pdf")
                latencies.append(time.perf_counter() - start)
                assert status == 200 and body.startswith(b"%PDF"), (certificate_id, status)
            cuts = statistics.quantiles(latencies, n=100)
            figures["download_p50_ms"] = _ms(cuts[49])
            figures["download_p95_ms"] = _ms(cuts[94])
    except BaseException:
        failed = True
        raise
    finally:
        if server is not None:
            server.stop(failed=failed)
        if saved is None:
            os.environ.pop("LMS_INSTANCE_PATH", None)
        else:
            os.environ["LMS_INSTANCE_PATH"] = saved

    figures["meets_target"] = figures["ours_ms_per_certificate"] <= TARGET_MS
    figures["meets_target_cold"] = figures["ours_cold_ms_per_certificate"] <= TARGET_MS
    figures["meets_target_single"] = figures["single_ms"] <= TARGET_SINGLE_MS
    figures["meets_target_download"] = figures["download_p95_ms"] <= TARGET_DOWNLOAD_P95_MS
    for key, value in figures.items():
        print(f"certificates.{key}: {value}")
    return figures


def _render_figures(app) -> dict[str, object]:
    import sqlalchemy as sa

    from lms.certificates import issuing, rendering, storage
    from lms.extensions import db
    from lms.org.models import Member
    from lms.sessions.models import TrainingSession

    figures: dict[str, object] = {}
    names = _names(MEMBERS)
    members = db.session.scalars(sa.select(Member).order_by(Member.staff_no).limit(MEMBERS)).all()
    assert len(members) == MEMBERS
    for member, name in zip(members, names, strict=True):
        member.name = name
    sessions = db.session.scalars(sa.select(TrainingSession).order_by(TrainingSession.id)).all()
    db.session.commit()

    _, css = rendering.default_template()
    figures["font"] = css.split("font-family:", 1)[1].split(",", 1)[0].strip()
    rendering.render_document([_item(names[0], 0)])  # load fonts and templates once
    figures["naive_ms_per_certificate"] = round(_naive(names, None), 1)
    noto = css.replace('"AR PL UKai CN", ', "")
    figures["naive_noto_serif_ms_per_certificate"] = round(_naive(names, noto), 1)

    processes = rendering._processes()
    start = time.perf_counter()
    pool = rendering._render_pool(processes)
    warm = rendering.document_html([_item(names[0], 0)])
    list(pool.map(rendering.render_split, [warm] * processes))
    pool_start = time.perf_counter() - start
    seconds, issued = _issue_all(sessions[0], members)
    figures["processes"] = processes
    figures["batch"] = issuing.BATCH
    figures["pool_start_s"] = round(pool_start, 2)
    figures["ours_ms_per_certificate"] = _ms(seconds, MEMBERS)
    figures["ours_cold_ms_per_certificate"] = _ms(seconds + pool_start, MEMBERS)
    sizes = [storage.certificate_path(c.pdf_sha256).stat().st_size for c in issued]
    figures["pdf_kb_median"] = round(statistics.median(sizes) / 1024)
    figures["pdfs_correct"] = _check(issued)
    assert figures["pdfs_correct"] == MEMBERS, figures

    app.config["CERT_RENDER_PROCESSES"] = 1
    seconds, again = _issue_all(sessions[1], members)
    app.config.pop("CERT_RENDER_PROCESSES")
    figures["ours_one_process_ms_per_certificate"] = _ms(seconds, MEMBERS)
    assert len(again) == MEMBERS

    timings = []
    for n in range(SINGLE_REPEATS):
        start = time.perf_counter()
        (pdf,) = rendering.render_members([_item(names[n], 90000 + n)])
        storage.store_pdf(pdf)
        timings.append(time.perf_counter() - start)
    figures["single_ms"] = _ms(statistics.median(timings))
    rendering.shutdown_render_pool()
    figures["_ids"] = [c.id for c in issued]
    return figures


if __name__ == "__main__":
    run()
