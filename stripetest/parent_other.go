//go:build !linux

package stripetest

import "os/exec"

// dieWithParent relies on Stop and the lifetime bound where the kernel
// offers no parent-death signal.
func dieWithParent(*exec.Cmd) {}
