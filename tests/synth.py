"""Small synthetic reports for reader tests: the template's labels, values chosen by the test."""

from extractor.contract import APPLICANT_COLUMNS

ROW_LABELS = [
    ("new_received", "一、本年新收政府信息公开申请数量"),
    ("carried_over", "二、上年结转政府信息公开申请数量"),
    ("disclosed", "三、本年度办理结果\t（一）予以公开"),
    ("partially_disclosed", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    ("withheld_state_secret", "（三）不予公开\t1.属于国家秘密"),
    ("withheld_prohibited", "2.其他法律行政法规禁止公开"),
    ("withheld_security_stability", "3.危及“三安全一稳定”"),
    ("withheld_third_party", "4.保护第三方合法权益"),
    ("withheld_internal_affairs", "5.属于三类内部事务信息"),
    ("withheld_process_info", "6.属于四类过程性信息"),
    ("withheld_enforcement_files", "7.属于行政执法案卷"),
    ("withheld_query_matters", "8.属于行政查询事项"),
    ("unable_not_held", "（四）无法提供\t1.本机关不掌握相关政府信息"),
    ("unable_needs_creation", "2.没有现成信息需要另行制作"),
    ("unable_unclear", "3.补正后申请内容仍不明确"),
    ("not_processed_complaint", "（五）不予处理\t1.信访举报投诉类申请"),
    ("not_processed_duplicate", "2.重复申请"),
    ("not_processed_publication", "3.要求提供公开出版物"),
    ("not_processed_excessive", "4.无正当理由大量反复申请"),
    ("not_processed_confirm", "5.要求行政机关确认或重新出具已获取信息"),
    ("other_processing", "（六）其他处理"),
    ("total_processed", "（七）总计"),
    ("carried_forward", "四、结转下年度继续办理"),
]

ACTIVE_2021 = """二、主动公开政府信息情况
第二十条第（一）项
信息内容\t本年制发件数\t本年废止件数\t现行有效件数
规章\t0\t0\t0
行政规范性文件\t5\t0\t48
第二十条第（五）项
信息内容\t本年处理决定数量
行政许可\t77
第二十条第（六）项
信息内容\t本年处理决定数量
行政处罚\t47
行政强制\t6
第二十条第（八）项
信息内容\t本年收费金额（单位：万元）
行政事业性收费\t7730.28
"""


def requests_rows(values: dict[str, list]) -> dict[str, list]:
    """Fill every row not given with zeros; each value list is 7 cells (None = blank)."""
    return {name: values.get(name, [0] * 7) for name, _ in ROW_LABELS}


def render(rows: dict[str, list], appeals: str = "0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0",
           active: str = ACTIVE_2021, narrative: str = "", title: str = "测试区人民政府2023年政府信息公开工作年度报告",
           requests_heading: str = "三、收到和处理政府信息公开申请情况") -> str:
    lines = [title, "一、总体情况", narrative or "本机关认真做好政府信息公开工作。", active.rstrip("\n"), requests_heading,
             "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）\t申请人情况",
             "\t自然人\t法人或其他组织\t\t\t\t\t其他\t总计",
             "\t\t商业企业\t科研机构\t社会公益组织\t法律服务机构"]
    for name, label in ROW_LABELS:
        if name not in rows:
            continue
        cells = ["" if v is None else str(v) for v in rows[name]]
        lines.append(label + "\t" + "\t".join(cells))
    lines += ["四、政府信息公开行政复议、行政诉讼情况", "行政复议\t\t\t\t\t行政诉讼",
              "结果维持\t结果纠正\t其他结果\t尚未审结\t总计\t未经复议直接起诉\t\t\t\t\t复议后起诉", appeals,
              "五、存在的主要问题及改进情况", "无。", "六、其他需要报告的事项", "无。"]
    return "\n".join(lines) + "\n"


def consistent_rows() -> dict[str, list]:
    """A table 三 that satisfies R1-R3: 10 new + 2 carried = 11 processed + 1 carried forward."""
    rows = requests_rows({})
    rows["new_received"] = [8, 2, 0, 0, 0, 0, 10]
    rows["carried_over"] = [2, 0, 0, 0, 0, 0, 2]
    rows["disclosed"] = [6, 1, 0, 0, 0, 0, 7]
    rows["unable_not_held"] = [3, 1, 0, 0, 0, 0, 4]
    rows["total_processed"] = [9, 2, 0, 0, 0, 0, 11]
    rows["carried_forward"] = [1, 0, 0, 0, 0, 0, 1]
    return rows


COLUMNS = APPLICANT_COLUMNS
