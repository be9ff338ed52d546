package finding

import (
	"maps"
	"slices"
	"testing"
)

func TestFill(t *testing.T) {
	args := map[string]string{"Server": "10.0.0.53", "Name": "_vlmcs._tcp.a.", "Odd": "{{.Server}}"}
	for _, tc := range []struct{ tmpl, want string }{
		{"", ""},
		{"no placeholders", "no placeholders"},
		{"{{.Server}} answers {{.Name}}", "10.0.0.53 answers _vlmcs._tcp.a."},
		{"{{.Server}}{{.Server}}", "10.0.0.5310.0.0.53"},
		{"missing {{.Nope}} is empty", "missing  is empty"},
		{"unclosed {{.Server", "unclosed {{.Server"},
		{"a value is not filled again: {{.Odd}}", "a value is not filled again: {{.Server}}"},
		{"{{ .Server }} is not a placeholder of ours", "{{ .Server }} is not a placeholder of ours"},
	} {
		if got := Fill(tc.tmpl, args); got != tc.want {
			t.Errorf("Fill(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	for _, tc := range []struct {
		tmpl string
		want []string
	}{
		{"none", nil},
		{"{{.B}} {{.A}} {{.B}}", []string{"A", "B"}},
		{"{{.A}} then unclosed {{.B", []string{"A"}},
	} {
		if got := Placeholders(tc.tmpl); !slices.Equal(got, tc.want) {
			t.Errorf("Placeholders(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

func TestCatalog(t *testing.T) {
	c := Catalog{"b.ok": "{{.Zone}} fine", "a.bad": "no {{.Zone}} at {{.Server}}"}
	if got := c.IDs(); !slices.Equal(got, []string{"a.bad", "b.ok"}) {
		t.Errorf("IDs = %q", got)
	}
	if got := c.Text("b.ok", map[string]string{"Zone": "kh.edu.tw"}); got != "kh.edu.tw fine" {
		t.Errorf("Text = %q", got)
	}
	if got := c.Text("c.unknown", nil); got != "" {
		t.Errorf("Text of an unknown id = %q, want empty", got)
	}
	if got := c.MustText("a.bad", map[string]string{"Zone": "z", "Server": "s"}); got != "no z at s" {
		t.Errorf("MustText = %q", got)
	}
	for _, tc := range []struct {
		id   string
		args map[string]string
	}{
		{"c.unknown", nil},
		{"a.bad", map[string]string{"Zone": "z"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MustText(%s, %v) did not panic", tc.id, tc.args)
				}
			}()
			c.MustText(tc.id, tc.args)
		}()
	}
}

func TestWordsSay(t *testing.T) {
	w := Words{
		Messages: Catalog{"x.down": "{{.Server}} is down", "x.up": "{{.Server}} answers"},
		Remedies: Catalog{"x.fix.down": "restart {{.Server}}"},
	}
	args := map[string]string{"Server": "10.0.0.1"}
	for _, tc := range []struct {
		name, id, remedyID string
		before, want       Finding
	}{
		{"message only", "x.up", "", Finding{},
			Finding{ID: "x.up", Message: "10.0.0.1 answers", Args: args}},
		{"message and remedy", "x.down", "x.fix.down", Finding{},
			Finding{ID: "x.down", Message: "10.0.0.1 is down", RemedyID: "x.fix.down", Remedy: "restart 10.0.0.1", Args: args}},
		{"no remedy keeps the one set before", "x.up", "", Finding{RemedyID: "x.fix.down", Remedy: "earlier"},
			Finding{ID: "x.up", Message: "10.0.0.1 answers", RemedyID: "x.fix.down", Remedy: "earlier", Args: args}},
		{"unknown ids give empty text", "x.nope", "x.fix.nope", Finding{},
			Finding{ID: "x.nope", RemedyID: "x.fix.nope", Args: args}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.before
			w.Say(&f, tc.id, tc.remedyID, args)
			if f.ID != tc.want.ID || f.Message != tc.want.Message || f.RemedyID != tc.want.RemedyID || f.Remedy != tc.want.Remedy || !maps.Equal(f.Args, tc.want.Args) {
				t.Errorf("Say(%q, %q) = %+v, want %+v", tc.id, tc.remedyID, f, tc.want)
			}
		})
	}
}
