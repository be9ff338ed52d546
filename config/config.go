package config

import (
	"time"

	"github.com/kh-edu/kmsprobe/internal/defaults"
)

// Production defaults. They exist for the city's real audit only: every test
// and the demo override them (DESIGN.md §7).
const (
	DefaultKMSHost  = "ap24.kh.edu.tw"
	DefaultKMSPort  = 1688
	DefaultMinCount = 25
	// DefaultTimeout is one attempt's wait for an answer (why: package
	// internal/defaults, the one place the legs' fallbacks share).
	DefaultTimeout = defaults.PerAttempt
	// DefaultAttempts: a second try, so that one lost UDP packet does not
	// fail a school (a PC's resolver retries too); a third would hide a
	// server that loses a third of its answers.
	DefaultAttempts    = defaults.Attempts
	DefaultConcurrency = 256
	// DefaultDHCPWindow: dnsmasq pings an address for about 3 s before
	// offering it to a new client, so a shorter window misses its offer.
	DefaultDHCPWindow  = defaults.DHCPWindow
	DefaultKeep        = 52
	DefaultLang        = "en"
	DefaultServeListen = "127.0.0.1:9688"
	DefaultServeEvery  = 15 * time.Minute
)

// DefaultResolvers are the city's cache-only resolvers.
var DefaultResolvers = []string{"163.28.136.21:53", "163.28.136.22:53", "163.28.136.23:53"}

// Config is a loaded, defaulted and validated schools.yaml. Addresses are
// normalised to host:port so every leg can dial them as they are.
type Config struct {
	Version   int      `yaml:"version"`
	KMS       KMS      `yaml:"kms"`
	Resolvers []string `yaml:"resolvers"`
	Probe     Probe    `yaml:"probe"`
	NTP       []string `yaml:"ntp"`
	DHCP      DHCP     `yaml:"dhcp"`
	Report    Report   `yaml:"report"`
	Mail      *Mail    `yaml:"mail"`
	Serve     Serve    `yaml:"serve"`
	Schools   []School `yaml:"schools"`

	// Path is the file the configuration came from, for messages.
	Path string `yaml:"-"`
	// Warnings are things in the file that load but are probably
	// mistakes (an example school left in, two schools with one suffix),
	// each with its file and line, for every command to print.
	Warnings []Problem `yaml:"-"`
}

// KMS describes the host every SRV record must point at.
type KMS struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	MinCount int    `yaml:"min_count"`
	// MinCountSet tells a written min_count from the default: an Office
	// or server probe without one is held to its product's own 5.
	MinCountSet bool `yaml:"-"`
	// Products are what the city activates: one activation request
	// each. After loading they are product keys (win10-ent), never empty:
	// Windows 10/11 Enterprise when the file names none. `product: x` is
	// the one-product form; writing both is an error.
	Products []string `yaml:"products"`
	// Product is Products[0] after loading, for callers that probe one
	// product only.
	Product string `yaml:"product"`
	// Addresses are the KMS host's known addresses (bare IPs, IPv6
	// without brackets), a witness of where kms.host really is: a
	// school's own DNS server cannot steer the probe elsewhere.
	Addresses []string `yaml:"addresses"`
	// Protocol is the KMS protocol major version, 4, 5 or 6; 0 (default)
	// is the product's own (6 for every current product).
	Protocol int `yaml:"protocol"`
	// Mode stops the KMS leg early for cautious admins: tcp, bind or
	// activate (default).
	Mode string `yaml:"mode"`
}

// Address is the KMS host as host:port.
func (k KMS) Address() string { return joinHostPort(k.Host, k.Port) }

// Probe holds the network budget.
type Probe struct {
	Timeout     Duration `yaml:"timeout"`
	Attempts    int      `yaml:"attempts"`
	Concurrency int      `yaml:"concurrency"`
	// PerServer caps the questions in flight to one DNS server (default
	// 32, see probe.DefaultPerServer): a city resolver serving every
	// school must not receive the whole concurrency at once.
	PerServer int `yaml:"per_server"`
	// Delegation turns the dns.delegation check off when false (default
	// on): a lab or benchmark city without NS records has nothing to
	// check there.
	Delegation *bool `yaml:"delegation"`
	// NSPort is the port the zones' own name servers are asked on (default
	// 53; a lab whose name servers listen elsewhere sets it).
	NSPort int `yaml:"ns_port"`
	// StateDir keeps the probe's stable KMS client identity when the host
	// has no /etc/machine-id.
	StateDir string `yaml:"state_dir"`
}

