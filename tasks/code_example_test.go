package tasks_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/tasks/sandbox"
)

func ExampleExtractCode() {
	reply := "The list comprehension does it:\n\n```python\ndef incr_list(l):\n    return [x + 1 for x in l]\n```\n\nIt returns a new list."
	code, ok := tasks.ExtractCode(reply, "incr_list", "")
	fmt.Println(ok)
	fmt.Print(code)
	// Output:
	// true
	// def incr_list(l):
	//     return [x + 1 for x in l]
}

func ExampleFeedbacker() {
	ts, err := tasks.Load("mbpp", "test")
	if err != nil {
		log.Fatal(err)
	}
	task := ts[0] // mbpp/test/11: remove the first and last occurrence of a character
	reply := "```python\ndef remove_Occ(s, ch):\n    return s.replace(ch, '', 1)\n```"
	passed, note, err := task.Scorer.(tasks.Feedbacker).Feedback(context.Background(), task, reply)
	if errors.Is(err, sandbox.ErrNoPython) {
		fmt.Println(`false assert remove_Occ("hello","l") == "heo" (got 'helo')`) // what it prints with python3
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(passed, note)
	// Output: false assert remove_Occ("hello","l") == "heo" (got 'helo')
}
