package dnscheck

import (
	"github.com/kh-edu/kmsprobe/finding"
)

// SRVEvidence is what a dns.srv finding shows: enough to tell a timeout
// from a refusal and UDP from TCP without re-running the probe. The JSON
// keys are part of the report format: fields may be added, never renamed.
type SRVEvidence struct {
	Query        string   `json:"query"`
	QType        string   `json:"qtype"`
	RTTms        float64  `json:"rtt_ms"`
	Attempts     int      `json:"attempts"`
	Resent       int      `json:"resent,omitempty"` // sent again within an attempt (lost, not slow)
	Transport    string   `json:"transport"`
	TruncatedUDP bool     `json:"truncated_udp,omitempty"`
	Rcode        string   `json:"rcode,omitempty"`        // when a response came
	Error        string   `json:"error,omitempty"`        // the FailKind when none did
	ErrorDetail  string   `json:"error_detail,omitempty"` // the last error
	Role         string   `json:"role"`                   // school, resolver or dhcp
	Records      []string `json:"records,omitempty"`      // "prio weight port target", the records that count
	TTL          *uint32  `json:"ttl,omitempty"`          // lowest TTL of Records
	// Ignored names packets that were not the answer (another id, another
	// question, junk), IgnoredCount counts them.
	Ignored      []string `json:"ignored,omitempty"`
	IgnoredCount int      `json:"ignored_count,omitempty"`
	// Foreign are answer records of another owner than the name asked
	// (or the end of its CNAME chain): ignored, as a PC ignores them.
	Foreign []string `json:"foreign_records,omitempty"`
	// NotFollowed are the SRV targets beyond MaxTargets: their addresses
	// were not asked.
	NotFollowed []string `json:"not_followed,omitempty"`
	// ClientOrder is the order a Windows client would try the records in
	// (kms --discover).
	ClientOrder []string `json:"client_order,omitempty"`
}

// TargetEvidence is what a dns.target finding shows.
type TargetEvidence struct {
	Target       string   `json:"target"`
	Addresses    []string `json:"addresses"` // every address the target's own records give
	RTTms        float64  `json:"rtt_ms"`
	KMSAddresses []string `json:"kms_addresses,omitempty"` // the reference, when known
	RcodeA       string   `json:"rcode_a,omitempty"`
	RcodeAAAA    string   `json:"rcode_aaaa,omitempty"`
	ErrorA       string   `json:"error_a,omitempty"`
	ErrorAAAA    string   `json:"error_aaaa,omitempty"`
	// Unusable are Addresses no PC can reach a KMS host at; they are
	// never dialled.
	Unusable []string `json:"unusable,omitempty"`
	// CNAME is the alias chain from Target, when there is one.
	CNAME   []string `json:"cname,omitempty"`
	Foreign []string `json:"foreign_records,omitempty"`
	Ignored []string `json:"ignored,omitempty"`
}

// ConsistencyEvidence is what a dns.consistency finding shows.
type ConsistencyEvidence struct {
	Sets     map[string]string `json:"sets"` // server -> its record set (or rcode)
	Expected string            `json:"expected,omitempty"`
	// Odd are the servers whose answer differs from the expected record.
	Odd []string `json:"odd,omitempty"`
	// NotCompared are the servers left out, with why: a server that
	// gave no answer, refused or failed holds no record set to compare
	// (dns.srv reports its fault).
	NotCompared map[string]string `json:"not_compared,omitempty"`
}

// SRVEvidenceOf reads a dns.srv finding's evidence, from a judge or from a
// saved report alike.
func SRVEvidenceOf(f finding.Finding) (SRVEvidence, bool) {
	var ev SRVEvidence
	if f.Check != finding.DNSSRV || f.Evidence.Decode(&ev) != nil {
		return SRVEvidence{}, false
	}
	return ev, true
}

// TargetEvidenceOf reads a dns.target finding's evidence.
func TargetEvidenceOf(f finding.Finding) (TargetEvidence, bool) {
	var ev TargetEvidence
	if f.Check != finding.DNSTarget || f.Evidence.Decode(&ev) != nil {
		return TargetEvidence{}, false
	}
	return ev, true
}

// ConsistencyEvidenceOf reads a dns.consistency finding's evidence.
func ConsistencyEvidenceOf(f finding.Finding) (ConsistencyEvidence, bool) {
	var ev ConsistencyEvidence
	if f.Check != finding.DNSConsistency || f.Evidence.Decode(&ev) != nil {
		return ConsistencyEvidence{}, false
	}
	return ev, true
}

// RoleOf says which kind of server a dns.srv finding is about. It reads
// the one key directly (renderers call it per cell; decoding the whole
// evidence each time would be waste) and works on findings read back from
// JSON or from metrics alike. ok is false when the finding names no role.
func RoleOf(f finding.Finding) (Role, bool) {
	return ParseRole(f.Evidence.String("role"))
}

// ParseRole is the inverse of Role.String.
func ParseRole(s string) (Role, bool) {
	switch s {
	case "school":
		return SchoolDNS, true
	case "resolver":
		return CityResolver, true
	case "dhcp":
		return OfferedDNS, true
	}
	return SchoolDNS, false
}

// SetRole records r on a finding whose evidence came from elsewhere (the
// city view rebuilds findings from metrics).
func SetRole(f *finding.Finding, r Role) {
	f.Evidence.Set("role", r.String())
}
