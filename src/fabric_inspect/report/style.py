"""The report's stylesheet: inline in the HTML (no external CSS or fonts), A4 print rules included."""

from __future__ import annotations

CSS = """
:root { --ink: #1d2329; --muted: #5b6670; --line: #d5dbe0; --soft: #f3f5f7; --accent: #1f4e79;
  --pass: #1b7f3b; --fail: #b3261e; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #e9ecef; color: var(--ink);
  font: 13px/1.45 "Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif; }
main { max-width: 860px; margin: 24px auto; background: #fff; padding: 34px 40px 28px;
  box-shadow: 0 1px 4px rgba(0,0,0,.15); }
.doc-head { display: flex; justify-content: space-between; align-items: flex-start;
  border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 16px; }
.doc-kind { font-size: 11px; letter-spacing: .12em; text-transform: uppercase; color: var(--accent);
  font-weight: 700; }
h1 { font-size: 24px; margin: 4px 0 2px; }
.doc-sub { color: var(--muted); }
.verdict { text-align: center; min-width: 150px; border: 3px solid; border-radius: 6px; padding: 6px 14px; }
.verdict .word { display: block; font-size: 26px; font-weight: 800; letter-spacing: .08em; }
.verdict .why { display: block; font-size: 11px; }
.verdict.pass { color: var(--pass); } .verdict.fail { color: var(--fail); }
h2 { font-size: 14px; text-transform: uppercase; letter-spacing: .06em; color: var(--accent);
  border-bottom: 1px solid var(--line); padding-bottom: 3px; margin: 22px 0 8px; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 0 28px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 12px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; font-weight: 600; }
dl.settings { font-size: 11px; gap: 1px 10px; } dl.settings dd { font-weight: 500; word-break: break-all; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin: 6px 0 4px; }
.kpi { background: var(--soft); border-left: 4px solid var(--accent); padding: 8px 10px; }
.kpi .v { display: block; font-size: 20px; font-weight: 700; }
.kpi .k { color: var(--muted); font-size: 11px; }
.kpi.fail { border-left-color: var(--fail); } .kpi.pass { border-left-color: var(--pass); }
.note { color: var(--muted); font-size: 11px; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: middle; }
th { background: var(--soft); font-size: 11px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px;
  vertical-align: -1px; }
table.narrow { width: auto; min-width: 55%; }
.sub { display: block; font-size: 9px; color: var(--muted); font-weight: 400; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 11px; margin: 4px 0; }
td.thumb { width: 56px; padding: 2px 6px; }
td.thumb img { display: block; width: 44px; height: 44px; object-fit: cover; border: 1px solid var(--line);
  image-rendering: auto; }
.noimg { display: flex; width: 44px; height: 44px; align-items: center; justify-content: center;
  background: repeating-linear-gradient(45deg, #f3f5f7, #f3f5f7 6px, #e7ebee 6px, #e7ebee 12px);
  color: var(--muted); font-size: 9px; text-align: center; border: 1px solid var(--line); }
svg { display: block; margin: 4px 0; }
svg .fabric { fill: #f6f1e4; stroke: #9aa3ab; stroke-width: .8; }
svg .axis { font-size: 9px; fill: var(--muted); }
svg .num { font-size: 8px; fill: var(--ink); }
svg .tick { stroke: #9aa3ab; stroke-width: .8; }
svg .grid { stroke: #e3e7ea; stroke-width: .8; }
.rules { font-size: 11px; color: var(--muted); }
.rules table td, .rules table th { padding: 2px 6px; }
.sign { display: grid; grid-template-columns: repeat(3, 1fr); gap: 28px; margin-top: 34px; }
.sign div { border-top: 1px solid var(--ink); padding-top: 4px; font-size: 11px; color: var(--muted); }
footer { margin-top: 20px; font-size: 10px; color: var(--muted); display: flex;
  justify-content: space-between; }
.keep { break-inside: avoid; page-break-inside: avoid; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { margin: 0; padding: 0; max-width: none; box-shadow: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
}
"""
