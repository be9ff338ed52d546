package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

func main() {
	in := flag.String("in", "floor.txt", "questions, one \"server port name type\" per line")
	inflight := flag.Int("inflight", 256, "exchanges in flight")
	timeout := flag.Duration("timeout", time.Second, "per attempt")
	attempts := flag.Int("attempts", 2, "attempts per question")
	flag.Parse()

	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(3)
	}
	type question struct {
		addr  string
		name  string
		qtype uint16
	}
	var qs []question
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Fields(sc.Text())
		if len(p) != 4 {
			continue
		}
		qs = append(qs, question{net.JoinHostPort(p[0], p[1]), dns.Fqdn(p[2]), dns.StringToType[p[3]]})
	}
	f.Close()

	start := time.Now()
	work := make(chan question)
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range *inflight {
		wg.Go(func() {
			c := &dns.Client{Net: "udp", Timeout: *timeout}
			for q := range work {
				m := new(dns.Msg)
				m.SetQuestion(q.name, q.qtype)
				m.RecursionDesired = true
				result := "timeout"
				for range *attempts {
					r, _, err := c.Exchange(m, q.addr)
					if err == nil {
						result = dns.RcodeToString[r.Rcode]
						break
					}
				}
				mu.Lock()
				counts[result]++
				mu.Unlock()
			}
		})
	}
	for _, q := range qs {
		work <- q
	}
	close(work)
	wg.Wait()
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	fmt.Printf("floor: %d exchanges in %.2fs (%s)\n", len(qs), time.Since(start).Seconds(), strings.Join(parts, " "))
}
