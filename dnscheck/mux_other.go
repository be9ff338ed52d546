//go:build !linux

package dnscheck

func openShared(v6 bool) (*usock, error) { return nil, errNoShared }

func icmpErrno(err error) bool { return false }

func (s *usock) drainErrors() {}
