package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/finding"
)

// The single-target commands show more than the table before it: what
// kms and dhcp saw, in the words their users know from vlmcs and
// ipconfig. They read the findings' evidence and judge nothing.

// KMSDetails is `kmsprobe kms` as a table: what a vlmcs user expects to
// see of each KMS host that answered (ePID, build, count, intervals),
// then one line per verdict with its fix.
func KMSDetails(w io.Writer, fs []finding.Finding) error {
	bw := &errWriter{w: w}
	w = bw
	for _, f := range fs {
		ev := func(k string) any { x, _ := f.Evidence.Get(k); return x }
		if f.Check == finding.KMSRPC && ev("epid") != nil {
			fmt.Fprintf(w, "%s\n", f.Server)
			fmt.Fprintf(w, "  KMS protocol            : %v (%v)\n", ev("protocol"), ev("rpc_syntax"))
			fmt.Fprintf(w, "  ePID                    : %v\n", ev("epid"))
			if ev("host_os") != nil {
				fmt.Fprintf(w, "  Host OS                 : %v (build %v)\n", ev("host_os"), ev("host_build"))
			} else {
				fmt.Fprintf(w, "  Host build              : %v\n", ev("host_build"))
			}
			if ev("host_language") != nil {
				fmt.Fprintf(w, "  Host language           : %v (LCID %v)\n", ev("host_language"), ev("host_lcid"))
			} else if ev("host_lcid") != nil {
				fmt.Fprintf(w, "  Host LCID               : %v\n", ev("host_lcid"))
			}
			if ev("hwid") != nil {
				fmt.Fprintf(w, "  HwId                    : %v\n", ev("hwid"))
			}
			fmt.Fprintf(w, "  Current client count    : %v (needed: %v)\n", ev("count"), ev("min_count"))
			fmt.Fprintf(w, "  Activation interval     : %v min\n", ev("activation_interval_min"))
			fmt.Fprintf(w, "  Renewal interval        : %v min\n", ev("renewal_interval_min"))
			fmt.Fprintf(w, "  Round trip              : %v ms\n", ev("rtt_ms"))
		}
	}
	for _, f := range fs {
		fmt.Fprintf(w, "%-5s %-12s %-22s %s\n", strings.ToUpper(f.Status.String()), f.Check, f.Server, f.Message)
		if f.Remedy != "" && (f.Status == finding.Fail || f.Status == finding.Warn || f.Status == finding.Unknown) {
			fmt.Fprintf(w, "      fix: %s\n", f.Remedy)
		}
	}
	return bw.err
}

// DHCPOffers is what `kmsprobe dhcp` prints before the table: every
// offer, server by server (what a PC on this LAN would be told), the IPv6
// half, and the search domains and DNS servers a PC ends up with.
func DHCPOffers(w io.Writer, fs []finding.Finding) error {
	bw := &errWriter{w: w}
	dhcpOffers(bw, fs)
	return bw.err
}

func dhcpOffers(w io.Writer, fs []finding.Finding) {
	for _, f := range fs {
		if f.Check != finding.DHCPOffer {
			continue
		}
		offers := objects(f.Evidence, "offers")
		defer dhcpView(w, f.Evidence)
		if len(offers) == 0 {
			return
		}
		fmt.Fprintf(w, "%d offer(s) on %v:\n", len(offers), f.Evidence.String("iface"))
		for _, o := range offers {
			fmt.Fprintf(w, "  from %v (%v): offers %v", o["server_id"], o["server_mac"], o["offered_ip"])
			if r, ok := o["relay"]; ok {
				fmt.Fprintf(w, " via relay %v", r)
			}
			fmt.Fprintln(w)
			for _, k := range []string{"domain_name", "dns", "search_list", "routers", "lease_s"} {
				if v, ok := o[k]; ok {
					fmt.Fprintf(w, "    %-12s %v\n", k, v)
				}
			}
			if m, ok := o["malformed"]; ok {
				fmt.Fprintf(w, "    %-12s %v\n", "malformed", m)
			}
		}
		fmt.Fprintln(w)
	}
}

