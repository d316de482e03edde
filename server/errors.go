package server

// ConfigError is an error in serve's configuration or in a file it names —
// the web configuration, the bearer tokens, the kubeconfig, a hypothesis,
// a step below the scrape interval — found at start: the user's to fix,
// which the command line answers with its usage exit code, not as a
// failure of steadywatch itself.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// configError wraps err, if any, as a ConfigError.
func configError(err error) error {
	if err == nil {
		return nil
	}
	return &ConfigError{Err: err}
}
