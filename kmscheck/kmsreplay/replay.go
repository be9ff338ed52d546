package kmsreplay

import (
	"bytes"
	"context"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kh-edu/kmsprobe/kmscheck"
)

//go:embed vectors
var vectorFS embed.FS

// Vector names a recorded exchange, e.g. "v6-win10-ent".
type Vector string

// Vectors lists the recorded exchanges.
func Vectors() []Vector {
	ents, _ := fs.ReadDir(vectorFS, "vectors")
	var vs []Vector
	for _, e := range ents {
		if e.IsDir() {
			vs = append(vs, Vector(e.Name()))
		}
	}
	return vs
}

// pdu is one recorded PDU and its direction.
type pdu struct {
	name       string
	fromClient bool
	data       []byte
}

func load(v Vector) ([]pdu, error) {
	dir := path.Join("vectors", string(v))
	ents, err := fs.ReadDir(vectorFS, dir)
	if err != nil {
		return nil, fmt.Errorf("no recorded exchange %q (have %v)", v, Vectors())
	}
	var ps []pdu
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".hex") {
			continue
		}
		b, err := vectorFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		d, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", v, e.Name(), err)
		}
		n, err := strconv.Atoi(e.Name()[:2])
		if err != nil {
			return nil, fmt.Errorf("%s/%s: name does not start with its position", v, e.Name())
		}
		ps = append(ps, pdu{name: e.Name(), fromClient: n%2 == 1, data: d})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].name < ps[j].name })
	return ps, nil
}

// maxPDU bounds what the replay reads from a client.
const maxPDU = 4096

// idle is how long a connection may sit without the next expected PDU.
const idle = 10 * time.Second

// Listen serves vector v on addr (use "127.0.0.1:0") until ctx ends or stop
// is called. Every connection replays the whole exchange from the start.
// stop closes the listener and every open connection and waits for them.
func Listen(ctx context.Context, addr string, v Vector) (string, func(), error) {
	ps, err := load(v)
	if err != nil {
		return "", nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("cannot listen for the replayed KMS host: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(c, ps)
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
		}
	}()
	stopped := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			stopped()
			ln.Close()
			mu.Lock()
			for c := range conns {
				c.Close()
			}
			mu.Unlock()
			wg.Wait()
		})
	}
	return ln.Addr().String(), stop, nil
}

func serve(c net.Conn, ps []pdu) {
	defer c.Close()
	for _, p := range ps {
		c.SetDeadline(time.Now().Add(idle))
		if !p.fromClient {
			if _, err := c.Write(p.data); err != nil {
				return
			}
			continue
		}
		got, err := readPDU(c)
		if err != nil || !bytes.Equal(got, p.data) {
			// Not the recorded request: there is no answer to give.
			return
		}
	}
	// Let the client read the last answer and close first.
	c.SetDeadline(time.Now().Add(idle))
	io.Copy(io.Discard, io.LimitReader(c, maxPDU))
}

func readPDU(r io.Reader) ([]byte, error) {
	var h [16]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint16(h[8:]))
	if n < 16 || n > maxPDU {
		return nil, errors.New("bad fragment length")
	}
	b := make([]byte, n)
	copy(b, h[:])
	_, err := io.ReadFull(r, b[16:])
	return b, err
}

// Request is the client identity, clock and salt a vector was captured
// with, as written in its manifest.
type Request struct {
	Protocol      string `json:"kms_protocol"`
	SKUID         string `json:"sku_id"`
	KMSID         string `json:"kms_counted_id"`
	CMID          string `json:"client_machine_id"`
	Workstation   string `json:"workstation_name"`
	FileTime      uint64 `json:"client_time_filetime"`
	LicenseStatus uint32 `json:"license_status"`
	Grace         uint32 `json:"grace_minutes"`
	Required      uint32 `json:"required_client_count"`
	VM            bool   `json:"is_client_vm"`
	Salt          string `json:"salt_iv_hex"`
}

type manifest struct {
	Summary []struct {
		Request *Request `json:"request"`
	} `json:"summary"`
}

