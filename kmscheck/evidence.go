package kmscheck

import (
	"math"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
)

// TCPEvidence is the evidence of a kms.tcp finding. The JSON keys are a
// contract (DESIGN §6): fields may be added, never renamed.
type TCPEvidence struct {
	RTTms     float64 `json:"rtt_ms"`
	Transport string  `json:"transport"`
	Outcome   string  `json:"outcome"` // a TCPOutcome name: connected, refused, timeout, unreachable, error, no_ipv6
	Error     string  `json:"error,omitempty"`
}

// RPCEvidence is the evidence of a kms.rpc finding. Pointers mark values
// that are absent unless measured (a count of 0 is a real count).
type RPCEvidence struct {
	RTTms     float64 `json:"rtt_ms"`
	Transport string  `json:"transport"`
	Mode      string  `json:"mode"`
	Product   string  `json:"product"`
	Protocol  string  `json:"protocol"`

	RPCOffered      string `json:"rpc_offered,omitempty"`
	RPCNDR32        *bool  `json:"rpc_ndr32,omitempty"`
	RPCNDR64        *bool  `json:"rpc_ndr64,omitempty"`
	RPCBTFN         *bool  `json:"rpc_btfn,omitempty"`
	RPCAlterContext bool   `json:"rpc_alter_context,omitempty"`
	RPCSyntax       string `json:"rpc_syntax,omitempty"`
	CMID            string `json:"cmid,omitempty"`

	// CountChecked is false in bind mode: no request, so no count.
	CountChecked          *bool    `json:"count_checked,omitempty"`
	EPID                  string   `json:"epid,omitempty"`
	Count                 *uint32  `json:"count,omitempty"`
	MinCount              *int     `json:"min_count,omitempty"`         // the threshold applied
	ProductThreshold      *int     `json:"product_threshold,omitempty"` // the product's own N
	ActivationIntervalMin *uint32  `json:"activation_interval_min,omitempty"`
	RenewalIntervalMin    *uint32  `json:"renewal_interval_min,omitempty"`
	HwID                  string   `json:"hwid,omitempty"`
	EmulatorHints         []string `json:"emulator_hints,omitempty"`
	HostBuild             *int     `json:"host_build,omitempty"`
	HostLCID              *int     `json:"host_lcid,omitempty"`
	HostOS                string   `json:"host_os,omitempty"`
	HostLanguage          string   `json:"host_language,omitempty"`
	// KMSCountedID names the count pool; written only when several
	// products were asked, so that products sharing a pool can be told.
	KMSCountedID string `json:"kms_counted_id,omitempty"`

	HResult     string `json:"hresult,omitempty"`
	RPCFault    string `json:"rpc_fault,omitempty"`
	FailedCheck string `json:"failed_check,omitempty"`
	// Service names what answered instead of KMS (http, tls, ssh, smtp, ftp).
	Service string `json:"service,omitempty"`
	Error   string `json:"error,omitempty"`
}

// TCPEvidenceOf reads a kms.tcp finding's evidence, fresh from Judge or
// decoded from a saved report alike.
func TCPEvidenceOf(f finding.Finding) (TCPEvidence, bool) {
	var e TCPEvidence
	if f.Check != finding.KMSTCP || f.Evidence.IsZero() || f.Evidence.Decode(&e) != nil {
		return TCPEvidence{}, false
	}
	return e, true
}

// RPCEvidenceOf reads a kms.rpc finding's evidence.
func RPCEvidenceOf(f finding.Finding) (RPCEvidence, bool) {
	var e RPCEvidence
	if f.Check != finding.KMSRPC || f.Evidence.IsZero() || f.Evidence.Decode(&e) != nil {
		return RPCEvidence{}, false
	}
	return e, true
}

// RTT is the measured round trip of a kms.tcp or kms.rpc finding; ok is
// false when nothing was measured (no evidence, or the exchange failed, so
// its time would make a stalled host look fast).
func RTT(f finding.Finding) (d time.Duration, ok bool) {
	var ms float64
	switch f.Check {
	case finding.KMSTCP:
		e, has := TCPEvidenceOf(f)
		if !has || e.Error != "" {
			return 0, false
		}
		ms = e.RTTms
	case finding.KMSRPC:
		e, has := RPCEvidenceOf(f)
		if !has || e.Error != "" {
			return 0, false
		}
		ms = e.RTTms
	default:
		return 0, false
	}
	return time.Duration(math.Round(ms * float64(time.Millisecond))), true
}

// Count is the client count a kms.rpc finding's host reported.
func Count(f finding.Finding) (uint32, bool) {
	e, ok := RPCEvidenceOf(f)
	if !ok || e.Count == nil {
		return 0, false
	}
	return *e.Count, true
}

func ptr[T any](v T) *T { return &v }
