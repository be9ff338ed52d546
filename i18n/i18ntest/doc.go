// Package i18ntest holds the catalog checks every leg's tests share: a
// leg's English templates against its locale files, and its findings
// against the English entries. It lives apart from package i18n so the
// binary does not link package testing.
//
// It owns: the catalog checks every leg's tests share. Tests only (kept out
// of package i18n so the binary does not link package testing).
package i18ntest
