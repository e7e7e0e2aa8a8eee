package rpki

import "time"

// SetWriteTimeout changes how long a write to a router may make no
// progress before the router is dropped; call it before Serve.
func (c *Cache) SetWriteTimeout(d time.Duration) { c.writeTimeout = d }

// NumClients returns the number of connected routers.
func (c *Cache) NumClients() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.clients)
}
