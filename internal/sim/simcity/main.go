package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kh-edu/kmsprobe/internal/sim"
)

func main() {
	schools := flag.Int("schools", 1000, "number of schools, each with its own DNS server")
	deadEvery := flag.Int("dead-every", 10, "every Nth school server never answers (0: none)")
	timeout := flag.Duration("timeout", 500*time.Millisecond, "probe.timeout written to schools.yaml")
	dir := flag.String("dir", ".", "folder for schools.yaml, questions.txt and ready")
	knot := flag.Bool("knot", false, "write the city for knotd (knot.conf, zones/, schools.yaml, floor.txt) and exit")
	flag.Parse()

	if *knot {
		kc, err := sim.WriteKnotCity(*dir, sim.BenchOptions{Schools: *schools, DeadEvery: *deadEvery, Timeout: *timeout})
		if err != nil {
			fmt.Fprintln(os.Stderr, "simcity:", err)
			os.Exit(1)
		}
		fmt.Printf("%d %s\n", kc.Dead, kc.DeadRange)
		return
	}

	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	city, err := sim.StartBenchCity(sim.BenchOptions{Schools: *schools, DeadEvery: *deadEvery, Timeout: *timeout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "simcity:", err)
		os.Exit(1)
	}
	defer city.Close()

	var q, fl strings.Builder
	for _, s := range city.Config.Schools {
		servers := append(append([]string(nil), s.DNS...), city.Config.Resolvers...)
		for _, srv := range servers {
			host, port, _ := net.SplitHostPort(srv)
			fmt.Fprintf(&q, "%s %s _vlmcs._tcp.%s\n", host, port, s.Suffix)
			// The floor asks what an audit needs at each server: the SRV
			// record, then the target's address.
			fmt.Fprintf(&fl, "%s %s _vlmcs._tcp.%s SRV\n%s %s %s A\n", host, port, s.Suffix, host, port, sim.BenchKMSHost)
		}
	}
	for name, body := range map[string]string{"schools.yaml": city.YAML, "questions.txt": q.String(), "floor.txt": fl.String()} {
		if err := os.WriteFile(filepath.Join(*dir, name), []byte(body), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "simcity:", err)
			os.Exit(1)
		}
	}
	if err := os.WriteFile(filepath.Join(*dir, "ready"), nil, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "simcity:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "simcity: %d schools (%d dead servers), %d resolvers; Ctrl-C to stop\n", *schools, city.Dead, len(city.Resolvers))
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	<-ch
}