// DHCP configures the campus leg.
type DHCP struct {
	AllowedServers []string `yaml:"allowed_servers"`
	Window         Duration `yaml:"window"`
}

// Report configures saved and rendered reports.
type Report struct {
	Lang string `yaml:"lang"`
	Keep int    `yaml:"keep"`
	Dir  string `yaml:"dir"`
}

// Mail configures delivery of the weekly report.
type Mail struct {
	SMTP         string   `yaml:"smtp"`
	StartTLS     *bool    `yaml:"starttls"`
	From         string   `yaml:"from"`
	To           []string `yaml:"to"`
	Username     string   `yaml:"username"`
	PasswordFile string   `yaml:"password_file"`
	Timeout      Duration `yaml:"timeout"`
}

// UseStartTLS reports whether STARTTLS is required (default true).
func (m *Mail) UseStartTLS() bool { return m.StartTLS == nil || *m.StartTLS }

// Serve configures exporter mode.
type Serve struct {
	Listen   string   `yaml:"listen"`
	Interval Duration `yaml:"interval"`
}

// School is one campus.
type School struct {
	ID     string   `yaml:"id"`
	Name   string   `yaml:"name"`
	Suffix string   `yaml:"suffix"`
	DNS    []string `yaml:"dns"`

	// Line is where the school starts in the file, for messages.
	Line int `yaml:"-"`
}

// Duration is a time.Duration written as "2s" or "500ms" in YAML.
type Duration struct {
	time.Duration
	raw   string // as written, for messages
	line  int
	bad   bool   // not a duration; reported by validate with its field
	shape string // "a list" or "a mapping" when not even a single value
}

// MarshalYAML writes the duration back the way an admin writes it.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// School returns the school with that id, or false.
func (c *Config) School(id string) (School, bool) {
	for _, s := range c.Schools {
		if s.ID == id {
			return s, true
		}
	}
	return School{}, false
}

// Budgets are the waits and tries every leg gets, named in one place so
// that kms, audit, serve and demo give the same config the same budgets.
type Budgets struct {
	// PerAttempt bounds one DNS question's wait (probe.timeout).
	PerAttempt time.Duration
	// Attempts is how many times a question is asked before the server
	// is called silent (probe.attempts).
	Attempts int
	// KMSHandshake bounds one whole KMS exchange: connect, RPC bind and
	// the activation request under one deadline. It is not retried (a
	// second activation request would be counted by the host), so it gets
	// what a DNS question gets in all its attempts: PerAttempt × Attempts.
	KMSHandshake time.Duration
	// NTP bounds one NTP query. NTP is one UDP packet each way, like one
	// DNS attempt: PerAttempt.
	NTP time.Duration
	// DHCPWindow is how long offers are collected (dhcp.window).
	DHCPWindow time.Duration
}

// DelegationOn reports whether dns.delegation runs (probe.delegation,
// default true).
func (p Probe) DelegationOn() bool { return p.Delegation == nil || *p.Delegation }

// Budgets returns the named budgets for c. A Config that was not loaded or
// validated (a zero value) gets the defaults, never a zero wait.
func (c *Config) Budgets() Budgets {
	b := Budgets{
		PerAttempt: c.Probe.Timeout.Duration,
		Attempts:   c.Probe.Attempts,
		DHCPWindow: c.DHCP.Window.Duration,
	}
	if b.PerAttempt <= 0 {
		b.PerAttempt = DefaultTimeout
	}
	if b.Attempts <= 0 {
		b.Attempts = DefaultAttempts
	}
	if b.DHCPWindow <= 0 {
		b.DHCPWindow = DefaultDHCPWindow
	}
	b.KMSHandshake = b.PerAttempt * time.Duration(b.Attempts)
	b.NTP = b.PerAttempt
	return b
}
