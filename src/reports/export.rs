//! Printers for snapshots: Markdown (GitHub tables for a pull request or a
//! chat), HTML (one self-contained page with inline SVG charts), JSON and
//! CSV. Log text is hostile in each: every text cell is stripped of control
//! characters, then escaped for its target (Markdown punctuation, HTML
//! entities, CSV quoting and formula guards). Numbers are printed as the
//! report formats them and never altered.

use std::fmt::Write as _;

use super::snapshot::{Chart, Section, Snapshot};
use super::table::{Align, Cell, Table};
use crate::domain::sanitize;

/// Markdown text from a log: control characters removed, then every ASCII
/// punctuation character that could start markup, a link, raw HTML, math
/// or a table cell is backslash-escaped (CommonMark renders `\X` as `X`).
/// Plain punctuation (`. , ; - % ( )` and quotes) stays as written, except
/// where it would make an autolink (`http://`, `www.`).
pub fn md_text(s: &str) -> String {
    let c = sanitize::clean(s);
    let chars: Vec<char> = c.chars().collect();
    let mut out = String::with_capacity(c.len() + 8);
    for (i, ch) in chars.iter().enumerate() {
        let escape = match ch {
            '.' => i >= 3 && chars[i - 3..i].iter().collect::<String>().eq_ignore_ascii_case("www"),
            ':' => chars.get(i + 1) == Some(&'/'),
            ',' | ';' | '-' | '%' | '(' | ')' | '\'' | '"' | '=' | '+' | '?' | '/' => false,
            c => c.is_ascii_punctuation(),
        };
        if escape {
            out.push('\\');
        }
        out.push(*ch);
    }
    out
}

