package kmscheck

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// UUID is a GUID held in the byte order of its text form
// (55c92734-d682-…). KMS and DCE/RPC put GUIDs on the wire in Microsoft
// order (first three groups little-endian); wire and parseWire convert, so
// the rest of the package never has to think about it.
type UUID [16]byte

// ParseUUID reads the canonical 36-character form, with or without braces.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	t := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{"), "}")
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return u, fmt.Errorf("%q is not a UUID (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s)
	}
	b, err := hex.DecodeString(strings.ReplaceAll(t, "-", ""))
	if err != nil || len(b) != 16 {
		return u, fmt.Errorf("%q is not a UUID (want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", s)
	}
	copy(u[:], b)
	return u, nil
}

// mustUUID is for the product table only, where a typo must stop the build's
// tests rather than surface at a school.
func mustUUID(s string) UUID {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func (u UUID) String() string {
	b := hex.EncodeToString(u[:])
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}

// IsZero reports whether u is the nil UUID.
func (u UUID) IsZero() bool { return u == UUID{} }

// MarshalText lets UUIDs appear as strings in JSON evidence.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

func (u *UUID) UnmarshalText(b []byte) error {
	v, err := ParseUUID(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// wire returns the Microsoft on-the-wire byte order.
func (u UUID) wire() [16]byte {
	var w [16]byte
	binary.LittleEndian.PutUint32(w[0:], binary.BigEndian.Uint32(u[0:]))
	binary.LittleEndian.PutUint16(w[4:], binary.BigEndian.Uint16(u[4:]))
	binary.LittleEndian.PutUint16(w[6:], binary.BigEndian.Uint16(u[6:]))
	copy(w[8:], u[8:])
	return w
}

func uuidFromWire(w []byte) UUID {
	var u UUID
	binary.BigEndian.PutUint32(u[0:], binary.LittleEndian.Uint32(w[0:]))
	binary.BigEndian.PutUint16(u[4:], binary.LittleEndian.Uint16(w[4:]))
	binary.BigEndian.PutUint16(u[6:], binary.LittleEndian.Uint16(w[6:]))
	copy(u[8:], w[8:16])
	return u
}
