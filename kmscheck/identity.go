package kmscheck

import (
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The KMS host counts distinct client machine IDs over 30 days. A probe that
// invented a CMID per run would add a phantom client every week and so hide
// the very "count too low" problem it exists to find. Every run on one
// machine therefore sends the same CMID.

// cmidNamespace scopes the name-based CMID to this program, so the CMID
// reveals nothing about /etc/machine-id (which systemd asks applications
// not to expose) and differs from any other program's derived ID.
var cmidNamespace = mustUUID("6b6d7370-726f-6265-2d6b-6d732d636d69")

// machineIDFiles are read in order; the second is the D-Bus copy older
// systems have instead.
var machineIDFiles = []string{"/etc/machine-id", "/var/lib/dbus/machine-id"}

// identityFile is the state file used when a machine has no machine-id.
const identityFile = "kms-client-id"

// MachineIdentity derives the CMID from the machine id, without touching
// the filesystem otherwise.
func MachineIdentity() (UUID, error) {
	for _, f := range machineIDFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if id := strings.TrimSpace(string(b)); id != "" {
			return nameUUID(cmidNamespace, id), nil
		}
	}
	return UUID{}, errors.New("this machine has no /etc/machine-id, so the probe has no stable KMS client ID; run `systemd-machine-id-setup`, or give the probe a state directory")
}

// LoadIdentity returns the probe host's stable CMID: derived from the
// machine id when there is one, else read from stateDir/kms-client-id,
// which is created with a random ID on first use. stateDir may be "" when
// no state is kept.
func LoadIdentity(stateDir string) (UUID, error) {
	if u, err := MachineIdentity(); err == nil {
		return u, nil
	} else if stateDir == "" {
		return UUID{}, err
	}
	return loadStateIdentity(filepath.Join(stateDir, identityFile))
}

func loadStateIdentity(path string) (UUID, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		u, perr := ParseUUID(string(b))
		if perr != nil {
			return UUID{}, fmt.Errorf("%s does not hold a client ID (%v); delete it to make a new one", path, perr)
		}
		return u, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return UUID{}, fmt.Errorf("cannot read the KMS client ID: %w", err)
	}
	var u UUID
	if _, err := rand.Read(u[:]); err != nil {
		return UUID{}, err
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return UUID{}, fmt.Errorf("cannot create the state directory for the KMS client ID: %w", err)
	}
	// Write to a temporary name and link it into place, so two probes
	// starting at once agree on one ID instead of each writing its own.
	tmp, err := os.CreateTemp(filepath.Dir(path), identityFile+".*")
	if err != nil {
		return UUID{}, fmt.Errorf("cannot store the KMS client ID: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(u.String() + "\n"); err != nil {
		tmp.Close()
		return UUID{}, fmt.Errorf("cannot store the KMS client ID: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return UUID{}, fmt.Errorf("cannot store the KMS client ID: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadStateIdentity(path)
		}
		return UUID{}, fmt.Errorf("cannot store the KMS client ID: %w", err)
	}
	return u, nil
}

// nameUUID is an RFC 4122 version-5 (SHA-1, name-based) UUID.
func nameUUID(ns UUID, name string) UUID {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u UUID
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}
