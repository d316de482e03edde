// Package httpurl checks the base URLs of the HTTP APIs steadywatch talks
// to (Prometheus, Alertmanager), one way for the configuration and every
// flag, so that a URL serve refuses is refused by verdict too.
package httpurl

import (
	"fmt"
	"net/url"
)

// Check reports what makes u unfit as an API's base URL: it must parse,
// be http:// or https://, and name a host. The error quotes u; callers
// prefix the field or flag.
func Check(u string) error {
	parsed, err := url.Parse(u)
	switch {
	case err != nil:
		return err
	case parsed.Scheme != "http" && parsed.Scheme != "https":
		return fmt.Errorf("%q: want an http:// or https:// URL", u)
	case parsed.Host == "":
		return fmt.Errorf("%q has no host", u)
	}
	return nil
}
