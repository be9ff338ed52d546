package kmscheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/kh-edu/kmsprobe/finding"
)

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e5) / 10 }

const (
	remedyRefused = "On the KMS host, check that the Software Protection service runs (`sc query sppsvc`) and is a KMS host (`slmgr /dlv` shows \"Key Management Service is enabled\"), and that the firewall rule \"Key Management Service (TCP-In)\" allows TCP 1688 from the school networks."
	remedyTimeout = "Packets to TCP 1688 are dropped: check the firewalls and ACLs between this network and the KMS host (city core and campus), and that the host is up."
	remedyUnreach = "There is no route to the KMS host from here: check routing, VLAN and gateway settings towards the KMS host's address."
	remedyNotKMS  = "Something other than the Windows KMS listens on port 1688 (or a proxy/IPS interferes): check what owns the port on the host (`netstat -abno | findstr 1688`) and the devices in between."
	remedyCount   = "The KMS host activates Windows client editions only after it has counted 25 distinct machines in the last 30 days (Office and Windows Server: 5). The count rises as clients ask: make sure clients reach this host (DNS SRV _vlmcs._tcp), then run `slmgr /ato` on more PCs; until then they get 0xC004F038."
	remedyVerify  = "The answer was altered on the way or comes from something that only imitates KMS: capture TCP 1688 with tcpdump on both ends and check for proxies, IPS or NAT helpers in between."
)

