package kmscheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
)

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e5) / 10 }

// Remedies, in English; the ids are their catalog keys. {{.Port}} is the
// port the probe dialled, which is the configured kms.port.
var remedies = finding.Catalog{
	"kms.fix.refused":         "On the KMS host, check that the Software Protection service runs (`sc query sppsvc`) and is a KMS host (`slmgr /dlv` shows \"Key Management Service is enabled\"), and that the firewall rule \"Key Management Service (TCP-In)\" allows TCP {{.Port}} from the school networks.",
	"kms.fix.timeout":         "Packets to TCP {{.Port}} are dropped: check the firewalls and ACLs between this network and the KMS host (city core and campus), and that the host is up.",
	"kms.fix.unreachable":     "There is no route to the KMS host from here: check routing, VLAN and gateway settings towards the KMS host's address.",
	"kms.fix.slow":            "Check for congestion or an overloaded firewall between this network and the KMS host.",
	"kms.fix.not_kms":         "Something other than the Windows KMS listens on port {{.Port}} (or a proxy/IPS interferes): check what owns the port on the host (`netstat -abno | findstr {{.Port}}`) and the devices in between.",
	"kms.fix.count":           "The KMS host activates Windows client editions only after it has counted 25 distinct machines in the last 30 days (Office and Windows Server: 5). The count rises as clients ask: make sure clients reach this host (DNS SRV _vlmcs._tcp), then run `slmgr /ato` on more PCs; until then they get 0xC004F038.",
	"kms.fix.verify":          "The answer was altered on the way or comes from something that only imitates KMS: capture TCP {{.Port}} with tcpdump on both ends and check for proxies, IPS or NAT helpers in between.",
	"kms.fix.fault":           "The host's RPC layer rejected the call before KMS saw it: check that the service on port {{.Port}} is the Windows KMS (sppsvc) and not another RPC service or a proxy.",
	"kms.fix.dropped":         "The KMS host dropped the request: check its Application event log (source Security-SPP, KMS events 12290) for this probe's workstation name.",
	"kms.fix.unknown_product": "Install on the KMS host a host key (CSVLK) that covers {{.ProductName}} (`slmgr /ipk <CSVLK>` then `slmgr /ato`), or probe the product your PCs actually run with --product.",
	"kms.fix.time_skew":       "Fix the clocks: the KMS host and the clients must be within 4 hours of true time. Check `w32tm /query /status` on the host and this probe's NTP (clock.offset).",
	"kms.fix.invalid_data":    "The host does not accept KMS protocol {{.Protocol}}; probe with --protocol 6 (or the version your clients use), and check that the host is a current Windows KMS host.",
	"kms.fix.hresult":         "Look the code up with `slui 0x2a {{.HRESULT}}` on a Windows PC and check the KMS host's Application event log.",
	"kms.fix.settings":        "Fix the probe's KMS settings (product, protocol, state directory).",
	"kms.fix.no_ipv6":         "Nothing to fix on the KMS host: run the probe from a host with IPv6 to check this address.",
}

// texts say every finding of this leg: its message and remedy by id.
var texts = finding.Words{Messages: messages, Remedies: remedies}

