"""The template's printed labels, as fragments that identify a row or column after normalisation.

Fragments are matched against ``textnorm.label_key`` of a cell (no spaces, no leading ordinal),
so they tolerate "1.属于国家秘密", "1. 属于国家秘密" and "属 于 国 家 秘 密" alike. Where a PDF
drops characters from a label ("2.其他法律行政止公开"), a second fragment still matches.
"""

from __future__ import annotations

from extractor.textnorm import label_key

# Table 三: row -> fragments (any one identifies the row).
REQUEST_ROW_FRAGMENTS: dict[str, tuple[str, ...]] = {
    "new_received": ("本年新收",),
    "carried_over": ("上年结转",),
    "disclosed": ("予以公开",),
    "partially_disclosed": ("部分公开",),
    "withheld_state_secret": ("国家秘密",),
    "withheld_prohibited": ("禁止公开", "其他法律"),
    "withheld_security_stability": ("三安全", "一稳定"),
    "withheld_third_party": ("第三方",),
    "withheld_internal_affairs": ("内部事务",),
    "withheld_process_info": ("过程性",),
    "withheld_enforcement_files": ("执法案卷",),
    "withheld_query_matters": ("查询事项",),
    "unable_not_held": ("不掌握",),
    "unable_needs_creation": ("另行制作", "没有现成"),
    "unable_unclear": ("仍不明确", "补正后申请"),
    "not_processed_complaint": ("信访", "举报投诉"),
    "not_processed_duplicate": ("重复申请",),
    "not_processed_publication": ("出版物",),
    "not_processed_excessive": ("大量反复", "无正当理由大量"),
    "not_processed_confirm": ("确认或重新", "重新出具"),
    "other_overdue_correction": ("逾期不补正", "不补正"),
    "other_overdue_fee": ("收费通知", "缴纳费用"),
    "total_processed": ("总计",),
    "carried_forward": ("结转下年",),
}
# Group labels: (三)…(六) and the results block itself; they are not rows (but see 其他处理).
REQUEST_GROUP_FRAGMENTS: dict[str, tuple[str, ...]] = {
    "results": ("本年度办理结果",),
    "withheld": ("不予公开",),
    "unable": ("无法提供",),
    "not_processed": ("不予处理",),
    "other": ("其他处理",),
}
# Applicant column headers (never rows).
REQUEST_HEADER_FRAGMENTS = ("申请人情况", "自然人", "法人或其他组织", "商业企业", "科研机构", "社会公益", "法律服务", "勾稽关系")

# Table 二: row labels and column headers.
ACTIVE_ROW_FRAGMENTS: dict[str, tuple[str, ...]] = {
    "regulations": ("规章",),
    "normative_docs": ("规范性文件",),
    "licensing": ("行政许可",),
    "penalty": ("行政处罚",),
    "coercion": ("行政强制",),
    "other_services": ("其他对外管理服务", "对外管理服务"),
    "fees": ("行政事业性收费", "事业性收费"),
    "procurement": ("政府集中采购", "集中采购"),
}
ACTIVE_COLUMN_FRAGMENTS: dict[str, tuple[str, ...]] = {
    "issued": ("本年制发",),
    "repealed": ("本年废止",),
    "in_force": ("现行有效",),
    "made": ("本年新制作",),
    "published": ("本年新公开",),
    "public_total": ("对外公开总",),
    "prev_items": ("上一年项目", "上年项目"),
    "change": ("增/减", "增减", "本年增"),
    "decisions": ("处理决定",),
    "amount": ("收费金额", "采购总金额", "总金额"),
    "items": ("采购项目数",),
}
# The template's columns per row and format, used when a block prints no header.
ACTIVE_DEFAULT_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "2021": {
        "regulations": ("issued", "repealed", "in_force"),
        "normative_docs": ("issued", "repealed", "in_force"),
        "licensing": ("decisions",),
        "penalty": ("decisions",),
        "coercion": ("decisions",),
        "fees": ("amount",),
    },
    "2019": {
        "regulations": ("made", "published", "public_total"),
        "normative_docs": ("made", "published", "public_total"),
        "licensing": ("prev_items", "change", "decisions"),
        "other_services": ("prev_items", "change", "decisions"),
        "penalty": ("prev_items", "change", "decisions"),
        "coercion": ("prev_items", "change", "decisions"),
        "fees": ("prev_items", "change"),
        "procurement": ("items", "amount"),
    },
}

APPEAL_GROUP_FRAGMENTS: dict[str, tuple[str, ...]] = {
    "admin_review": ("行政复议",),
    "lawsuit_direct": ("未经复议", "直接起诉"),
    "lawsuit_after_review": ("复议后起诉",),
}


_MATCHED: dict[tuple[str, int], tuple[dict, str | None]] = {}


def match(text: str, table: dict[str, tuple[str, ...]]) -> str | None:
    """The first row name in ``table`` one of whose fragments is in the label (remembered per text:
    the entry keeps the table itself, so its id cannot be reused while the entry lives)."""
    hit = _MATCHED.get((text, id(table)))
    if hit is not None and hit[0] is table:
        return hit[1]
    key = label_key(text)
    name = next((n for n, fragments in table.items() if any(f in key for f in fragments)), None)
    if len(text) < 256 and len(_MATCHED) < 1 << 15:
        _MATCHED[(text, id(table))] = (table, name)
    return name


def is_request_header(text: str) -> bool:
    key = label_key(text)
    return any(f in key for f in REQUEST_HEADER_FRAGMENTS)