// JudgeTCP turns a connect attempt into the kms.tcp finding. timeout is the
// budget the attempt had; taking more than half of it is a warning, since a
// retrying client on a worse path will then time out.
func JudgeTCP(r TCPResult, timeout time.Duration) finding.Finding {
	f := finding.Finding{
		Check:  finding.KMSTCP,
		Server: r.Addr,
		Evidence: finding.Evidence{
			"rtt_ms":    ms(r.RTT),
			"transport": "tcp",
			"outcome":   r.Outcome.String(),
		},
	}
	if r.Err != nil {
		f.Evidence["error"] = r.Err.Error()
	}
	switch r.Outcome {
	case TCPConnected:
		if timeout > 0 && r.RTT > timeout/2 {
			f.Status, f.Short = finding.Warn, "slow"
			f.Message = fmt.Sprintf("TCP connected, but slowly: %.1f ms (more than half the %s timeout)", ms(r.RTT), timeout)
			f.Remedy = "Check for congestion or an overloaded firewall between this network and the KMS host."
			return f
		}
		f.Status = finding.Pass
		f.Message = fmt.Sprintf("TCP connected in %.1f ms", ms(r.RTT))
	case TCPRefused:
		f.Status, f.Short = finding.Fail, "refused"
		f.Message = "connection refused: nothing listens on the KMS port, or a firewall rejects it"
		f.Remedy = remedyRefused
	case TCPTimeout:
		f.Status, f.Short = finding.Fail, "timeout"
		f.Message = fmt.Sprintf("no answer to the TCP connect within %s: the port is filtered or the host is down", timeout)
		f.Remedy = remedyTimeout
	case TCPUnreachable:
		f.Status, f.Short = finding.Fail, "unreachable"
		f.Message = "host or network unreachable: " + errText(r.Err)
		f.Remedy = remedyUnreach
	default:
		f.Status, f.Short = finding.Fail, "error"
		f.Message = "TCP connect failed: " + errText(r.Err)
		f.Remedy = remedyUnreach
	}
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

// Expect is what JudgeRPC holds the host to.
type Expect struct {
	MinCount int           // config kms.min_count; 0 means the product's own N
	Timeout  time.Duration // the exchange's budget, for messages
}

// JudgeRPC turns a handshake into the kms.rpc finding.
func JudgeRPC(x Exchange, want Expect) finding.Finding {
	f := finding.Finding{
		Check:  finding.KMSRPC,
		Server: x.Addr,
		Evidence: finding.Evidence{
			"rtt_ms":    ms(x.RTT),
			"transport": "tcp",
			"mode":      x.Mode.String(),
			"product":   x.Product.Key,
			"protocol":  x.Request.Version.String(),
		},
	}
	ev := f.Evidence
	if len(x.Bind.Offered) > 0 {
		ev["rpc_offered"] = strings.Join(x.Bind.Offered, ",")
		ev["rpc_ndr32"] = x.Bind.NDR32
		ev["rpc_ndr64"] = x.Bind.NDR64
		ev["rpc_btfn"] = x.Bind.BTFN
		if x.Bind.AlterContext {
			ev["rpc_alter_context"] = true
		}
	}
	if !x.Request.CMID.IsZero() && x.Mode == ModeActivate {
		ev["cmid"] = x.Request.CMID.String()
	}
	if x.Err != nil {
		judgeRPCError(&f, x, want)
		return f
	}
	if x.Mode != ModeActivate {
		syn := "NDR32"
		if !x.Bind.NDR32 {
			syn = "NDR64"
		}
		f.Status, f.Short = finding.Pass, "bind ok"
		ev["count_checked"] = false
		f.Message = fmt.Sprintf("RPC bind to the KMS interface accepted (%s); mode bind: no activation request was sent, so the client count and the host's licensing answer were not checked", syn)
		return f
	}
	r := x.Response
	if r == nil { // a Handshake always sets one or the other; be safe
		f.Status = finding.Fail
		f.Message = "KMS exchange ended without an answer"
		return f
	}
	ev["rpc_syntax"] = x.Syntax.String()
	thr := Threshold(want.MinCount, x.Product)
	ev["epid"] = r.EPID
	ev["count"] = r.Count
	ev["min_count"] = thr
	ev["product_threshold"] = x.Product.N
	ev["activation_interval_min"] = r.ActivationInterval
	ev["renewal_interval_min"] = r.RenewalInterval
	if len(r.HwID) > 0 {
		ev["hwid"] = fmt.Sprintf("%X", r.HwID)
	}
	if len(r.EmulatorHints) > 0 {
		ev["emulator_hints"] = r.EmulatorHints
	}
	host := "host"
	if h, ok := ParseEPID(r.EPID); ok {
		ev["host_build"] = h.Build
		ev["host_lcid"] = h.LCID
		if h.OS != "" {
			ev["host_os"] = h.OS
		}
		if h.Language != "" {
			ev["host_language"] = h.Language
		}
		host = describeHost(h)
	}
	if int(r.Count) < thr {
		f.Status, f.Short = finding.Fail, fmt.Sprintf("count %d<%d", r.Count, thr)
		need := fmt.Sprintf("%s products need %d", x.Product.Class(), x.Product.N)
		if thr != x.Product.N {
			need = fmt.Sprintf("min_count is %d; %s", thr, need)
		}
		f.Message = fmt.Sprintf("KMS answered, but its client count is %d (%s): clients get 0xC004F038 (count too low) until enough machines have asked", r.Count, need)
		f.Remedy = remedyCount
		ev["hresult"] = fmt.Sprintf("0x%08X", uint32(HRCountTooLow))
		return f
	}
	f.Status, f.Short = finding.Pass, fmt.Sprintf("count %d", r.Count)
	f.Message = fmt.Sprintf("KMS V%d answer verified: count %d >= %d, %s", r.Version.Major, r.Count, thr, host)
	if int(r.Count) < x.Product.N {
		// min_count is the admin's call, but say what it means for PCs.
		f.Message += fmt.Sprintf("; note: %s clients activate only from a count of %d", x.Product.Class(), x.Product.N)
	}
	if len(r.EmulatorHints) > 0 {
		f.Message += "; note: " + strings.Join(r.EmulatorHints, "; ")
	}
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

func judgeRPCError(f *finding.Finding, x Exchange, want Expect) {
	f.Status = finding.Fail
	err := x.Err
	var (
		pe  *ProtocolError
		be  *BindError
		bn  *BindNakError
		fe  *FaultError
		re  *RefusalError
		ve  *VerifyError
		nre net.Error
	)
	step := "RPC bind"
	if x.Stage == StageActivate {
		step = "activation request"
	}
	switch {
	case errors.As(err, &re):
		f.Evidence["hresult"] = fmt.Sprintf("0x%08X", re.HRESULT)
		f.Short = fmt.Sprintf("0x%08X", re.HRESULT)
		f.Message = fmt.Sprintf("KMS host refused the activation request: HRESULT 0x%08X: %s", re.HRESULT, HRESULTMeaning(re.HRESULT))
		f.Remedy = refusalRemedy(re.HRESULT, x)
	case errors.As(err, &fe):
		f.Evidence["rpc_fault"] = fmt.Sprintf("0x%08x", fe.Status)
		f.Short = "RPC fault"
		f.Message = fmt.Sprintf("RPC fault 0x%08x on the %s: %s", fe.Status, step, FaultMeaning(fe.Status))
		f.Remedy = "The host's RPC layer rejected the call before KMS saw it: check that the service on port 1688 is the Windows KMS (sppsvc) and not another RPC service or a proxy."
	case errors.As(err, &ve):
		f.Evidence["failed_check"] = ve.Check
		f.Short = "bad answer"
		f.Message = fmt.Sprintf("KMS answer failed verification (%s): %s", ve.Check, ve.Detail)
		f.Remedy = remedyVerify
	case errors.As(err, &bn):
		f.Message = fmt.Sprintf("port open but the RPC service refused the bind (bind_nak, reason %d): not a usable KMS endpoint", bn.Reason)
		f.Remedy = remedyNotKMS
	case errors.As(err, &be):
		if be.NotKMS {
			f.Message = "port open but not KMS: the RPC service there does not offer the KMS interface"
		} else {
			f.Message = "port open, but the RPC bind found no common transfer syntax: " + be.Detail
		}
		f.Remedy = remedyNotKMS
	case errors.As(err, &pe):
		f.Message = "port open but not KMS: " + pe.Detail
		f.Remedy = remedyNotKMS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.As(err, &nre) && nre.Timeout():
		f.Message = fmt.Sprintf("port open, but no complete answer to the %s within %s: a stalled or non-KMS service", step, want.Timeout)
		f.Remedy = remedyNotKMS
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		if x.Stage == StageActivate {
			f.Message = "KMS host closed the connection after the activation request without answering"
			f.Remedy = "The KMS host dropped the request: check its Application event log (source Security-SPP, KMS events 12290) for this probe's workstation name."
		} else {
			f.Message = "port open but not KMS: the service closed the connection without answering the RPC bind"
			f.Remedy = remedyNotKMS
		}
	default:
		f.Message = fmt.Sprintf("KMS exchange failed during the %s: %s", step, errText(err))
		f.Remedy = remedyNotKMS
	}
	f.Evidence["error"] = err.Error()
	if f.Short == "" {
		f.Short = "not KMS"
		if strings.Contains(f.Message, "closed the connection after the activation") {
			f.Short = "dropped"
		}
	}
}

func refusalRemedy(hr uint32, x Exchange) string {
	switch hr {
	case HRUnknownProduct:
		return fmt.Sprintf("Install on the KMS host a host key (CSVLK) that covers %s (`slmgr /ipk <CSVLK>` then `slmgr /ato`), or probe the product your PCs actually run with --product.", x.Product.Name)
	case HRTimeSkew:
		return "Fix the clocks: the KMS host and the clients must be within 4 hours of true time. Check `w32tm /query /status` on the host and this probe's NTP (clock.offset)."
	case HRInvalidData:
		return fmt.Sprintf("The host does not accept KMS protocol %s; probe with --protocol 6 (or the version your clients use), and check that the host is a current Windows KMS host.", x.Request.Version)
	default:
		return "Look the code up with `slui 0x2a 0x" + fmt.Sprintf("%08X", hr) + "` on a Windows PC and check the KMS host's Application event log."
	}
}