// dhcpView lists the IPv6 half and what a PC ends up with: every search
// domain and every DNS server, each with where it came from.
func dhcpView(w io.Writer, ev finding.Evidence) {
	list := func(k string) []map[string]any { return objects(ev, k) }
	if rs := list("dhcpv6_replies"); len(rs) > 0 {
		fmt.Fprintf(w, "%d DHCPv6 reply(ies) to the Information-Request:\n", len(rs))
		for _, r := range rs {
			fmt.Fprintf(w, "  from DUID %v at %v (%v)\n", r["server_duid"], r["source"], r["server_mac"])
			for _, k := range []string{"dns", "domains", "malformed"} {
				if v, ok := r[k]; ok {
					fmt.Fprintf(w, "    %-12s %v\n", k, v)
				}
			}
		}
	}
	if as := list("router_adverts"); len(as) > 0 {
		fmt.Fprintf(w, "%d router advertisement(s):\n", len(as))
		for _, a := range as {
			fmt.Fprintf(w, "  from %v (%v) lifetime %vs M=%v O=%v\n", a["source"], a["mac"], a["lifetime_s"], a["managed"], a["other"])
			for _, k := range []string{"rdnss", "dnssl", "withdrawn", "malformed"} {
				if v, ok := a[k]; ok {
					fmt.Fprintf(w, "    %-12s %v\n", k, v)
				}
			}
		}
	}
	if why, ok := ev.Get("ipv6_error"); ok {
		fmt.Fprintf(w, "IPv6 not observed: %v\n", why)
	}
	if ds := list("search_domains"); len(ds) > 0 {
		fmt.Fprintln(w, "Search domains a PC would use:")
		for _, d := range ds {
			fmt.Fprintf(w, "  %-30v %v from %v\n", d["domain"], d["source"], d["origin"])
		}
	}
	if ss := list("dns_servers"); len(ss) > 0 {
		fmt.Fprintln(w, "DNS servers a PC would ask:")
		for _, d := range ss {
			fmt.Fprintf(w, "  %-30v %v from %v\n", d["address"], d["source"], d["origin"])
		}
	}
	fmt.Fprintln(w)
}

// errWriter keeps the first write error, so a renderer of many Fprintf
// calls reports a closed pipe once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// Validation is what `kmsprobe validate` found in one schools.yaml.
type Validation struct {
	Schools  int
	Problems []config.Problem
	Warnings []config.Problem
}

// ValidationJSON writes v for programs: {"valid", "schools", "problems",
// "warnings"}, each problem with its file, line, school, field and
// message. The keys are a contract, like the report's.
func ValidationJSON(w io.Writer, v Validation) error {
	type jsonProblem struct {
		File    string `json:"file"`
		Line    int    `json:"line,omitempty"`
		School  string `json:"school,omitempty"`
		Field   string `json:"field,omitempty"`
		Message string `json:"message"`
	}
	list := func(ps []config.Problem) []jsonProblem {
		out := []jsonProblem{}
		for _, p := range ps {
			out = append(out, jsonProblem{p.Path, p.Line, p.School, p.Field, p.Msg})
		}
		return out
	}
	out := struct {
		Valid    bool          `json:"valid"`
		Schools  int           `json:"schools"`
		Problems []jsonProblem `json:"problems"`
		Warnings []jsonProblem `json:"warnings"`
	}{Valid: len(v.Problems) == 0, Schools: v.Schools, Problems: list(v.Problems), Warnings: list(v.Warnings)}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// objects is the list of objects under key k, as the evidence reads back
// from JSON (a literal map's []map[string]any comes back as []any too).
func objects(ev finding.Evidence, k string) []map[string]any {
	l, _ := ev.Get(k)
	xs, _ := l.([]any)
	out := make([]map[string]any, 0, len(xs))
	for _, x := range xs {
		if o, ok := x.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}
