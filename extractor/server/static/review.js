// The review page: the flagged queue, and one report's source beside its tables.
// Plain DOM, no build step. Every text from the server goes in through textContent.
"use strict";

const $ = (sel, el = document) => el.querySelector(sel);
const SECTION_TITLES = { active: "二、主动公开政府信息情况", requests: "三、收到和处理政府信息公开申请情况", appeals: "四、行政复议、行政诉讼情况" };
let CONTRACT = null;
let REPORT = null;
let SOURCE = null;
let SELECTED = null;
let PAGE = 1;

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const kid of kids) if (kid != null) e.append(kid);
  return e;
}

function say(text, isError = false) {
  const m = $("#msg");
  m.textContent = text || "";
  m.className = isError ? "err" : "";
}

async function api(path, opts = {}) {
  const r = await fetch(path, { headers: { "Content-Type": "application/json" }, credentials: "same-origin", ...opts });
  const isJson = (r.headers.get("content-type") || "").includes("json");
  const body = isJson ? await r.json() : await r.text();
  if (!r.ok) throw new Error((body && body.detail && (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail))) || r.statusText);
  return body;
}

function reviewer() {
  const v = $("#reviewer").value.trim();
  if (!v) {
    $("#reviewer").focus();
    throw new Error("enter your name as reviewer first (top right)");
  }
  localStorage.setItem("ogi.reviewer", v);
  return v;
}

function fmtValue(v) {
  return v === null || v === undefined ? "—" : String(v);
}

// ------------------------------------------------------------------ routing

