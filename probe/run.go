package probe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/dnscheck"
	"github.com/kh-edu/kmsprobe/finding"
)

// Legs are the measurements beyond DNS. They are functions so the
// orchestrator stays independent of how each leg talks to the network,
// and tests can plug in fakes. A nil leg is reported as "skip" with the
// reason, never as a pass.
type Legs struct {
	// KMS checks one KMS address ("ip:port"): kms.tcp and kms.rpc.
	KMS func(ctx context.Context, addr string) []finding.Finding
	// Clock checks the local clock against NTP: clock.offset findings.
	Clock func(ctx context.Context) []finding.Finding
	// Campus runs the DHCP leg on the school's LAN (vantage campus).
	Campus func(ctx context.Context) (Campus, error)
}

// Campus is what the DHCP leg saw on one LAN, for one school.
type Campus struct {
	School string // the school id the LAN belongs to
	// Findings are dhcp.offer, dhcp.suffix and dhcp.rogue.
	Findings []finding.Finding
	// Servers are the option 6 DNS servers ("ip:53") with the option 15
	// suffix of the same offer (or the school's when none was offered).
	Servers []CampusServer
	// JudgeDNS makes dhcp.dns from the dns.srv finding of each server.
	JudgeDNS func(srv map[string]finding.Finding) finding.Finding
}

// CampusServer is one DHCP-offered DNS server and the suffix to ask it.
type CampusServer struct{ Addr, Suffix string }

// Options tune one audit.
type Options struct {
	Legs     Legs
	Schools  []string // ids to audit; empty means all
	Version  string
	Vantage  string // "central" (default) or "campus"
	Simulate bool   // mark the report as a simulation (the demo)
	// Progress is told how many exchanges are done out of how many are
	// known so far; total grows as later phases are planned.
	Progress func(done, total int)
	Now      func() time.Time
	Hostname string
	// DNSOnly stops after the DNS leg: no KMS or clock findings at all
	// (kmsprobe dns).
	DNSOnly bool
}

// ErrUnknownSchool is returned for a --school id that is not configured.
var ErrUnknownSchool = errors.New("unknown school")

