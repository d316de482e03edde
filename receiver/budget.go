package receiver

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// budget is the bytes of bodies allowed in flight at once. Unlike a
// semaphore that waits, it refuses at once: a request that does not fit is
// answered 503 and retried by Alertmanager, rather than holding a
// connection and a goroutine while it waits.
type budget struct {
	max   int64
	gauge prometheus.Gauge

	mu   sync.Mutex
	used int64
	peak int64 // the most ever reserved, for the tests
}

// reserve takes n bytes if they fit, else reports what is in use.
func (b *budget) reserve(n int64) (used int64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return b.used, false
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	b.gauge.Set(float64(b.used))
	return b.used, true
}

// release gives back n reserved bytes.
func (b *budget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.gauge.Set(float64(b.used))
}