async function route() {
  const m = location.hash.match(/^#\/r\/(\d+)$/);
  try {
    if (m) await showReport(Number(m[1]));
    else await showQueue();
  } catch (e) {
    say(e.message, true);
  }
}

// ------------------------------------------------------------------ the queue

async function showQueue() {
  $("#report-view").hidden = true;
  $("#queue-view").hidden = false;
  $("#where").textContent = "queue";
  const items = await api("/v1/reports?flagged=true&limit=500");
  const tbody = $("#queue tbody");
  tbody.replaceChildren();
  for (const r of items) {
    const rules = el("td");
    for (const rule of r.rules) rules.append(el("span", { class: "rule", text: rule }));
    tbody.append(el("tr", { "data-id": r.id, "data-doc": r.doc },
      el("td", { class: "sev", text: r.error_count }),
      el("td", { text: r.flag_count }),
      rules,
      el("td", {}, el("a", { class: "open", href: `#/r/${r.id}`, text: r.doc, title: r.file })),
      el("td", { text: r.organ || "" }),
      el("td", { text: r.year ?? "" }),
      el("td", { text: r.format || "" }),
      el("td", { text: r.kind || "" })));
  }
  $("#queue-count").textContent = `${items.length} waiting`;
  $("#queue-empty").hidden = items.length > 0;
}

// ------------------------------------------------------------------ one report

async function showReport(id) {
  $("#queue-view").hidden = true;
  $("#report-view").hidden = false;
  if (!CONTRACT) CONTRACT = await api("/v1/contract");
  const [report, source] = await Promise.all([api(`/v1/reports/${id}`), api(`/v1/reports/${id}/source`)]);
  REPORT = report;
  SOURCE = source;
  SELECTED = null;
  PAGE = 1;
  $("#where").textContent = `report #${id}`;
  $("#editor").hidden = true;
  $("#notes").value = report.review.notes || "";
  const sc = report.review.source_consistent;
  $("#source-consistent").checked = sc === null || sc === undefined ? !!report.default_source_consistent : sc;
  render();
  showSource(null);
}

function flagsByKey() {
  const out = {};
  for (const f of REPORT.review_flags) {
    for (const k of f.keys || []) {
      if (out[k] !== "error") out[k] = f.severity;
    }
  }
  return out;
}

function render() {
  const r = REPORT;
  $("#report-title").textContent = r.doc;
  const meta = $("#report-meta");
  meta.replaceChildren(
    el("span", { class: "m", "data-key": "meta.organ", text: r.meta.organ || "(organ?)", title: "click to correct" }), " · ",
    el("span", { class: "m", "data-key": "meta.year", text: r.meta.year ?? "(year?)", title: "click to correct" }), " · ",
    `format ${r.meta.format || "?"} · ${r.kind || ""} · `,
    el("span", { class: `badge ${r.status}`, text: r.status }), " ",
    el("span", { class: `badge ${r.review.status}`, text: r.review.status }));
  for (const m of meta.querySelectorAll(".m")) m.addEventListener("click", () => select(m.dataset.key));

  // flags
  const ul = $("#flags");
  ul.replaceChildren();
  const flags = [...r.review_flags].sort((a, b) => (a.severity === "error" ? 0 : 1) - (b.severity === "error" ? 0 : 1));
  if (!flags.length) ul.append(el("li", { class: "none", text: "No flags: every re-checked rule holds." }));
  for (const f of flags) {
    const li = el("li", { class: `flag ${f.severity}`, "data-rule": f.rule },
      el("b", { text: `[${f.rule}] ` }), f.message, " ", el("span", { class: "src", text: `(${f.source})` }));
    li.addEventListener("click", () => focusKeys(f.keys || []));
    ul.append(li);
  }

  // tables
  const sev = flagsByKey();
  const box = $("#tables");
  box.replaceChildren();
  const specs = CONTRACT.filter((s) => s.formats.includes(r.meta.format));
  for (const section of ["active", "requests", "appeals"]) {
    const mine = specs.filter((s) => s.key.startsWith(section + "."));
    if (!mine.length) continue;
    const rows = [], cols = [], colLabel = {}, rowLabel = {}, byKey = {};
    for (const s of mine) {
      const parts = s.key.split(".");
      const col = parts.pop();
      const row = parts.join(".");
      const cut = s.label.lastIndexOf(" · ");
      if (!rows.includes(row)) { rows.push(row); rowLabel[row] = cut > 0 ? s.label.slice(0, cut) : s.label; }
      if (!cols.includes(col)) { cols.push(col); colLabel[col] = cut > 0 ? s.label.slice(cut + 3) : col; }
      byKey[s.key] = s;
    }
    const head = el("tr", {}, el("th", { text: "" }), ...cols.map((c) => el("th", { text: colLabel[c], title: c })));
    const table = el("table", { "data-section": section }, el("thead", {}, head));
    const tbody = el("tbody");
    for (const row of rows) {
      const tr = el("tr", {}, el("td", { class: "lbl", text: rowLabel[row], title: row }));
      for (const c of cols) {
        const key = `${row}.${c}`;
        if (!byKey[key]) { tr.append(el("td", { class: "v na" })); continue; }
        const v = r.fields[key];
        const x = r.extracted.fields[key];
        const cls = ["v"];
        if (v === null || v === undefined) cls.push("null");
        if (sev[key] === "error") cls.push("err"); else if (sev[key] === "warning") cls.push("warn");
        if (JSON.stringify(v ?? null) !== JSON.stringify(x ?? null)) cls.push("fixed");
        if (key === SELECTED) cls.push("sel");
        const td = el("td", { class: cls.join(" "), "data-key": key, text: fmtValue(v), title: `${key}${cls.includes("fixed") ? ` (extracted ${fmtValue(x)})` : ""}` });
        td.addEventListener("click", () => select(key));
        tr.append(td);
      }
      tbody.append(tr);
    }
    table.append(tbody);
    box.append(el("h3", { text: SECTION_TITLES[section] }), table);
  }

  // review state and log
  const rv = r.review;
  $("#review-state").textContent = rv.status === "approved" ? `approved by ${rv.reviewer} at ${rv.reviewed_at}` : "";
  const log = $("#log");
  log.replaceChildren();
  for (const x of r.log) {
    const what = x.action === "correct" ? `${x.key}: ${fmtValue(x.old)} → ${fmtValue(x.new)}` : "approved";
    log.append(el("li", { text: `${x.at} · ${x.reviewer} · ${what}` }));
  }
  $("#log-box").open = r.log.length > 0;
}

function labelOf(key) {
  if (key === "meta.organ") return "发布机关 organ";
  if (key === "meta.year") return "年度 year";
  const s = CONTRACT.find((s) => s.key === key);
  return s ? s.label : key;
}

function select(key) {
  SELECTED = key;
  for (const td of document.querySelectorAll("td.v.sel")) td.classList.remove("sel");
  const td = document.querySelector(`td.v[data-key="${CSS.escape(key)}"]`);
  if (td) td.classList.add("sel");
  const isMeta = key.startsWith("meta.");
  const current = isMeta ? REPORT.meta[key.slice(5)] : REPORT.fields[key];
  const extracted = isMeta ? REPORT.extracted.meta[key.slice(5)] : REPORT.extracted.fields[key];
  $("#editor").hidden = false;
  $("#edit-label").textContent = labelOf(key);
  $("#edit-key").textContent = key;
  $("#edit-extracted").textContent = fmtValue(extracted);
  const input = $("#edit-value");
  input.value = current === null || current === undefined ? "" : String(current);
  input.focus();
  input.select();
  showSource(isMeta ? null : REPORT.provenance[key] || null);
}

function focusKeys(keys) {
  for (const td of document.querySelectorAll("td.v.focus")) td.classList.remove("focus");
  let first = null;
  for (const k of keys) {
    const td = document.querySelector(`td.v[data-key="${CSS.escape(k)}"]`);
    if (td) { td.classList.add("focus"); first = first || td; }
  }
  if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
  if (keys.length) showSource(REPORT.provenance[keys[0]] || null);
}

async function saveCorrection() {
  if (!SELECTED) return;
  try {
    const raw = $("#edit-value").value.trim();
    const body = { key: SELECTED, value: raw === "" ? null : raw, reviewer: reviewer() };
    REPORT = await api(`/v1/reports/${REPORT.id}/corrections`, { method: "POST", body: JSON.stringify(body) });
    render();
    say(`saved ${SELECTED} = ${raw === "" ? "—" : raw}`);
  } catch (e) {
    say(e.message, true);
  }
}

async function approve() {
  try {
    const body = { reviewer: reviewer(), source_consistent: $("#source-consistent").checked, notes: $("#notes").value.trim() || null };
    REPORT = await api(`/v1/reports/${REPORT.id}/approve`, { method: "POST", body: JSON.stringify(body) });
    render();
    say(`approved ${REPORT.doc}`);
    location.hash = "#/";
  } catch (e) {
    say(e.message, true);
  }
}

// ------------------------------------------------------------------ the source pane

function showSource(loc) {
  const box = $("#source");
  const isPdf = SOURCE.kind === "pdf" && SOURCE.pages.length > 0;
  $("#page-prev").parentElement.hidden = !isPdf;
  if (isPdf && (!loc || loc.page)) {
    showPdf(loc);
    return;
  }
  $("#source-label").textContent = SOURCE.missing ? SOURCE.missing : `${SOURCE.kind || "text"} · normalised text`;
  const text = SOURCE.text || "";
  const pre = el("pre", { id: "src-text" });
  if (loc && loc.start !== undefined && loc.start !== null && loc.end !== undefined) {
    const mark = el("mark", { id: "hl", text: text.slice(loc.start, loc.end) });
    pre.append(text.slice(0, loc.start), mark, text.slice(loc.end));
    box.replaceChildren(pre);
    mark.scrollIntoView({ block: "center" });
  } else {
    pre.textContent = text || "(no text stored for this report)";
    box.replaceChildren(pre);
  }
}

function showPdf(loc) {
  const box = $("#source");
  if (loc && loc.page) PAGE = loc.page;
  const n = SOURCE.pages.length;
  PAGE = Math.min(Math.max(1, PAGE), n);
  $("#source-label").textContent = "PDF page image";
  $("#page-no").textContent = ` page ${PAGE} / ${n} `;
  let wrap = $(".pdf-page", box);
  let img = wrap && $("img", wrap);
  if (!wrap) {
    img = el("img", { alt: "PDF page" });
    wrap = el("div", { class: "pdf-page" }, img, el("div", { id: "bbox", hidden: true }));
    box.replaceChildren(wrap);
  }
  const src = `/v1/reports/${REPORT.id}/pages/${PAGE}?zoom=2`;
  const place = () => {
    const b = $("#bbox");
    if (!loc || !loc.bbox || loc.page !== PAGE) { b.hidden = true; return; }
    const scale = img.clientWidth / SOURCE.pages[PAGE - 1][0];
    const [x0, y0, x1, y1] = loc.bbox;
    const pad = 2;
    b.style.left = `${x0 * scale - pad}px`;
    b.style.top = `${y0 * scale - pad}px`;
    b.style.width = `${(x1 - x0) * scale + 2 * pad}px`;
    b.style.height = `${(y1 - y0) * scale + 2 * pad}px`;
    b.hidden = false;
    b.scrollIntoView({ block: "center" });
  };
  if (!img.src.endsWith(src)) {
    img.onload = place;
    img.src = src;
  } else {
    place();
  }
}

// ------------------------------------------------------------------ wiring

document.addEventListener("DOMContentLoaded", () => {
  $("#reviewer").value = localStorage.getItem("ogi.reviewer") || "";
  $("#edit-save").addEventListener("click", saveCorrection);
  $("#edit-value").addEventListener("keydown", (e) => { if (e.key === "Enter") saveCorrection(); });
  $("#approve").addEventListener("click", approve);
  $("#page-prev").addEventListener("click", () => { PAGE -= 1; showPdf(null); });
  $("#page-next").addEventListener("click", () => { PAGE += 1; showPdf(null); });
  window.addEventListener("hashchange", route);
  route();
});
