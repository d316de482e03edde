package server

import (
	"testing"

	"github.com/steadywatch/steadywatch/internal/testenv/pgtest"
)

// TestMain stops the PostgreSQL server of the tests that start one.
func TestMain(m *testing.M) { pgtest.Main(m) }
