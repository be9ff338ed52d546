package probe

import (
	"container/heap"
	"context"
	"net"
	"sync"
	"sync/atomic"
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
	// Zones holds one delegation measurement per distinct school suffix
	// (canonical), nil when the zone leg is absent.
	Zones map[string]Measured
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
	// progress is told how many exchanges are done out of how many are
	// known so far.
	progress func(done, total int)

	mu            sync.Mutex
	peakPerServer int
	ans           map[dnscheck.Query]dnscheck.Answer
	// queued are the questions queued or in flight; a question is asked
	// once: not when it is queued, nor when ans has its answer. (A set
	// of every question ever asked would double what a city's answers
	// cost in memory until the report is judged.)
	queued      map[dnscheck.Query]struct{}
	done, total int
}

// DefaultPerServer is the default cap on questions in flight to one DNS
// server. A city resolver answers a cached SRV in well under a
// millisecond, so 32 in flight still moves thousands of questions a
// second, while staying far below what unbound (num-queries-per-thread
// 1024) or BIND (recursive-clients 1000) start to drop or rate-limit.
const DefaultPerServer = 32

// stallFactor and minStall bound when a question's worker is handed on
// (see executor.dns).
const (
	stallFactor = 8
	minStall    = 100 * time.Millisecond
)

// stallWait is how long a question waits before its worker is handed on,
// given the answers' smoothed round-trip time (0: none yet).
func stallWait(rtt, maxStall time.Duration) time.Duration {
	if rtt == 0 {
		return maxStall
	}
	return min(maxStall, max(stallFactor*rtt, minStall))
}

// smooth folds d into the moving average at r (weight 1/8), lock-free:
// every worker updates it.
func smooth(r *atomic.Int64, d time.Duration) {
	for {
		old := r.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if r.CompareAndSwap(old, next) {
			return
		}
	}
}

