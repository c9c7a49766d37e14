"""Render gold files (contract form) into report documents: DOCX, HTML and GB18030 text (PDF optional).

    python -m tools.fixtures OUTDIR [--gold gold] [--formats docx,html,txt] [--pdf]

Every ``<doc>.json`` under the gold folder becomes ``<doc>.docx``, ``<doc>.html`` and
``<doc>.gb18030.txt`` (and ``<doc>.pdf`` with --pdf, via LibreOffice from the DOCX), which pair
with the gold file by their name up to the first dot, so ``ogi-extract eval --docs OUTDIR --gold
gold`` scores them. The tables are laid out as real reports print them: the 2021 or 2019 table 二,
table 三 with its merged header (申请人情况 over 自然人 / 法人或其他组织 (five columns) / 总计),
三、本年度办理结果 and the (三)…(六) group labels merged down their rows, （六）其他处理 as one row
or as three sub-rows (whichever the gold fills), table 四 with its two header rows; a null is a
blank cell. A short narrative carries the title and the six part headings 一 … 六.

The rendered files print the gold's values cleanly, so a seed's own printed anomaly (a row with one
number too many, a narrative figure that disagrees with the table) is not in them. ``build`` writes
``OUTDIR/gold/<doc>.json`` beside them: the same values, every cell scored, and
``source_consistent`` recomputed from the values as rendered (R1-R5). Score the rendered corpus
against that folder (``eval --docs OUTDIR --gold OUTDIR/gold``) so a reviewer flag is expected
exactly where the rendered document gives cause for one.

DOCX and HTML come in two shapes (alternating by file); in the second, runs of blank value cells
are printed as one merged cell. HTML pages come in two shapes: a plain page with a site nav bar, a
breadcrumb, hidden text, scripts and a footer to be ignored; and a GBK-encoded page whose
content sits in a layout table beside a menu, with Word-export cells (``<p class=MsoNormal>``).
"""

from __future__ import annotations

import argparse
import html
import io
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

APPLICANT_COLUMNS = ("natural_person", "commercial", "research", "social_welfare", "legal_service", "other_org", "total")
APPEAL_GROUPS = ("admin_review", "lawsuit_direct", "lawsuit_after_review")
APPEAL_OUTCOMES = ("upheld", "corrected", "other", "pending", "total")


@dataclass
class C:
    """A printed cell: text, and how many grid columns / rows it spans."""

    text: str
    cs: int = 1
    rs: int = 1


Table = list[list[C]]  # rows of the cells that start in that row; covered positions are implied


def fmt_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


# ---------------------------------------------------------------- tables

def table_active(f: dict, fmt: str) -> Table:
    def block(title: str, header: list[C], rows: list[tuple[str, list[C]]]) -> Table:
        return [[C(title, 4)], [C("信息内容"), *header], *[[C(label), *cells] for label, cells in rows]]

    def v(key: str, cs: int = 1) -> C:
        return C(fmt_value(f.get(key)), cs)

    if fmt == "2021":
        cols = ("issued", "repealed", "in_force")
        return (
            block("第二十条第（一）项", [C("本年制发件数"), C("本年废止件数"), C("现行有效件数")],
                  [("规章", [v(f"active.regulations.{c}") for c in cols]),
                   ("行政规范性文件", [v(f"active.normative_docs.{c}") for c in cols])])
            + block("第二十条第（五）项", [C("本年处理决定数量", 3)], [("行政许可", [v("active.licensing.decisions", 3)])])
            + block("第二十条第（六）项", [C("本年处理决定数量", 3)],
                    [("行政处罚", [v("active.penalty.decisions", 3)]), ("行政强制", [v("active.coercion.decisions", 3)])])
            + block("第二十条第（八）项", [C("本年收费金额（单位：万元）", 3)], [("行政事业性收费", [v("active.fees.amount", 3)])])
        )
    cols = ("made", "published", "public_total")
    items = ("prev_items", "change", "decisions")
    item_header = [C("上一年项目数量"), C("本年增/减"), C("处理决定数量")]
    return (
        block("第二十条第（一）项", [C("本年新制作数量"), C("本年新公开数量"), C("对外公开总数量")],
              [("规章", [v(f"active.regulations.{c}") for c in cols]),
               ("规范性文件", [v(f"active.normative_docs.{c}") for c in cols])])
        + block("第二十条第（五）项", list(item_header),
                [("行政许可", [v(f"active.licensing.{c}") for c in items]),
                 ("其他对外管理服务事项", [v(f"active.other_services.{c}") for c in items])])
        + block("第二十条第（六）项", list(item_header),
                [("行政处罚", [v(f"active.penalty.{c}") for c in items]),
                 ("行政强制", [v(f"active.coercion.{c}") for c in items])])
        + block("第二十条第（八）项", [C("上一年项目数量"), C("本年增/减", 2)],
                [("行政事业性收费", [v("active.fees.prev_items"), v("active.fees.change", 2)])])
        + block("第二十条第（九）项", [C("采购项目数量"), C("采购总金额", 2)],
                [("政府集中采购", [v("active.procurement.items"), v("active.procurement.amount", 2)])])
    )


