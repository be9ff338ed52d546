package dnscheck

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzCheck feeds arbitrary packets to the filter that decides what is the
// answer. Invariants: it never panics, it names every packet it rejects,
// and what it accepts is a response with our id whose question section is
// the one asked, or empty only on TC or an error rcode.
func FuzzCheck(f *testing.F) {
	q := NewQuery("127.0.0.1:53", "_vlmcs._tcp.s1.example.", dns.TypeSRV)
	const id = 0x1234
	seed := func(mod func(m *dns.Msg)) {
		m := new(dns.Msg)
		m.SetQuestion(q.Name, q.Type)
		m.Id, m.Response = id, true
		mod(m)
		b, _ := m.Pack()
		f.Add(b)
	}
	seed(func(*dns.Msg) {})
	seed(func(m *dns.Msg) { m.Question = nil })
	seed(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeA })
	seed(func(m *dns.Msg) { m.Response = false })
	seed(func(m *dns.Msg) { m.Question = nil; m.Rcode = dns.RcodeRefused })
	f.Add([]byte{0x12, 0x34, 0x81, 0x80, 0xff, 0xff, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		m, kind, why := check(p, id, q)
		if m == nil {
			if kind == NoFailure || why == "" {
				t.Fatalf("rejected without a reason: kind %q why %q", kind, why)
			}
			return
		}
		if m.Id != id || !m.Response {
			t.Fatalf("accepted id %d response %v", m.Id, m.Response)
		}
		switch len(m.Question) {
		case 0:
			switch {
			case m.Truncated, m.Rcode == dns.RcodeRefused, m.Rcode == dns.RcodeServerFailure,
				m.Rcode == dns.RcodeFormatError, m.Rcode == dns.RcodeNotImplemented:
			default:
				t.Fatalf("accepted rcode %d without a question", m.Rcode)
			}
		case 1:
			g := m.Question[0]
			if g.Qtype != q.Type || g.Qclass != dns.ClassINET || !strings.EqualFold(g.Name, q.Name) {
				t.Fatalf("accepted an answer to %v", g)
			}
		default:
			t.Fatalf("accepted %d questions", len(m.Question))
		}
	})
}
