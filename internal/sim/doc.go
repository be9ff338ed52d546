// Package sim runs simulated DNS servers in process on loopback addresses,
// for the demo, the tests and the benchmark. Each server has its own
// handler (never miekg/dns's global mux), so many run side by side with
// different records and faults.
//
// Network safety: servers bind only to 127.0.0.0/8 or ::1 and refuse anything
// else.
//
// It owns: the simulated cities (the demo's, the benchmark's) on 127.0.0.0/8
// and ::1. It must not be used by production code paths other than the demo.
package sim
