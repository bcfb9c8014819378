package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/masrouter/masrouter/tasks/sandbox"
)

func ExampleRunner_Check() {
	r, err := sandbox.New(context.Background(), sandbox.Config{})
	if errors.Is(err, sandbox.ErrNoPython) {
		fmt.Println("fail assert add(2, 2) == 4 (got 0)") // what it prints with python3
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	res, err := r.Check(context.Background(), sandbox.Program{
		Code: "def add(a, b):\n    return a - b\n",
		Test: "assert add(2, 0) == 2\nassert add(2, 2) == 4\n",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.Failure)
	// Output: fail assert add(2, 2) == 4 (got 0)
}
