// ksiss-inventory: turns the fake GPU node inventory (inventory.yaml) into
// Node objects for the local control plane. Built by tests/cluster/build.sh.
//
// Usage: ksiss-inventory INVENTORY.yaml OUTDIR
// Writes OUTDIR/NAME.node.json (the Node, with labels, annotations and a
// status with capacity = allocatable) and OUTDIR/NAME.status.json (a JSON
// patch that sets capacity and allocatable on an existing Node), and prints
// the node names, one a line.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"sigs.k8s.io/yaml"
)

type inventory struct {
	Nodes []struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Allocatable map[string]string `json:"allocatable"`
		Capacity    map[string]string `json:"capacity"`
	} `json:"nodes"`
}

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func die(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "ksiss-inventory: "+f+"\n", a...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 {
		die("usage: ksiss-inventory INVENTORY.yaml OUTDIR")
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		die("%v", err)
	}
	var inv inventory
	if err := yaml.UnmarshalStrict(raw, &inv); err != nil {
		die("%s: %v", os.Args[1], err)
	}
	seen := map[string]bool{}
	for _, n := range inv.Nodes {
		if !dns1123.MatchString(n.Name) || seen[n.Name] {
			die("bad or duplicate node name %q", n.Name)
		}
		seen[n.Name] = true
		for _, k := range []string{"cpu", "memory", "pods"} {
			if _, ok := n.Allocatable[k]; !ok {
				die("node %s: allocatable lacks %q (nothing schedules without it)", n.Name, k)
			}
		}
		capacity := n.Capacity
		if capacity == nil {
			capacity = n.Allocatable
		}
		labels := map[string]string{
			"kubernetes.io/hostname": n.Name,
			"kubernetes.io/os":       "linux",
			"kubernetes.io/arch":     "amd64",
			"type":                   "kwok",
			"ksiss.dev/inventory":    "true",
		}
		for k, v := range n.Labels {
			labels[k] = v
		}
		status := map[string]any{
			"capacity":    capacity,
			"allocatable": n.Allocatable,
		}
		node := map[string]any{
			"apiVersion": "v1",
			"kind":       "Node",
			"metadata": map[string]any{
				"name":        n.Name,
				"labels":      labels,
				"annotations": map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			},
			"spec":   map[string]any{},
			"status": status,
		}
		patch := []map[string]any{
			{"op": "add", "path": "/status/capacity", "value": capacity},
			{"op": "add", "path": "/status/allocatable", "value": n.Allocatable},
		}
		for suffix, obj := range map[string]any{".node.json": node, ".status.json": patch} {
			b, _ := json.MarshalIndent(obj, "", "  ")
			if err := os.WriteFile(filepath.Join(os.Args[2], n.Name+suffix), b, 0o644); err != nil {
				die("%v", err)
			}
		}
		fmt.Println(n.Name)
	}
}
