package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"strconv"

	"github.com/kh-edu/kmsprobe/clockcheck"
	"github.com/kh-edu/kmsprobe/config"
	"github.com/kh-edu/kmsprobe/internal/sim"
	"github.com/kh-edu/kmsprobe/kmscheck"
	"github.com/kh-edu/kmsprobe/kmscheck/kmsreplay"
	"github.com/kh-edu/kmsprobe/legs"
	"github.com/kh-edu/kmsprobe/probe"
)

func init() {
	register(&command{
		Name:    "demo",
		Summary: "audit a simulated city on 127.0.0.1 (no root, nothing leaves this machine); exits 0 when it ran",
		Spec: spec{Config: "a `schools.yaml` lending the demo its report: and mail: settings, to try --mail or --lang (its schools and servers are never used)",
			Formats: reportFormats(), Out: true, OnlyProblems: true, Report: true, Lang: true},
		Flags: func(*flag.FlagSet, *input) runFunc { return runDemo },
	})
}

func runDemo(ctx context.Context, e *env, f *input) int {
	if err := noArgs(f, "demo", "the demo's city is built in"); err != nil {
		return fail(e, err)
	}

	kms, err := startDemoKMS(ctx)
	if err != nil {
		return fail(e, fmt.Errorf("demo: cannot start the simulated KMS host: %w", err))
	}
	defer kms.stop()
	city, err := sim.StartDemoCity(kms.port)
	if err != nil {
		return fail(e, fmt.Errorf("demo: cannot start the simulated city on 127.0.0.0/8: %w", err))
	}
	defer city.Close()
	// -c lends the demo the report and mail settings of a real
	// schools.yaml (to try --mail or --lang zh-TW); its schools, servers
	// and KMS host are never used: the city stays simulated.
	if f.config != "" {
		base, err := loadConfig(f.config)
		if err != nil {
			return fail(e, err)
		}
		city.Config.Report, city.Config.Mail = base.Report, base.Mail
	}

	opts := probe.Options{Version: version, Simulate: true, Hostname: "demo", Legs: kms.legs(city.Config)}
	code := audit(ctx, e, city.Config, f, opts)
	if code == exitUnknown {
		return code
	}
	if f.format == "table" && (f.out == "" || f.out == "-") {
		fmt.Fprintln(e.Stdout)
		fmt.Fprintln(e.Stdout, "This was a simulation: every server above ran inside this process on 127.0.0.0/8 and ::1.")
		for _, line := range append(kms.notes, city.Notes...) {
			fmt.Fprintln(e.Stdout, line)
		}
		fmt.Fprintf(e.Stdout, "A real audit with these results would have exited %d (%s).\n", code, exitMeaning(code))
		fmt.Fprintln(e.Stdout, "Audit the real network: edit schools.yaml, then run  kmsprobe validate -c schools.yaml  and  kmsprobe audit -c schools.yaml")
	} else {
		for _, line := range city.Notes {
			fmt.Fprintln(e.Stderr, "kmsprobe: demo: "+line)
		}
		fmt.Fprintf(e.Stderr, "kmsprobe: demo: simulated city; a real audit with these results would have exited %d (%s)\n", code, exitMeaning(code))
	}
	return exitPass
}

func exitMeaning(code int) string {
	switch code {
	case exitPass:
		return "all pass"
	case exitWarn:
		return "some warn"
	case exitFail:
		return "some fail"
	}
	return "the probe could not run"
}

// demoKMS is the demo's KMS side: a listener on the simulated KMS
// address, the leg that talks to it and what to tell the user about it.
type demoKMS struct {
	port  int
	stop  func()
	req   kmscheck.Request
	ntp   string
	notes []string
}

// legs are the demo's KMS and clock legs with the budgets of cfg: the
// same table every command uses.
func (d *demoKMS) legs(cfg *config.Config) probe.Legs {
	b := legs.BudgetsOf(cfg)
	return probe.Legs{
		KMS:   legs.KMS{Request: d.req, Budget: kmscheck.Budget{Handshake: b.KMSHandshake}, Expect: kmscheck.Expect{MinCount: 25}},
		Clock: legs.Clock{Servers: []string{d.ntp}, Budget: clockcheck.Budget{NTP: b.NTP}},
	}
}

// demoVector is the captured exchange the demo's KMS host replays: a
// Windows 10/11 Enterprise V6 activation with a count of 50.
const demoVector = kmsreplay.Vector("v6-win10-ent")

// startDemoKMS starts the demo's KMS side: a replay of a captured exchange
// on the simulated KMS address (it can answer only the recorded request,
// so the demo's client uses that capture's identity, clock and salt), and
// a simulated NTP server for the clock check.
func startDemoKMS(ctx context.Context) (*demoKMS, error) {
	addr, stopReplay, err := kmsreplay.Listen(ctx, net.JoinHostPort(sim.DemoKMSIP, "0"), demoVector)
	if err != nil {
		return nil, err
	}
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	ntp, err := sim.ListenNTP("127.0.0.123", 0)
	if err != nil {
		stopReplay()
		return nil, err
	}
	req := kmsreplay.ClientRequest(demoVector)
	cmid := req.ClientID.String()
	return &demoKMS{
		port: port,
		stop: func() { stopReplay(); ntp.Close() },
		req:  req,
		ntp:  ntp.Addr,
		notes: []string{
			"The KMS host at " + addr + " replayed a captured exchange (" + string(demoVector) + ", vlmcs <-> vlmcsd): it can answer only that",
			"recorded request, so the demo's client used the capture's identity (CMID " + cmid + "), clock and salt.",
			"A real audit sends this machine's own stable client ID. The clock was compared with a simulated NTP server at " + ntp.Addr + ".",
		},
	}, nil
}
