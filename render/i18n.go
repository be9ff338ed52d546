package render

import (
	"strings"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
	"github.com/kh-edu/kmsprobe/probe"
)

// t is the catalog's text for a render id (i18n/locales/render.*.toml).
func t(lang, id string, args i18n.Args) string { return i18n.T(lang, id, args) }

// msg and remedy are a finding's sentences in lang; English is the
// finding's own Message and Remedy, byte for byte.
func msg(lang string, f finding.Finding) string    { return i18n.Message(lang, f) }
func remedy(lang string, f finding.Finding) string { return i18n.Remedy(lang, f) }

// CheckTitle is the human name of a check id in lang, or the id itself.
func CheckTitle(lang, id string) string {
	if !i18n.Has(English, "render.check."+id) {
		return id
	}
	return t(lang, "render.check."+id, nil)
}

// StatusWord is a status in lang ("fail", "失敗").
func StatusWord(lang string, s finding.Status) string {
	return t(lang, "render.status."+s.String(), nil)
}

// Subject is the mail subject: the counts an admin triages by, worst first,
// so the inbox list alone says whether to open it.
func Subject(lang string, r *probe.Report) string {
	s := r.Summary
	n := func(id string, v int) string { return t(lang, id, i18n.Args{"N": v}) }
	parts := []string{n("render.subject.fail", s.Fail), n("render.subject.warn", s.Warn), n("render.subject.pass", s.Pass)}
	if s.Unknown > 0 {
		parts = append(parts, n("render.subject.unknown", s.Unknown))
	}
	subj := t(lang, "render.subject.title", nil) + t(lang, "render.colon", nil) + strings.Join(parts, t(lang, "render.list_sep", nil))
	if r.Changes != nil && len(r.Changes.Regressions) > 0 {
		k := len(r.Changes.Regressions)
		id := "render.subject.regressions"
		if k == 1 {
			id = "render.subject.regression"
		}
		subj += " — " + n(id, k)
	}
	if r.Incomplete {
		subj += " [" + t(lang, "render.incomplete", nil) + "]"
	}
	if r.Probe.Simulation {
		subj += " [" + t(lang, "render.subject.simulation", nil) + "]"
	}
	return subj
}
