package grpcapi

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// series caches, per method, the counter and histogram of each code:
	// WithLabelValues hashes and looks up its labels on every call, twice
	// a request.
	series   sync.Map   // method → *[codes.Unauthenticated + 1]*series, never changed once stored
	seriesMu sync.Mutex // serialises the filling of series (once per method and code)
}

// series is the counter and the histogram of one method and code.
type series struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warden_requests_total", Help: "API requests by method and status code (gRPC and REST alike).",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "warden_request_duration_seconds", Help: "API request latency by method and status code.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5},
		}, []string{"method", "code"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(method string, code codes.Code, d time.Duration) {
	var x *series
	byCode, _ := m.series.Load(method)
	if cs, ok := byCode.(*[codes.Unauthenticated + 1]*series); ok && code <= codes.Unauthenticated {
		x = cs[code]
	}
	if x == nil {
		x = m.lookup(method, code)
	}
	x.requests.Inc()
	x.latency.Observe(d.Seconds())
}

// lookup finds the series of a method and code, and caches it.
func (m *metrics) lookup(method string, code codes.Code) *series {
	x := &series{m.requests.WithLabelValues(method, code.String()), m.latency.WithLabelValues(method, code.String())}
	if code > codes.Unauthenticated {
		return x
	}
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	// Copy on write: readers see a whole array, never one being filled.
	var next [codes.Unauthenticated + 1]*series
	if cur, ok := m.series.Load(method); ok {
		next = *cur.(*[codes.Unauthenticated + 1]*series)
	}
	next[code] = x
	m.series.Store(method, &next)
	return x
}