func newExecutor(client dnscheck.Client, exp dnscheck.Expect, concurrency, perServer int, progress func(done, total int)) *executor {
	if perServer <= 0 {
		perServer = DefaultPerServer
	}
	return &executor{
		client:    client,
		exp:       exp,
		sem:       make(chan struct{}, max(concurrency, 1)),
		perServer: perServer,
		progress:  progress,
		ans:       map[dnscheck.Query]dnscheck.Answer{},
		queued:    map[dnscheck.Query]struct{}{},
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

// dns asks the questions not yet asked and, when follow is set, the
// follow-ups each answer leads to, as soon as it arrives: an SRV answer's
// targets are resolved while dead servers are still being waited for.
// Each exchange has its own deadline (dnscheck.Client), so a dead server
// costs one timeout × attempts however many of them there are.
//
// A fixed pool of workers (the global concurrency) takes questions from
// per-server queues, a server only while it has fewer than perServer
// questions in flight. Nothing waits in a goroutine of its own, so a city
// of 10,000 schools costs queue entries, not 80,000 parked goroutines.
func (x *executor) dns(ctx context.Context, qs []dnscheck.Query, follow bool) {
	s := newScheduler(x.perServer)
	x.enqueue(s, qs, "")
	s.mu.Lock()
	workers := min(cap(x.sem), max(s.pending, 1))
	s.mu.Unlock()
	// A question still unanswered after stallAfter is almost surely at a
	// dead server: its worker is replaced, so dead servers cost the city
	// one timeout × attempts in total, not one per 256 of them (10,000
	// schools with 10% dead: 1,000 questions × 2 s held all 256 workers
	// for 8 s). The stalled question still counts toward its server's
	// cap. A waiting question holds no socket (the shared sockets of
	// dnscheck.Sockets), only its goroutine and a timer, so many may
	// wait at once; maxStalled still bounds the goroutines a city of
	// dead servers can park.
	//
	// How long is "stalled" follows the answers: stallFactor times their
	// smoothed round-trip time, at least minStall, at most a quarter of
	// the timeout or 250 ms. A city whose servers answer in 2 ms hands a
	// dead server's worker on after 100 ms, not 250: at 10,000 schools
	// with 10% dead, 1,000 waits of 250 ms kept the workers from the last
	// dead servers until 0.5 s later (audit 3.6 → 3.1 s).
	maxStall := min(x.client.Timeout/4, 250*time.Millisecond)
	var rtt atomic.Int64 // smoothed, in nanoseconds; 0 before any answer
	stallAfter := func() time.Duration { return stallWait(time.Duration(rtt.Load()), maxStall) }
	maxStalled := int64(16 * cap(x.sem))
	// One pool of shared sockets per pass, closed when every question of
	// it is over: fresh ports for every audit.
	client := x.client
	client.Sockets = dnscheck.NewSockets()
	defer client.Sockets.Close()
	var stalled atomic.Int64
	var wg sync.WaitGroup
	var worker func()
	worker = func() {
		for {
			q, ok := s.next()
			if !ok {
				return
			}
			replaced := false
			var timer *time.Timer
			decided := make(chan struct{})
			if d := stallAfter(); d > 0 {
				timer = time.AfterFunc(d, func() {
					defer close(decided)
					if stalled.Add(1) > maxStalled {
						stalled.Add(-1)
						return
					}
					replaced = true
					wg.Go(worker)
				})
			}
			a := exchangeOne(ctx, client, q)
			if timer != nil && !timer.Stop() {
				<-decided // the timer has fired: wait for its decision
			}
			if a.Msg != nil && a.Resent == 0 && a.Attempts == 1 {
				smooth(&rtt, a.RTT)
			}
			x.mu.Lock()
			x.ans[q] = a
			delete(x.queued, q)
			x.mu.Unlock()
			x.step(1, 0)
			var next []dnscheck.Query
			if follow && ctx.Err() == nil {
				next = followUps(q, a, x.exp)
			}
			x.enqueue(s, next, q.Server)
			if replaced {
				stalled.Add(-1)
				return
			}
		}
	}
	for range workers {
		wg.Go(worker)
	}
	wg.Wait()
	x.mu.Lock()
	x.peakPerServer = max(x.peakPerServer, s.peak)
	if len(x.queued) == 0 {
		// A map keeps the room of its largest size: tens of thousands of
		// questions queued at once would stay allocated to the end.
		x.queued = map[dnscheck.Query]struct{}{}
	}
	x.mu.Unlock()
}

// enqueue queues the questions never asked before. When done names a
// server, one of its questions has just been answered: its slot is freed
// in the same step, so no worker sees "nothing pending" in between.
func (x *executor) enqueue(s *scheduler, qs []dnscheck.Query, done string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	x.mu.Lock()
	for _, q := range qs {
		if _, ok := x.queued[q]; ok {
			continue
		}
		if _, ok := x.ans[q]; ok {
			continue
		}
		x.queued[q] = struct{}{}
		sq := s.queue(q.Server)
		sq.todo = append(sq.todo, q)
		s.pending++
		n++
		s.wake(sq)
	}
	x.mu.Unlock()
	if done != "" {
		sq := s.queues[done]
		sq.inFlight--
		s.pending--
		s.wake(sq)
		if s.pending == 0 {
			s.cond.Broadcast()
		}
	}
	x.step(0, n)
}

// exchangeOne asks one question. Cancellation is the client's job too; a
// stopped audit's question is not even sent.
func exchangeOne(ctx context.Context, client dnscheck.Client, q dnscheck.Query) dnscheck.Answer {
	if err := ctx.Err(); err != nil {
		return dnscheck.Answer{Query: q, Fail: dnscheck.Cancelled, Err: err}
	}
	return client.Exchange(ctx, q)
}

// scheduler hands questions to workers, never more than perServer in
// flight to one server, the server with the longest backlog first.
//
// The busiest servers set the audit's length: a city resolver asked for
// 10,000 schools can only work through its queue perServer at a time,
// while each school's own server has two or three questions. Serving
// servers in turn (round robin) left the resolvers nearly idle behind
// ten thousand school servers and then worked through their backlog
// alone at the end; longest backlog first keeps them at their cap from
// the start, and the remaining workers spread over the schools' servers.
type scheduler struct {
	mu        sync.Mutex
	cond      *sync.Cond
	perServer int
	queues    map[string]*serverQueue
	ready     readyHeap // servers with work and a free slot
	seq       uint64    // order of arrival among equal backlogs
	pending   int       // queued plus in flight
	peak      int       // most questions one server had in flight
}

type serverQueue struct {
	todo     []dnscheck.Query
	inFlight int
	index    int    // position in ready, -1 when not there
	seq      uint64 // when it last joined ready
}

func newScheduler(perServer int) *scheduler {
	s := &scheduler{perServer: perServer, queues: map[string]*serverQueue{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// queue returns server's queue, made on first use.
func (s *scheduler) queue(server string) *serverQueue {
	sq := s.queues[server]
	if sq == nil {
		sq = &serverQueue{index: -1}
		s.queues[server] = sq
	}
	return sq
}

// wake puts sq among the ready servers when it has work and a free slot,
// or moves it to its place when its backlog grew.
func (s *scheduler) wake(sq *serverQueue) {
	if len(sq.todo) == 0 || sq.inFlight >= s.perServer {
		return
	}
	if sq.index >= 0 {
		heap.Fix(&s.ready, sq.index)
		return
	}
	s.seq++
	sq.seq = s.seq
	heap.Push(&s.ready, sq)
	s.cond.Signal()
}

// next blocks until a question may be sent, or returns false when nothing
// is pending any more.
func (s *scheduler) next() (dnscheck.Query, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.ready) == 0 {
		if s.pending == 0 {
			return dnscheck.Query{}, false
		}
		s.cond.Wait()
	}
	sq := heap.Pop(&s.ready).(*serverQueue)
	q := sq.todo[0]
	sq.todo[0] = dnscheck.Query{}
	sq.todo = sq.todo[1:]
	sq.inFlight++
	s.peak = max(s.peak, sq.inFlight)
	s.wake(sq)
	return q, true
}

// readyHeap orders servers by backlog, longest first, then by arrival.
type readyHeap []*serverQueue

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(i, j int) bool {
	if a, b := len(h[i].todo), len(h[j].todo); a != b {
		return a > b
	}
	return h[i].seq < h[j].seq
}
func (h readyHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *readyHeap) Push(x any) {
	sq := x.(*serverQueue)
	sq.index = len(*h)
	*h = append(*h, sq)
}
func (h *readyHeap) Pop() any {
	old := *h
	sq := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	sq.index = -1
	return sq
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
