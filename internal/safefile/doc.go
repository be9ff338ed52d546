// Package safefile reads and writes the files kmsprobe is pointed at
// without harming the machine it runs on (README "Files"): it reads only
// regular files under a size limit, so /dev/zero, a FIFO or a runaway file
// is a clear error within a second, never a hang or an exhausted memory.
//
// It owns: the one atomic writer and the one safe reader of the program. It
// must not know what the files hold.
package safefile