// Messages, in English; the ids are the catalog keys (i18n/locales/kms.*.toml).
var messages = finding.Catalog{
	"kms.tcp.connected":   "TCP connected in {{.RTT}} ms",
	"kms.tcp.slow":        "TCP connected, but slowly: {{.RTT}} ms (more than half the {{.Timeout}} timeout)",
	"kms.tcp.refused":     "connection refused: nothing listens on the KMS port, or a firewall rejects it",
	"kms.tcp.timeout":     "no answer to the TCP connect within {{.Timeout}}: the port is filtered or the host is down",
	"kms.tcp.unreachable": "host or network unreachable: {{.Error}}",
	"kms.tcp.error":       "TCP connect failed: {{.Error}}",
	"kms.tcp.no_ipv6":     "not tried: this probe host has no IPv6 route, so it cannot reach {{.Addr}} ({{.Error}})",
	"kms.tcp.stopped":     "the audit was stopped before this check finished ({{.Detail}})",

	"kms.rpc.not_run_tcp":               "not run: TCP connect to the KMS port failed",
	"kms.rpc.not_run_mode":              "not run: KMS mode is tcp (connect only)",
	"kms.rpc.not_run_ipv6":              "not run: this probe host has no IPv6 route",
	"kms.rpc.not_run_stopped":           "not run: the audit was stopped",
	"kms.rpc.build_error":               "{{.Error}}",
	"kms.rpc.bind_ok":                   "RPC bind to the KMS interface accepted ({{.Syntax}}); mode bind: no activation request was sent, so the client count and the host's licensing answer were not checked",
	"kms.rpc.no_answer":                 "KMS exchange ended without an answer",
	"kms.rpc.ok":                        "KMS V{{.Version}} answer verified: count {{.Count}} >= {{.Min}}, {{.Host}}{{.Notes}}",
	"kms.rpc.count_low":                 "KMS answered, but its client count is {{.Count}} ({{.Class}} products need {{.N}}): clients get 0xC004F038 (count too low) until enough machines have asked",
	"kms.rpc.count_low_min":             "KMS answered, but its client count is {{.Count}} (min_count is {{.Min}}; {{.Class}} products need {{.N}}): clients get 0xC004F038 (count too low) until enough machines have asked",
	"kms.rpc.refused.other":             "KMS host refused the activation request: HRESULT {{.HRESULT}}: {{.Meaning}}",
	"kms.rpc.refused.unknown_product":   "KMS host refused the activation request: HRESULT {{.HRESULT}}: the KMS host cannot activate this product: its host key (CSVLK) does not cover this product's KMS ID; install a newer host key or activate this product elsewhere",
	"kms.rpc.refused.time_skew":         "KMS host refused the activation request: HRESULT {{.HRESULT}}: the request time is too far from the KMS host's clock (more than about 4 hours); fix the clock/NTP on the host or on this probe",
	"kms.rpc.refused.invalid_data":      "KMS host refused the activation request: HRESULT {{.HRESULT}}: the KMS host rejected the request as invalid data, typically an unsupported protocol version",
	"kms.rpc.refused.host_not_active":   "KMS host refused the activation request: HRESULT {{.HRESULT}}: the KMS host itself is not activated",
	"kms.rpc.fault.bind":                "RPC fault {{.Fault}} on the RPC bind: {{.Meaning}}",
	"kms.rpc.fault.activate":            "RPC fault {{.Fault}} on the activation request: {{.Meaning}}",
	"kms.rpc.bad_answer":                "KMS answer failed verification ({{.Check}}): {{.Detail}}",
	"kms.rpc.bind_nak":                  "port open but the RPC service refused the bind (bind_nak, reason {{.Reason}}): not a usable KMS endpoint",
	"kms.rpc.not_kms_interface":         "port open but not KMS: the RPC service there does not offer the KMS interface",
	"kms.rpc.no_syntax":                 "port open, but the RPC bind found no common transfer syntax: {{.Detail}}",
	"kms.rpc.other_service.http":        "an HTTP server answered on {{.Addr}} (not KMS)",
	"kms.rpc.other_service.tls":         "a TLS server answered on {{.Addr}} (not KMS)",
	"kms.rpc.other_service.ssh":         "an SSH server answered on {{.Addr}} (not KMS)",
	"kms.rpc.other_service.smtp":        "an SMTP (mail) server answered on {{.Addr}} (not KMS)",
	"kms.rpc.other_service.ftp":         "an FTP server answered on {{.Addr}} (not KMS)",
	"kms.rpc.other_service.smtp_or_ftp": "an SMTP or FTP server answered on {{.Addr}} (not KMS)",
	"kms.rpc.not_kms":                   "port open but not KMS: {{.Detail}}",
	"kms.rpc.stalled.bind":              "port open, but no complete answer to the RPC bind within {{.Timeout}}: a stalled or non-KMS service",
	"kms.rpc.stalled.activate":          "port open, but no complete answer to the activation request within {{.Timeout}}: a stalled or non-KMS service",
	"kms.rpc.dropped":                   "KMS host closed the connection after the activation request without answering",
	"kms.rpc.closed":                    "port open but not KMS: the service closed the connection without answering the RPC bind",
	"kms.rpc.failed.bind":               "KMS exchange failed during the RPC bind: {{.Error}}",
	"kms.rpc.failed.activate":           "KMS exchange failed during the activation request: {{.Error}}",
	"kms.rpc.connect_failed":            "TCP connect for this product's request failed ({{.Outcome}}): {{.Error}}",
	"kms.rpc.stopped":                   "the audit was stopped before this check finished ({{.Detail}})",
}

