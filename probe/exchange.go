package probe

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/kh-edu/kmsprobe/dnscheck"
)

// Measurements are everything an audit saw on the network, and nothing
// judged. The judge reads only this and the plan.
type Measurements struct {
	// DNS holds one answer per distinct question asked (a question never
	// reached by a stopped audit has a Cancelled answer).
	DNS map[dnscheck.Query]dnscheck.Answer
	// KMS holds one measurement per KMS address dialed.
	KMS map[string]Measured
	// Clock is the clock leg's measurement, nil when the leg is absent.
	Clock *Measured
	// Campus is the view of the school's LAN, nil outside campus mode.
	Campus CampusView
	// HostResolver are the KMS host's addresses from the probe host's own
	// resolver, asked only when no other witness exists (§4.1).
	HostResolver []net.IP
	// Stopped is the reason the audit ended early, nil when it completed.
	Stopped error
}

// Measured is one leg measurement and whether the audit was stopped while
// it was taken: a measurement cut short must never blame a server.
type Measured struct {
	Measurement
	Stopped bool
}

// executor runs a plan's exchanges with bounded concurrency. It measures;
// it never judges.
type executor struct {
	client dnscheck.Client
	exp    dnscheck.Expect
	sem    chan struct{}
	// perServer caps the questions in flight to one server, so a city
	// resolver that serves every school never gets the whole
	// concurrency at once.
	perServer int
	serverSem map[string]chan struct{}
	// progress is told how many exchanges are done out of how many are
	// known so far.
	progress func(done, total int)

	mu            sync.Mutex
	peakPerServer int
	ans           map[dnscheck.Query]dnscheck.Answer
	asked         map[dnscheck.Query]bool
	done, total   int
}

// DefaultPerServer is the default cap on questions in flight to one DNS
// server. A city resolver answers a cached SRV in well under a
// millisecond, so 32 in flight still moves thousands of questions a
// second, while staying far below what unbound (num-queries-per-thread
// 1024) or BIND (recursive-clients 1000) start to drop or rate-limit.
const DefaultPerServer = 32

func newExecutor(client dnscheck.Client, exp dnscheck.Expect, concurrency, perServer int, progress func(done, total int)) *executor {
	if perServer <= 0 {
		perServer = DefaultPerServer
	}
	return &executor{
		client:    client,
		exp:       exp,
		sem:       make(chan struct{}, max(concurrency, 1)),
		perServer: perServer,
		serverSem: map[string]chan struct{}{},
		progress:  progress,
		ans:       map[dnscheck.Query]dnscheck.Answer{},
		asked:     map[dnscheck.Query]bool{},
	}
}

func (x *executor) step(doneDelta, totalDelta int) {
	x.mu.Lock()
	x.done += doneDelta
	x.total += totalDelta
	d, t := x.done, x.total
	x.mu.Unlock()
	if x.progress != nil {
		x.progress(d, t)
	}
}

// dns asks the questions not yet asked and, as each answer arrives, the
// follow-ups it leads to: an SRV answer's targets are resolved while dead
// servers are still being waited for. Each exchange has its own deadline
// (dnscheck.Client), so a dead server costs one timeout × attempts however
// many of them there are.
func (x *executor) dns(ctx context.Context, qs []dnscheck.Query, follow bool) {
	var wg sync.WaitGroup
	var launch func(qs []dnscheck.Query)
	launch = func(qs []dnscheck.Query) {
		var todo []dnscheck.Query
		x.mu.Lock()
		for _, q := range qs {
			if !x.asked[q] {
				x.asked[q] = true
				todo = append(todo, q)
			}
		}
		x.mu.Unlock()
		x.step(0, len(todo))
		for _, q := range todo {
			wg.Add(1)
			go func(q dnscheck.Query) {
				defer wg.Done()
				a := x.exchange(ctx, q)
				x.mu.Lock()
				x.ans[q] = a
				x.mu.Unlock()
				x.step(1, 0)
				if follow && ctx.Err() == nil {
					launch(followUps(q, a, x.exp))
				}
			}(q)
		}
	}
	launch(qs)
	wg.Wait()
}

// exchange asks one question once both the global and the server's own
// slot are free. The server slot is taken first: waiting for a busy
// resolver must not hold a global slot another server could use.
func (x *executor) exchange(ctx context.Context, q dnscheck.Query) dnscheck.Answer {
	srv := x.server(q.Server)
	cancelled := dnscheck.Answer{Query: q, Fail: dnscheck.Cancelled}
	select {
	case srv <- struct{}{}:
	case <-ctx.Done():
		cancelled.Err = ctx.Err()
		return cancelled
	}
	defer func() { <-srv }()
	select {
	case x.sem <- struct{}{}:
	case <-ctx.Done():
		cancelled.Err = ctx.Err()
		return cancelled
	}
	defer func() { <-x.sem }()
	x.noteInFlight(q.Server, len(srv))
	return x.client.Exchange(ctx, q)
}

func (x *executor) server(addr string) chan struct{} {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.serverSem[addr]
	if !ok {
		c = make(chan struct{}, x.perServer)
		x.serverSem[addr] = c
	}
	return c
}

// noteInFlight records the highest number of questions one server had in
// flight: the benchmark reports it.
func (x *executor) noteInFlight(_ string, n int) {
	x.mu.Lock()
	x.peakPerServer = max(x.peakPerServer, n)
	x.mu.Unlock()
}

// measureAll runs leg at every target under the shared concurrency bound.
// A target not started because the audit stopped has no entry.
func (x *executor) measureAll(ctx context.Context, leg Leg, targets []string) map[string]Measured {
	out := make(map[string]Measured, len(targets))
	x.step(0, len(targets))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, t := range targets {
		// select picks at random among ready cases: look at ctx first so
		// a stopped audit never starts another exchange.
		if ctx.Err() != nil {
			x.step(1, 0)
			continue
		}
		select {
		case x.sem <- struct{}{}:
		case <-ctx.Done():
			x.step(1, 0)
			continue
		}
		wg.Add(1)
		go func(t string) {
			defer wg.Done()
			defer func() { <-x.sem }()
			m := leg.Measure(ctx, t)
			mu.Lock()
			out[t] = Measured{Measurement: m, Stopped: ctx.Err() != nil}
			mu.Unlock()
			x.step(1, 0)
		}(t)
	}
	wg.Wait()
	return out
}

// measureOne runs a leg without a target (the clock) outside the DNS
// concurrency bound: it is one exchange and must not wait behind them.
func measureOne(ctx context.Context, leg Leg) *Measured {
	if leg == nil {
		return nil
	}
	m := leg.Measure(ctx, "")
	return &Measured{Measurement: m, Stopped: ctx.Err() != nil}
}

// stopReason is ctx's error, or DeadlineExceeded when the deadline has
// passed a moment before ctx reports it.
func stopReason(ctx context.Context) error {
	err := ctx.Err()
	if dl, ok := ctx.Deadline(); err == nil && ok && !time.Now().Before(dl) {
		err = context.DeadlineExceeded
	}
	return err
}
