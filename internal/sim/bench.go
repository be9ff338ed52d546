package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/kh-edu/kmsprobe/config"
)

// BenchKMSHost is the KMS host name of a benchmark city (reserved
// .example domain: nothing outside the simulation answers for it).
const BenchKMSHost = "kms.bench.example"

// BenchCity is a city sized like Kaohsiung's or larger: every school has
// its own DNS server on its own loopback address, and a few city
// resolvers know every school's record.
type BenchCity struct {
	Cluster
	Config    *config.Config
	Resolvers []*Server
	// SchoolServers are the schools' own servers, in school order.
	SchoolServers []*Server
	// Dead counts the school servers that never answer.
	Dead int
	// YAML is the schools.yaml that audits the city, for tools outside
	// this process (scripts/bench-tools.sh).
	YAML string
}

// BenchOptions size a benchmark city.
type BenchOptions struct {
	Schools   int // number of schools, each with its own server (at most 65024)
	Resolvers int // shared city resolvers (default 3)
	// DeadEvery makes every DeadEvery-th school server Dead (0: none).
	// 10 gives the 10% the benchmark asks for.
	DeadEvery   int
	Timeout     time.Duration // probe.timeout (default 500ms)
	Attempts    int           // probe.attempts (default 2)
	Concurrency int           // probe.concurrency (default 256)
}

// SchoolIP is the loopback address of school i's server: 127.1.0.1,
// 127.1.0.2, ... 127.1.0.254, 127.1.1.1, ... Distinct addresses, as in a
// real city, so nothing is shared by accident (sockets, rate limits).
func SchoolIP(i int) string {
	return fmt.Sprintf("127.%d.%d.%d", 1+i/(254*256), (i/254)%256, i%254+1)
}

// withDefaults fills what o leaves zero and checks the size: the Go
// city and the Knot city are built from the same options.
func (o BenchOptions) withDefaults() (BenchOptions, error) {
	if o.Resolvers == 0 {
		o.Resolvers = 3
	}
	if o.Timeout == 0 {
		o.Timeout = 500 * time.Millisecond
	}
	if o.Attempts == 0 {
		o.Attempts = 2
	}
	if o.Concurrency == 0 {
		o.Concurrency = 256
	}
	if o.Schools < 1 || o.Schools > 254*256 {
		return o, fmt.Errorf("%d schools is out of range (1 to %d)", o.Schools, 254*256)
	}
	return o, nil
}

// StartBenchCity starts the servers and builds the configuration that
// audits them. Each server needs two file descriptors (one for a dead
// one), so a caller starting thousands should raise RLIMIT_NOFILE first.
// The caller must Close the city.
func StartBenchCity(o BenchOptions) (*BenchCity, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &BenchCity{}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	const kmsA = BenchKMSHost + ". 3600 IN A 127.0.0.88"
	suffix := func(i int) string { return fmt.Sprintf("s%04d.bench.example", i) }

	city := Records{}
	city.Add(kmsA)
	for i := range o.Schools {
		city.Add(srv(suffix(i), BenchKMSHost, 1688))
	}
	var resolvers []string
	for i := range o.Resolvers {
		r, err := c.Start(fmt.Sprintf("127.0.0.%d", 121+i), city, Healthy)
		if err != nil {
			return nil, err
		}
		c.Resolvers = append(c.Resolvers, r)
		resolvers = append(resolvers, r.Addr)
	}

	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\nkms: {host: %s, port: 1688, addresses: [127.0.0.88]}\n", BenchKMSHost)
	fmt.Fprintf(&y, "resolvers: [%s]\n", strings.Join(resolvers, ", "))
	// The simulated city has no NS records: delegation is not what the
	// benchmark measures.
	fmt.Fprintf(&y, "probe: {timeout: %s, attempts: %d, concurrency: %d, delegation: false}\nschools:\n", o.Timeout, o.Attempts, o.Concurrency)
	for i := range o.Schools {
		fault := Healthy
		if o.DeadEvery > 0 && i%o.DeadEvery == o.DeadEvery-1 {
			fault = Dead
			c.Dead++
		}
		recs := Records{}
		recs.Add(kmsA, srv(suffix(i), BenchKMSHost, 1688))
		s, err := c.Start(SchoolIP(i), recs, fault)
		if err != nil {
			return nil, fmt.Errorf("school %d of %d: %w", i, o.Schools, err)
		}
		c.SchoolServers = append(c.SchoolServers, s)
		fmt.Fprintf(&y, "  - {id: s%04d, suffix: %s, dns: [%s]}\n", i, suffix(i), s.Addr)
	}
	cfg, err := config.Parse("bench city", []byte(y.String()))
	if err != nil {
		return nil, fmt.Errorf("the bench city's configuration is invalid (a bug): %w", err)
	}
	c.Config = cfg
	c.YAML = y.String()
	ok = true
	return c, nil
}