// Select returns the configured schools with the given ids, in file order,
// or all when ids is empty.
func Select(cfg *config.Config, ids []string) ([]config.School, error) {
	if len(ids) == 0 {
		return cfg.Schools, nil
	}
	var out []config.School
	for _, id := range ids {
		if _, ok := cfg.School(id); !ok {
			known := make([]string, 0, len(cfg.Schools))
			for _, s := range cfg.Schools {
				known = append(known, s.ID)
			}
			return nil, fmt.Errorf("%w %q: %s lists %s", ErrUnknownSchool, id, cfg.Path, strings.Join(known, ", "))
		}
	}
	for _, s := range cfg.Schools {
		if slices.Contains(ids, s.ID) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Run audits the schools. It always returns a report: when ctx is
// cancelled it stops every exchange promptly and returns what is known,
// marked incomplete. The error is only for an audit that cannot run.
func Run(ctx context.Context, cfg *config.Config, opts Options) (*Report, error) {
	schools, err := Select(cfg, opts.Schools)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := time.Now()
	r := &runner{
		cfg:    cfg,
		opts:   opts,
		client: dnscheck.Client{Timeout: cfg.Probe.Timeout.Duration, Attempts: cfg.Probe.Attempts},
		exp:    dnscheck.Expect{Host: cfg.KMS.Host, Port: uint16(cfg.KMS.Port)},
		sem:    make(chan struct{}, cfg.Probe.Concurrency),
		ans:    map[dnscheck.Query]dnscheck.Answer{},
		asked:  map[dnscheck.Query]bool{},
	}

	rep := &Report{
		Schema:      Schema,
		GeneratedAt: now(),
		Probe:       Info{Hostname: opts.Hostname, Version: opts.Version, Vantage: opts.Vantage, Simulation: opts.Simulate},
		Selected:    opts.Schools,
	}
	if rep.Probe.Hostname == "" {
		rep.Probe.Hostname, _ = os.Hostname()
	}
	if rep.Probe.Vantage == "" {
		rep.Probe.Vantage = "central"
	}

	// The campus leg comes first: its offers decide which extra servers
	// and suffixes the DNS phase asks.
	var campus *Campus
	extra := map[string][]serverRef{}
	if opts.Legs.Campus != nil {
		c, err := opts.Legs.Campus(ctx)
		if err != nil {
			return nil, err
		}
		campus = &c
		rep.Probe.Vantage = "campus"
		for _, s := range c.Servers {
			extra[c.School] = append(extra[c.School], serverRef{Addr: s.Addr, Role: dnscheck.OfferedDNS, Suffix: s.Suffix})
		}
	}

	plan := MakePlan(cfg, schools, extra)
	r.ask(ctx, plan.Queries, func(q dnscheck.Query, a dnscheck.Answer) []dnscheck.Query {
		if q.Type != dns.TypeSRV {
			return nil
		}
		var next []dnscheck.Query
		for _, t := range dnscheck.Targets(a, r.exp) {
			next = append(next, dnscheck.NewQuery(q.Server, t, dns.TypeA), dnscheck.NewQuery(q.Server, t, dns.TypeAAAA))
		}
		return next
	})
	// Every target was asked as its SRV answer came in; this only marks
	// the ones a stopped audit never reached as not asked.
	r.ask(ctx, targetQueries(plan, r.ans, r.exp), nil)
	ref := r.reference(plan)

	// Judge DNS per school, collecting the KMS addresses each chain
	// reaches: a PC connects only where its own DNS servers lead it.
	type schoolState struct {
		findings []finding.Finding
		kms      []string
	}
	states := make([]schoolState, len(plan.Schools))
	kmsAddrs := map[string]bool{}
	for i, sp := range plan.Schools {
		st := &states[i]
		var srvAnswers []dnscheck.Answer
		for j, srv := range sp.Servers {
			a := r.ans[sp.SRV[j]]
			srvAnswers = append(srvAnswers, a)
			st.findings = append(st.findings, dnscheck.JudgeSRV(a, srv.Suffix, r.exp, srv.Role, cfg.Probe.Timeout.Duration))
		}
		for j, q := range sp.SRV {
			for _, t := range dnscheck.Targets(srvAnswers[j], r.exp) {
				a4 := r.ans[dnscheck.NewQuery(q.Server, t, dns.TypeA)]
				a6 := r.ans[dnscheck.NewQuery(q.Server, t, dns.TypeAAAA)]
				f := dnscheck.JudgeTarget(q.Server, t, a4, a6, r.exp, ref)
				st.findings = append(st.findings, f)
				if f.Status == finding.Pass || f.Status == finding.Warn {
					for _, ip := range append(dnscheck.Addresses(a4), dnscheck.Addresses(a6)...) {
						addr := net.JoinHostPort(ip.String(), strconv.Itoa(cfg.KMS.Port))
						if !slices.Contains(st.kms, addr) {
							st.kms = append(st.kms, addr)
							kmsAddrs[addr] = true
						}
					}
				}
			}
		}
		// Consistency is about the servers the school itself relies on;
		// a DHCP-offered server with another suffix is a different
		// question and dhcp.dns judges it.
		var same []dnscheck.Answer
		var roles []dnscheck.Role
		for j, srv := range sp.Servers {
			if srv.Suffix == sp.School.Suffix {
				same = append(same, srvAnswers[j])
				roles = append(roles, srv.Role)
			}
		}
		st.findings = append(st.findings, dnscheck.JudgeConsistency(sp.School.ID, r.exp, same, roles))
		sort.Strings(st.kms)
	}

	// KMS and clock run together: both are independent of each other.
	kmsResults := map[string][]finding.Finding{}
	var clock []finding.Finding
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if opts.Legs.Clock != nil {
			clock = opts.Legs.Clock(ctx)
			if ctx.Err() != nil {
				finding.MarkStopped(clock)
			}
		} else {
			clock = []finding.Finding{{Check: finding.ClockOffset, Status: finding.Skip, Short: "-", Message: "clock not checked"}}
		}
	}()
	if opts.Legs.KMS != nil {
		kmsResults = r.kms(ctx, slices.Sorted(maps.Keys(kmsAddrs)))
	}
	wg.Wait()

	for i, sp := range plan.Schools {
		st := &states[i]
		var fs []finding.Finding
		if campus != nil && campus.School == sp.School.ID {
			fs = append(fs, campus.Findings...)
			if campus.JudgeDNS != nil {
				srv := map[string]finding.Finding{}
				for _, f := range st.findings {
					if f.Check == finding.DNSSRV {
						for _, cs := range campus.Servers {
							if cs.Addr == f.Server {
								srv[f.Server] = f
							}
						}
					}
				}
				fs = append(fs, campus.JudgeDNS(srv))
			}
		}
		fs = append(fs, st.findings...)
		if opts.DNSOnly {
			rep.Schools = append(rep.Schools, School{ID: sp.School.ID, Name: sp.School.Name, Suffix: sp.School.Suffix, Findings: fs})
			continue
		}
		switch {
		case opts.Legs.KMS == nil:
			fs = append(fs, skipKMS("KMS leg not run")...)
		case len(st.kms) == 0:
			fs = append(fs, skipKMS("no DNS server of this school leads to the KMS host; fix dns.srv and dns.target first")...)
		default:
			for _, a := range st.kms {
				fs = append(fs, kmsResults[a]...)
			}
		}
		fs = append(fs, clock...)
		rep.Schools = append(rep.Schools, School{ID: sp.School.ID, Name: sp.School.Name, Suffix: sp.School.Suffix, Findings: fs})
	}
	rep.Probe.Exchanges = len(r.ans)
	// A deadline can end the last exchanges a moment before ctx reports
	// it, so a passed deadline counts as a stop too.
	err = ctx.Err()
	if dl, ok := ctx.Deadline(); err == nil && ok && !time.Now().Before(dl) {
		err = context.DeadlineExceeded
	}
	if err != nil {
		rep.Incomplete = true
		rep.Reason = "the audit was stopped before every answer arrived (" + err.Error() + "); unanswered checks are unknown"
	}
	rep.DurationSeconds = time.Since(start).Seconds()
	rep.Finish()
	return rep, nil
}

func skipKMS(why string) []finding.Finding {
	return []finding.Finding{
		{Check: finding.KMSTCP, Status: finding.Skip, Short: "-", Message: why},
		{Check: finding.KMSRPC, Status: finding.Skip, Short: "-", Message: why},
	}
}

type runner struct {
	cfg    *config.Config
	opts   Options
	client dnscheck.Client
	exp    dnscheck.Expect
	sem    chan struct{}

	mu          sync.Mutex
	ans         map[dnscheck.Query]dnscheck.Answer
	asked       map[dnscheck.Query]bool // launched, answered or not yet
	done, total int
}

func (r *runner) progress(doneDelta, totalDelta int) {
	r.mu.Lock()
	r.done += doneDelta
	r.total += totalDelta
	d, t := r.done, r.total
	r.mu.Unlock()
	if r.opts.Progress != nil {
		r.opts.Progress(d, t)
	}
}

// ask runs the questions not yet asked, at most Concurrency at once, and
// then whatever follow returns for each answer, as soon as that answer
// arrives: an SRV answer's targets are resolved while dead servers are
// still being waited for. Each exchange has its own deadline
// (dnscheck.Client), so a dead server costs one timeout × attempts
// however many of them there are.
func (r *runner) ask(ctx context.Context, qs []dnscheck.Query, follow func(dnscheck.Query, dnscheck.Answer) []dnscheck.Query) {
	var wg sync.WaitGroup
	var launch func(qs []dnscheck.Query)
	launch = func(qs []dnscheck.Query) {
		var todo []dnscheck.Query
		r.mu.Lock()
		for _, q := range qs {
			if !r.asked[q] {
				r.asked[q] = true
				todo = append(todo, q)
			}
		}
		r.mu.Unlock()
		r.progress(0, len(todo))
		for _, q := range todo {
			wg.Add(1)
			go func(q dnscheck.Query) {
				defer wg.Done()
				var a dnscheck.Answer
				select {
				case r.sem <- struct{}{}:
					a = r.client.Exchange(ctx, q)
					<-r.sem
				case <-ctx.Done():
					a = dnscheck.Answer{Query: q, Fail: dnscheck.Cancelled, Err: ctx.Err()}
				}
				r.mu.Lock()
				r.ans[q] = a
				r.mu.Unlock()
				r.progress(1, 0)
				if follow != nil && ctx.Err() == nil {
					launch(follow(q, a))
				}
			}(q)
		}
	}
	launch(qs)
	wg.Wait()
}

// reference returns the KMS host's addresses as the city resolvers give
// them: the yardstick for dns.target. A school server that answers
// differently for the KMS host is then seen as wrong, not as the truth.
func (r *runner) reference(p Plan) []net.IP {
	var out []net.IP
	for _, q := range p.Reference {
		for _, ip := range dnscheck.Addresses(r.ans[q]) {
			if !slices.ContainsFunc(out, ip.Equal) {
				out = append(out, ip)
			}
		}
	}
	return out
}

func (r *runner) kms(ctx context.Context, addrs []string) map[string][]finding.Finding {
	out := make(map[string][]finding.Finding, len(addrs))
	r.progress(0, len(addrs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	notAsked := func(a string) []finding.Finding {
		return []finding.Finding{
			{Check: finding.KMSTCP, Server: a, Status: finding.Unknown, Short: "stopped", Message: "not asked: the audit was stopped"},
			{Check: finding.KMSRPC, Server: a, Status: finding.Unknown, Short: "stopped", Message: "not asked: the audit was stopped"},
		}
	}
	for _, a := range addrs {
		// select picks at random among ready cases: look at ctx first so
		// a stopped audit never starts another exchange.
		acquired := false
		if ctx.Err() == nil {
			select {
			case r.sem <- struct{}{}:
				acquired = true
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			if acquired {
				<-r.sem
			}
			mu.Lock()
			out[a] = notAsked(a)
			mu.Unlock()
			r.progress(1, 0)
			continue
		}
		wg.Add(1)
		go func(a string) {
			defer wg.Done()
			defer func() { <-r.sem }()
			fs := r.opts.Legs.KMS(ctx, a)
			if ctx.Err() != nil {
				finding.MarkStopped(fs)
			}
			mu.Lock()
			out[a] = fs
			mu.Unlock()
			r.progress(1, 0)
		}(a)
	}
	wg.Wait()
	return out
}