// MessageIDs lists every message and remedy id the judge can produce, for
// the translation catalog's completeness test.
func MessageIDs() (msgs, fixes []string) {
	return messages.IDs(), remedies.IDs()
}

// Expect is what the judge holds the host to.
type Expect struct {
	// MinCount is the count every product's host must report (config
	// kms.min_count when written, or --min-count); 0 means each product's
	// own N, so each count pool is judged against its own threshold.
	MinCount int
}

// Threshold is the count a product's pool must reach, see Expect.MinCount.
func Threshold(minCount int, p Product) int {
	if minCount > 0 {
		return minCount
	}
	return p.N
}

// Judge turns a Measurement into findings: kms.tcp, then one kms.rpc per
// product (a skip when it was not run). It is pure: same measurement,
// same findings. A measurement the caller stopped never blames the host.
//
// When several products were asked, each kms.rpc Message starts with the
// product's name and ": " (Args["ProductName"] holds it, the id and the
// other Args are those of the message after the prefix), its Short with
// the product's key, and its evidence names the count pool
// (kms_counted_id).
func Judge(m Measurement, exp Expect) []finding.Finding {
	fs := []finding.Finding{judgeTCP(m.TCP, m.Budget.Handshake)}
	if fs[0].Server == "" {
		fs[0].Server = m.Addr
	}
	args := func(p Product) map[string]string {
		a := baseArgs(m.Addr)
		a["ProductName"] = p.Name
		return a
	}
	multi := len(m.Products) > 1
	skip := func(p Product, id string) finding.Finding {
		f := finding.Finding{Check: finding.KMSRPC, Server: m.Addr, Status: finding.Skip}
		texts.Say(&f, id, "", args(p))
		return f
	}
	products := m.Products
	if len(products) == 0 {
		p, _ := LookupProduct(DefaultProduct)
		products = []Product{p}
	}
	if m.Mode != ModeActivate {
		products = products[:1] // bind and tcp modes ask no product
		multi = false
	}
	for i, p := range products {
		var f finding.Finding
		switch {
		case m.TCP.Outcome == TCPNoIPv6:
			f = skip(p, "kms.rpc.not_run_ipv6")
		case m.TCP.Outcome != TCPConnected:
			f = skip(p, "kms.rpc.not_run_tcp")
		case m.Mode == ModeTCP:
			f = skip(p, "kms.rpc.not_run_mode")
		case i >= len(m.Exchanges):
			f = skip(p, "kms.rpc.not_run_stopped")
		default:
			x := m.Exchanges[i]
			if x.Addr == "" {
				x.Addr = m.Addr
			}
			f = judgeRPC(x, exp, m.Budget.Handshake, multi)
		}
		if multi {
			f.Message = p.Name + ": " + f.Message
			if f.Short != "" {
				f.Short = p.Key + " " + f.Short
			}
		}
		fs = append(fs, f)
	}
	if m.Stopped {
		markStopped(fs)
	}
	return fs
}

// markStopped is finding.MarkStopped with the stopped message's id.
func markStopped(fs []finding.Finding) {
	before := make([]string, len(fs))
	for i, f := range fs {
		before[i] = f.Message
	}
	finding.MarkStopped(fs)
	for i := range fs {
		if fs[i].Short == "stopped" && fs[i].Message != before[i] {
			args := map[string]string{}
			for k, v := range fs[i].Args {
				args[k] = v
			}
			args["Detail"] = before[i]
			fs[i].ID, fs[i].RemedyID, fs[i].Args = fs[i].Check+".stopped", "", args
		}
	}
}

