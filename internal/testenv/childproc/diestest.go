package childproc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RequireDiesWithTestBinary checks that a harness's server dies with the
// test binary that started it, even a killed one. It runs this test
// binary's test named test again with env=1 in its environment; that child
// must start a server, print "server PID DIR" on a line and block. The
// check kills the child and fails t unless the server is gone within
// timeout. DIR is removed afterwards.
func RequireDiesWithTestBinary(t testing.TB, test, env string, timeout time.Duration) {
	t.Helper()
	child := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+test+"$") //nolint:gosec // this test binary
	child.Env = append(os.Environ(), env+"=1")
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the child's line (its output is above): %v", err)
	}
	fields := strings.Fields(line)
	if len(fields) != 3 || fields[0] != "server" {
		t.Fatalf("child said %q, want \"server PID DIR\"", line)
	}
	pid, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatalf("child said %q: %v", line, err)
	}
	t.Cleanup(func() { os.RemoveAll(fields[2]) }) //nolint:errcheck,gosec // test cleanup; nobody else removes it
	if !Alive(pid) {
		t.Fatalf("the server (pid %d) does not run", pid)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait() // killed

	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for Alive(pid) {
		select {
		case <-deadline:
			t.Fatalf("the server (pid %d) outlived its test binary by %s", pid, timeout)
		case <-tick.C:
		}
	}
}

// Alive reports whether process pid runs: exists and is not a zombie left
// for a parent that does not reap.
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	return !bytes.HasPrefix(bytes.TrimSpace(rest), []byte("Z"))
}