WITHHELD = (("1.属于国家秘密", "withheld_state_secret"), ("2.其他法律行政法规禁止公开", "withheld_prohibited"),
            ("3.危及“三安全一稳定”", "withheld_security_stability"), ("4.保护第三方合法权益", "withheld_third_party"),
            ("5.属于三类内部事务信息", "withheld_internal_affairs"), ("6.属于四类过程性信息", "withheld_process_info"),
            ("7.属于行政执法案卷", "withheld_enforcement_files"), ("8.属于行政查询事项", "withheld_query_matters"))
UNABLE = (("1.本机关不掌握相关政府信息", "unable_not_held"), ("2.没有现成信息需要另行制作", "unable_needs_creation"),
          ("3.补正后申请内容仍不明确", "unable_unclear"))
NOT_PROCESSED = (("1.信访举报投诉类申请", "not_processed_complaint"), ("2.重复申请", "not_processed_duplicate"),
                 ("3.要求提供公开出版物", "not_processed_publication"), ("4.无正当理由大量反复申请", "not_processed_excessive"),
                 ("5.要求行政机关确认或重新出具已获取信息", "not_processed_confirm"))
OTHER_SUBROWS = (("1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", "other_overdue_correction"),
                 ("2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", "other_overdue_fee"),
                 ("3.其他", "other_other"))


def other_as_subrows(f: dict, fmt: str) -> bool:
    """（六）其他处理 shape: the one the gold fills; when neither is filled, the format's own."""
    if any(f.get(f"requests.other_processing.{c}") is not None for c in APPLICANT_COLUMNS):
        return False
    if any(f.get(f"requests.{k}.{c}") is not None for _, k in OTHER_SUBROWS for c in APPLICANT_COLUMNS):
        return True
    return fmt == "2021"


