package main

import (
	"context"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// local profiling harness, never committed
func TestZZProfAudit(t *testing.T) {
	a := os.Getenv("PERF2_ARGS")
	if a == "" {
		t.Skip("PERF2_ARGS")
	}
	stop := make(chan struct{})
	if hp := os.Getenv("PERF2_HEAP"); hp != "" {
		go func() {
			var best uint64
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > best+best/20 {
					best = ms.HeapInuse
					f, _ := os.Create(hp)
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
					t.Logf("heap inuse %d MiB", best>>20)
				}
			}
		}()
	}
	e := &env{Stdout: io.Discard, Stderr: os.Stderr}
	code := runAudit(context.Background(), e, strings.Fields(a))
	close(stop)
	t.Logf("exit %d", code)
}
