package chart

import "embed"

// Files holds crds/*.yaml and files/role.yaml.
//
//go:embed crds/*.yaml files/role.yaml
var Files embed.FS