func baseArgs(addr string) map[string]string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		port = DefaultPort
	}
	return map[string]string{"Addr": addr, "Port": port}
}

// JudgeTCP turns a connect attempt into the kms.tcp finding. timeout is the
// budget the attempt had; taking more than half of it is a warning, since a
// retrying client on a worse path will then time out.
func JudgeTCP(r TCPResult, timeout time.Duration) finding.Finding { return judgeTCP(r, timeout) }

func judgeTCP(r TCPResult, timeout time.Duration) finding.Finding {
	f := finding.Finding{Check: finding.KMSTCP, Server: r.Addr}
	ev := TCPEvidence{RTTms: ms(r.RTT), Transport: "tcp", Outcome: r.Outcome.String()}
	a := baseArgs(r.Addr)
	a["RTT"] = strconv.FormatFloat(ms(r.RTT), 'f', 1, 64)
	a["Timeout"] = timeout.String()
	a["Error"] = errText(r.Err)
	if r.Err != nil {
		ev.Error = r.Err.Error()
	}
	switch r.Outcome {
	case TCPConnected:
		if timeout > 0 && r.RTT > timeout/2 {
			f.Status, f.Short = finding.Warn, "slow"
			texts.Say(&f, "kms.tcp.slow", "kms.fix.slow", a)
			break
		}
		f.Status = finding.Pass
		texts.Say(&f, "kms.tcp.connected", "", a)
	case TCPNoIPv6:
		f.Status, f.Short = finding.Skip, "no IPv6 here"
		texts.Say(&f, "kms.tcp.no_ipv6", "kms.fix.no_ipv6", a)
	case TCPRefused:
		f.Status, f.Short = finding.Fail, "refused"
		texts.Say(&f, "kms.tcp.refused", "kms.fix.refused", a)
	case TCPTimeout:
		f.Status, f.Short = finding.Fail, "timeout"
		texts.Say(&f, "kms.tcp.timeout", "kms.fix.timeout", a)
	case TCPUnreachable:
		f.Status, f.Short = finding.Fail, "unreachable"
		texts.Say(&f, "kms.tcp.unreachable", "kms.fix.unreachable", a)
	default:
		f.Status, f.Short = finding.Fail, "error"
		texts.Say(&f, "kms.tcp.error", "kms.fix.unreachable", a)
	}
	f.Evidence = finding.NewEvidence(ev)
	return f
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// JudgeRPC turns one product's handshake into its kms.rpc finding;
// timeout is the handshake budget it had.
func JudgeRPC(x Exchange, want Expect, timeout time.Duration) finding.Finding {
	return judgeRPC(x, want, timeout, false)
}

func judgeRPC(x Exchange, want Expect, timeout time.Duration, multi bool) (f finding.Finding) {
	f = finding.Finding{Check: finding.KMSRPC, Server: x.Addr}
	a := baseArgs(x.Addr)
	a["ProductName"] = x.Product.Name
	a["Timeout"] = timeout.String()
	if x.Err != nil && x.Stage == "" {
		// The probe could not even build its request: its own trouble.
		f.Status = finding.Unknown
		a["Error"] = x.Err.Error()
		texts.Say(&f, "kms.rpc.build_error", "kms.fix.settings", a)
		return f
	}
	ev := RPCEvidence{
		RTTms:     ms(x.RTT),
		Transport: "tcp",
		Mode:      x.Mode.String(),
		Product:   x.Product.Key,
		Protocol:  x.Request.Version.String(),
	}
	if multi {
		ev.KMSCountedID = x.Product.KMSID.String()
	}
	if len(x.Bind.Offered) > 0 {
		ev.RPCOffered = strings.Join(x.Bind.Offered, ",")
		ev.RPCNDR32, ev.RPCNDR64, ev.RPCBTFN = ptr(x.Bind.NDR32), ptr(x.Bind.NDR64), ptr(x.Bind.BTFN)
		ev.RPCAlterContext = x.Bind.AlterContext
	}
	if !x.Request.CMID.IsZero() && x.Mode == ModeActivate {
		ev.CMID = x.Request.CMID.String()
	}
	defer func() { f.Evidence = finding.NewEvidence(ev) }()
	if x.Err != nil {
		judgeRPCError(&f, &ev, x, a)
		return f
	}
	if x.Mode != ModeActivate {
		syn := "NDR32"
		if !x.Bind.NDR32 {
			syn = "NDR64"
		}
		a["Syntax"] = syn
		f.Status, f.Short = finding.Pass, "bind ok"
		ev.CountChecked = ptr(false)
		texts.Say(&f, "kms.rpc.bind_ok", "", a)
		return f
	}
	r := x.Response
	if r == nil { // a Handshake always sets one or the other; be safe
		f.Status = finding.Fail
		texts.Say(&f, "kms.rpc.no_answer", "", a)
		return f
	}
	ev.RPCSyntax = x.Syntax.String()
	thr := Threshold(want.MinCount, x.Product)
	ev.EPID, ev.Count, ev.MinCount, ev.ProductThreshold = r.EPID, ptr(r.Count), ptr(thr), ptr(x.Product.N)
	ev.ActivationIntervalMin, ev.RenewalIntervalMin = ptr(r.ActivationInterval), ptr(r.RenewalInterval)
	if len(r.HwID) > 0 {
		ev.HwID = fmt.Sprintf("%X", r.HwID)
	}
	ev.EmulatorHints = r.EmulatorHints
	host := "host"
	if h, ok := ParseEPID(r.EPID); ok {
		ev.HostBuild, ev.HostLCID = ptr(h.Build), ptr(h.LCID)
		ev.HostOS, ev.HostLanguage = h.OS, h.Language
		host = describeHost(h)
	}
	a["Count"] = strconv.FormatUint(uint64(r.Count), 10)
	a["Min"] = strconv.Itoa(thr)
	a["N"] = strconv.Itoa(x.Product.N)
	a["Class"] = x.Product.Class()
	if int(r.Count) < thr {
		f.Status, f.Short = finding.Fail, fmt.Sprintf("count %d<%d", r.Count, thr)
		id := "kms.rpc.count_low"
		if thr != x.Product.N {
			id = "kms.rpc.count_low_min"
		}
		texts.Say(&f, id, "kms.fix.count", a)
		ev.HResult = fmt.Sprintf("0x%08X", uint32(HRCountTooLow))
		return f
	}
	var notes string
	if int(r.Count) < x.Product.N {
		// min_count is the admin's call, but say what it means for PCs.
		notes += fmt.Sprintf("; note: %s clients activate only from a count of %d", x.Product.Class(), x.Product.N)
	}
	if len(r.EmulatorHints) > 0 {
		notes += "; note: " + strings.Join(r.EmulatorHints, "; ")
	}
	a["Version"] = strconv.Itoa(int(r.Version.Major))
	a["Host"], a["Notes"] = host, notes
	f.Status, f.Short = finding.Pass, fmt.Sprintf("count %d", r.Count)
	texts.Say(&f, "kms.rpc.ok", "", a)
	return f
}

func describeHost(h HostInfo) string {
	var s string
	if h.OS != "" {
		s = fmt.Sprintf("host %s (build %d", h.OS, h.Build)
	} else {
		s = fmt.Sprintf("host build %d (", h.Build)
	}
	if h.Language != "" {
		if h.OS != "" {
			s += ", "
		}
		s += h.Language
	} else {
		if h.OS != "" {
			s += ", "
		}
		s += fmt.Sprintf("LCID %d", h.LCID)
	}
	return s + ")"
}

var refusalIDs = map[uint32]string{
	HRUnknownProduct: "kms.rpc.refused.unknown_product",
	HRTimeSkew:       "kms.rpc.refused.time_skew",
	HRInvalidData:    "kms.rpc.refused.invalid_data",
	HRHostNotActive:  "kms.rpc.refused.host_not_active",
}

// judgeRPCError words a handshake that failed: the first of rpcFailures
// that recognises the error names its message and remedy.
func judgeRPCError(f *finding.Finding, ev *RPCEvidence, x Exchange, a map[string]string) {
	f.Status = finding.Fail
	a["Error"] = errText(x.Err)
	p := &rpcFailure{f: f, ev: ev, x: x, a: a, step: "bind"}
	if x.Stage == StageActivate {
		p.step = "activate"
	}
	id, fix := "kms.rpc.failed."+p.step, "kms.fix.not_kms"
	for _, word := range rpcFailures {
		if i, r, ok := word(p); ok {
			id, fix = i, r
			break
		}
	}
	texts.Say(f, id, fix, a)
	ev.Error = x.Err.Error()
	if f.Short == "" {
		f.Short = "not KMS"
	}
}

// rpcFailure is one failed handshake being worded: the finding and
// evidence a row fills in, the exchange, the message arguments, and the
// step ("bind" or "activate") it failed in.
type rpcFailure struct {
	f    *finding.Finding
	ev   *RPCEvidence
	x    Exchange
	a    map[string]string
	step string
}

// rpcFailures recognise the errors of a handshake, most specific first
// (a ProtocolError naming another service before any ProtocolError);
// each returns its message and remedy ids and fills in what it knows.
var rpcFailures = []func(*rpcFailure) (id, fix string, ok bool){
	connectFailed, refused, faulted, badAnswer, otherService,
	bindNak, bindRefused, notKMS, stalled, dropped,
}

func connectFailed(p *rpcFailure) (string, string, bool) {
	var ce *ConnectError
	if !errors.As(p.x.Err, &ce) {
		return "", "", false
	}
	p.f.Short = "connect " + ce.TCP.Outcome.String()
	p.a["Outcome"], p.a["Error"] = ce.TCP.Outcome.String(), errText(ce.TCP.Err)
	if ce.TCP.Outcome == TCPNoIPv6 {
		p.f.Status = finding.Skip
	}
	return "kms.rpc.connect_failed", connectRemedy(ce.TCP.Outcome), true
}

func connectRemedy(o TCPOutcome) string {
	switch o {
	case TCPRefused:
		return "kms.fix.refused"
	case TCPTimeout:
		return "kms.fix.timeout"
	case TCPNoIPv6:
		return "kms.fix.no_ipv6"
	}
	return "kms.fix.unreachable"
}

func refused(p *rpcFailure) (string, string, bool) {
	var re *RefusalError
	if !errors.As(p.x.Err, &re) {
		return "", "", false
	}
	hr := fmt.Sprintf("0x%08X", re.HRESULT)
	p.ev.HResult, p.f.Short = hr, hr
	p.a["HRESULT"], p.a["Meaning"], p.a["Protocol"] = hr, HRESULTMeaning(re.HRESULT), p.x.Request.Version.String()
	id, ok := refusalIDs[re.HRESULT]
	if !ok {
		id = "kms.rpc.refused.other"
	}
	return id, refusalRemedy(re.HRESULT), true
}

func faulted(p *rpcFailure) (string, string, bool) {
	var fe *FaultError
	if !errors.As(p.x.Err, &fe) {
		return "", "", false
	}
	p.ev.RPCFault = fmt.Sprintf("0x%08x", fe.Status)
	p.f.Short = "RPC fault"
	p.a["Fault"], p.a["Meaning"] = p.ev.RPCFault, FaultMeaning(fe.Status)
	return "kms.rpc.fault." + p.step, "kms.fix.fault", true
}

func badAnswer(p *rpcFailure) (string, string, bool) {
	var ve *VerifyError
	if !errors.As(p.x.Err, &ve) {
		return "", "", false
	}
	p.ev.FailedCheck = ve.Check
	p.f.Short = "bad answer"
	p.a["Check"], p.a["Detail"] = ve.Check, ve.Detail
	return "kms.rpc.bad_answer", "kms.fix.verify", true
}

func otherService(p *rpcFailure) (string, string, bool) {
	var pe *ProtocolError
	if !errors.As(p.x.Err, &pe) || pe.Service == "" {
		return "", "", false
	}
	p.ev.Service = pe.Service
	p.f.Short = pe.Service
	return "kms.rpc.other_service." + pe.Service, "kms.fix.not_kms", true
}

func bindNak(p *rpcFailure) (string, string, bool) {
	var bn *BindNakError
	if !errors.As(p.x.Err, &bn) {
		return "", "", false
	}
	p.a["Reason"] = strconv.Itoa(int(bn.Reason))
	return "kms.rpc.bind_nak", "kms.fix.not_kms", true
}

func bindRefused(p *rpcFailure) (string, string, bool) {
	var be *BindError
	if !errors.As(p.x.Err, &be) {
		return "", "", false
	}
	p.a["Detail"] = be.Detail
	if be.NotKMS {
		return "kms.rpc.not_kms_interface", "kms.fix.not_kms", true
	}
	return "kms.rpc.no_syntax", "kms.fix.not_kms", true
}

func notKMS(p *rpcFailure) (string, string, bool) {
	var pe *ProtocolError
	if !errors.As(p.x.Err, &pe) {
		return "", "", false
	}
	p.a["Detail"] = pe.Detail
	return "kms.rpc.not_kms", "kms.fix.not_kms", true
}

func stalled(p *rpcFailure) (string, string, bool) {
	err := p.x.Err
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &ne) && ne.Timeout() {
		return "kms.rpc.stalled." + p.step, "kms.fix.not_kms", true
	}
	return "", "", false
}

