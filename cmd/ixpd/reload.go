package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// liveKeys are the configuration keys a reload applies in place. A change
// to any other key is logged as waiting for a restart and not applied, so
// that what runs is always one consistent configuration.
var liveKeys = []string{"members_file", "members_schema", "secrets_file", "api.tokens", "savings"}

// reloadConfig re-reads the config file and applies its live keys; it
// returns the configuration in force afterwards. A file that does not load
// changes nothing (the error says why); the members file and data files
// are then reloaded under the configuration in force.
func (a *app) reloadConfig() (Config, error) {
	cur := *a.cfgNow.Load()
	if cur.path == "" {
		return cur, nil
	}
	next, err := LoadConfig(cur.path)
	if err != nil {
		a.configReloads.WithLabelValues("error").Inc()
		return cur, fmt.Errorf("config not applied, the one in force stays: %w", err)
	}
	changed, err := configChanges(cur, next)
	if err != nil {
		a.configReloads.WithLabelValues("error").Inc()
		return cur, fmt.Errorf("config not applied: %w", err)
	}
	applied, waiting := splitLive(changed)
	if len(applied) > 0 {
		cur.MembersFile, cur.MembersSchema, cur.SecretsFile = next.MembersFile, next.MembersSchema, next.SecretsFile
		cur.API.Tokens, cur.Savings = next.API.Tokens, next.Savings
		a.api.SetTokens(cur.API.Tokens)
		a.api.SetSavings(cur.Savings)
		a.cfgNow.Store(&cur)
		a.logger.Info("config reloaded", "applied", applied)
	}
	a.configReloads.WithLabelValues("ok").Inc()
	if len(waiting) > 0 {
		a.restartNeeded.Set(1)
		a.logger.Warn("config changes wait for a restart", "keys", waiting)
	} else {
		a.restartNeeded.Set(0)
	}
	return cur, nil
}

// splitLive sorts changed key paths into those a reload applies and those
// that need a restart.
func splitLive(changed []string) (applied, waiting []string) {
	for _, k := range changed {
		if slices.ContainsFunc(liveKeys, func(l string) bool { return k == l || strings.HasPrefix(k, l+".") || strings.HasPrefix(k, l+"[") }) {
			applied = append(applied, k)
		} else {
			waiting = append(waiting, k)
		}
	}
	return applied, waiting
}

// configChanges lists the key paths whose values differ between two
// configurations, as `ixpd check -dump` prints them (lists as a whole).
func configChanges(old, next Config) ([]string, error) {
	var a, b yaml.Node
	for _, c := range []struct {
		cfg  Config
		node *yaml.Node
	}{{old, &a}, {next, &b}} {
		data, err := yaml.Marshal(c.cfg)
		if err != nil {
			return nil, fmt.Errorf("compare configs: %w", err)
		}
		if err := yaml.Unmarshal(data, c.node); err != nil {
			return nil, fmt.Errorf("compare configs: %w", err)
		}
	}
	var out []string
	diffNodes(&a, &b, "", &out)
	return out, nil
}

// diffNodes appends the paths below path where x and y differ.
func diffNodes(x, y *yaml.Node, path string, out *[]string) {
	if x.Kind == yaml.DocumentNode && y.Kind == yaml.DocumentNode && len(x.Content) == 1 && len(y.Content) == 1 {
		diffNodes(x.Content[0], y.Content[0], path, out)
		return
	}
	if x.Kind == yaml.MappingNode && y.Kind == yaml.MappingNode {
		xs, ys := mapping(x), mapping(y)
		keys := make([]string, 0, len(xs)+len(ys))
		for k := range xs {
			keys = append(keys, k)
		}
		for k := range ys {
			if _, ok := xs[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			xv, xok := xs[k]
			yv, yok := ys[k]
			if !xok || !yok {
				*out = append(*out, joinKey(path, k))
				continue
			}
			diffNodes(xv, yv, joinKey(path, k), out)
		}
		return
	}
	if !bytes.Equal(encodeNode(x), encodeNode(y)) {
		*out = append(*out, path)
	}
}

// mapping indexes a mapping node's values by key.
func mapping(n *yaml.Node) map[string]*yaml.Node {
	m := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		m[n.Content[i].Value] = n.Content[i+1]
	}
	return m
}

// encodeNode is a node's YAML text, for comparing values.
func encodeNode(n *yaml.Node) []byte {
	data, err := yaml.Marshal(n)
	if err != nil {
		return []byte(err.Error())
	}
	return data
}
