package sim

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/internal/testenv"
)

func schoolDNS(t *testing.T, c *City, id string) ([]string, bool) {
	t.Helper()
	for _, s := range c.Config.Schools {
		if s.ID == id {
			return s.DNS, true
		}
	}
	return nil, false
}

// TestDemoCityIPv6School: the demo's IPv6 school is configured as
// "[::1]:port" (the form an admin writes in schools.yaml) and that server
// answers its SRV question over UDP and TCP on ::1.
func TestDemoCityIPv6School(t *testing.T) {
	if ok, why := ipv6Loopback(); !ok {
		testenv.Missing(t, "this host cannot listen on ::1 ("+why+"); enable IPv6 on lo (sysctl net.ipv6.conf.lo.disable_ipv6=0)")
	}
	c, err := StartDemoCity(1688)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	servers, ok := schoolDNS(t, c, DemoIPv6School)
	if !ok {
		t.Fatalf("school %s missing from the demo city; notes: %q", DemoIPv6School, c.Notes)
	}
	if len(servers) != 1 || !strings.HasPrefix(servers[0], "[::1]:") {
		t.Fatalf("school %s dns = %q, want one [::1]:port", DemoIPv6School, servers)
	}
	if _, ok := c.Scenario[DemoIPv6School]; !ok {
		t.Errorf("school %s has no legend line", DemoIPv6School)
	}
	name := "_vlmcs._tcp." + DemoIPv6School + ".city.example."
	for _, proto := range []string{"udp", "tcp"} {
		cl := &dns.Client{Net: proto, Timeout: 2 * time.Second}
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeSRV)
		r, _, err := cl.Exchange(m, servers[0])
		if err != nil {
			t.Fatalf("%s to %s: %v", proto, servers[0], err)
		}
		if len(r.Answer) != 1 {
			t.Fatalf("%s: %d answers, want 1: %v", proto, len(r.Answer), r)
		}
		srv, ok := r.Answer[0].(*dns.SRV)
		if !ok || srv.Target != DemoKMSHost+"." || srv.Port != 1688 {
			t.Errorf("%s: answer %v, want SRV 0 0 1688 %s.", proto, r.Answer[0], DemoKMSHost)
		}
	}
	var noted bool
	for _, n := range c.Notes {
		noted = noted || strings.Contains(n, servers[0])
	}
	if !noted {
		t.Errorf("no note names the IPv6 server %s: %q", servers[0], c.Notes)
	}
}

// TestDemoCityWithoutIPv6: a host without ::1 gets the demo without the
// IPv6 school and a note saying why — never an error, and no server
// anywhere but 127.0.0.0/8.
func TestDemoCityWithoutIPv6(t *testing.T) {
	saved := ipv6Loopback
	ipv6Loopback = func() (bool, string) {
		return false, "listen tcp6 [::1]:0: socket: address family not supported by protocol"
	}
	defer func() { ipv6Loopback = saved }()

	c, err := StartDemoCity(1688)
	if err != nil {
		t.Fatalf("demo city without IPv6: %v", err)
	}
	defer c.Close()
	if _, ok := schoolDNS(t, c, DemoIPv6School); ok {
		t.Errorf("school %s is configured although ::1 is unusable", DemoIPv6School)
	}
	if _, ok := c.Scenario[DemoIPv6School]; ok {
		t.Errorf("school %s is in the legend although it was left out", DemoIPv6School)
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "left out") || !strings.Contains(c.Notes[0], "address family not supported") {
		t.Errorf("notes = %q, want one saying the IPv6 school was left out and why", c.Notes)
	}
	if got, want := len(c.Config.Schools), len(demoSchools)-1; got != want {
		t.Errorf("%d schools, want %d", got, want)
	}
	for _, s := range c.Servers {
		host, _, _ := net.SplitHostPort(s.Addr)
		if ip := net.ParseIP(host); ip == nil || ip.To4() == nil {
			t.Errorf("server on %s although IPv6 is off", s.Addr)
		}
	}
}

// TestListenIPv6Loopback pins the network-safety guard for IPv6: ::1 is
// allowed, any other IPv6 address is refused before a socket is opened.
func TestListenIPv6Loopback(t *testing.T) {
	for _, ip := range []string{"2001:db8::53", "fe80::1", "::", "::ffff:192.0.2.1"} {
		if s, err := Listen(ip, Records{}, Healthy); err == nil {
			s.Close()
			t.Errorf("Listen(%q) succeeded; want a refusal", ip)
		}
	}
	if ok, why := ipv6Loopback(); !ok {
		testenv.Missing(t, "this host cannot listen on ::1 ("+why+")")
	}
	s, err := Listen("::1", Records{}, Dead)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.Addr, "[::1]:") {
		t.Errorf("Addr = %q, want [::1]:port (JoinHostPort form)", s.Addr)
	}
}
