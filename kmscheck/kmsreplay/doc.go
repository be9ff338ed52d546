// Package kmsreplay serves captured KMS exchanges on a loopback listener, for
// end-to-end tests and the demo.
//
// It is not a KMS server and cannot activate anything: it holds no keys, no
// product data and no protocol logic. It only compares each PDU a client
// sends with the recorded one and, if they are equal byte for byte, writes
// the recorded answer; on any difference it closes the connection. A client
// therefore gets an answer only when it sends exactly the captured request,
// which needs the capture's identity, clock and salt (ClientOptions).
//
// The recorded exchanges are copies of shared/kms/vectors (captured between
// vlmcs and vlmcsd on loopback); see that folder's README.
//
// It owns: replaying captured bytes for tests and the demo. It must not grow
// into a KMS server: it answers only the recorded request.
package kmsreplay
