// Command fakebin stands in for steadywatch in the image test: a static
// binary that prints its stamped version, as `steadywatch version` does.
package main

import (
	"fmt"
	"os"
)

var version = "unset"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Printf("steadywatch, version %s\n", version)
		return
	}
	os.Exit(2)
}
