package duckdb

import (
	"errors"
)

// Configuration is the DuckDB store's part of the configuration file.
type Configuration struct {
	// Path is the database file, created with its directory when missing.
	// ":memory:" keeps everything in memory (tests). DuckDB options may
	// follow as a query string ("data/ixpd.duckdb?threads=4").
	Path string `yaml:"duckdb_path"`
}

// DefaultConfiguration returns the default configuration.
func DefaultConfiguration() Configuration {
	return Configuration{Path: "data/ixpd.duckdb"}
}

// Validate checks the configuration.
func (c Configuration) Validate() error {
	if c.Path == "" {
		return errors.New("duckdb_path: must not be empty")
	}
	return nil
}