def table_requests(f: dict, fmt: str) -> Table:
    def vals(row: str) -> list[C]:
        return [C(fmt_value(f.get(f"requests.{row}.{c}"))) for c in APPLICANT_COLUMNS]

    rows: Table = [
        [C("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 3, 3), C("申请人情况", 7)],
        [C("自然人", 1, 2), C("法人或其他组织", 5), C("总计", 1, 2)],
        [C("商业企业"), C("科研机构"), C("社会公益组织"), C("法律服务机构"), C("其他")],
        [C("一、本年新收政府信息公开申请数量", 3), *vals("new_received")],
        [C("二、上年结转政府信息公开申请数量", 3), *vals("carried_over")],
    ]
    other = OTHER_SUBROWS if other_as_subrows(f, fmt) else None
    groups: list[tuple[str, tuple | None, str | None]] = [
        ("（一）予以公开", None, "disclosed"),
        ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", None, "partially_disclosed"),
        ("（三）不予公开", WITHHELD, None),
        ("（四）无法提供", UNABLE, None),
        ("（五）不予处理", NOT_PROCESSED, None),
        ("（六）其他处理", other, None if other else "other_processing"),
        ("（七）总计", None, "total_processed"),
    ]
    results: Table = []
    for label, subs, key in groups:
        if subs is None:
            results.append([C(label, 2), *vals(key)])
            continue
        for i, (sub, k) in enumerate(subs):
            lead = [C(label, 1, len(subs))] if i == 0 else []
            results.append([*lead, C(sub), *vals(k)])
    results[0].insert(0, C("三、本年度办理结果", 1, len(results)))
    rows += results
    rows.append([C("四、结转下年度继续办理", 3), *vals("carried_forward")])
    return rows


def table_appeals(f: dict) -> Table:
    outcomes = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    return [
        [C("行政复议", 5), C("行政诉讼", 10)],
        [*[C(o, 1, 2) for o in outcomes], C("未经复议直接起诉", 5), C("复议后起诉", 5)],
        [C(o) for o in outcomes * 2],
        [C(fmt_value(f.get(f"appeals.{g}.{o}"))) for g in APPEAL_GROUPS for o in APPEAL_OUTCOMES],
    ]


def merge_blank_runs(table: Table) -> Table:
    """Consecutive blank value cells printed as one merged blank cell (some reports do this)."""
    out: Table = []
    for row in table:
        merged: list[C] = []
        for cell in row:
            if (not cell.text and cell.rs == 1 and merged and not merged[-1].text and merged[-1].rs == 1
                    and len(merged) > 1):
                merged[-1] = C("", merged[-1].cs + cell.cs)
            else:
                merged.append(C(cell.text, cell.cs, cell.rs))
        out.append(merged)
    return out


def grid(table: Table) -> tuple[int, list[list[tuple[int, C]]], dict[tuple[int, int], tuple[int, C]]]:
    """Place the cells: (number of columns, per row [(col, cell)] of cells starting there, covered positions)."""
    occupied: dict[tuple[int, int], tuple[int, C]] = {}  # (row, col) -> (origin row, cell)
    placed: list[list[tuple[int, C]]] = []
    ncols = 0
    for r, row in enumerate(table):
        col = 0
        out = []
        for cell in row:
            while (r, col) in occupied:
                col += 1
            out.append((col, cell))
            for dr in range(cell.rs):
                for dc in range(cell.cs):
                    occupied[(r + dr, col + dc)] = (r, cell)
            col += cell.cs
            ncols = max(ncols, col)
        placed.append(out)
    return ncols, placed, occupied


# ---------------------------------------------------------------- the report as blocks

def blocks(gold: dict) -> list[tuple[str, object]]:
    """("title"|"heading"|"para", text) and ("table", Table) in printed order."""
    meta, f = gold["meta"], gold["fields"]
    fmt = meta.get("format") or "2021"
    organ = meta.get("organ") or ""
    year = meta.get("year")
    title = f"{organ}{year}年政府信息公开工作年度报告"
    new = f.get("requests.new_received.total")
    said = f"全年共收到政府信息公开申请{new}件，均在法定期限内答复。" if new is not None else ""
    who = organ or "本机关"
    return [
        ("title", title),
        ("para", f"本报告根据《中华人民共和国政府信息公开条例》要求编制，所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。"),
        ("heading", "一、总体情况"),
        ("para", f"{year}年，{who}认真贯彻落实政府信息公开工作部署，坚持以公开为常态、不公开为例外。{said}"),
        ("para", "（一）主动公开。及时公开规范性文件、政策解读等信息，主动回应社会关切。"),
        ("heading", "二、主动公开政府信息情况"),
        ("table", table_active(f, fmt)),
        ("heading", "三、收到和处理政府信息公开申请情况"),
        ("table", table_requests(f, fmt)),
        ("heading", "四、政府信息公开行政复议、行政诉讼情况"),
        ("table", table_appeals(f)),
        ("heading", "五、存在的主要问题及改进情况"),
        ("para", "一是公开内容的全面性还需提升；二是解读形式还需丰富。下一步将加强培训，完善制度。"),
        ("heading", "六、其他需要报告的事项"),
        ("para", f"本机关{year}年度未收取信息处理费。"),
    ]


# ---------------------------------------------------------------- DOCX

def render_docx(gold: dict, variant: int = 0) -> bytes:
    """``variant`` odd: runs of blank value cells are merged into one cell."""
    import docx
    from docx.shared import Pt
    from docx.table import _Cell

    d = docx.Document()
    for kind, content in blocks(gold):
        if kind == "title":
            p = d.add_paragraph()
            run = p.add_run(content)
            run.bold = True
            run.font.size = Pt(18)
        elif kind == "heading":
            d.add_paragraph(content).runs[0].bold = True
        elif kind == "para":
            d.add_paragraph(content)
        else:
            if variant % 2:
                content = merge_blank_runs(content)
            ncols, placed, _ = grid(content)
            t = d.add_table(rows=len(content), cols=ncols)
            t.style = "Table Grid"
            trs = t._tbl.tr_lst
            # Right-most cells first: a merge removes w:tc elements only to the right of the cell merged,
            # so the w:tc at index ``col`` of any row is still grid column ``col`` (Table.cell() is O(n)).
            origins = sorted(((col, r, cell) for r, row in enumerate(placed) for col, cell in row),
                             key=lambda x: (-x[0], x[1]))
            for col, r, cell in origins:
                target = _Cell(trs[r].tc_lst[col], t)
                if cell.rs > 1 or cell.cs > 1:
                    target = target.merge(_Cell(trs[r + cell.rs - 1].tc_lst[col + cell.cs - 1], t))
                target.text = cell.text
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- HTML

NAV = """<div class="top-nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>
<li><a href="/xxgk/">政府信息公开</a></li><li><a href="/nb/">政府信息公开年度报告</a></li><li><a href="/hd/">互动交流</a></li>
<li><a href="/2023/">2023年重点工作 一、总体情况</a></li></ul></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/xxgk/">政府信息公开</a> &gt; <a href="/nb/">年度报告</a></div>"""
FOOTER = """<div id="footer"><p>主办单位：{organ}　承办：信息中心</p><p>网站标识码：3703000012　鲁ICP备05012345号-1</p>
<p>联系电话：0533-2869836　地址：新村西路226号</p></div><footer>版权所有 2024 技术支持：某某科技 12 34 56</footer>"""


def _html_table(table: Table, word: bool) -> str:
    _, placed, _ = grid(table)
    out = ['<table border="1" cellspacing="0" cellpadding="0" class="MsoTableGrid" style="border-collapse:collapse">']
    for row in placed:
        out.append("<tr>")
        for _, cell in row:
            attrs = (f' colspan="{cell.cs}"' if cell.cs > 1 else "") + (f' rowspan="{cell.rs}"' if cell.rs > 1 else "")
            text = html.escape(cell.text)
            if word:
                inner = text if text else "&nbsp;"
                body = (f"<p class=MsoNormal align=center style='text-align:center'><span style='font-family:仿宋_GB2312'>"
                        f"{inner}<o:p></o:p></span></p>")
                out.append(f"<td valign=top{attrs}>{body}</td>")
            else:
                out.append(f"<td{attrs}>{text}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "\n".join(out)


def render_html(gold: dict, variant: int = 0) -> bytes:
    organ = gold["meta"].get("organ") or ""
    word = variant % 2 == 1
    charset = "gbk" if word else "utf-8"
    parts = []
    for kind, content in blocks(gold):
        if kind == "title":
            parts.append(f"<h1 class=\"title\">{html.escape(content)}</h1>\n<div class=\"info\">发布时间：2024-01-19　来源：{html.escape(organ)}</div>")
        elif kind == "heading":
            parts.append(f"<p style=\"text-indent:2em\"><strong>{html.escape(content)}</strong></p>" if word
                         else f"<h3>{html.escape(content)}</h3>")
        elif kind == "para":
            parts.append(f"<p class=MsoNormal>{html.escape(content)}</p>" if word else f"<p>{html.escape(content)}</p>")
        else:
            parts.append(_html_table(merge_blank_runs(content) if word else content, word))
    article = "\n".join(parts)
    hidden = '<div style="display:none">一、总体情况 共收到政府信息公开申请999件</div>'
    script = "<script>document.write('<table><tr><td>规章</td><td>9</td></tr></table>');</script>"
    if word:
        menu = ('<td class="leftmenu" width="200" valign="top"><ul><li><a href="/a">机构职能</a></li>'
                '<li><a href="/b">政策文件</a></li><li><a href="/c">规范性文件 12</a></li></ul></td>')
        body = (f"{NAV}\n<table width=\"1000\" align=\"center\"><tr>{menu}<td valign=\"top\" class=\"content\">\n"
                f"{hidden}\n<div class=\"WordSection1\">\n{article}\n</div>\n</td></tr></table>\n{script}\n{FOOTER.format(organ=html.escape(organ))}")
    else:
        body = (f"{NAV}\n<div class=\"main\"><div class=\"article\">\n{hidden}\n{article}\n</div></div>\n{script}\n"
                f"{FOOTER.format(organ=html.escape(organ))}")
    page = (f"<!DOCTYPE html>\n<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset={charset}\">\n"
            f"<title>{html.escape(organ)}政府信息公开年度报告</title>\n<style>td {{ border: 1px solid #000 }}</style>\n"
            f"<script>var menu = ['一、总体情况', '二、主动公开政府信息情况'];</script>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
    return page.encode("gbk" if word else "utf-8", errors="xmlcharrefreplace")


# ---------------------------------------------------------------- text

def table_lines(table: Table) -> list[str]:
    """Rows as Word flattens them: a merged cell once, a cell covered from above as an empty cell."""
    ncols, placed, occupied = grid(table)
    lines = []
    for r, row in enumerate(placed):
        starts = dict(row)
        cells = []
        col = 0
        while col < ncols:
            if col in starts:
                cells.append(starts[col].text)
                col += starts[col].cs
            elif (r, col) in occupied:
                origin_row, cell = occupied[(r, col)]
                cells.append("")
                col += cell.cs
            else:
                col += 1
        lines.append("\t".join(cells))
    return lines


def render_text(gold: dict) -> bytes:
    lines = []
    for kind, content in blocks(gold):
        if kind == "table":
            lines += table_lines(content)
        else:
            lines.append(content)
        lines.append("")
    return "\n".join(lines).encode("gb18030")


# ---------------------------------------------------------------- PDF (optional)

def docx_to_pdf(docx_path: Path, outdir: Path, timeout: float = 180) -> Path | None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory(prefix="ogi-fixtures-") as tmp:
        cmd = [soffice, f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", tmp, str(docx_path)]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, check=False)
        made = Path(tmp) / (docx_path.stem + ".pdf")
        if not made.is_file():
            return None
        target = outdir / (docx_path.name.split(".", 1)[0] + ".pdf")
        shutil.move(str(made), target)
        return target


# ---------------------------------------------------------------- build

def rendered_gold(gold: dict) -> dict:
    """The gold of a rendered copy: the seed's values, all scored, consistency as rendered."""
    from extractor.validate import (check_appeals, check_balance, check_results_totals, check_row_totals,
                                    check_values)

    f = gold["fields"]
    broken = [fl for check in (check_row_totals, check_results_totals, check_balance, check_appeals, check_values)
              for fl in check(f) if fl.severity == "error"]
    out = dict(gold)
    out["unscored"] = []
    out["source_consistent"] = not broken
    note = ("Rendered fixture of the gold of the same name by tools.fixtures: values printed cleanly, so the "
            "seed's own printed anomalies are not reproduced; source_consistent recomputed from R1-R5 on the "
            f"rendered values ({'; '.join(fl.message for fl in broken) or 'all hold'}).")
    out["notes"] = note + (" Seed notes: " + gold["notes"] if gold.get("notes") else "")
    return out


def write_rendered_gold(outdir: Path, name: str, gold: dict) -> Path:
    target = Path(outdir) / "gold" / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(rendered_gold(gold), ensure_ascii=False, indent=1), encoding="utf-8")
    return target


def build(outdir: Path, gold_dir: Path = Path("gold"), formats: tuple[str, ...] = ("docx", "html", "txt"),
          pdf: bool = False) -> list[Path]:
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    for i, path in enumerate(sorted(Path(gold_dir).glob("*.json"))):
        gold = json.loads(path.read_text(encoding="utf-8"))
        name = gold.get("doc") or path.stem
        write_rendered_gold(outdir, name, gold)
        if "docx" in formats or pdf:
            p = outdir / f"{name}.docx"
            p.write_bytes(render_docx(gold, i))
            if "docx" in formats:
                made.append(p)
            if pdf:
                got = docx_to_pdf(p, outdir)
                if got is not None:
                    made.append(got)
                if "docx" not in formats:
                    p.unlink()
        if "html" in formats:
            p = outdir / f"{name}.html"
            p.write_bytes(render_html(gold, i))
            made.append(p)
        if "txt" in formats:
            p = outdir / f"{name}.gb18030.txt"
            p.write_bytes(render_text(gold))
            made.append(p)
    return made


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.fixtures", description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--gold", type=Path, default=Path("gold"))
    ap.add_argument("--formats", default="docx,html,txt", help="comma-separated: docx, html, txt")
    ap.add_argument("--pdf", action="store_true", help="also render PDFs from the DOCX with LibreOffice")
    args = ap.parse_args(argv)
    made = build(args.outdir, args.gold, tuple(s.strip() for s in args.formats.split(",") if s.strip()), args.pdf)
    for p in made:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