// Capture returns the first recorded request of v. The fault vector has
// none of its own: it was replayed from v6-win10-ent's request with its
// context id changed, so it reuses that identity.
func Capture(v Vector) (Request, error) {
	b, err := vectorFS.ReadFile(path.Join("vectors", string(v), "manifest.json"))
	if err != nil {
		return Request{}, fmt.Errorf("no recorded exchange %q (have %v)", v, Vectors())
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Request{}, fmt.Errorf("%s: %w", v, err)
	}
	if len(m.Summary) == 0 || m.Summary[0].Request == nil {
		if v != "v6-win10-ent" {
			return Capture("v6-win10-ent")
		}
		return Request{}, fmt.Errorf("%s records no request", v)
	}
	return *m.Summary[0].Request, nil
}

// ClientRequest returns the request that makes kmscheck send exactly the
// recorded request of v (identity, clock, salt, product, protocol, bind
// style), so that the replay answers and the answer verifies. It panics on
// an unknown vector name, which is a programming error.
func ClientRequest(v Vector) kmscheck.Request {
	o, err := clientRequest(v)
	if err != nil {
		panic(err)
	}
	return o
}

func clientRequest(v Vector) (kmscheck.Request, error) {
	r, err := Capture(v)
	if err != nil {
		return kmscheck.Request{}, err
	}
	prod, err := productOf(v, r)
	if err != nil {
		return kmscheck.Request{}, err
	}
	cmid, err := kmscheck.ParseUUID(r.CMID)
	if err != nil {
		return kmscheck.Request{}, err
	}
	salt, err := hex.DecodeString(r.Salt)
	if err != nil {
		return kmscheck.Request{}, err
	}
	maj, mi, _ := strings.Cut(r.Protocol, ".")
	major, _ := strconv.Atoi(maj)
	minor, _ := strconv.Atoi(mi)
	proto := min(major, 6)
	neg := kmscheck.NegotiateNDR32
	if strings.Contains(string(v), "full-negotiation") {
		neg = kmscheck.NegotiateWindows
	}
	ft := r.FileTime
	edit := func(q *kmscheck.ActivationRequest) {
		// Protocol 7.0 is not an option a probe offers; set it here.
		q.Version = kmscheck.Version{Major: uint16(major), Minor: uint16(minor)}
		q.LicenseStatus, q.GraceMinutes, q.VM = r.LicenseStatus, r.Grace, r.VM
		q.RequiredCount = r.Required
	}
	return kmscheck.Request{
		Products:    []kmscheck.Product{prod},
		Protocol:    proto,
		Negotiation: neg,
		ClientID:    cmid,
		Workstation: r.Workstation,
		Now:         func() time.Time { return kmscheck.TimeFromFileTime(ft) },
		Rand:        &repeatReader{b: salt},
		Edit:        edit,
	}, nil
}

// productOf finds the table product a capture asked for, by SKU. Should a
// capture's KMS counted ID differ from the table's, the capture's wins, so
// the request is still rebuilt byte for byte.
func productOf(v Vector, r Request) (kmscheck.Product, error) {
	sku, err := kmscheck.ParseUUID(r.SKUID)
	if err != nil {
		return kmscheck.Product{}, err
	}
	kmsID, err := kmscheck.ParseUUID(r.KMSID)
	if err != nil {
		return kmscheck.Product{}, err
	}
	var prod kmscheck.Product
	for _, p := range kmscheck.Products() {
		if p.SKUID == sku && (prod.Key == "" || p.KMSID == kmsID) {
			prod = p
		}
	}
	if prod.Key == "" {
		return kmscheck.Product{}, fmt.Errorf("%s: SKU %s is not in kmscheck's product table", v, r.SKUID)
	}
	if prod.KMSID != kmsID {
		prod.KMSID = kmsID
	}
	return prod, nil
}

// repeatReader yields the recorded salt over and over, so one Options value
// can replay its capture any number of times (and from several goroutines).
type repeatReader struct {
	mu sync.Mutex
	b  []byte
	i  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	for i := range p {
		p[i] = r.b[r.i]
		r.i = (r.i + 1) % len(r.b)
	}
	return len(p), nil
}
