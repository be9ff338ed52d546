package finding

import "fmt"

// Status is the verdict of one check. The zero value is Pass only so that a
// forgotten assignment shows up in tests as a wrong verdict, never as a panic.
type Status int

const (
	Pass Status = iota
	Warn
	Fail
	Unknown // the probe could not judge (bad config, no privilege): never a server's fault
	Skip    // not run because something it depends on failed or is not configured
)

var statusNames = [...]string{Pass: "pass", Warn: "warn", Fail: "fail", Unknown: "unknown", Skip: "skip"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// ParseStatus is the inverse of String.
func ParseStatus(s string) (Status, error) {
	for i, n := range statusNames {
		if n == s {
			return Status(i), nil
		}
	}
	return Unknown, fmt.Errorf("unknown status %q (want pass, warn, fail, unknown or skip)", s)
}

func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// severity orders statuses for "a school's status is its worst finding".
// A skip is neutral: it only exists next to the failure that caused it, or
// where a check was not configured. A definite failure outranks "could not
// judge", because the failure alone already tells the admin to act.
var severity = [...]int{Pass: 0, Skip: 0, Warn: 1, Unknown: 2, Fail: 3}

// Worse reports whether s is more severe than t.
func (s Status) Worse(t Status) bool { return severity[s] > severity[t] }

// Code is the monitoring-plugins / metrics coding: 0 pass, 1 warn, 2 fail,
// 3 unknown. Skip codes as pass: nothing is wrong that another finding
// does not already say.
func (s Status) Code() int {
	switch s {
	case Warn:
		return 1
	case Fail:
		return 2
	case Unknown:
		return 3
	default:
		return 0
	}
}

// Check ids are a contract (DESIGN.md §4): reports, metrics and acceptance
// checks match on them literally.
const (
	DNSSRV         = "dns.srv"
	DNSTarget      = "dns.target"
	DNSConsistency = "dns.consistency"
	KMSTCP         = "kms.tcp"
	KMSRPC         = "kms.rpc"
	ClockOffset    = "clock.offset"
	DHCPOffer      = "dhcp.offer"
	DHCPSuffix     = "dhcp.suffix"
	DHCPDNS        = "dhcp.dns"
	DHCPRogue      = "dhcp.rogue"
	DHCPSearch     = "dhcp.search"
	DNSDelegation  = "dns.delegation"
)

// Finding is one verdict. Server is the address asked ("10.1.2.3:53",
// "[2001:db8::1]:1688") or empty for checks without one.
type Finding struct {
	Check   string `json:"check"`
	Server  string `json:"server,omitempty"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	// Short is the few words a table cell shows ("NXDOMAIN", "timeout",
	// "count 12<25"); the judge sets it because it knows what mattered.
	Short    string   `json:"short,omitempty"`
	Evidence Evidence `json:"evidence,omitzero"`
	Remedy   string   `json:"remedy,omitempty"`
	// ID is the stable message id ("dns.srv.nxdomain"): renderers look it
	// up in a translation catalog and fill in Args; Message stays the
	// English text of the same id (a JSON contract). RemedyID does the
	// same for the remedy's prose.
	ID       string            `json:"id,omitempty"`
	RemedyID string            `json:"remedy_id,omitempty"`
	Args     map[string]string `json:"args,omitempty"`
	// DependsOn names the shared-infrastructure finding this one follows
	// from ("dns.srv@163.28.136.21:53", DESIGN §4.2): the remedy lives
	// there, once, and not under every school.
	DependsOn string `json:"depends_on,omitempty"`
}

// Ref is how other findings point at this one: "<check>@<server>".
func (f Finding) Ref() string { return f.Check + "@" + f.Server }

// Worst returns the most severe status among fs, Pass for none.
func Worst(fs []Finding) Status {
	w := Pass
	for _, f := range fs {
		if f.Status.Worse(w) {
			w = f.Status
		}
	}
	return w
}

// ExitCode maps the worst status of an audit to the monitoring-plugins exit
// code (DESIGN.md §5): 0 all pass, 1 some warn, 2 some fail, 3 the probe could
// not run. A fail outranks unknown there too: a broken school must page
// someone even when another check lacked privilege.
func ExitCode(worst Status) int { return worst.Code() }

// MarkStopped turns what did not pass into "unknown" when the audit was
// stopped (Ctrl-C, a deadline) while these findings were being measured:
// a server that did not answer because we stopped listening is never the
// school's failure.
func MarkStopped(fs []Finding) {
	for i := range fs {
		if fs[i].Status == Pass || fs[i].Status == Skip || fs[i].Status == Unknown {
			continue
		}
		fs[i].Status, fs[i].Short, fs[i].Remedy = Unknown, "stopped", ""
		fs[i].Message = "the audit was stopped before this check finished (" + fs[i].Message + ")"
	}
}