/// Our own text and figures in Markdown (titles, the stamp, numbers):
/// only the characters that could start markup are escaped, so dates and
/// amounts read as written.
fn md_figure(s: &str) -> String {
    let c = sanitize::clean(s);
    let mut out = String::with_capacity(c.len());
    for ch in c.chars() {
        if matches!(ch, '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '$' | '~' | '#') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn md_cell(c: &Cell) -> String {
    if c.is_text() { md_text(&c.human()) } else { md_figure(&c.human()) }
}

/// HTML text: control characters removed and `& < > " '` escaped.
pub fn html_text(s: &str) -> String {
    let c = sanitize::clean(s);
    let mut out = String::with_capacity(c.len() + 8);
    for ch in c.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The columns a printer shows: the brief ones for Markdown, else those
/// people see (quiet columns with nothing to say are left out).
fn shown(s: &Section, brief: bool) -> (Table, Vec<usize>) {
    let t = s.table.for_people();
    let cols: Vec<usize> = match (&s.brief, brief) {
        (Some(keys), true) => {
            let picked: Vec<usize> = keys.iter().filter_map(|k| t.column(k)).collect();
            if picked.is_empty() { (0..t.columns.len()).collect() } else { picked }
        }
        _ => (0..t.columns.len()).collect(),
    };
    (t, cols)
}

fn stamp_line(s: &Snapshot) -> String {
    let st = &s.stamp;
    format!(
        "generated {} · window {} ({}) · aifin {} · catalog {} · rules {} · ledger {} ({} calls, newest {})",
        st.generated_at,
        st.window,
        st.tz,
        st.aifin_version,
        st.catalog_version,
        st.rules_hash,
        st.ledger_fingerprint,
        st.ledger_calls,
        st.ledger_newest.as_deref().unwrap_or("-")
    )
}

/// One view as Markdown.
pub fn markdown(s: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n", md_figure(&s.title));
    let _ = writeln!(out, "_{}_\n", md_figure(&stamp_line(s)));
    for l in &s.summary {
        let _ = writeln!(out, "- {}", md_text(l));
    }
    if !s.summary.is_empty() {
        out.push('\n');
    }
    for sec in &s.sections {
        let (t, cols) = shown(sec, true);
        if !t.title.is_empty() && t.title != s.title {
            let _ = writeln!(out, "**{}**\n", md_figure(&t.title));
        }
        if t.rows.is_empty() {
            out.push_str("_nothing in this window_\n\n");
            continue;
        }
        let row = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
        out.push_str(&row(cols.iter().map(|i| md_figure(&t.columns[*i].title)).collect()));
        out.push('\n');
        out.push_str(&row(cols
            .iter()
            .map(|i| if t.columns[*i].align == Align::Right { "--:".into() } else { "---".into() })
            .collect()));
        out.push('\n');
        for r in &t.rows {
            out.push_str(&row(cols.iter().map(|i| md_cell(&r.cells[*i])).collect()));
            out.push('\n');
        }
        if let Some(tot) = &t.total {
            out.push_str(&row(cols
                .iter()
                .map(|i| {
                    let c = md_cell(&tot[*i]);
                    if c.is_empty() || c == "\\-" { c } else { format!("**{c}**") }
                })
                .collect()));
            out.push('\n');
        }
        for n in &t.notes {
            let _ = writeln!(out, "\n_{}_", md_text(n));
        }
        out.push('\n');
    }
    out
}

/// Several views as one Markdown document.
pub fn markdown_all(views: &[Snapshot]) -> String {
    let mut out = String::from("# aifin snapshot\n\n");
    for v in views {
        out.push_str(&markdown(v));
    }
    out
}

const PALETTE: [&str; 8] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];

const STYLE: &str = "
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --dim: #5f6b7a; --line: #d6dbe1; --band: #c9d7ea; --head: #f3f5f8; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ee; --bg: #14171b; --dim: #9aa5b1; --line: #39404a; --band: #2f4360; --head: #1d2228; } }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: var(--fg); background: var(--bg); margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; } h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
.stamp { color: var(--dim); font-size: 12px; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { background: var(--head); font-weight: 600; } td.num, th.num { text-align: right; } tr.total td { font-weight: 600; }
.note { color: var(--dim); font-size: 12px; margin: .25rem 0; }
ul.summary { padding-left: 1.2rem; } svg { display: block; max-width: 100%; height: auto; margin: .5rem 0; }
svg text { fill: var(--fg); font: 11px system-ui, sans-serif; } svg .axis { stroke: var(--line); } svg .band { fill: var(--band); }
.wrap { overflow-x: auto; }
@media print { body { margin: 0; max-width: none; } section { break-inside: avoid; } .wrap { overflow: visible; } }
";

fn svg_chart(c: &Chart) -> String {
    let (w, h, left, bottom, top) = (860.0_f64, 240.0_f64, 70.0_f64, 36.0_f64, 12.0_f64);
    let plot_h = h - bottom - top;
    let mut s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img">"#);
    let axis = |s: &mut String, max: f64, unit: &str| {
        let _ = write!(
            s,
            r#"<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{}"/><line class="axis" x1="{left}" y1="{}" x2="{}" y2="{}"/>"#,
            h - bottom,
            h - bottom,
            w - 10.0,
            h - bottom
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 6.0,
            top + 10.0,
            html_text(&fmt_axis(max, unit))
        );
        let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="end">0</text>"#, left - 6.0, h - bottom);
    };
    match c {
        Chart::Stacked { labels, series } => {
            let totals: Vec<i64> = (0..labels.len())
                .map(|i| series.iter().map(|(_, v)| v.get(i).map_or(0, |n| n.0.max(0))).sum())
                .collect();
            let max = totals.iter().copied().max().unwrap_or(0).max(1) as f64;
            axis(&mut s, max / 1e9, "$");
            let n = labels.len().max(1) as f64;
            let slot = (w - 10.0 - left) / n;
            for i in 0..labels.len() {
                let mut y = h - bottom;
                for (k, (_, v)) in series.iter().enumerate() {
                    let val = v.get(i).map_or(0, |n| n.0.max(0)) as f64;
                    let bh = val / max * plot_h;
                    if bh > 0.0 {
                        y -= bh;
                        let _ = write!(
                            s,
                            r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="{}"/>"#,
                            left + i as f64 * slot + 1.0,
                            (slot - 2.0).max(1.0),
                            PALETTE[k % PALETTE.len()]
                        );
                    }
                }
            }
            x_labels(&mut s, labels, left, slot, h - bottom + 14.0);
            // The legend: one row, a slot per series.
            let slot_w = (w - left) / series.len().max(1) as f64;
            for (k, (name, _)) in series.iter().enumerate() {
                let x = left + k as f64 * slot_w;
                let _ = write!(
                    s,
                    r#"<rect x="{x:.1}" y="{:.1}" width="10" height="10" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                    h - 15.0,
                    PALETTE[k % PALETTE.len()],
                    x + 14.0,
                    h - 6.0,
                    html_text(&sanitize::clean_truncated(name, ((slot_w - 18.0) / 6.5).max(4.0) as usize))
                );
            }
        }
        Chart::Projection { actual, ahead } => {
            let max = actual
                .iter()
                .map(|(_, v)| *v)
                .chain(ahead.iter().map(|(_, _, _, hi)| *hi))
                .fold(0.0_f64, f64::max)
                .max(1e-9);
            axis(&mut s, max, "$");
            let n = (actual.len() + ahead.len()).max(1) as f64;
            let slot = (w - 10.0 - left) / n;
            let y = |v: f64| h - bottom - v / max * plot_h;
            for (i, (_, v)) in actual.iter().enumerate() {
                let _ = write!(
                    s,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
                    left + i as f64 * slot + 1.0,
                    y(*v),
                    (slot - 2.0).max(1.0),
                    h - bottom - y(*v),
                    PALETTE[0]
                );
            }
            if !ahead.is_empty() {
                let x = |i: usize| left + (actual.len() + i) as f64 * slot + slot / 2.0;
                let mut band = String::new();
                for (i, (_, _, lo, _)) in ahead.iter().enumerate() {
                    let _ = write!(band, "{:.1},{:.1} ", x(i), y(*lo));
                }
                for (i, (_, _, _, hi)) in ahead.iter().enumerate().rev() {
                    let _ = write!(band, "{:.1},{:.1} ", x(i), y(*hi));
                }
                let _ = write!(s, r#"<polygon class="band" points="{}"/>"#, band.trim_end());
                let line: Vec<String> =
                    ahead.iter().enumerate().map(|(i, (_, e, _, _))| format!("{:.1},{:.1}", x(i), y(*e))).collect();
                let _ = write!(
                    s,
                    r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
                    PALETTE[1],
                    line.join(" ")
                );
            }
            let labels: Vec<String> =
                actual.iter().map(|(l, _)| l.clone()).chain(ahead.iter().map(|(l, ..)| l.clone())).collect();
            x_labels(&mut s, &labels, left, slot, h - bottom + 14.0);
            let _ = write!(
                s,
                r#"<text x="{left}" y="{}">bars: spend per day · line: projected day, band: P10-P90</text>"#,
                h - 4.0
            );
        }
        Chart::Intervals { rows } => {
            let lo_end = rows.iter().map(|r| r.1).fold(1.0_f64, f64::min).min(0.9) - 0.02;
            let lo_end = lo_end.max(0.0);
            let x = |v: f64| 220.0 + (v - lo_end) / (1.0 - lo_end).max(1e-9) * (w - 240.0);
            let row_h = 24.0;
            let hh = 20.0 + rows.len() as f64 * row_h;
            s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {hh}" role="img">"#);
            for (i, (name, lo, p, hi)) in rows.iter().enumerate() {
                let yy = 16.0 + i as f64 * row_h;
                let _ = write!(
                    s,
                    r#"<text x="210" y="{:.1}" text-anchor="end">{}</text><line x1="{:.1}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="{}" stroke-width="3"/><circle cx="{:.1}" cy="{yy:.1}" r="4" fill="{}"/><text x="{:.1}" y="{:.1}">{:.1}%</text>"#,
                    yy + 4.0,
                    html_text(&sanitize::clean_truncated(name, 32)),
                    x(*lo),
                    x(*hi),
                    PALETTE[0],
                    x(*p),
                    PALETTE[1],
                    x(*hi) + 6.0,
                    yy + 4.0,
                    p * 100.0
                );
            }
        }
        Chart::Bars { rows, limit, unit } => {
            let max = rows.iter().map(|r| r.1).fold(*limit, f64::max).max(1e-9) * 1.05;
            let x = |v: f64| 220.0 + v / max * (w - 260.0);
            let row_h = 22.0;
            let hh = 24.0 + rows.len() as f64 * row_h;
            s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {hh}" role="img">"#);
            for (i, (name, v)) in rows.iter().enumerate() {
                let yy = 8.0 + i as f64 * row_h;
                let color = if *v >= *limit { PALETTE[3] } else { PALETTE[0] };
                let _ = write!(
                    s,
                    r#"<text x="210" y="{:.1}" text-anchor="end">{}</text><rect x="220" y="{yy:.1}" width="{:.1}" height="14" fill="{color}"/><text x="{:.1}" y="{:.1}">{v:.1}{}</text>"#,
                    yy + 11.0,
                    html_text(&sanitize::clean_truncated(name, 32)),
                    (x(*v) - 220.0).max(0.5),
                    x(*v) + 6.0,
                    yy + 11.0,
                    html_text(unit)
                );
            }
            let _ = write!(
                s,
                r#"<line x1="{:.1}" y1="0" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}">{limit}{}</text>"#,
                x(*limit),
                x(*limit),
                hh - 14.0,
                PALETTE[3],
                x(*limit) + 4.0,
                hh - 2.0,
                html_text(unit)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// About eight labels under a chart's slots.
fn x_labels(s: &mut String, labels: &[String], left: f64, slot: f64, y: f64) {
    let step = (labels.len() / 8).max(1);
    for (i, l) in labels.iter().enumerate().step_by(step) {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{y}" text-anchor="middle">{}</text>"#,
            left + (i as f64 + 0.5) * slot,
            html_text(l)
        );
    }
}

fn fmt_axis(v: f64, unit: &str) -> String {
    if unit == "$" { format!("${v:.2}") } else { format!("{v:.1}{unit}") }
}

fn html_table(sec: &Section, out: &mut String, view_title: &str) {
    let (t, cols) = shown(sec, false);
    if !t.title.is_empty() && t.title != view_title {
        let _ = write!(out, "<h3>{}</h3>", html_text(&t.title));
    }
    if let Some(c) = &sec.chart {
        out.push_str(&svg_chart(c));
    }
    if t.rows.is_empty() {
        out.push_str(r#"<p class="note">nothing in this window</p>"#);
        return;
    }
    out.push_str(r#"<div class="wrap"><table><thead><tr>"#);
    for i in &cols {
        let c = &t.columns[*i];
        let cls = if c.align == Align::Right { r#" class="num""# } else { "" };
        let _ = write!(out, "<th{cls}>{}</th>", html_text(&c.title));
    }
    out.push_str("</tr></thead><tbody>");
    let row = |cells: &[Cell], out: &mut String, class: &str| {
        let _ = write!(out, "<tr{class}>");
        for i in &cols {
            let cls = if t.columns[*i].align == Align::Right { r#" class="num""# } else { "" };
            let _ = write!(out, "<td{cls}>{}</td>", html_text(&cells[*i].human()));
        }
        out.push_str("</tr>");
    };
    for r in &t.rows {
        row(&r.cells, out, "");
    }
    if let Some(tot) = &t.total {
        row(tot, out, r#" class="total""#);
    }
    out.push_str("</tbody></table></div>");
    for n in &t.notes {
        let _ = write!(out, r#"<p class="note">{}</p>"#, html_text(n));
    }
}

fn html_view(s: &Snapshot, out: &mut String, heading: &str) {
    let _ = write!(out, r#"<section id="{}"><{heading}>{}</{heading}>"#, s.view, html_text(&s.title));
    let _ = write!(out, r#"<p class="stamp">{}</p>"#, html_text(&stamp_line(s)));
    if !s.summary.is_empty() {
        out.push_str(r#"<ul class="summary">"#);
        for l in &s.summary {
            let _ = write!(out, "<li>{}</li>", html_text(l));
        }
        out.push_str("</ul>");
    }
    for sec in &s.sections {
        html_table(sec, out, &s.title);
    }
    out.push_str("</section>");
}

/// One self-contained page: inline style and SVG, no script, no URL; a
/// content security policy that forbids any request.
pub fn html(views: &[Snapshot]) -> String {
    let title = match views {
        [one] => one.title.clone(),
        _ => "aifin snapshot".to_string(),
    };
    let mut out = String::from("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">"#,
    );
    out.push_str(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#);
    let _ = write!(out, "<title>{}</title><style>{STYLE}</style></head><body>", html_text(&title));
    if views.len() > 1 {
        out.push_str("<h1>aifin snapshot</h1>");
    }
    for v in views {
        html_view(v, &mut out, if views.len() > 1 { "h2" } else { "h1" });
    }
    out.push_str("</body></html>\n");
    out
}

/// The JSON document of one view or several.
pub fn json(views: &[Snapshot]) -> serde_json::Value {
    let one = |s: &Snapshot| {
        serde_json::json!({
            "view": s.view,
            "title": s.title,
            "stamp": s.stamp,
            "summary": s.summary,
            "report": s.json,
        })
    };
    match views {
        [v] => one(v),
        _ => serde_json::json!({ "views": views.iter().map(one).collect::<Vec<_>>() }),
    }
}

/// The text of `views` in `format` (`md`, `html`, `json`, `csv`; CSV holds
/// the first view's first table).
pub fn render(format: &str, views: &[Snapshot]) -> Result<String, String> {
    Ok(match format {
        "md" => match views {
            [one] => markdown(one),
            all => markdown_all(all),
        },
        "html" => html(views),
        "json" => {
            let mut s = serde_json::to_string_pretty(&json(views)).map_err(|e| e.to_string())?;
            s.push('\n');
            s
        }
        "csv" => {
            let first = views.first().and_then(|s| s.sections.first()).ok_or("nothing to export")?;
            let mut buf = Vec::new();
            super::print::csv(&mut buf, &first.table).map_err(|e| e.to_string())?;
            String::from_utf8(buf).map_err(|e| e.to_string())?
        }
        f => return Err(format!("unknown format '{f}': md, html, json or csv")),
    })
}

/// `aifin-<view>-<YYYYMMDD-HHMMSS>.<format>` at `now` in `tz`.
pub fn file_name(view: &str, format: &str, now: i64, tz: &jiff::tz::TimeZone) -> String {
    let stamp = jiff::Timestamp::from_millisecond(now)
        .map(|t| t.to_zoned_datetime(tz.clone()).strftime("%Y%m%d-%H%M%S").to_string())
        .unwrap_or_else(|_| now.to_string());
    format!("aifin-{view}-{stamp}.{format}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_text_cannot_become_markup() {
        assert_eq!(md_text("| pipes |"), "\\| pipes \\|");
        assert_eq!(md_text("`code` <script>"), "\\`code\\` \\<script\\>");
        assert_eq!(md_text("[x](http://evil)"), "\\[x\\](http\\://evil)");
        assert_eq!(md_text("see www.evil.com"), "see www\\.evil.com");
        assert_eq!(md_text("$1 *b* _i_ ~s~ #h !x &amp;"), "\\$1 \\*b\\* \\_i\\_ \\~s\\~ \\#h \\!x \\&amp;");
        assert_eq!(md_text("support-copilot: 36.9% (a, b)"), "support-copilot: 36.9% (a, b)");
        assert_eq!(md_text("\u{1b}[31mred"), "red");
        assert_eq!(md_text("plain words"), "plain words");
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(html_text("<script>alert('x')</script>"), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
        assert_eq!(html_text("a & \"b\""), "a &amp; &quot;b&quot;");
        assert_eq!(html_text("\u{1b}]8;;http://x\u{7}link"), "link");
    }
}
