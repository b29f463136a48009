package main

import (
	"os"

	"github.com/tandem-io/tandem/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
