package sim

import (
	"fmt"
	"net"
	"strings"

	"github.com/kh-edu/kmsprobe/config"
)

// DemoKMSHost is the simulated city's KMS host name. It is under the
// reserved .example top-level domain, so nothing outside the simulation
// can ever answer for it.
const DemoKMSHost = "kms.city.example"

// DemoKMSIP is where the simulated KMS host listens.
const DemoKMSIP = "127.0.0.88"

// City is a simulated city network: DNS servers on loopback and the
// configuration that audits them.
type City struct {
	Cluster
	Config    *config.Config
	Resolvers []*Server
	// Scenario maps a school id to what is wrong with it, for the demo's
	// legend.
	Scenario map[string]string
	// Notes are lines for the demo's closing text: what the simulation
	// could not do on this host (no IPv6 loopback) and what it did
	// differently from a real city.
	Notes []string
}

type demoSchool struct {
	id, name, scenario string
	own                Fault // fault of the school's own DNS server
	hasOwn             bool
	// ownIP is where the school's own DNS server listens; empty is the
	// school's address in 127.0.1.0/24.
	ownIP   string
	records func(suffix string, port int) []string // what its own DNS and the resolvers serve
}

func srv(suffix, target string, port int) string {
	return fmt.Sprintf("_vlmcs._tcp.%s. 3600 IN SRV 0 0 %d %s.", suffix, port, target)
}

var demoSchools = []demoSchool{
	{"good-jh", "示範國中 (correct)", "everything right", Healthy, true, "",
		func(s string, p int) []string { return []string{srv(s, DemoKMSHost, p)} }},
	{"tcp-es", "示範國小 (answer needs TCP)", "answer truncated over UDP; correct over TCP", TruncateUDP, true, "",
		func(s string, p int) []string { return []string{srv(s, DemoKMSHost, p)} }},
	{"nosrv-es", "遺漏國小 (no SRV)", "the SRV record is missing", Healthy, true, "",
		func(s string, p int) []string { return []string{fmt.Sprintf("%s. 3600 IN A 192.0.2.10", s)} }},
	{"port-jh", "連接埠國中 (wrong port)", "the SRV record has the wrong port", Healthy, true, "",
		func(s string, p int) []string { return []string{srv(s, DemoKMSHost, p+1)} }},
	{"target-hs", "目標高中 (wrong target)", "the SRV record points at another host", Healthy, true, "",
		func(s string, p int) []string { return []string{srv(s, "kms.old-vendor.example", p)} }},
	{"dangling-es", "懸空國小 (dangling target)", "the SRV target does not exist", Healthy, false, "",
		func(s string, p int) []string { return []string{srv(s, "kms-retired.city.example", p)} }},
	{"dead-jh", "斷線國中 (dead DNS server)", "the school's own DNS server is down", Dead, true, "",
		func(s string, p int) []string { return []string{srv(s, DemoKMSHost, p)} }},
	{"stale-es", "快取國小 (one resolver disagrees)", "the third city resolver serves an old record", Healthy, false, "",
		func(s string, p int) []string { return []string{srv(s, DemoKMSHost, p)} }},
	// The school's DNS server has only an IPv6 address: schools.yaml
	// writes it [::1]:port and every column and JSON field must carry it.
	{DemoIPv6School, "六號國中 (IPv6 DNS server)", "the school's own DNS server listens on IPv6 [::1]; everything right", Healthy, true, "::1",
		func(s string, p int) []string { return []string{srv(s, DemoKMSHost, p)} }},
}

// DemoIPv6School is the demo school whose own DNS server listens on ::1.
// A host without an IPv6 loopback leaves it out of the demo (with a
// note) rather than fail the demo.
const DemoIPv6School = "v6-jh"

// ipv6Loopback reports whether this host can listen on ::1 (IPv6 can be
// disabled by sysctl or absent in a container); why says what failed.
var ipv6Loopback = func() (ok bool, why string) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false, err.Error()
	}
	ln.Close()
	return true, ""
}

