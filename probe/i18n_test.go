package probe

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/finding"
	"github.com/kh-edu/kmsprobe/i18n"
)

// TestJudgeFindingsTranslate: every sentence the judge writes — its own,
// the legs' it rewords (a resolver's fault counted over its questions, an
// NXDOMAIN remedy with the caches' negative TTL) — carries an id whose
// English text is exactly its message, so --lang zh-TW shows it
// translated, never the English fallback.
func TestJudgeFindingsTranslate(t *testing.T) {
	rcode := func(code int) func(*Measurements) {
		return func(m *Measurements) {
			for q, a := range m.DNS {
				if q.Server == "192.0.2.21:53" {
					a.Msg.Rcode = code
					a.Msg.Answer = nil
					m.DNS[q] = a
				}
			}
		}
	}
	nxdomain := func(m *Measurements) {
		for q, a := range m.DNS {
			if q.Type == dns.TypeSRV {
				a.Msg.Rcode = dns.RcodeNameError
				a.Msg.Answer = nil
				m.DNS[q] = a
			}
		}
		m.Zones = map[string]Measured{
			"a.example": {Measurement: Judged{{Check: finding.DNSDelegation, Status: finding.Pass, Evidence: finding.EvidenceMap(map[string]any{"zone": "a.example", "negative_ttl_s": 300.0})}}},
			"b.example": {Measurement: Judged{{Check: finding.DNSDelegation, Status: finding.Pass, Evidence: finding.EvidenceMap(map[string]any{"zone": "b.example", "negative_ttl_s": 900.0})}}},
		}
	}
	noWitness := "version: 1\nkms: {host: kms.example}\nresolvers: []\nschools: [{id: a, suffix: a.example, dns: [198.51.100.1]}]\n"
	for _, c := range []struct {
		name    string
		yaml    string
		down    []string
		edit    func(*Measurements)
		noKMS   bool
		wantIDs []string
	}{
		{name: "dead resolver", yaml: twoSchools, down: []string{"192.0.2.21:53"}, wantIDs: []string{"dns.infra.all.timeout", "clock.not_checked"}},
		{name: "refusing resolver", yaml: twoSchools, edit: rcode(dns.RcodeRefused), wantIDs: []string{"dns.infra.all.refused"}},
		{name: "failing resolver", yaml: twoSchools, edit: rcode(dns.RcodeServerFailure), wantIDs: []string{"dns.infra.all.servfail"}},
		{name: "no SRV record", yaml: twoSchools, edit: nxdomain, wantIDs: []string{"dns.srv.nxdomain", "dns.srv.add_record.negative_ttl", "dns.srv.add_record_city.negative_ttl"}},
		{name: "no witness", yaml: noWitness, wantIDs: []string{"dns.target.no_witness", "dns.target.no_witness.fix"}},
		{name: "KMS leg not run", yaml: twoSchools, noKMS: true, wantIDs: []string{"kms.skip.not_run"}},
		{name: "no path to KMS", yaml: twoSchools, down: []string{"198.51.100.1:53", "192.0.2.21:53", "192.0.2.22:53"}, wantIDs: []string{"kms.skip.no_path", "dns.infra.all.timeout"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := planOf(t, c.yaml)
			p.HaveKMS = !c.noKMS
			w := healthy()
			for _, s := range c.down {
				w.down[s] = true
			}
			m := w.measure(p)
			if c.edit != nil {
				c.edit(&m)
			}
			schools, infra := Judge(p, m)
			var fs []finding.Finding
			for _, s := range schools {
				fs = append(fs, s.Findings...)
			}
			for _, in := range infra {
				fs = append(fs, in.Finding)
			}
			seen := map[string]bool{}
			for _, f := range fs {
				seen[f.ID], seen[f.RemedyID] = true, true
				if f.Message == "" {
					continue // the test's own stand-in for a leg's verdict
				}
				if err := i18n.CheckFinding(f); err != nil {
					t.Errorf("%s @%s: %v", f.Check, f.Server, err)
					continue
				}
				if got, want := i18n.Message(i18n.Chinese, f), i18n.T(i18n.Chinese, f.ID, f.Args); got != want {
					t.Errorf("%s @%s: reads %q in zh-TW, want %q", f.Check, f.Server, got, want)
				}
			}
			for _, id := range c.wantIDs {
				if !seen[id] {
					t.Errorf("no finding with id %s; the case does not test what it names", id)
				}
			}
		})
	}
}

// The resolver's fault is counted over its questions in the message, and
// the English stays what it was before the sentence had an id.
func TestResolverFaultSentence(t *testing.T) {
	p := planOf(t, twoSchools)
	w := healthy()
	w.down["192.0.2.21:53"] = true
	_, infra := Judge(p, w.measure(p))
	if len(infra) != 1 {
		t.Fatalf("infrastructure = %+v", infra)
	}
	want := "192.0.2.21:53 does not answer DNS (no answer in 2 attempt(s) of " + p.PerAttempt.String() + ") (every one of the 4 questions it was asked failed the same way)"
	if got := infra[0].Message; got != want {
		t.Errorf("message = %q\nwant      %q", got, want)
	}
}

// A zone and KMS address the stopped audit never reached are told in
// sentences that translate too.
func TestStoppedSentencesTranslate(t *testing.T) {
	p := planOf(t, twoSchools)
	m := healthy().measure(p)
	m.Zones = map[string]Measured{}
	schools, _ := Judge(p, m)
	seen := map[string]bool{}
	for _, f := range schools[0].Findings {
		seen[f.ID] = true
		if err := i18n.CheckFinding(f); err != nil {
			t.Errorf("%s @%s: %v", f.Check, f.Server, err)
		}
	}
	for _, id := range []string{"dns.delegation.stopped", "kms.not_asked", "clock.not_checked"} {
		if !seen[id] {
			t.Errorf("no finding with id %s", id)
		}
	}
}
