package sim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kh-edu/kmsprobe/config"
)

// KnotCity is the benchmark city laid out for one Knot DNS process in a
// network namespace instead of one Go server per address in this
// process: knotd is a real, fast authoritative server, so the benchmark
// measures kmsprobe and not the simulation (the Go servers cost as much
// CPU as the audit itself).
//
// Every address in the namespace reaches the same knotd (it listens on
// 0.0.0.0@53), which serves the city zone and one zone per school. Dead
// school servers get addresses in DeadRange, whose packets the namespace
// drops on input, so a dead server is a real, silent timeout.
type KnotCity struct {
	Schools int
	Dead    int
	// DeadRange is the prefix the benchmark drops (nft) inside its
	// namespace.
	DeadRange string
}

// KnotDeadRange holds the addresses of dead school servers.
const KnotDeadRange = "127.250.0.0/16"

// knotResolverIP is the i-th city resolver: the same addresses as
// StartBenchCity's.
func knotResolverIP(i int) string { return fmt.Sprintf("127.0.0.%d", 121+i) }

// knotDeadIP is the address of dead school i (inside KnotDeadRange).
func knotDeadIP(i int) string { return fmt.Sprintf("127.250.%d.%d", (i/254)%256, i%254+1) }

func benchSuffix(i int) string { return fmt.Sprintf("s%04d.bench.example", i) }

// WriteKnotCity writes, under dir, knot.conf and zones/ for knotd,
// schools.yaml (the audit), floor.txt (the floor's exchanges, as
// simcity writes them) and ready.txt (one SRV question per live school
// at its own server: the city is up when all are NOERROR). Nothing is
// started. Schools, DeadEvery, Timeout, Attempts and Concurrency mean
// what they mean for StartBenchCity.
func WriteKnotCity(dir string, o BenchOptions) (*KnotCity, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	zones := filepath.Join(dir, "zones")
	if err := os.MkdirAll(zones, 0o755); err != nil {
		return nil, err
	}
	soa := func(origin string) string {
		return fmt.Sprintf("$ORIGIN %s.\n$TTL 3600\n@ SOA ns.bench.example. hostmaster.bench.example. 1 3600 600 86400 60\n@ NS ns.bench.example.\n", origin)
	}
	write := func(name, body string) error { return os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644) }

	var resolvers []string
	for i := range o.Resolvers {
		resolvers = append(resolvers, knotResolverIP(i)+":53")
	}
	if err := write("zones/bench.example.zone", soa("bench.example")+
		"ns A "+knotResolverIP(0)+"\nkms A 127.0.0.88\n"); err != nil {
		return nil, err
	}

	kc := &KnotCity{Schools: o.Schools, DeadRange: KnotDeadRange}
	var conf, y, fl, ready strings.Builder
	fmt.Fprintf(&conf, `server:
    listen: 0.0.0.0@53
    rundir: %[1]s
database:
    storage: %[1]s/db
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: %[2]s
    file: "%%s.zone"
    semantic-checks: off
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: bench.example
`, dir, zones)
	fmt.Fprintf(&y, "version: 1\nkms: {host: %s, port: 1688, addresses: [127.0.0.88]}\n", BenchKMSHost)
	fmt.Fprintf(&y, "resolvers: [%s]\n", strings.Join(resolvers, ", "))
	fmt.Fprintf(&y, "probe: {timeout: %s, attempts: %d, concurrency: %d}\nschools:\n", o.Timeout, o.Attempts, o.Concurrency)
	for i := range o.Schools {
		suffix := benchSuffix(i)
		ip := SchoolIP(i)
		if o.DeadEvery > 0 && i%o.DeadEvery == o.DeadEvery-1 {
			ip = knotDeadIP(i)
			kc.Dead++
		} else {
			fmt.Fprintf(&ready, "%s 53 _vlmcs._tcp.%s SRV\n", ip, suffix)
		}
		if err := write("zones/"+suffix+".zone", soa(suffix)+"_vlmcs._tcp SRV 0 0 1688 "+BenchKMSHost+".\n"); err != nil {
			return nil, err
		}
		fmt.Fprintf(&conf, "  - domain: %s\n", suffix)
		fmt.Fprintf(&y, "  - {id: s%04d, suffix: %s, dns: [%s:53]}\n", i, suffix, ip)
		// The floor asks what an audit needs at each server: the SRV
		// record, then the target's address.
		for _, srv := range append([]string{ip}, resolvers...) {
			host := strings.TrimSuffix(srv, ":53")
			fmt.Fprintf(&fl, "%s 53 _vlmcs._tcp.%s SRV\n%s 53 %s A\n", host, suffix, host, BenchKMSHost)
		}
	}
	if _, err := config.Parse("knot bench city", []byte(y.String())); err != nil {
		return nil, fmt.Errorf("the knot bench city's configuration is invalid (a bug): %w", err)
	}
	for name, body := range map[string]string{"knot.conf": conf.String(), "schools.yaml": y.String(), "floor.txt": fl.String(), "ready.txt": ready.String()} {
		if err := write(name, body); err != nil {
			return nil, err
		}
	}
	return kc, nil
}