// hostRecords are what every simulated server answers for host names.
func hostRecords() []string {
	return []string{
		DemoKMSHost + ". 3600 IN A " + DemoKMSIP,
		"kms.old-vendor.example. 3600 IN A 127.0.0.99",
		"kms-alias.city.example. 3600 IN A " + DemoKMSIP,
	}
}

// StartDemoCity starts the simulated city. kmsPort is where the
// simulated KMS host listens on DemoKMSIP; every correct SRV record
// carries it. The caller must Close the city.
func StartDemoCity(kmsPort int) (*City, error) {
	c := &City{Scenario: map[string]string{}}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()

	// The city resolvers know every school's records (in life they fetch
	// them from the schools' authoritative servers).
	city := Records{}
	city.Add(hostRecords()...)
	for _, s := range demoSchools {
		city.Add(s.records(s.id+".city.example", kmsPort)...)
	}
	// The third resolver still caches an old answer for stale-es: another
	// name for the KMS host.
	stale := Records{}
	stale.Add(hostRecords()...)
	for _, s := range demoSchools {
		suffix := s.id + ".city.example"
		if s.id == "stale-es" {
			stale.Add(srv(suffix, "kms-alias.city.example", kmsPort))
			continue
		}
		stale.Add(s.records(suffix, kmsPort)...)
	}
	var resolverAddrs []string
	for i, recs := range []Records{city, city, stale} {
		r, err := c.Start(fmt.Sprintf("127.0.0.%d", 21+i), recs, Healthy)
		if err != nil {
			return nil, err
		}
		c.Resolvers = append(c.Resolvers, r)
		resolverAddrs = append(resolverAddrs, r.Addr)
	}

	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\nkms: {host: %s, port: %d, min_count: 25, addresses: [%s]}\n", DemoKMSHost, kmsPort, DemoKMSIP)
	fmt.Fprintf(&y, "resolvers: [%s]\n", strings.Join(resolverAddrs, ", "))
	// The simulated zones have no NS records: delegation is not what the
	// demo shows (serve --demo builds its legs like a real audit).
	y.WriteString("probe: {timeout: 400ms, attempts: 2, concurrency: 64, delegation: false}\nschools:\n")
	v6ok, v6why := ipv6Loopback()
	for i, s := range demoSchools {
		suffix := s.id + ".city.example"
		if s.ownIP == "::1" && !v6ok {
			c.Notes = append(c.Notes, fmt.Sprintf("The school %s (own DNS server on IPv6 [::1]) was left out: this host cannot listen on ::1 (%s).", s.id, v6why))
			continue
		}
		c.Scenario[s.id] = s.scenario
		fmt.Fprintf(&y, "  - id: %s\n    name: %q\n    suffix: %s\n", s.id, s.name, suffix)
		if !s.hasOwn {
			continue
		}
		recs := Records{}
		recs.Add(hostRecords()...)
		recs.Add(s.records(suffix, kmsPort)...)
		ip := s.ownIP
		if ip == "" {
			ip = fmt.Sprintf("127.0.1.%d", 10+i)
		}
		own, err := c.Start(ip, recs, s.own)
		if err != nil {
			return nil, err
		}
		// Quoted: YAML's flow sequence would read [::1]:53 unquoted
		// as a nested list.
		fmt.Fprintf(&y, "    dns: [%q]\n", own.Addr)
		if s.ownIP == "::1" {
			c.Notes = append(c.Notes, fmt.Sprintf("The school %s's own DNS server listened on IPv6 at %s.", s.id, own.Addr))
		}
	}
	cfg, err := config.Parse("demo city", []byte(y.String()))
	if err != nil {
		return nil, fmt.Errorf("the demo city's configuration is invalid (a bug): %w", err)
	}
	c.Config = cfg
	ok = true
	return c, nil
}
