// Package dnstest is a kit of hostile DNS servers for tests: one miekg/dns
// handler on 127.0.0.1 (UDP and TCP on one random port) that answers from a
// small zone and misbehaves on command, so that each way a real server,
// middlebox or spoofer can lie is one row of a test table.
//
// It is test support, like net/http/httptest: it takes a testing.TB and
// closes its server when the test ends. It never listens outside loopback.
//
// It owns: the hostile DNS server kit for tests (one misbehaviour per field,
// 127.0.0.1, random ports). Tests only.
package dnstest
