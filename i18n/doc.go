// Package i18n is kmsprobe's message catalog: every sentence a person
// reads (findings, remedies' prose, headings, the summary, the mail, the
// checklist) has a stable id, and its text in each language lives in
// locales/<area>.<lang>.toml, data a city admin can correct without
// reading Go:
//
//	["dns.srv.nxdomain"]
//	other = "{{.Server}} 回答 NXDOMAIN：{{.Name}} 不存在"
//
// Findings carry their id and arguments (finding.Finding.ID, Args); the
// English text is also in Finding.Message, the JSON contract. Commands,
// zone lines and PowerShell are never translated: they travel as
// arguments or stay outside the prose.
//
// The catalog is built on github.com/nicksnyder/go-i18n/v2 and loaded
// once from the files embedded in the binary. It must not know about
// reports, renderers or any leg: it turns (language, id, arguments) into
// text and nothing else.
package i18n
