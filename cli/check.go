package cli

import (
	"fmt"
	"io"
)

// CheckArgs parses a command line (without the program name) as Run would
// and checks what needs neither a file nor a server, without running it:
// examples that call steadywatch from a pipeline (examples/integrations)
// are tested against the real flags, so a renamed flag breaks their test.
// Only verdict's command lines can be checked.
func CheckArgs(args []string) error {
	if len(args) == 0 || args[0] != "verdict" {
		name := ""
		if len(args) > 0 {
			name = args[0]
		}
		return fmt.Errorf("%q: only verdict's command lines can be checked", name)
	}
	f, err := parseVerdictFlags(args[1:], io.Discard)
	if err != nil {
		return err
	}
	if _, err := f.log.logger(io.Discard); err != nil {
		return err
	}
	_, err = f.check()
	return err
}
