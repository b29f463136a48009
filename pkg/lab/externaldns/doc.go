// Package externaldns holds the wrapper module the lab builds ExternalDNS
// from: ExternalDNS's own packages (sources, TXT registry, plan, AWS
// provider) wired as its controller does, with local stand-ins for the four
// modules the module proxy refuses. See README.md.
package externaldns

import "embed"

// Files are the wrapper module's files, each named with a .txt suffix.
//
//go:embed *.txt standin
var Files embed.FS

// Version is the ExternalDNS release the wrapper builds.
const Version = "v0.23.0"

// Toolchain is the Go toolchain ExternalDNS's go.mod asks for.
const Toolchain = "go1.27.3"
