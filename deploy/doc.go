// Package deploy holds what installs and runs ixpd, and the tests that
// check it: the Debian package and its systemd unit (debian/, built by
// `make package`), the compose file for Docker (compose/), ClickHouse
// examples for one server and for two shards (clickhouse/), and the example
// configuration the demo runs (examples/). It has no Go code of its own.
package deploy