func dropped(p *rpcFailure) (string, string, bool) {
	err := p.x.Err
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		return "", "", false
	}
	if p.x.Stage == StageActivate {
		p.f.Short = "dropped"
		return "kms.rpc.dropped", "kms.fix.dropped", true
	}
	return "kms.rpc.closed", "kms.fix.not_kms", true
}

func refusalRemedy(hr uint32) string {
	switch hr {
	case HRUnknownProduct:
		return "kms.fix.unknown_product"
	case HRTimeSkew:
		return "kms.fix.time_skew"
	case HRInvalidData:
		return "kms.fix.invalid_data"
	default:
		return "kms.fix.hresult"
	}
}

// hostFaults are the ids of findings that are the KMS host's own fault:
// it does not connect, does not speak KMS, or answers every school the
// same refusal or count. A verification failure (something on the path
// altered the answer) and a time-skew refusal (either clock) are not.
var hostFaults = map[string]bool{
	"kms.tcp.refused": true, "kms.tcp.timeout": true, "kms.tcp.unreachable": true, "kms.tcp.error": true,
	"kms.rpc.fault.bind": true, "kms.rpc.fault.activate": true, "kms.rpc.bind_nak": true,
	"kms.rpc.not_kms_interface": true, "kms.rpc.no_syntax": true, "kms.rpc.not_kms": true,
	"kms.rpc.stalled.bind": true, "kms.rpc.stalled.activate": true, "kms.rpc.dropped": true,
	"kms.rpc.closed": true, "kms.rpc.failed.bind": true, "kms.rpc.failed.activate": true,
	"kms.rpc.connect_failed": true, "kms.rpc.count_low": true, "kms.rpc.count_low_min": true,
	"kms.rpc.refused.unknown_product": true, "kms.rpc.refused.host_not_active": true,
	"kms.rpc.refused.invalid_data": true, "kms.rpc.refused.other": true,
	"kms.rpc.other_service.http": true, "kms.rpc.other_service.tls": true, "kms.rpc.other_service.ssh": true,
	"kms.rpc.other_service.smtp": true, "kms.rpc.other_service.ftp": true, "kms.rpc.other_service.smtp_or_ftp": true,
}

// HostFault reports whether f is the KMS host's own fault (DESIGN §4.2:
// down, refused, not KMS, RPC fault, no key for a product, count too low),
// so that it belongs once in the report's infrastructure list. The
// finding's remedy is already addressed to the KMS host's operators. A
// skip, an unknown (the probe's own trouble, a stopped audit) or a pass
// never is.
func HostFault(f finding.Finding) bool {
	return (f.Status == finding.Fail || f.Status == finding.Warn) && hostFaults[f.ID]
}
