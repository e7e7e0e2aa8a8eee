package api

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// errRateLimited is returned to a client over its request rate.
var errRateLimited = errors.New("too many requests; slow down")

// limiter gives every client address its own token bucket for the public
// endpoints. Buckets idle for ten minutes are forgotten.
type limiter struct {
	perSecond rate.Limit
	burst     int

	mu      sync.Mutex
	clients map[netip.Addr]*client
	swept   time.Time
}

type client struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{perSecond: rate.Limit(perSecond), burst: burst, clients: map[netip.Addr]*client{}}
}

func (l *limiter) allow(addr netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for a, c := range l.clients {
			if now.Sub(c.seen) > 10*time.Minute {
				delete(l.clients, a)
			}
		}
		l.swept = now
	}
	c := l.clients[addr]
	if c == nil {
		c = &client{l: rate.NewLimiter(l.perSecond, l.burst)}
		l.clients[addr] = c
	}
	c.seen = now
	return c.l.AllowN(now, 1)
}

// rateLimit limits public endpoints per client address (the TCP peer; put
// a proxy's own limits in front when ixpd sits behind one).
func (a *Component) rateLimit() gin.HandlerFunc {
	return func(c *gin.Context) {
		if a.limiter == nil {
			c.Next()
			return
		}
		host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
		addr, perr := netip.ParseAddr(host)
		if err != nil || perr != nil {
			c.Next()
			return
		}
		if !a.limiter.allow(addr.Unmap(), time.Now()) {
			a.metrics.rateLimited.Inc()
			c.Header("Retry-After", "1")
			writeError(c, errRateLimited)
			return
		}
		c.Next()
	}
}
