// Package render turns a probe.Report into what people and programs read:
// the compliance table with its "what to fix" list, JSON (the report
// contract), CSV, Markdown, HTML for mail and browsers, plain text, the
// monitoring-plugins line, and the checklist a school's teacher follows at
// one PC. Renderers only read the report; they never judge.
//
// There is one entry point, Write, and one immutable table of formats:
// every option (language, width, colour, problems only) travels in
// Options, so no format has a second, "localized" twin.
//
// It owns: every output format (one immutable table: table, json, csv,
// csv-excel, markdown, html, text, nagios), the checklist pages and the
// detail views of kms and dhcp. It must not know the network or how a
// verdict was reached: it reads the Report and the legs' typed accessors.
package render
