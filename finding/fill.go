package finding

import (
	"fmt"
	"slices"
	"strings"
)

// Catalog maps message ids to their English templates. A template uses
// only {{.Name}} placeholders, the subset of text/template the locale
// files share, so Fill renders it without a template engine per finding;
// the English locale file of the leg holds the same text.
type Catalog map[string]string

// Fill replaces every {{.Name}} in tmpl by args["Name"], "" when args
// has none. Text after an unclosed "{{." is kept as it is.
func Fill(tmpl string, args map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "{{.")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.Index(tmpl[i:], "}}")
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		b.WriteString(args[tmpl[i+3:i+j]])
		tmpl = tmpl[i+j+2:]
	}
}

// Placeholders lists the argument names tmpl uses, sorted, each once.
func Placeholders(tmpl string) []string {
	var names []string
	for {
		i := strings.Index(tmpl, "{{.")
		if i < 0 {
			break
		}
		j := strings.Index(tmpl[i:], "}}")
		if j < 0 {
			break
		}
		names = append(names, tmpl[i+3:i+j])
		tmpl = tmpl[i+j+2:]
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Text is id's template filled with args; an id the catalog lacks gives "".
func (c Catalog) Text(id string, args map[string]string) string {
	return Fill(c[id], args)
}

// MustText is Text for a leg whose ids and arguments are all fixed in
// code: an unknown id or a missing argument is a programming error, and
// it panics so that every test catches it.
func (c Catalog) MustText(id string, args map[string]string) string {
	tmpl, ok := c[id]
	if !ok {
		panic("no English text for message id " + id)
	}
	for _, name := range Placeholders(tmpl) {
		if _, ok := args[name]; !ok {
			panic(fmt.Sprintf("message %s needs the argument %s", id, name))
		}
	}
	return Fill(tmpl, args)
}

// IDs lists the catalog's ids, sorted.
func (c Catalog) IDs() []string {
	ids := make([]string, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Words are a leg's two catalogs: what it says about a finding and what
// it advises.
type Words struct{ Messages, Remedies Catalog }

// Say words f by message id and, when remedyID is not empty, its remedy,
// both filled with args; the ids and args travel with f so a renderer
// can say it again in another language.
func (w Words) Say(f *Finding, id, remedyID string, args map[string]string) {
	f.ID, f.Args = id, args
	f.Message = w.Messages.Text(id, args)
	if remedyID != "" {
		f.RemedyID = remedyID
		f.Remedy = w.Remedies.Text(remedyID, args)
	}
}
